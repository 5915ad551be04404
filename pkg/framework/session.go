package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/pkg/admin"
	"kcconform/pkg/contract"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/profile"
	"kcconform/pkg/random"
	"kcconform/pkg/report"
	"kcconform/pkg/settings"
)

// Session is what a suite's specs share in one process: the server, the
// profile, an admin client where admin rights exist, the realm the process
// works in and its settings (read in the admin modes).
type Session struct {
	Config  keycloak.Config
	Server  keycloak.Info
	Profile profile.Profile
	// Mode is keycloak.ModeProvisioned, ModeAudit or ModeClientOnly.
	Mode string
	// Admin is nil without admin rights.
	Admin *admin.Client
	// Realm is this process's realm, or the existing client's.
	Realm *Realm
	// Settings are the realm's and its client's, read with admin rights
	// (nil without).
	Settings *settings.Settings
}

// Need says what a suite needs set up once per run.
type Need int

// What a suite needs.
const (
	// NeedServer: one Keycloak for the run, started or connected to once.
	NeedServer Need = iota + 1
	// NeedRealm: that, and a realm per parallel process (or the existing
	// client, in the audit and client-only modes).
	NeedRealm
)

// shared is what the first process hands to the others: nothing secret.
type shared struct {
	Server keycloak.Info `json:"server"`
	RunID  string        `json:"runID"`
	// Label derives the administrator's password of a server this run
	// started (DerivePassword); each process derives it from its own key.
	Label string `json:"label,omitempty"`
}

// Bootstrap declares the suite-level nodes of a suite that runs against one
// Keycloak: SynchronizedBeforeSuite starts (or connects to) the server once
// and, with NeedRealm, gives each parallel process its realm named for
// suite; a failed spec gets the server log's tail. The returned session is
// filled before the first spec runs.
func Bootstrap(suite string, need Need) *Session {
	s := &Session{}
	ginkgo.SynchronizedBeforeSuite(func(ctx context.Context) []byte {
		cfg := Config()
		label := ""
		opts := keycloak.Options{Redactor: Redactor}
		if cfg.Target != keycloak.TargetExternal {
			label = "server " + random.Hex(8)
			opts.AdminPassword = DerivePassword(label)
		}
		srv, err := keycloak.New(cfg, opts)
		ExpectNoError(err, "kcconform settings")
		ginkgo.By(fmt.Sprintf("starting Keycloak %s (%s target)", cfg.Version, cfg.Target))
		Cleanup(func(ctx ginkgo.SpecContext) {
			ExpectNoError(srv.Remove(ctx), "stop Keycloak")
		})
		ExpectNoError(srv.Start(ctx), "start Keycloak")
		b, err := json.Marshal(shared{Server: srv.Info().Public(), RunID: RunID(), Label: label})
		gomega.Expect(err).NotTo(gomega.HaveOccurred())
		return b
	}, func(ctx context.Context, data []byte) {
		var sh shared
		gomega.Expect(json.Unmarshal(data, &sh)).To(gomega.Succeed())
		setRunID(sh.RunID)
		s.Config = Config()
		s.Profile = Profile()
		s.Mode = s.Config.Mode()
		s.Server = s.withSecrets(sh)
		s.Admin = adminClient(s.Server)
		RecordServer(s.Server, s.Mode, s.Profile)
		if need == NeedRealm {
			s.Realm = s.ProvisionRealm(ctx, suite)
		}
	}, ginkgo.NodeTimeout(15*time.Minute))
	ginkgo.AfterEach(func() {
		if ginkgo.CurrentSpecReport().Failed() {
			AttachServerLog(s.Server)
		}
	})
	return s
}

// withSecrets fills in what the first process did not hand on: the
// credentials of an external server from this process's own settings, and
// the derived password of a server the run started.
func (s *Session) withSecrets(sh shared) keycloak.Info {
	info := sh.Server
	if info.Target == keycloak.TargetExternal {
		info.Admin = s.Config.Admin
		info.Client = s.Config.Client
	} else if sh.Label != "" {
		info.Admin.Password = DerivePassword(sh.Label)
	}
	Redactor.AddSecret(info.Admin.Password)
	Redactor.AddSecret(info.Admin.ClientSecret)
	if info.Client != nil {
		Redactor.AddSecret(info.Client.Secret)
	}
	return info
}

// ForServer returns a session for a server a spec started itself (the
// restart and upgrade suites), with admin rights.
func ForServer(srv keycloak.Server, cfg keycloak.Config) *Session {
	ginkgo.GinkgoHelper()
	s := &Session{Config: cfg, Server: srv.Info(), Profile: Profile(), Mode: keycloak.ModeProvisioned}
	s.Admin = adminClient(s.Server)
	RecordServer(s.Server, s.Mode, s.Profile)
	return s
}

// Context is the contract context of a client of the session's realm.
func (s *Session) Context(c *Client) contract.Context {
	return contextFor(c, s.Settings)
}

// RequireAdmin skips a spec that needs admin rights on a server where only
// a client's credentials are known, saying why.
func (s *Session) RequireAdmin() {
	if s.Admin == nil {
		ginkgo.Skip("needs admin rights on the server: set KC_ADMIN_USER/KC_ADMIN_PASSWORD (or KC_ADMIN_CLIENT_ID/KC_ADMIN_CLIENT_SECRET)")
	}
}

// RequireOwnRealm skips a spec that changes its realm (adds clients, takes
// roles away, revokes for a whole user) unless the realm is the run's own:
// an audit or client-only run changes nothing in the user's realm.
func (s *Session) RequireOwnRealm() {
	s.RequireAdmin()
	if s.Realm == nil || !s.Realm.Owned {
		ginkgo.Skip(fmt.Sprintf("changes its realm: kcconform changes nothing in realm %s (%s); run with admin rights and without KC_REALM to check this in a realm of its own", s.Realm.Name, s.Mode))
	}
}

// RecordSettings adds the settings read with admin rights to the report.
func (s *Session) RecordSettings() {
	if s.Settings == nil {
		return
	}
	ginkgo.AddReportEntry(report.EntrySettings, report.Settings{Realm: s.Settings.Realm, ClientID: s.Settings.ClientID, Lines: s.Settings.Lines()},
		ginkgo.ReportEntryVisibilityNever)
}
