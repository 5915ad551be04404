// Command behaviour writes the offline-token behaviour of every served
// Keycloak release as one table: it runs the offline and revocation suites
// (the kcconform command, process target) on the newest patch of every minor
// the Maven repository serves from 22.0 on, and on the -also releases; where
// a row's answer differs between two neighbouring columns it bisects the
// releases served between them for the first one that answers the new way
// (as make bisect does, for every row at once). Each release runs once;
// builds and templates are reused within the run, and the distributions
// and builds the run fetched are removed once their release has run (what
// was cached before is kept). It writes behaviour-by-release.md, .html and
// .json into -out, with the run's time and peak disk use.
//
//	go run ./scripts/behaviour [-binary bin/kcconform] [-out docs] [-also 26.7.0] [-versions "22.0.5 26.7.3"]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"kcconform/pkg/dist"
	"kcconform/pkg/report"
	"kcconform/pkg/settings"
	"kcconform/pkg/versions"
)

func main() {
	binary := flag.String("binary", "bin/kcconform", "the kcconform command (make build)")
	reports := flag.String("reports", "reports/behaviour", "folder of each release's reports")
	out := flag.String("out", "docs", "folder of behaviour-by-release.md, .html and .json")
	also := flag.String("also", "26.7.0", "further releases to run as columns, space- or comma-separated")
	versions := flag.String("versions", "", "the columns instead of the newest patch of every served minor (space- or comma-separated)")
	suites := flag.String("suite", "offline,revocation", "the suites each release runs")
	keep := flag.Bool("keep-cache", false, "keep the distributions and builds the run fetched")
	fixture := flag.String("fixture-no-audience", "fixtures/realms/offline-no-audience.json", "realm of the introspection run with a client without an audience mapper (empty: no such run)")
	reuse := flag.Bool("reuse", false, "take a release's answers from its report of an earlier run in -reports, where there is one")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: behaviour [-binary bin/kcconform] [-out docs] [-also VERSIONS] [-versions VERSIONS]")
		os.Exit(2)
	}
	s, err := settings.FromEnvironment()
	if err != nil {
		fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	served, err := dist.Served(ctx, &http.Client{Timeout: 30 * time.Second}, s.Server.MavenRepoURL)
	cancel()
	if err != nil {
		fail(fmt.Errorf("list the served releases: %w", err))
	}
	cols, err := columns(served, fields(*versions), fields(*also))
	if err != nil {
		fail(err)
	}
	if _, err := os.Stat(*binary); err != nil {
		fail(fmt.Errorf("-binary: %w (make build)", err))
	}
	home, _ := os.UserHomeDir()
	r := &runner{binary: *binary, reports: *reports, suites: *suites, log: os.Stderr, runs: map[string]*report.Run{}, errs: map[string]string{}, times: map[string]time.Duration{},
		cacheDir: s.Server.CacheDir, m2: filepath.Join(home, ".m2", "repository", "org", "keycloak", "keycloak-quarkus-dist"), keep: *keep, reuse: *reuse, fixture: *fixture}
	r.before = r.cacheEntries()
	baseline := r.measureDisk()
	r.peak = 0
	start := time.Now()
	t := r.table(cols, served)
	t.Took = time.Since(start).Round(time.Second).String()
	t.PeakDisk = fmt.Sprintf("%.1f GiB (%.1f GiB held before the run: its own use at most %.1f GiB)",
		float64(max(r.peak, baseline))/(1<<30), float64(baseline)/(1<<30), float64(max(r.peak-baseline, 0))/(1<<30))
	t.Machine = fmt.Sprintf("%d cores, %s/%s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	t.Generated = time.Now().UTC().Format("2006-01-02")
	// The command that ran the suites names its own build ("kcconform
	// e1c8bca (…)"), which may differ from the checkout's HEAD.
	if out, err := exec.Command(*binary, "--version").Output(); err == nil {
		if f := strings.Fields(string(out)); len(f) > 1 {
			t.Commit = f[1]
		}
	}
	if err := t.write(*out); err != nil {
		fail(err)
	}
	fmt.Printf("behaviour: %d columns, %d releases run, %d change(s); %s\n", len(t.Columns), len(t.Ran), len(t.Changes), filepath.Join(*out, "behaviour-by-release.md"))
	for _, c := range t.Columns {
		if c.Err != "" {
			os.Exit(1)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "behaviour:", err)
	os.Exit(2)
}

func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
}

// columns are the newest patch of every served minor from 22.0 on (or the
// given versions), with also, in version order; every one must be served.
func columns(served, given, also []string) ([]string, error) {
	cols := slices.Clone(given)
	if len(cols) == 0 {
		newest := map[string]string{}
		for _, v := range served {
			if versions.Compare(v, "22.0.0") < 0 {
				continue
			}
			m := minor(v)
			if n, ok := newest[m]; !ok || versions.Compare(v, n) > 0 {
				newest[m] = v
			}
		}
		for _, v := range newest {
			cols = append(cols, v)
		}
	}
	for _, v := range append(slices.Clone(cols), also...) {
		if !slices.Contains(served, v) {
			return nil, fmt.Errorf("release %s: expected one the Maven repository serves (%d served, %s to %s)", v, len(served), first(served), last(served))
		}
	}
	cols = append(cols, also...)
	slices.SortFunc(cols, versions.Compare)
	return slices.Compact(cols), nil
}

func first(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return s[len(s)-1]
}

func minor(v string) string {
	p := strings.SplitN(v, ".", 3)
	if len(p) < 2 {
		return v
	}
	return p[0] + "." + p[1]
}

// Table is the behaviour by release: what behaviour-by-release.json holds.
type Table struct {
	Generated, Commit, Machine, Took, PeakDisk string
	Suites                                     string
	Columns                                    []Column
	Rows                                       []Row
	Changes                                    []Change
	// Ran are every release run, in the order run (columns, then bisect steps).
	Ran []string
	// SuiteTime is each release's time in the suites (Ginkgo's run times:
	// boot, provisioning and checks); SuiteTotal their sum.
	SuiteTime  map[string]string
	SuiteTotal string
}

// Column is a release and why it has no answers, if it has none.
type Column struct {
	Version string
	Err     string `json:",omitempty"`
}

// Row is one promise or harness extra across the columns.
type Row struct {
	Class, Promise string
	Cells          []Answer
}

// Answer is one release's answer to a row: the result and what was sent.
type Answer struct {
	State string
	Sent  string `json:",omitempty"`
}

// Change is where a row's answer changed: the first release that answers
// the new way, the release before it, and both answers.
type Change struct {
	Promise       string
	Before, First string
	Was, Is       Answer
	// Tried are the releases run between the two columns to find First.
	Tried []string `json:",omitempty"`
}

type runner struct {
	binary, reports, suites string
	log                     io.Writer
	runs                    map[string]*report.Run
	errs                    map[string]string
	ran                     []string
	cacheDir, m2            string
	before                  map[string]bool
	keep, reuse             bool
	fixture                 string
	times                   map[string]time.Duration
	// exec, in tests, stands in for running the suites on a release.
	exec func(v string)
	peak int64
}

// table runs the columns, then bisects every change between neighbours.
func (r *runner) table(cols, served []string) Table {
	t := Table{Suites: r.suites}
	for _, v := range cols {
		r.run(v)
		t.Columns = append(t.Columns, Column{Version: v, Err: r.errs[v]})
	}
	m := report.Matrix{}
	for _, v := range cols {
		m.Columns = append(m.Columns, report.Column{Name: v, Run: r.runs[v], Err: r.errs[v]})
	}
	for _, row := range m.Rows() {
		tr := Row{Class: string(row.Class), Promise: row.Promise}
		for _, c := range row.Cells {
			tr.Cells = append(tr.Cells, Answer{State: c.State, Sent: normalize(c.Sent)})
		}
		t.Rows = append(t.Rows, tr)
	}
	for _, row := range t.Rows {
		for i := 1; i < len(cols); i++ {
			a, b := row.Cells[i-1], row.Cells[i]
			if a.State == b.State || !answered(a.State) || !answered(b.State) {
				continue
			}
			t.Changes = append(t.Changes, r.bisect(row.Promise, cols[i-1], cols[i], a, served))
		}
	}
	t.Ran = r.ran
	t.SuiteTime = map[string]string{}
	var total time.Duration
	for v, d := range r.times {
		t.SuiteTime[v] = d.Round(time.Second).String()
		total += d
	}
	t.SuiteTotal = total.Round(time.Second).String()
	return t
}

func suiteTime(suites []report.Suite) time.Duration {
	var d time.Duration
	for _, s := range suites {
		d += s.RunTime
	}
	return d
}

// answered says whether a cell holds the server's answer (not a spec
// skipped or never run on that release).
func answered(state string) bool {
	return state == string(report.Pass) || state == string(report.Fail) || state == string(report.NotApplicable) || state == report.CellAsIntended
}

// bisect finds the first release after good (whose answer is was) that
// answers promise another way, among those served up to bad.
func (r *runner) bisect(promise, good, bad string, was Answer, served []string) Change {
	var span []string
	for _, v := range served {
		if versions.Compare(v, good) >= 0 && versions.Compare(v, bad) <= 0 {
			span = append(span, v)
		}
	}
	ranBefore := len(r.ran)
	lo, hi := 0, len(span)-1
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if r.answer(span[mid], promise).State == was.State {
			lo = mid
		} else {
			hi = mid
		}
	}
	c := Change{Promise: promise, Before: span[lo], First: span[hi], Was: r.answer(span[lo], promise), Is: r.answer(span[hi], promise)}
	c.Tried = slices.Clone(r.ran[ranBefore:])
	return c
}

