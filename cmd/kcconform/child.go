package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/onsi/ginkgo/v2"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/redact"
	"kcconform/pkg/report"
	"kcconform/pkg/settings"
	"kcconform/suites"
)

// runChild runs one suite in this process (the parent runs it as its
// child), with Ginkgo writing its JSON and JUnit reports.
func runChild(o options) int {
	// The parent reads the output; should it be gone, writes must not kill
	// this process before its clean-ups ran.
	signal.Ignore(syscall.SIGPIPE)
	s, ok := suites.Find(o.child)
	if !ok {
		fmt.Fprintf(os.Stderr, "kcconform: no suite %q\n", o.child)
		return exitCouldNot
	}
	if o.list {
		return listSuite(s)
	}
	// The parent checked the settings and handed them on (settings.Environ).
	st, err := settings.FromEnvironment()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kcconform: %v\n", err)
		return exitCouldNot
	}
	suiteCfg, reporterCfg := ginkgo.GinkgoConfiguration()
	suiteCfg.LabelFilter = o.labelFilter
	if o.focus != "" {
		suiteCfg.FocusStrings = []string{o.focus}
	}
	suiteCfg.RandomizeAllSpecs = true
	suiteCfg.FailOnPending = true
	suiteCfg.FailOnEmpty = true
	suiteCfg.Timeout = o.timeout
	suiteCfg.PollProgressAfter = 2 * time.Minute
	suiteCfg.PollProgressInterval = time.Minute
	reporterCfg.Verbose = o.verbose
	reporterCfg.NoColor = !st.Color
	reporterCfg.JSONReport = filepath.Join(st.ReportDir, o.childReport+".json")
	reporterCfg.JUnitReport = filepath.Join(st.ReportDir, o.childReport+".xml")
	if framework.RunStandalone(s, st, suiteCfg, reporterCfg) {
		return exitPass
	}
	return exitFail
}

// listSuite prints a suite's specs, as the promises they check.
func listSuite(s framework.Suite) int {
	s.Preview()
	rep := ginkgo.PreviewSpecs(s.Description)
	fmt.Printf("%s (--suite %s):\n", s.Description, s.Name)
	for _, sp := range rep.SpecReports {
		if sp.LeafNodeType.String() != "It" {
			continue
		}
		labels := ""
		if l := sp.Labels(); len(l) > 0 {
			labels = " [" + strings.Join(l, ", ") + "]"
		}
		fmt.Printf("  - %s%s\n", sp.FullText(), labels)
	}
	return exitPass
}

// list prints the catalogue of checks and every selected suite's specs.
func list(stdout, stderr io.Writer, o options) int {
	names, err := selected(o)
	if err != nil {
		return couldNotRun(stdout, err)
	}
	fmt.Fprintln(stdout, "The checks kcconform makes on the server's answers (class: promise):")
	for _, id := range contract.Catalogue() {
		p := id.Promise()
		fmt.Fprintf(stdout, "  - [%s] %s: %s\n", p.Class, p.Title, p.What)
	}
	fmt.Fprintln(stdout)
	self, err := os.Executable()
	if err != nil {
		return couldNotRun(stdout, err)
	}
	for _, n := range names {
		cmd := exec.Command(self, "--child", n, "--list")
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(stderr, "kcconform: list %s: %v\n", n, err)
			return exitCouldNot
		}
		fmt.Fprintln(stdout)
	}
	return exitPass
}

// writeVerdict prints the verdict and writes it as text, Markdown (also to
// $GITHUB_STEP_SUMMARY) and HTML; it returns the exit code of the verdict.
func writeVerdict(r *report.Run, o options, dir string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stdout)
	r.WriteText(stdout, false)
	write := func(name string, fn func(io.Writer) error) {
		f, err := os.Create(filepath.Join(dir, name))
		if err == nil {
			err = fn(f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "kcconform: write %s: %v\n", name, err)
		}
	}
	write("verdict.txt", func(w io.Writer) error { r.WriteText(w, true); return nil })
	m := report.Matrix{Title: "kcconform verdict: " + o.suites, Columns: []report.Column{{Name: columnName(r), Run: r}}}
	write("summary.md", func(w io.Writer) error { m.WriteMarkdown(w); return nil })
	write("conformance.html", m.WriteHTML)
	if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		if f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
			m.WriteMarkdown(f)
			f.Close()
		}
	}
	fmt.Fprintf(stdout, "reports: %s (verdict.txt, conformance.html, summary.md, JSON and JUnit)\n", dir)
	if bundles, _ := filepath.Glob(filepath.Join(dir, "repro", "*", "manifest.json")); len(bundles) > 0 {
		for _, b := range bundles {
			fmt.Fprintf(stdout, "reproduction bundle: %s (bash reproduce.sh there, or kcconform --replay)\n", filepath.Dir(b))
		}
	}
	st, _ := r.Verdict()
	return st.ExitCode()
}

// columnName names a run's column: the Keycloak version it ran against.
func columnName(r *report.Run) string {
	if len(r.Servers) > 0 {
		return "Keycloak " + r.Servers[0].Version
	}
	return "run"
}

var ansiCodes = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// plainWriter writes text without terminal colour codes (for the output
// log, which the terminal also shows in colour).
type plainWriter struct{ w io.Writer }

func (p plainWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(ansiCodes.ReplaceAll(b, nil)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// leakScan looks for the run's own credentials and any JWT in its output
// and reports; a leak, a scan of nothing or an error fails the run.
func leakScan(fpDir string, paths []string, stdout io.Writer) int {
	fp, err := redact.LoadFingerprints(fpDir)
	if err != nil {
		fmt.Fprintf(stdout, "leak scan: %v\n", err)
		return exitLeak
	}
	files, leaks, err := redact.ScanPaths(fp, paths)
	for _, l := range leaks {
		fmt.Fprintln(stdout, l.String())
	}
	fmt.Fprintf(stdout, "leak scan: %d file(s) scanned for %d credential(s) of the run and any JWT: %d leak(s)\n", files, fp.Len(), len(leaks))
	if err != nil {
		fmt.Fprintf(stdout, "leak scan: %v\n", err)
		return exitLeak
	}
	if len(leaks) > 0 {
		fmt.Fprintln(stdout, "verdict: FAIL: a credential of the run is in clear text in its output or reports (see LEAK above)")
		return exitLeak
	}
	return exitPass
}
