// Package framework is what kcconform's Ginkgo suites share: the run (its
// id, its redactor, its settings and profile), one Keycloak per suite run
// handed to every parallel process without its secrets, a realm (or the
// existing client) per process, verdict entries for the verdict table,
// clean-ups that report what they could not remove, and diagnostics
// attached to failed specs.
package framework

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/pkg/admin"
	"kcconform/pkg/contract"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/matchers"
	"kcconform/pkg/profile"
	"kcconform/pkg/random"
	"kcconform/pkg/redact"
	"kcconform/pkg/report"
	"kcconform/pkg/settings"
	"kcconform/pkg/tokenflow"
)

// Labels, as constants so that a typo fails to build; the Makefile's label
// filters use the same words.
const (
	LabelOffline  = "offline"
	LabelNegative = "negative"
	LabelAdmin    = "needs-admin"
	LabelOwnRealm = "own-realm"
	LabelRevoke   = "revocation"
	LabelRestart  = "restart"
	LabelUpgrade  = "upgrade"
	LabelSelf     = "selfcheck"
	LabelIdle     = "idle"
	LabelTLS      = "tls"
	LabelLoad     = "load"
	LabelSecurity = "security"
)

// ResourcePrefix starts the name of everything a run creates on a server.
const ResourcePrefix = keycloak.ResourcePrefix

// Redactor is the run's redactor: every credential this process learns is
// registered here, and every output goes through it.
var Redactor = redact.New()

var (
	runMu sync.Mutex
	runID = os.Getenv("KC_RUN_ID")
)

// RunID tells this run's objects on a server apart from other runs'. All
// parallel processes share it: KC_RUN_ID, set by the command that started
// them, or the first process's, handed on in SynchronizedBeforeSuite.
func RunID() string {
	runMu.Lock()
	defer runMu.Unlock()
	if runID == "" {
		runID = random.Hex(3)
	}
	return runID
}

func setRunID(id string) {
	runMu.Lock()
	defer runMu.Unlock()
	if os.Getenv("KC_RUN_ID") == "" && id != "" {
		runID = id
	}
}

// runKey is this run's secret, from which the secrets of servers the run
// starts are derived, so that they never cross the channel between
// Ginkgo's parallel processes: KC_RUN_KEY when the command that started the
// run set it; else, with parallel processes, a key in a private file shared
// by the processes of one Ginkgo parent; else a key of this process.
func runKey() []byte {
	if k := os.Getenv("KC_RUN_KEY"); k != "" {
		return []byte(k)
	}
	cfg, _ := ginkgo.GinkgoConfiguration()
	if cfg.ParallelTotal > 1 {
		if k, err := sharedKey(); err == nil {
			return k
		}
	}
	localKeyOnce.Do(func() {
		localKey = make([]byte, 32)
		_, _ = rand.Read(localKey)
	})
	return localKey
}

var (
	localKeyOnce sync.Once
	localKey     []byte
)