// answer is a release's answer to one row (running it if it has not run).
func (r *runner) answer(v, promise string) Answer {
	r.run(v)
	if r.runs[v] == nil {
		return Answer{State: report.CellNotRun, Sent: r.errs[v]}
	}
	for _, row := range (report.Matrix{Columns: []report.Column{{Run: r.runs[v]}}}).Rows() {
		if row.Promise == promise {
			return Answer{State: row.Cells[0].State, Sent: normalize(row.Cells[0].Sent)}
		}
	}
	return Answer{State: report.CellNotRun, Sent: "(no row for it)"}
}

// noAudience names the rows of the run with a client that has no audience
// mapper (the procedure's client as set up by hand): its introspection
// answer is what changed in 26.6/26.7, which the fixture's mapper hides.
const noAudience = " (client without an audience mapper)"

// run runs the suites on a release once, and the introspection spec with a
// client without an audience mapper, then frees what it fetched.
func (r *runner) run(v string) {
	if _, ok := r.runs[v]; ok {
		return
	}
	r.ran = append(r.ran, v)
	if r.exec != nil {
		r.exec(v)
		return
	}
	dir, _ := filepath.Abs(filepath.Join(r.reports, v))
	start := time.Now()
	main, err := r.variant(v, dir, fields(r.suites), nil, "--suite", r.suites)
	var extra []report.Suite
	if err == "" && r.fixture != "" {
		fx, _ := filepath.Abs(r.fixture)
		var e string
		if extra, e = r.variant(v, filepath.Join(dir, "no-audience"), nil, []string{"KC_FIXTURE=" + fx},
			"--suite", "offline", "--focus", "three refresh cycles"); e != "" {
			err = "with a client without an audience mapper: " + e
		}
	}
	if !r.keep {
		r.free()
	}
	if err != "" {
		r.runs[v], r.errs[v] = nil, err
		return
	}
	r.times[v] = suiteTime(main) + suiteTime(extra)
	run := report.Summarize(main)
	if len(extra) > 0 {
		for _, row := range report.Summarize(extra).Rows {
			if row.ID == "introspection" {
				row.Promise += noAudience
				run.Rows = append(run.Rows, row)
			}
		}
	}
	r.runs[v] = run
	fmt.Fprintf(r.log, "== behaviour: Keycloak %s: %s (%s)\n", v, run.Headline(), time.Since(start).Round(time.Second))
}

