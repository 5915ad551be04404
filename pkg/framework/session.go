package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/pkg/admin"
	"kcconform/pkg/contract"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/keycloak/cluster"
	"kcconform/pkg/keycloak/launch"
	"kcconform/pkg/keycloak/process"
	"kcconform/pkg/profile"
	"kcconform/pkg/random"
	"kcconform/pkg/realmconf"
	"kcconform/pkg/report"
	"kcconform/pkg/run"
	"kcconform/pkg/transport"
)

// Session is what a suite's specs share in one process: the run, the
// server, an admin client where admin rights exist, the realm the process
// works in and its settings (read in the admin modes).
type Session struct {
	// Run is the run the session belongs to.
	Run *run.Run
	// Config configures the target (the run's, or the one a spec started
	// a server with).
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
	Settings *realmconf.Settings
	// Certs are the certificates of a server started with HTTPS.
	Certs transport.Certs
	// cluster is the cluster Bootstrap started, in the process that
	// started it (Ginkgo's first, where Serial specs run).
	cluster *cluster.Cluster
}

// NewSession is a session of the run with no server yet: for suites that
// start their servers in their specs (NewServer, ForServer).
func NewSession(r *run.Run) *Session {
	return &Session{Run: r, Config: r.Settings.Server, Profile: r.Settings.Profile, Mode: r.Settings.Server.Mode()}
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

// ServerOptions are what Bootstrap's server needs besides the run's
// settings.
type ServerOptions struct {
	// HTTPS serves HTTPS only, with a certificate of a CA made for the run
	// (Session.Certs; KC_CA_FILE of the session names the CA). It needs the
	// process target, and skips the suite elsewhere.
	HTTPS bool
	// Nodes > 0 starts a cluster of that many nodes of the process or
	// container target on one PostgreSQL, behind a gateway (its URL is the
	// session's server); Cache is its nodes' cache (keycloak.CacheCluster
	// unless given). On the external target it checks KC_CLUSTER_URLS.
	Nodes int
	Cache string
}

// shared is what the first process hands to the others: nothing secret.
type shared struct {
	Server keycloak.Info `json:"server"`
	RunID  string        `json:"runID"`
	// Label derives the administrator's password of a server this run
	// started (Run.Password); each process derives it from its own key.
	Label string          `json:"label,omitempty"`
	Certs transport.Certs `json:"certs"`
}

// Bootstrap declares the suite-level nodes of a suite that runs against one
// Keycloak: SynchronizedBeforeSuite starts (or connects to) the server once
// and, with NeedRealm, gives each parallel process its realm named for
// suite; a failed spec gets the server log's tail. The secrets of a server
// the run starts never cross the channel between the processes: each
// derives them from the run key. The returned session is filled before the
// first spec runs.
func Bootstrap(r *run.Run, suite string, need Need, so ServerOptions) *Session {
	s := NewSession(r)
	ginkgo.SynchronizedBeforeSuite(func(ctx context.Context) []byte {
		cfg := s.Config
		sh := shared{RunID: r.ID()}
		if so.HTTPS {
			cfg = s.RequireProcessTarget("configures the server's TLS itself")
			dir, err := os.MkdirTemp("", "kcconform-certs-")
			s.ExpectNoError(err, "certificate folder")
			ginkgo.DeferCleanup(os.RemoveAll, dir)
			sh.Certs, err = transport.MakeCerts(dir, "kcconform test CA "+r.ID())
			s.ExpectNoError(err, "make certificates")
			cfg.CAFile = sh.Certs.CAFile
		}
		opts := keycloak.Options{Redactor: r.Redactor, Labels: r.Labels()}
		if cfg.Target != keycloak.TargetExternal {
			sh.Label = "server " + random.Hex(8)
			opts.AdminPassword = r.Password(sh.Label)
		}
		var srv keycloak.Server
		switch {
		case so.Nodes > 0 && cfg.Target == keycloak.TargetExternal:
			if len(cfg.ClusterURLs) == 0 {
				ginkgo.Skip("checks a cluster node by node: set KC_CLUSTER_URLS (the nodes' own base URLs) beside KC_URL (the gateway), or run KC_TARGET=process for a cluster kcconform starts")
			}
			srv = keycloak.NewExternal(cfg, opts.Redactor)
		case so.Nodes > 0:
			cfg = s.RequireLifecycleTarget()
			s.cluster = cluster.New(cfg, opts, cluster.Options{Nodes: so.Nodes, Cache: so.Cache})
			srv = s.cluster
		case so.HTTPS:
			srv = process.New(cfg, opts, process.Options{HTTPS: &keycloak.TLSFiles{Cert: sh.Certs.CertFile, Key: sh.Certs.KeyFile}})
		default:
			var err error
			srv, err = launch.New(cfg, opts)
			s.ExpectNoError(err, "kcconform settings")
		}
		ginkgo.By(fmt.Sprintf("starting Keycloak %s (%s target)", cfg.Version, cfg.Target))
		Cleanup(func(ctx ginkgo.SpecContext) {
			s.ExpectNoError(srv.Remove(ctx), "stop Keycloak")
		})
		what := "start Keycloak"
		if cfg.Target == keycloak.TargetExternal {
			what = "reach the external Keycloak"
		}
		s.ExpectNoError(srv.Up(ctx), what)
		sh.Server = srv.Info().Public()
		b, err := json.Marshal(sh)
		gomega.Expect(err).NotTo(gomega.HaveOccurred())
		return b
	}, func(ctx context.Context, data []byte) {
		var sh shared
		gomega.Expect(json.Unmarshal(data, &sh)).To(gomega.Succeed())
		r.Adopt(sh.RunID)
		s.Certs = sh.Certs
		s.Config.CAFile = sh.Server.CAFile
		s.Server = s.withSecrets(sh)
		s.Admin = s.adminClient(s.Server)
		s.RecordServer(s.Server, s.Mode)
		if need == NeedRealm {
			s.Realm = s.ProvisionRealm(ctx, suite)
		}
	}, ginkgo.NodeTimeout(15*time.Minute))
	ginkgo.AfterEach(func(ctx ginkgo.SpecContext) {
		if ginkgo.CurrentSpecReport().Failed() {
			s.AttachServerLog(s.Server)
			s.WriteRepro(ctx, suite)
		}
	}, ginkgo.NodeTimeout(time.Minute))
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
		info.Admin.Password = s.Run.Password(sh.Label)
	}
	return info
}