// sharedKey is a key in a file only this user can read, made by the first
// of the processes that share a parent (the Ginkgo command).
func sharedKey() ([]byte, error) {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("kcconform-keys-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		return nil, fmt.Errorf("%s: expected a private folder", dir)
	}
	path := filepath.Join(dir, strconv.Itoa(os.Getppid()))
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err == nil {
		_, err = f.Write([]byte(hex.EncodeToString(key)))
		f.Close()
		return []byte(hex.EncodeToString(key)), err
	}
	for i := 0; i < 50; i++ {
		if b, err := os.ReadFile(path); err == nil && len(b) == 64 {
			return b, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, fmt.Errorf("%s: no key", path)
}

// DerivePassword is the password of a server this run starts, from the run
// key and a label that may be public.
func DerivePassword(label string) string {
	m := hmac.New(sha256.New, runKey())
	m.Write([]byte("kcconform password\x00" + label))
	p := base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:24]
	Redactor.AddSecret(p)
	return p
}

// Bogus returns a made-up credential ("kcconform-<what>-<random>") for a
// spec that must be refused. It is made at run time, not written in the
// source: Ginkgo shows a spec's source lines when it is interrupted, and
// since the harness registers every secret and token it sends, a literal
// would read as a leaked credential to the leak scan.
func Bogus(what string) string {
	return "kcconform-" + what + "-" + random.Hex(8)
}

// Config reads the run's settings and fails the node, naming the setting,
// when one is wrong.
func Config() keycloak.Config {
	ginkgo.GinkgoHelper()
	cfg, err := keycloak.FromEnv(os.Getenv)
	ExpectNoError(err, "kcconform settings")
	if cfg.LogDir == "" {
		cfg.LogDir = ReportDir()
	}
	return cfg
}

// Profile reads the run's expectations.
func Profile() profile.Profile {
	ginkgo.GinkgoHelper()
	p, err := profile.FromEnv(os.Getenv)
	ExpectNoError(err, "kcconform profile")
	return p
}

// ReportDir is where reports and server logs go (KC_REPORT_DIR, default
// reports/ at the module root).
func ReportDir() string {
	if d := os.Getenv("KC_REPORT_DIR"); d != "" {
		return d
	}
	return filepath.Join(ModuleRoot(), "reports")
}

// ModuleRoot is the kcconform checkout this package was built from.
func ModuleRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Record adds a step's checks to the report for the verdict table.
func Record(step string, checks []contract.Check) {
	ginkgo.AddReportEntry(report.EntryVerdict, report.Step{Step: step, Checks: checks}, ginkgo.ReportEntryVisibilityFailureOrVerbose)
}

// ExpectKept records checks under step and fails the spec, naming every
// broken promise, what the server sent and the likely setting, unless none
// failed (a check that does not apply does not fail).
func ExpectKept(step string, resp *tokenflow.Response, checks []contract.Check) {
	ginkgo.GinkgoHelper()
	Record(step, checks)
	if failed := contract.Failed(checks); len(failed) > 0 && resp != nil {
		ginkgo.AddReportEntry(report.EntryReplay, ReplayEntry(resp.Replay, resp.Redacted()), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	}
	desc := ""
	if resp != nil {
		desc = resp.Redacted()
	}
	gomega.Expect(checks).To(matchers.KeepPromises(), "%s: %s", step, desc)
}

// ReplayEntry is the report text that lets a developer send the failed
// request again.
func ReplayEntry(cmd, response string) string {
	return fmt.Sprintf("# set CLIENT_SECRET (and REFRESH_TOKEN for a refresh) first\n%s\n# the server sent (redacted):\n%s", cmd, response)
}

// ExpectNoError fails the spec with a plain "what: cause" message, redacted,
// instead of a dump of the error's structure.
func ExpectNoError(err error, what string) {
	ginkgo.GinkgoHelper()
	if err != nil {
		ginkgo.Fail(Redactor.String(what + ": " + err.Error()))
	}
}

// ExpectRefusal records a refusal in the verdict table and fails the spec
// unless err is the token endpoint's OAuth error expected.
func ExpectRefusal(step string, class report.Class, err error, status int, codes ...string) {
	ginkgo.GinkgoHelper()
	Record(step, []contract.Check{contract.Refused(step, class, err, status, codes...)})
	gomega.Expect(err).To(matchers.FailWithOAuthError(status, codes...))
}

// ExpectToken fails the spec when a request of the procedure did not give a
// token answer, recording the broken promise (with the likely setting) and
// attaching the replay command and the redacted answer.
func ExpectToken(step string, cx contract.Context, err error) {
	ginkgo.GinkgoHelper()
	if err == nil {
		return
	}
	Record(step, []contract.Check{contract.TokenAnswer(step, cx, err)})
	if e, ok := tokenflow.AsError(err); ok {
		ginkgo.AddReportEntry(report.EntryReplay, ReplayEntry(e.Replay, e.Body), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	}
	ExpectNoError(err, step+": expected HTTP 200 with a token response")
}

// AttachServerLog adds the server log's tail (redacted) to a failed spec.
func AttachServerLog(info keycloak.Info) {
	if info.LogFile == "" {
		return
	}
	if t := keycloak.TailFile(info.LogFile, 60); t != "" {
		ginkgo.AddReportEntry("server log (last 60 lines, redacted)", Redactor.String(t), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	}
}

// RecordServer records the server under test in the report.
func RecordServer(info keycloak.Info, mode string, p profile.Profile) {
	var prof map[string]any
	b, _ := json.Marshal(p)
	_ = json.Unmarshal(b, &prof)
	ginkgo.AddReportEntry(report.EntryServer, report.Server{
		Target: info.Target, Version: info.Version, Image: info.Image, URL: info.BaseURL,
		BootSeconds: info.BootTime.Seconds(), Boot: info.Boot, Mode: mode, Profile: prof, Admin: info.HasAdmin(),
		InsecureSkipVerify: info.InsecureSkipVerify, PlainHTTP: info.PlainHTTP, RunID: RunID(),
	}, ginkgo.ReportEntryVisibilityNever)
	if info.InsecureSkipVerify {
		ginkgo.AddReportEntry("WARNING", "TLS VERIFICATION IS OFF (KC_INSECURE_SKIP_VERIFY=true): this run proves nothing about the server's identity")
	}
	if info.PlainHTTP {
		ginkgo.AddReportEntry("WARNING", "PLAIN HTTP TO A HOST THAT IS NOT LOOPBACK (KC_ALLOW_PLAIN_HTTP=true): credentials crossed the network unencrypted")
	}
}

// RecordLeftover reports something the run created on the server and could
// not remove, with how to remove it, and fails the node.
func RecordLeftover(l report.Leftover) {
	ginkgo.GinkgoHelper()
	l.Why = Redactor.String(l.Why)
	ginkgo.AddReportEntry(report.EntryLeftover, l)
	ginkgo.Fail(l.String())
}

// cleanupTimeout bounds a clean-up node: it may be given up calls of its
// own (KC_TIMEOUT each).
const cleanupTimeout = 2 * time.Minute

// Cleanup registers fn with ginkgo.DeferCleanup, bounded.
func Cleanup(fn func(ctx ginkgo.SpecContext)) {
	ginkgo.DeferCleanup(fn, ginkgo.NodeTimeout(cleanupTimeout))
}

// contextFor is the contract context of a client, with the settings read
// in admin modes.
func contextFor(c *Client, st *settings.Settings) contract.Context {
	return contract.Context{ClientID: c.ClientID, Settings: st}
}

// adminClient returns an admin client of a server, or nil without admin
// rights.
func adminClient(info keycloak.Info) *admin.Client {
	ginkgo.GinkgoHelper()
	if !info.HasAdmin() {
		return nil
	}
	ac, err := info.AdminClient(Redactor)
	ExpectNoError(err, "admin client")
	return ac
}

// ErrString is an error's text, redacted.
func ErrString(err error) string { return Redactor.String(err.Error()) }
