package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Status is a run's verdict.
type Status string

// Verdicts. A run that could not complete proves nothing either way.
const (
	StatusPass     Status = "PASS"
	StatusFail     Status = "FAIL"
	StatusCouldNot Status = "COULD NOT RUN"
	StatusCutShort Status = "INTERRUPTED"
)

// Row is one check of one step of one spec.
type Row struct {
	Suite string
	Spec  string
	Step  string
	Check
	// CutShort marks a check of a spec that an interrupt, not the server,
	// ended.
	CutShort bool
	// AsIntended marks a failed check of a spec that passed: a self-check
	// that proves the check can fail.
	AsIntended bool
}

// Run is a conformance run summarised from its Ginkgo report.
type Run struct {
	Rows      []Row
	Servers   []Server
	Settings  []Settings
	Leftovers []Leftover
	// Passed, Failed, Skipped and Interrupted count specs (Its).
	Passed, Failed, Skipped, Interrupted int
	// Failures are the failed specs and set-up nodes, one line each.
	Failures []string
	// SetupFailure is the first failure of a set-up node (BeforeSuite), the
	// reason a run could not run.
	SetupFailure string
	// SkipReasons are the reasons specs were skipped, with their count.
	SkipReasons map[string]int
	Duration    time.Duration
}

// Summarize reads the verdict out of a run's suites.
func Summarize(suites []Suite) *Run {
	r := &Run{SkipReasons: map[string]int{}}
	seenServer := map[string]bool{}
	for _, su := range suites {
		suite := strings.TrimPrefix(su.Description, "kcconform: ")
		r.Duration += su.RunTime
		for _, s := range su.Specs {
			for _, e := range s.Entries {
				switch e.Name {
				case EntryServer:
					if srv, ok := decodeEntry[Server](e.Value.AsJSON); ok && !seenServer[srv.URL+srv.Version] {
						seenServer[srv.URL+srv.Version] = true
						r.Servers = append(r.Servers, srv)
					}
				case EntrySettings:
					if st, ok := decodeEntry[Settings](e.Value.AsJSON); ok && !seenServer["settings "+st.Realm+" "+st.ClientID] {
						seenServer["settings "+st.Realm+" "+st.ClientID] = true
						r.Settings = append(r.Settings, st)
					}
				case EntryLeftover:
					if l, ok := decodeEntry[Leftover](e.Value.AsJSON); ok {
						r.Leftovers = append(r.Leftovers, l)
					}
				}
			}
			for _, st := range s.Steps() {
				for _, c := range st.Checks {
					r.Rows = append(r.Rows, Row{Suite: suite, Spec: s.FullText(), Step: st.Step, Check: c,
						CutShort: c.Failed() && s.State == "interrupted", AsIntended: c.Failed() && s.State == "passed"})
				}
			}
			if !s.IsTest() {
				if s.Failed() {
					msg := firstLines(s.FailureMessage(), 6)
					if r.SetupFailure == "" {
						r.SetupFailure = msg
					}
					r.Failures = append(r.Failures, fmt.Sprintf("[%s] %s: %s", suite, s.NodeType, msg))
				}
				continue
			}
			switch {
			case s.State == "passed":
				r.Passed++
			case s.State == "interrupted":
				r.Interrupted++
				r.Failures = append(r.Failures, fmt.Sprintf("[%s] %s: interrupted", suite, s.FullText()))
			case s.Failed():
				r.Failed++
				r.Failures = append(r.Failures, fmt.Sprintf("[%s] %s: %s", suite, s.FullText(), firstLines(s.FailureMessage(), 6)))
			case s.FilteredOut():
				// left out by a label filter: not part of this run
			case s.State == "skipped" || s.State == "pending":
				r.Skipped++
				r.SkipReasons[firstLines(s.FailureMessage(), 1)]++
			}
		}
	}
	markNotReached(r.Rows)
	return r
}

// markNotReached turns every failed check that the refusal of the
// procedure's get explains (the same answer, where the get was refused:
// the client could not even get a token) into a check not reached: one
// cause, counted once.
func markNotReached(rows []Row) {
	roots := map[string]bool{}
	for _, row := range rows {
		if row.Root && row.Failed() {
			roots[row.Sent] = true
		}
	}
	for i := range rows {
		if r := &rows[i]; !r.Root && r.Failed() && roots[r.Sent] {
			r.Result, r.Hint = NotReached, ""
		}
	}
}

// BrokenPromises lists the promises (not harness extras) that failed, each
// once, in the catalogue's order.
func (r *Run) BrokenPromises() []string {
	return r.failedNames(func(c Check) bool { return c.Class.IsPromise() })
}

// FailedExtras lists the harness extras that failed where they applied.
func (r *Run) FailedExtras() []string {
	return r.failedNames(func(c Check) bool { return !c.Class.IsPromise() })
}

func (r *Run) failedNames(keep func(Check) bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, row := range byCatalogue(r.Rows) {
		if row.Failed() && !row.CutShort && !row.AsIntended && keep(row.Check) && !seen[row.Promise] {
			seen[row.Promise] = true
			out = append(out, row.Promise)
		}
	}
	return out
}