// Cluster is the cluster Bootstrap started; only the process that started
// it holds it (Serial specs run there).
func (s *Session) Cluster() *cluster.Cluster {
	ginkgo.GinkgoHelper()
	if s.Config.Target == keycloak.TargetExternal {
		ginkgo.Skip("stops and starts a node: needs a cluster kcconform starts (KC_TARGET=process or container), not an external one")
	}
	if s.cluster == nil {
		ginkgo.Fail("the cluster is controlled from Ginkgo's first process: mark the spec Serial")
	}
	return s.cluster
}

// ForServer returns a session of the same run for a server a spec started
// itself (the restart and upgrade suites), with admin rights.
func (s *Session) ForServer(srv keycloak.Server, cfg keycloak.Config) *Session {
	ginkgo.GinkgoHelper()
	n := &Session{Run: s.Run, Config: cfg, Server: srv.Info(), Profile: s.Profile, Mode: keycloak.ModeProvisioned}
	n.Admin = n.adminClient(n.Server)
	n.RecordServer(n.Server, n.Mode)
	return n
}

// Subject is what the contract's checks of a client of the session's realm
// need besides the answer: the client, and the settings read.
func (s *Session) Subject(c *Client) contract.Subject {
	return contract.Subject{ClientID: c.ClientID, Settings: s.Settings}
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