// variant runs the kcconform command on a release with args (and env) into
// dir, or takes its reports of an earlier run (-reuse), and returns them, or
// why there are none.
func (r *runner) variant(v, dir string, suites, env []string, args ...string) ([]report.Suite, string) {
	if got, err := load(dir, suites); r.reuse && err == nil {
		if b, err := os.ReadFile(filepath.Join(dir, "behaviour-disk.txt")); err == nil {
			var n int64
			if _, err := fmt.Sscan(string(b), &n); err == nil {
				r.peak = max(r.peak, n)
			}
		}
		fmt.Fprintf(r.log, "== behaviour: Keycloak %s: the reports of an earlier run in %s (-reuse)\n", v, dir)
		return got, ""
	}
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Sprintf("report folder: %v", err)
	}
	fmt.Fprintf(r.log, "== behaviour: Keycloak %s %s ...\n", v, strings.Join(args, " "))
	cmd := exec.Command(r.binary, append(args, "--target", "process", "--keycloak-version", v, "--report-dir", dir)...)
	cmd.Env = append(os.Environ(), env...)
	if log, err := os.Create(filepath.Join(dir, "behaviour-run.log")); err == nil {
		cmd.Stdout, cmd.Stderr = log, log
		defer log.Close()
	}
	runErr := cmd.Run()
	// Kept beside the reports, for a later -reuse to state the peak.
	_ = os.WriteFile(filepath.Join(dir, "behaviour-disk.txt"), []byte(fmt.Sprint(r.measureDisk())), 0o644)
	got, err := load(dir, suites)
	if err != nil {
		return nil, fmt.Sprintf("no report (%v); see %s", runErr, filepath.Join(dir, "behaviour-run.log"))
	}
	if st, why := report.Summarize(got).Verdict(); st == report.StatusCouldNot {
		return nil, "COULD NOT RUN: " + why
	}
	return got, ""
}

