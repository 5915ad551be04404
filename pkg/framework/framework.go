// Package framework is what kcconform's Ginkgo suites share: one Keycloak per
// suite run, a realm of its own per parallel process, the profile, verdict
// entries for the verdict table, and diagnostics attached to failed specs.
package framework

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/pkg/admin"
	"kcconform/pkg/contract"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/matchers"
	"kcconform/pkg/profile"
	"kcconform/pkg/redact"
	"kcconform/pkg/tokenflow"
)

// Labels, as constants so that a typo fails to build.
const (
	LabelOffline   = "offline"
	LabelNegative  = "negative"
	LabelAdmin     = "needs-admin"
	LabelRevoke    = "revocation"
	VerdictEntry   = "kcconform.verdict"
	ServerEntry    = "kcconform.server"
	ResourcePrefix = "kcconform-"
)

// RunID tells this run's objects on a server apart from other runs'.
var RunID = newRunID()

func newRunID() string {
	if v := os.Getenv("KC_RUN_ID"); v != "" {
		return v
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Bogus returns a made-up credential ("kcconform-<what>-<random>") for a
// spec that must be refused. It is made at run time, not written in the
// source: Ginkgo shows a spec's source lines when it is interrupted, and
// since the harness registers every secret and token it sends, a literal
// would read as a leaked credential to the leak scan.
func Bogus(what string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "kcconform-" + what + "-" + hex.EncodeToString(b)
}

// Framework is one suite's view of its Keycloak.
type Framework struct {
	Server  keycloak.Info
	Profile profile.Profile
	Admin   *admin.Client // nil without admin credentials
}

// StartServer is the first function of SynchronizedBeforeSuite: it starts
// (or connects to) the Keycloak that KC_TARGET selects, registers its
// stopping with ginkgo.DeferCleanup, and returns it encoded for every process.
func StartServer(ctx context.Context) []byte {
	cfg, err := keycloak.FromEnv(os.Getenv)
	ExpectNoError(err, "kcconform settings")
	if cfg.LogDir == "" {
		cfg.LogDir = ReportDir()
	}
	l, err := cfg.Launcher()
	ExpectNoError(err, "kcconform settings")
	ginkgo.By(fmt.Sprintf("starting Keycloak %s (%s target)", cfg.Version, cfg.Target))
	srv, err := l.Start(ctx)
	ginkgo.DeferCleanup(func(ctx ginkgo.SpecContext) {
		gomega.Expect(srv.Stop(ctx)).To(gomega.Succeed())
	}, ginkgo.NodeTimeout(time.Minute))
	ExpectNoError(err, "start Keycloak")
	return srv.Info.Marshal()
}

// Connect is the second function of SynchronizedBeforeSuite: every process
// decodes the server, reads the profile and, with admin rights, checks the
// admin API. It records the server in the report.
func Connect(ctx context.Context, data []byte) *Framework {
	info, err := keycloak.UnmarshalInfo(data)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	redact.Default.AddSecret(info.Admin.Password)
	redact.Default.AddSecret(info.Admin.ClientSecret)
	if info.Client != nil {
		redact.Default.AddSecret(info.Client.Secret)
	}
	p, err := profile.FromEnv(os.Getenv)
	ExpectNoError(err, "kcconform profile")
	f := &Framework{Server: info, Profile: p}
	if info.HasAdmin() {
		f.Admin, err = info.AdminClient()
		gomega.Expect(err).NotTo(gomega.HaveOccurred())
	}
	ginkgo.AddReportEntry(ServerEntry, ServerReport{
		Target: info.Target, Version: info.Version, Image: info.Image, URL: info.BaseURL,
		BootSeconds: info.BootTime.Seconds(), Profile: p, Admin: info.HasAdmin(),
		InsecureSkipVerify: info.InsecureSkipVerify, RunID: RunID,
	})
	if info.InsecureSkipVerify {
		ginkgo.AddReportEntry("WARNING", "TLS VERIFICATION IS OFF (KC_INSECURE_SKIP_VERIFY=true): this run proves nothing about the server's identity")
	}
	return f
}

// ServerReport is what the report records of the server under test.
type ServerReport struct {
	Target             string          `json:"target"`
	Version            string          `json:"version"`
	Image              string          `json:"image,omitempty"`
	URL                string          `json:"url"`
	BootSeconds        float64         `json:"bootSeconds"`
	Profile            profile.Profile `json:"profile"`
	Admin              bool            `json:"admin"`
	InsecureSkipVerify bool            `json:"insecureSkipVerify"`
	RunID              string          `json:"runID"`
}

// String is how Ginkgo shows the entry.
func (s ServerReport) String() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ReportDir is where reports and server logs go (KC_REPORT_DIR, default
// reports/ at the module root).
func ReportDir() string {
	if d := os.Getenv("KC_REPORT_DIR"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "reports"
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "reports")
}

// RequireAdmin skips a spec that needs admin rights on a server where only a
// client's credentials are known, saying why.
func (f *Framework) RequireAdmin() {
	if f.Admin == nil {
		ginkgo.Skip("needs admin rights on the server: set KC_ADMIN_USER/KC_ADMIN_PASSWORD (or KC_ADMIN_CLIENT_ID/KC_ADMIN_CLIENT_SECRET)")
	}
}

// Record adds a step's checks to the report for the verdict table.
func Record(step string, checks []contract.Check) {
	ginkgo.AddReportEntry(VerdictEntry, Verdict{Step: step, Checks: checks})
}

// Verdict is one step's checks in the report.
type Verdict struct {
	Step   string           `json:"step"`
	Checks []contract.Check `json:"checks"`
}

// String is how Ginkgo shows the entry.
func (v Verdict) String() string {
	var b strings.Builder
	for _, c := range v.Checks {
		mark := "ok"
		if !c.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "%s: %s expected %s, sent %s [%s]\n", v.Step, c.Promise, c.Expected, c.Sent, mark)
	}
	return b.String()
}

// ExpectKept records checks under step and fails the spec, naming every
// broken promise and what the server sent, unless all passed.
func ExpectKept(step string, resp *tokenflow.Response, checks []contract.Check) {
	ginkgo.GinkgoHelper()
	Record(step, checks)
	if failed := contract.Failed(checks); len(failed) > 0 {
		ginkgo.AddReportEntry("replay", ReplayEntry(resp.Replay, resp.Redacted()), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	}
	gomega.Expect(checks).To(matchers.KeepPromises(), "%s: %s", step, resp.Redacted())
}

// ReplayEntry is the report text that lets a developer send the failed
// request again.
func ReplayEntry(cmd, response string) string {
	return fmt.Sprintf("# set CLIENT_SECRET (and REFRESH_TOKEN for a refresh) first\n%s\n# the server sent (tokens redacted):\n%s", cmd, response)
}

// AttachServerLog adds the server log's tail (redacted) to a failed spec.
func (f *Framework) AttachServerLog() {
	if f == nil || f.Server.LogFile == "" {
		return
	}
	if t := keycloak.TailFile(f.Server.LogFile, 60); t != "" {
		ginkgo.AddReportEntry("server log (last 60 lines, redacted)", redact.String(t), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	}
}

// ExpectNoError fails the spec with a plain "what: cause" message (already
// redacted) instead of a dump of the error's structure.
func ExpectNoError(err error, what string) {
	ginkgo.GinkgoHelper()
	if err != nil {
		ginkgo.Fail(redact.String(what + ": " + err.Error()))
	}
}

// ExpectRefusal records a refusal in the verdict table and fails the spec
// unless err is the token endpoint's OAuth error expected.
func ExpectRefusal(step string, err error, status int, codes ...string) {
	ginkgo.GinkgoHelper()
	m := matchers.FailWithOAuthError(status, codes...)
	pass, _ := m.Match(err)
	sent := "a token (HTTP 200)"
	if e, ok := tokenflow.AsError(err); ok {
		sent = fmt.Sprintf("HTTP %d %s %q", e.Status, e.Code, e.Description)
	} else if err != nil {
		sent = err.Error()
	}
	expected := fmt.Sprintf("HTTP %d %s", status, strings.Join(codes, " or "))
	Record(step, []contract.Check{{Promise: step, Expected: expected, Sent: sent, Pass: pass}})
	gomega.Expect(err).To(m)
}

// DeclareServerSuite declares the suite-level nodes of a suite that runs
// against one Keycloak: ginkgo.SynchronizedBeforeSuite starts (or connects to) the
// server once and, with withRealm, gives each parallel process its own realm
// named for suite; a failed spec gets the server log's tail. ready receives
// them in every process. Use it as `var _ = framework.DeclareServerSuite(...)`.
func DeclareServerSuite(suite string, withRealm bool, ready func(*Framework, *Realm)) bool {
	var f *Framework
	ginkgo.SynchronizedBeforeSuite(func(ctx context.Context) []byte {
		return StartServer(ctx)
	}, func(ctx context.Context, data []byte) {
		f = Connect(ctx, data)
		var r *Realm
		if withRealm {
			r = f.ProvisionRealm(ctx, suite)
		}
		ready(f, r)
	}, ginkgo.NodeTimeout(10*time.Minute))
	ginkgo.AfterEach(func() {
		if ginkgo.CurrentSpecReport().Failed() {
			f.AttachServerLog()
		}
	})
	return true
}
