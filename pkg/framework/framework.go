// Package framework is what kcconform's Ginkgo suites share: the run (its
// id, its redactor, its settings and profile), one Keycloak per suite run
// handed to every parallel process without its secrets, a realm (or the
// existing client) per process, verdict entries for the verdict table,
// clean-ups that report what they could not remove, and diagnostics
// attached to failed specs.
package framework

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/pkg/admin"
	"kcconform/pkg/contract"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/matchers"
	"kcconform/pkg/random"
	"kcconform/pkg/report"
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
	LabelCluster  = "cluster"
)

// ResourcePrefix starts the name of everything a run creates on a server.
const ResourcePrefix = keycloak.ResourcePrefix

// sharedKey is a run key for the processes that share a parent (the
// Ginkgo command) where none was given (KC_RUN_KEY): a key in a file only
// this user can read, made by the first of them. The first process removes
// it once every process has ended (Suite.Prepare).
func sharedKey() ([]byte, string, error) {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("kcconform-keys-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		return nil, "", fmt.Errorf("%s: expected a private folder", dir)
	}
	path := filepath.Join(dir, strconv.Itoa(os.Getppid()))
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err == nil {
		_, err = f.Write([]byte(hex.EncodeToString(key)))
		f.Close()
		return []byte(hex.EncodeToString(key)), path, err
	}
	for i := 0; i < 50; i++ {
		if b, err := os.ReadFile(path); err == nil && len(b) == 64 {
			return b, path, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, "", fmt.Errorf("%s: no key", path)
}

// Bogus returns a made-up credential ("kcconform-<what>-<random>") for a
// spec that must be refused. It is made at run time, not written in the
// source: Ginkgo shows a spec's source lines when it is interrupted, and
// since the harness registers every secret and token it sends, a literal
// would read as a leaked credential to the leak scan.
func Bogus(what string) string {
	return "kcconform-" + what + "-" + random.Hex(8)
}

// ModuleRoot is the kcconform checkout this package was built from.
func ModuleRoot() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Join(filepath.Dir(file), "..", "..")
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root
		}
	}
	// A binary built with -trimpath (make build) knows no source path: the
	// checkout is the working folder or one above it.
	dir, err := os.Getwd()
	for err == nil {
		if b, e := os.ReadFile(filepath.Join(dir, "go.mod")); e == nil && strings.HasPrefix(string(b), "module kcconform\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "."
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
func (s *Session) ExpectNoError(err error, what string) {
	ginkgo.GinkgoHelper()
	if err != nil {
		ginkgo.Fail(s.Run.Redactor.String(what + ": " + err.Error()))
	}
}

// ExpectRefusal records the refusal promise id at step in the verdict table
// and fails the spec unless err is the token endpoint's OAuth error
// expected. Where one promise is checked by several steps (an
// administrator's actions), the step qualifies the promise's title.
func ExpectRefusal(id contract.ID, step string, sub contract.Subject, err error, status int, codes ...string) {
	ginkgo.GinkgoHelper()
	c := contract.Refused(id, sub, err, status, codes...)
	if step != id.Title() {
		c = contract.Qualified(c, step)
	}
	Record(step, []contract.Check{c})
	gomega.Expect(err).To(matchers.FailWithOAuthError(status, codes...))
}

// RefusedWith reports whether err is the token endpoint's OAuth error with
// status and one of codes.
func RefusedWith(err error, status int, codes ...string) bool {
	e, ok := tokenflow.AsError(err)
	return ok && e.Status == status && slices.Contains(codes, e.Code)
}

// RecordNotPerformed records, under step, an administrative action (what)
// that the release does not perform and that did not end the token (err is
// the next refresh's outcome): n/a with why, never a failure. Its row is
// the one a release that performs it fills (the promise qualified by step),
// so that a matrix across releases lines the two answers up.
func RecordNotPerformed(step string, sub contract.Subject, what string, err error, why string) {
	Record(step, []contract.Check{contract.Qualified(contract.AdminRevocation.NotApplicable(sub,
		"400 invalid_grant", what+" answered success; the next refresh: "+contract.SentOf(err), why), step)})
}

// ExpectToken fails the spec when a request (promise id, at step) did not
// give a token answer, recording the broken promise (with the likely
// setting) and attaching the replay command and the redacted answer.
func (s *Session) ExpectToken(id contract.ID, step string, sub contract.Subject, err error) {
	ginkgo.GinkgoHelper()
	if err == nil {
		return
	}
	Record(step, []contract.Check{contract.TokenAnswer(id, sub, err)})
	if e, ok := tokenflow.AsError(err); ok {
		ginkgo.AddReportEntry(report.EntryReplay, ReplayEntry(e.Replay, e.Body), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	}
	s.ExpectNoError(err, step+": expected HTTP 200 with a token response")
}

// AttachServerLog adds the server log's tail (redacted) to a failed spec.
func (s *Session) AttachServerLog(info keycloak.Info) {
	if info.LogFile == "" {
		return
	}
	if t := report.TailFile(info.LogFile, 60); t != "" {
		ginkgo.AddReportEntry("server log (last 60 lines, redacted)", s.Run.Redactor.String(t), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	}
}

// RecordServer records the server under test in the report.
func (s *Session) RecordServer(info keycloak.Info, mode string) {
	p := s.Profile
	var prof map[string]any
	b, _ := json.Marshal(p)
	_ = json.Unmarshal(b, &prof)
	ginkgo.AddReportEntry(report.EntryServer, report.Server{
		Target: info.Target, Version: info.Version, Image: info.Image, URL: info.BaseURL,
		BootSeconds: info.BootTime.Seconds(), Boot: info.Boot, Mode: mode, Profile: prof, Admin: info.HasAdmin(),
		InsecureSkipVerify: info.InsecureSkipVerify, PlainHTTP: info.PlainHTTP, RunID: s.Run.ID(),
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
func (s *Session) RecordLeftover(l report.Leftover) {
	ginkgo.GinkgoHelper()
	l.Why = s.Run.Redactor.String(l.Why)
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

// adminClient returns an admin client of a server, or nil without admin
// rights.
func (s *Session) adminClient(info keycloak.Info) *admin.Client {
	ginkgo.GinkgoHelper()
	if !info.HasAdmin() {
		return nil
	}
	ac, err := info.AdminClient(s.Run.Redactor)
	s.ExpectNoError(err, "admin client")
	return ac
}

// ErrString is an error's text, redacted.
func (s *Session) ErrString(err error) string { return s.Run.Redactor.String(err.Error()) }
