package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"kcconform/pkg/redact"
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
func Binary() string {
	ginkgo.GinkgoHelper()
	if b := os.Getenv("KC_BINARY"); b != "" {
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
func NestedCommand(ctx context.Context, baseURL string, env map[string]string, args ...string) (*exec.Cmd, string, *bytes.Buffer) {
	ginkgo.GinkgoHelper()
	reports := ginkgo.GinkgoT().TempDir()
	cmd := exec.CommandContext(ctx, Binary(), append([]string{"--report-dir", reports}, args...)...)
	for _, kv := range os.Environ() {
		// The nested run gets only the settings given here, except that it
		// records its credentials for the outer run's leak scan.
		if !strings.HasPrefix(kv, "KC_") || strings.HasPrefix(kv, redact.FingerprintsEnv+"=") || strings.HasPrefix(kv, "KC_CACHE_DIR=") {
			cmd.Env = append(cmd.Env, kv)
		}
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
func Conformance(ctx context.Context, baseURL string, env map[string]string, args ...string) NestedRun {
	ginkgo.GinkgoHelper()
	cmd, reports, out := NestedCommand(ctx, baseURL, env, args...)
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
	ginkgo.AddReportEntry("nested kcconform run (exit "+strconv.Itoa(code)+")", LastLines(out.String(), 40), ginkgo.ReportEntryVisibilityFailureOrVerbose)
	return NestedRun{ExitCode: code, Output: out.String(), Reports: reports}
}

// jwtInClear matches a signed JWT in clear text.
var jwtInClear = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+`)

// ExpectNoLeak scans a run's output and every file of its reports for the
// given secrets, for the run's own credentials (their fingerprints), and for
// any JWT in clear text.
func ExpectNoLeak(r NestedRun, secrets ...string) {
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
	if dir := os.Getenv(redact.FingerprintsEnv); dir != "" {
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
		gomega.Expect(jwtInClear.FindString(text)).To(gomega.BeEmpty(), "a token in clear text in %s", name)
		for _, s := range secrets {
			gomega.Expect(s).NotTo(gomega.BeEmpty())
			gomega.Expect(strings.Contains(text, s)).To(gomega.BeFalse(), "a secret in clear text in %s", name)
		}
	}
}

// LastLines returns the last n lines of s.
func LastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