// Verdict returns the run's status and its one-line explanation: which
// promises broke, or why the run could not run and what to change.
func (r *Run) Verdict() (Status, string) {
	broken := r.BrokenPromises()
	switch {
	case r.Interrupted > 0:
		return StatusCutShort, fmt.Sprintf("the run was interrupted (%d spec(s) cut short); it proves nothing either way", r.Interrupted)
	case len(broken) > 0:
		return StatusFail, fmt.Sprintf("the server breaks %d promise(s): %s", len(broken), strings.Join(broken, ", "))
	case r.SetupFailure != "":
		return StatusCouldNot, firstLines(r.SetupFailure, 1)
	case r.Failed > 0:
		if extras := r.FailedExtras(); len(extras) > 0 {
			return StatusFail, fmt.Sprintf("%d spec(s) failed; harness extras that applied and failed: %s", r.Failed, strings.Join(extras, ", "))
		}
		return StatusFail, fmt.Sprintf("%d spec(s) failed without a verdict on a promise (see FAILED below)", r.Failed)
	case r.Passed == 0:
		return StatusCouldNot, "no spec ran (check --label-filter/--focus, or KC_TARGET)"
	case len(r.Rows) == 0:
		// Not "the server keeps the promises": none was looked at.
		return StatusPass, fmt.Sprintf("%d spec(s) passed; none of them checks a promise of the server", r.Passed)
	}
	return StatusPass, "the server keeps the procedure's promises"
}

// OK reports whether the run passed.
func (r *Run) OK() bool {
	s, _ := r.Verdict()
	return s == StatusPass
}

// Headline is the verdict's first line, e.g. "FAIL: the server breaks 1
// promise(s): refresh_expires_in".
func (r *Run) Headline() string {
	s, why := r.Verdict()
	return fmt.Sprintf("%s: %s", s, why)
}

// WriteText writes the verdict as the terminal shows it: the headline first,
// then a row for each promise (its result over every step that checked
// it, with what was expected and sent where it failed or did not apply),
// the server, settings, hints, leftovers and failures, and the headline
// again at the end, where a scrolling terminal leaves it. With steps, the
// table has a row for each check of each step instead.
func (r *Run) WriteText(w io.Writer, steps bool) {
	fmt.Fprintln(w, "verdict: "+r.Headline())
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	switch {
	case len(r.Rows) == 0:
		// Self-test specs check the harness, not the server: no header over nothing.
		fmt.Fprintln(tw, "no promise was checked by the specs that ran")
	case steps:
		fmt.Fprintln(tw, "SUITE\tSTEP\tCLASS\tPROMISE\tEXPECTED\tSENT\tRESULT")
		for _, row := range r.Rows {
			res := string(row.Result)
			switch {
			case row.CutShort:
				res = "cut short"
			case row.AsIntended:
				res = "FAIL (as intended)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Suite, row.Step, row.Class, row.Promise, row.Expected, clip(row.Sent, 70), res)
		}
	default:
		fmt.Fprintln(tw, "CLASS\tPROMISE\tRESULT\tEXPECTED\tSENT")
		for _, mr := range (Matrix{Columns: []Column{{Run: r}}}).Rows() {
			c := mr.Cells[0]
			expected, sent := "", clip(c.Sent, 60)
			if c.State != string(Pass) {
				expected = clip(c.Expected, 60)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", mr.Class, clip(mr.Promise, 60), c.State, expected, sent)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, s := range r.Servers {
		fmt.Fprintln(w, "server: "+Describe(s))
	}
	for _, s := range r.Settings {
		fmt.Fprintf(w, "settings of realm %s, client %s (read with admin rights):\n", s.Realm, s.ClientID)
		for _, l := range s.Lines {
			fmt.Fprintln(w, "  "+l)
		}
	}
	hints := map[string]bool{}
	for _, row := range r.Rows {
		if (row.Failed() && !row.AsIntended && !row.CutShort || row.Result == NotApplicable) && row.Hint != "" && !hints[row.Promise+row.Hint] {
			hints[row.Promise+row.Hint] = true
			fmt.Fprintf(w, "%s %s: %s\n", map[bool]string{true: "hint for", false: "not applicable:"}[row.Failed()], row.Promise, row.Hint)
		}
	}
	for _, l := range r.Leftovers {
		fmt.Fprintln(w, l.String())
	}
	reasons := make([]string, 0, len(r.SkipReasons))
	for reason := range r.SkipReasons {
		reasons = append(reasons, reason)
	}
	sort.Strings(reasons)
	for _, reason := range reasons {
		fmt.Fprintf(w, "skipped %d spec(s): %s\n", r.SkipReasons[reason], reason)
	}
	for _, f := range r.Failures {
		fmt.Fprintln(w, "FAILED "+f)
	}
	if r.Interrupted > 0 {
		fmt.Fprintf(w, "%d interrupted\n", r.Interrupted)
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", r.Passed, r.Failed, r.Skipped)
	fmt.Fprintln(w, "verdict: "+r.Headline())
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
