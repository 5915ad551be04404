// Package verdict is "kcconform verdict": prints the verdict of a conformance run from its Ginkgo
// JSON report(s): the headline (PASS, FAIL naming the promises, or COULD NOT
// RUN with the reason), then each promise, its class, what was expected,
// what the server sent and the result, with hints. It exits 0 on PASS, 1 on
// FAIL and 2 when the run could not run.
//
//	kcconform verdict [-steps] reports/e2e.json [more.json]
//
// With -steps, the table has a row for each check of each step. A hint that
// asks for a set-up the settings read show in place fails it too (exit 1).
package verdict

import (
	"flag"
	"fmt"
	"io"
	"os"

	"kcconform/pkg/cmds/internal/cli"
	"kcconform/pkg/report"
)

// Main runs "kcconform verdict" with args, and returns its exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kcconform verdict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	steps := fs.Bool("steps", false, "a row for each check of each step, not one for each promise")
	if status, ok := cli.Parse(fs, args); !ok {
		return status
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: kcconform verdict [-steps] REPORT.json...")
		return 2
	}
	os.Exit(run(stdout, fs.Args(), *steps))
	return 0
}

func run(w io.Writer, paths []string, steps bool) int {
	var suites []report.Suite
	for _, p := range paths {
		s, err := report.Load(p)
		if err != nil {
			fmt.Fprintln(w, "verdict: COULD NOT RUN:", err)
			return report.ExitCouldNot
		}
		suites = append(suites, s...)
	}
	r := report.Summarize(suites)
	r.WriteText(w, steps)
	st, _ := r.Verdict()
	// A hint that asks for a set-up the printed settings show in place is
	// the harness's error, whatever the verdict.
	if bad := r.HintContradictions(); len(bad) > 0 {
		fmt.Fprintf(w, "verdict: %d hint(s) ask for a set-up the settings read show in place:\n", len(bad))
		for _, b := range bad {
			fmt.Fprintln(w, "  "+b)
		}
		return report.ExitFail
	}
	return st.ExitCode()
}
