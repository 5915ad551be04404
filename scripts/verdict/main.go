// Command verdict prints the verdict table of a conformance run from its
// Ginkgo JSON report: each promise, what was expected, what the server sent,
// and pass or fail. It exits 1 unless every spec passed.
//
//	go run ./scripts/verdict [-summary] reports/conformance.json
//
// With -summary, a step whose promises were all kept takes one row.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/onsi/ginkgo/v2/types"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/redact"
)

func main() {
	summary := flag.Bool("summary", false, "one row for each step whose promises were all kept")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: verdict [-summary] REPORT.json")
		os.Exit(2)
	}
	ok, err := run(os.Stdout, flag.Arg(0), *summary)
	if err != nil {
		fmt.Fprintln(os.Stderr, "verdict:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(w io.Writer, path string, summary bool) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	var reports []types.Report
	if err := json.Unmarshal(b, &reports); err != nil {
		return false, fmt.Errorf("%s: expected a Ginkgo JSON report: %w", path, err)
	}
	return Print(w, reports, summary), nil
}

// Print writes the table and reports whether the run passed.
func Print(w io.Writer, reports []types.Report, summary bool) bool {
	var passed, failed, skipped, setupFailed, interrupted int
	var failures []string
	servers := map[string]bool{}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUITE\tSTEP\tPROMISE\tEXPECTED\tSENT\tRESULT")
	for _, r := range reports {
		suite := strings.TrimPrefix(r.SuiteDescription, "kcconform: ")
		for _, s := range r.SpecReports {
			for _, e := range s.ReportEntries {
				switch e.Name {
				case framework.ServerEntry:
					servers[describeServer(e.Value.AsJSON)] = true
				case framework.VerdictEntry:
					var v framework.Verdict
					if json.Unmarshal([]byte(e.Value.AsJSON), &v) != nil {
						continue
					}
					if summary && allPass(v.Checks) {
						fmt.Fprintf(tw, "%s\t%s\t%d promise(s)\tas the profile says\tas expected\tpass\n", suite, v.Step, len(v.Checks))
						continue
					}
					for _, c := range v.Checks {
						res := "pass"
						switch {
						case c.Pass:
						case s.State == types.SpecStateInterrupted:
							// The interrupt, not the server, failed it.
							res = "cut short"
						default:
							res = "FAIL"
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", suite, v.Step, c.Promise, c.Expected, clip(c.Sent, 70), res)
					}
				}
			}
			if s.LeafNodeType != types.NodeTypeIt {
				if s.State.Is(types.SpecStateFailureStates) {
					setupFailed++
					failures = append(failures, fmt.Sprintf("[%s] %s: %s", suite, s.LeafNodeType, firstLines(s.Failure.Message, 6)))
				}
				continue
			}
			switch {
			case s.State == types.SpecStatePassed:
				passed++
			case s.State == types.SpecStateInterrupted:
				interrupted++
				failures = append(failures, fmt.Sprintf("[%s] %s: interrupted", suite, s.FullText()))
			case s.State.Is(types.SpecStateFailureStates):
				failed++
				failures = append(failures, fmt.Sprintf("[%s] %s: %s", suite, s.FullText(), firstLines(s.Failure.Message, 6)))
			case s.State == types.SpecStateSkipped && s.Failure.Message == "":
				// left out by a label filter: not part of this run
			case s.State == types.SpecStateSkipped || s.State == types.SpecStatePending:
				skipped++
			}
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	for s := range servers {
		fmt.Fprintln(w, "server:", s)
	}
	for _, f := range failures {
		fmt.Fprintln(w, redact.String("FAILED "+f))
	}
	ok := failed == 0 && setupFailed == 0 && interrupted == 0 && passed > 0
	verdict := "PASS: the server keeps the procedure's promises"
	switch {
	case interrupted > 0:
		verdict = fmt.Sprintf("FAIL: the run was interrupted (%d spec(s) cut short); it proves nothing either way", interrupted)
	case failed > 0:
		verdict = "FAIL: the server breaks a promise of the procedure (see the FAIL rows and FAILED specs)"
	case setupFailed > 0:
		verdict = "FAIL: the run could not complete (see FAILED set-up above)"
	case passed == 0:
		verdict = "FAIL: no spec ran"
	}
	if interrupted > 0 {
		fmt.Fprintf(w, "%d interrupted\n", interrupted)
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	fmt.Fprintln(w, "verdict:", verdict)
	return ok
}

func allPass(cs []contract.Check) bool {
	for _, c := range cs {
		if !c.Pass {
			return false
		}
	}
	return true
}

func describeServer(js string) string {
	var s framework.ServerReport
	if json.Unmarshal([]byte(js), &s) != nil {
		return js
	}
	out := fmt.Sprintf("Keycloak %s, %s target, %s, profile %s, boot %.1fs", s.Version, s.Target, s.URL, s.Profile.Name, s.BootSeconds)
	if s.Image != "" {
		out += ", image " + s.Image
	}
	if s.InsecureSkipVerify {
		out += ", TLS VERIFICATION OFF"
	}
	return out
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func firstLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = append(ls[:n], "…")
	}
	return strings.Join(ls, "\n  ")
}