// load reads a run's reports: one per suite where it had several, else
// conformance.json.
func load(dir string, suites []string) ([]report.Suite, error) {
	if len(suites) < 2 {
		return report.Load(filepath.Join(dir, "conformance.json"))
	}
	var all []report.Suite
	for _, n := range suites {
		s, err := report.Load(filepath.Join(dir, n+".json"))
		if err != nil {
			return nil, err
		}
		all = append(all, s...)
	}
	return all, nil
}

// cacheEntries are the distributions and builds on disk now.
func (r *runner) cacheEntries() map[string]bool {
	out := map[string]bool{}
	for _, dir := range []string{filepath.Join(r.cacheDir, "dist"), filepath.Join(r.cacheDir, "builds"), r.m2} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			out[filepath.Join(dir, e.Name())] = true
		}
	}
	return out
}

// free removes what the run fetched or built that was not there before.
func (r *runner) free() {
	for p := range r.cacheEntries() {
		if !r.before[p] && !strings.HasSuffix(p, ".lock") {
			_ = os.RemoveAll(p)
		}
	}
}

// measureDisk records the peak size of the cache and the Maven copies, and
// returns the size now.
func (r *runner) measureDisk() int64 {
	var n int64
	for _, dir := range []string{r.cacheDir, r.m2} {
		_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if i, err := d.Info(); err == nil {
					n += i.Size()
				}
			}
			return nil
		})
	}
	r.peak = max(r.peak, n)
	return n
}

var (
	portRE  = regexp.MustCompile(`(127\.0\.0\.1|localhost):\d+`)
	realmRE = regexp.MustCompile(`kcconform-[a-z0-9-]+`)
	uuidRE  = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	numRE   = regexp.MustCompile(`\b1[6-9]\d{8}\b`) // Unix times of the run
)

// normalize takes out of what was sent what differs from run to run
// whatever the release (ports, the run's realm and client names, ids,
// times), so that the table is regenerated without noise.
func normalize(s string) string {
	s = portRE.ReplaceAllString(s, "$1:PORT")
	s = realmRE.ReplaceAllString(s, "kcconform-…")
	s = uuidRE.ReplaceAllString(s, "UUID")
	return numRE.ReplaceAllString(s, "TIME")
}

func (t Table) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write the behaviour table: %w", err)
	}
	j, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("write the behaviour table: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "behaviour-by-release.json"), append(j, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the behaviour table: %w", err)
	}
	var md, html strings.Builder
	t.markdown(&md)
	if err := t.html(&html); err != nil {
		return fmt.Errorf("write the behaviour table: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "behaviour-by-release.md"), []byte(md.String()), 0o644); err != nil {
		return fmt.Errorf("write the behaviour table: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "behaviour-by-release.html"), []byte(html.String()), 0o644); err != nil {
		return fmt.Errorf("write the behaviour table: %w", err)
	}
	return nil
}
