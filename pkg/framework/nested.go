package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/pkg/redact"
	"kcconform/pkg/report"
	"kcconform/pkg/settings"
)

// NestedRun is one run of the kcconform command by a self-checking suite.
type NestedRun struct {
	ExitCode int
	Output   string // stdout and stderr
	Reports  string // its reports folder
}

// Binary is the kcconform command the self-checks run: KC_BINARY, else
// this command when the self-checks run in it, else bin/kcconform at the
// module root (make build).
func (s *Session) Binary() string {
	ginkgo.GinkgoHelper()
	if b := s.Run.Settings.Binary; b != "" {
		return b
	}
	if self, err := os.Executable(); err == nil && filepath.Base(self) == "kcconform" {
		return self
	}
	b := filepath.Join(ModuleRoot(), "bin", "kcconform")
	if _, err := os.Stat(b); err != nil {
		ginkgo.Fail("the self-checks run the kcconform command: " + b + " is missing (make build, or set KC_BINARY)")
	}
	return b
}

// NestedCommand prepares the kcconform command (the offline suite, or the
// given arguments) against an external server at baseURL with env, as a
// user would type it, in its own process group.
func (s *Session) NestedCommand(ctx context.Context, baseURL string, env map[string]string, args ...string) (*exec.Cmd, string, *bytes.Buffer) {
	ginkgo.GinkgoHelper()
	reports := ginkgo.GinkgoT().TempDir()
	all := append([]string{"--report-dir", reports}, args...)
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		// A subcommand (before, watch, after) comes first, its flags after it.
		all = append([]string{args[0], "--report-dir", reports}, args[1:]...)
	}
	cmd := exec.CommandContext(ctx, s.Binary(), all...)
	// The nested run gets only the settings given here, except that it
	// shares the cache and records its credentials for the outer run's
	// leak scan.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "KC_CACHE_DIR="+s.Config.CacheDir)
	if fp := s.Run.Settings.Fingerprints; fp != "" {
		cmd.Env = append(cmd.Env, settings.FingerprintsEnv+"="+fp)
	}
	if baseURL != "" {
		cmd.Env = append(cmd.Env, "KC_TARGET=external", "KC_URL="+baseURL)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A cancelled spec interrupts the run as Ctrl-C would, so it cleans up.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
	cmd.WaitDelay = time.Minute
	return cmd, reports, &out
}

// Conformance runs the kcconform command to the end against an external
// server (the offline suite unless args say otherwise).
func (s *Session) Conformance(ctx context.Context, baseURL string, env map[string]string, args ...string) NestedRun {
	ginkgo.GinkgoHelper()
	cmd, reports, out := s.NestedCommand(ctx, baseURL, env, args...)
	err := cmd.Run()
	return Finish(err, reports, out)
}

// Finish turns a nested run's end into a NestedRun and reports its output.
func Finish(err error, reports string, out *bytes.Buffer) NestedRun {
	ginkgo.GinkgoHelper()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		gomega.Expect(err).NotTo(gomega.HaveOccurred(), "run kcconform")
	}
	ginkgo.AddReportEntry("nested kcconform run (exit "+strconv.Itoa(code)+")", report.LastLines(out.String(), 40), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	// Every verdict make test produces is held to what kcconform verdict holds
	// the suites' own to: no hint asks for a set-up its settings show in place.
	gomega.Expect(hintContradictions(reports)).To(gomega.BeEmpty(), "the nested run's hints ask for a set-up the settings it printed show in place")
	return NestedRun{ExitCode: code, Output: out.String(), Reports: reports}
}

// hintContradictions are those of the Ginkgo reports in a nested run's
// reports folder (conformance.json, or one per suite).
func hintContradictions(dir string) []string {
	paths, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var suites []report.Suite
	for _, p := range paths {
		if s, err := report.Load(p); err == nil {
			suites = append(suites, s...)
		}
	}
	if len(suites) == 0 {
		return nil
	}
	return report.Summarize(suites).HintContradictions()
}

// ExpectNoLeak scans a run's output and every file of its reports for the
// given secrets, for the run's own credentials (their fingerprints), and for
// any JWT in clear text.
func (s *Session) ExpectNoLeak(r NestedRun, secrets ...string) {
	ginkgo.GinkgoHelper()
	texts := map[string]string{"output": r.Output}
	gomega.Expect(filepath.Walk(r.Reports, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		texts[p] = string(b)
		return err
	})).To(gomega.Succeed())
	gomega.Expect(len(texts)).To(gomega.BeNumerically(">", 2), "the run wrote reports")
	var fp *redact.Fingerprints
	if dir := s.Run.Settings.Fingerprints; dir != "" {
		var err error
		fp, err = redact.LoadFingerprints(dir)
		gomega.Expect(err).NotTo(gomega.HaveOccurred())
	}
	for name, text := range texts {
		if fp != nil {
			var where []string
			for _, l := range fp.Scan(text) {
				where = append(where, fmt.Sprintf("a %s (sha256 %s…) at byte %d, after %q", l.Kind, l.Fingerprint, l.Offset, l.Before(text, 60)))
			}
			gomega.Expect(where).To(gomega.BeEmpty(), "a credential of the run in clear text in %s", name)
		}
		gomega.Expect(redact.FindJWT(text)).To(gomega.BeEmpty(), "a token in clear text in %s", name)
		for _, secret := range secrets {
			gomega.Expect(secret).NotTo(gomega.BeEmpty())
			gomega.Expect(strings.Contains(text, secret)).To(gomega.BeFalse(), "a secret in clear text in %s", name)
		}
	}
}
