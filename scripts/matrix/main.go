// Command matrix runs the offline suite for each Keycloak version and the
// upgrade path between consecutive versions, then prints one table: a row
// for each check, a column for each version and upgrade. It exits 1 unless
// every check passed in every column.
//
//	go run ./scripts/matrix [-reports DIR] 26.5.6 26.7.3
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/onsi/ginkgo/v2/types"
)

func main() {
	reports := flag.String("reports", "reports/matrix", "folder for each run's reports")
	flag.Parse()
	versions := flag.Args()
	if len(versions) == 0 {
		fmt.Fprintln(os.Stderr, "usage: matrix [-reports DIR] VERSION...")
		os.Exit(2)
	}
	var cols []column
	for i, v := range versions {
		cols = append(cols, run(*reports, v, "conformance", "conformance.json", "KC_VERSION="+v))
		if i > 0 {
			from := versions[i-1]
			cols = append(cols, run(*reports, from+"->"+v, "upgrade", "upgrade.json", "FROM="+from, "TO="+v))
		}
	}
	if !printTable(os.Stdout, cols) {
		os.Exit(1)
	}
}

// column is one run: its name and each check's result.
type column struct {
	name    string
	results map[string]string // check -> pass / FAIL / skip
	order   []string
	err     string // the run's own failure (set-up, not a check)
}

func run(reports, name, target, report string, vars ...string) column {
	dir, _ := filepath.Abs(filepath.Join(reports, strings.ReplaceAll(name, ">", "")))
	_ = os.RemoveAll(dir)
	fmt.Fprintf(os.Stderr, "== matrix: make %s %s\n", target, strings.Join(vars, " "))
	args := append([]string{"-s", target, "REPORTS=" + dir}, vars...)
	cmd := exec.Command("make", args...)
	out, _ := os.Create(filepath.Join(os.TempDir(), "kcconform-matrix-"+strings.ReplaceAll(name, ">", "")+".log"))
	if out != nil {
		defer out.Close()
		cmd.Stdout, cmd.Stderr = out, out
	}
	runErr := cmd.Run()
	c := column{name: name, results: map[string]string{}}
	b, err := os.ReadFile(filepath.Join(dir, report))
	if err != nil {
		c.err = fmt.Sprintf("no report (%v); run log: %s", runErr, out.Name())
		return c
	}
	var rs []types.Report
	if err := json.Unmarshal(b, &rs); err != nil {
		c.err = "unreadable report: " + err.Error()
		return c
	}
	for _, r := range rs {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != types.NodeTypeIt {
				if s.State.Is(types.SpecStateFailureStates) {
					c.err = fmt.Sprintf("%s failed: %s", s.LeafNodeType, firstLine(s.Failure.Message))
				}
				continue
			}
			if filteredOut(s) {
				continue
			}
			check := s.LeafNodeText
			if len(s.ContainerHierarchyTexts) > 0 {
				check = s.ContainerHierarchyTexts[0] + ": " + check
			}
			res := "pass"
			switch {
			case s.State.Is(types.SpecStateFailureStates):
				res = "FAIL"
			case s.State == types.SpecStateSkipped || s.State == types.SpecStatePending:
				res = "skip"
			}
			if _, seen := c.results[check]; !seen {
				c.order = append(c.order, check)
			}
			c.results[check] = res
		}
	}
	if len(c.results) == 0 && c.err == "" {
		c.err = fmt.Sprintf("no spec ran (%v)", runErr)
	}
	return c
}

// filteredOut reports a spec a label filter left out: skipped with no reason
// (Skip() always gives one).
func filteredOut(s types.SpecReport) bool {
	return s.State == types.SpecStateSkipped && s.Failure.Message == ""
}

func printTable(w io.Writer, cols []column) bool {
	var checks []string
	seen := map[string]bool{}
	for _, c := range cols {
		for _, k := range c.order {
			if !seen[k] {
				seen[k] = true
				checks = append(checks, k)
			}
		}
	}
	sort.Strings(checks)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	header := []string{"CHECK"}
	for _, c := range cols {
		header = append(header, c.name)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	ok := true
	for _, k := range checks {
		row := []string{clip(k, 90)}
		for _, c := range cols {
			r, has := c.results[k]
			if !has {
				r = "-"
			}
			if r == "FAIL" {
				ok = false
			}
			row = append(row, r)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	for _, c := range cols {
		if c.err != "" {
			ok = false
			fmt.Fprintf(w, "%s: %s\n", c.name, c.err)
		}
	}
	if ok {
		fmt.Fprintln(w, "matrix: PASS")
	} else {
		fmt.Fprintln(w, "matrix: FAIL")
	}
	return ok
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
