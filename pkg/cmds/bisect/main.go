// Package bisect is "kcconform bisect": names the first Keycloak release whose answer to a
// promise differs from GOOD's: a binary search over the releases the Maven
// repository serves between GOOD and BAD, in version order, running the
// kcconform command once per release tried (the offline suite unless
// -suite says otherwise; builds, templates and archives are cached, so a
// step costs one boot). Without -promise it bisects the first promise,
// in the verdict's order, whose answer differs between GOOD and BAD. With
// -metric (p50 or p95) it bisects a latency instead: each release tried
// runs the load suite -runs times, and it differs from GOOD when the
// latency ratio's bootstrap interval (package confidence) excludes 1.
//
//	kcconform bisect -good 24.0.5 -bad 26.7.3 [-promise introspection]
//	kcconform bisect -good 26.5.6 -bad 26.7.3 -metric p50 [-grant client_credentials] [-rate 25]
package bisect

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"kcconform/pkg/cmds/internal/cli"
	"kcconform/pkg/contract"
	"kcconform/pkg/dist"
	"kcconform/pkg/report"
	"kcconform/pkg/settings"
	"kcconform/pkg/versions"
)

// Main runs "kcconform bisect" with args, and returns its exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kcconform bisect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	good := fs.String("good", "", "a release whose answer is the reference")
	bad := fs.String("bad", "", "a newer release whose answer differs")
	promise := fs.String("promise", "", "the promise, by key (kcconform --list) or title; empty: the first that differs")
	suite := fs.String("suite", "offline", "the suite that checks the promise")
	binary := fs.String("binary", self(), "the kcconform command (default: this one)")
	reports := fs.String("reports", "reports/bisect", "folder of each release's reports")
	repo := fs.String("maven-repo-url", "", "the Maven repository whose releases are searched (default KC_MAVEN_REPO_URL, else Maven Central)")
	metric := fs.String("metric", "", "bisect a latency instead of a promise: p50 or p95 (the load suite)")
	grant := fs.String("grant", "", "with -metric: the grant whose latency is compared (a prefix; default the load report's first)")
	rate := fs.Int("rate", 0, "with -metric: the rate whose latency is compared (default the lowest)")
	loadRuns := fs.Int("runs", 2, "with -metric: load suite runs per release")
	level := fs.Float64("level", 0.99, "with -metric: the intervals' confidence level")
	if status, ok := cli.Parse(fs, args); !ok {
		return status
	}
	if *good == "" || *bad == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: kcconform bisect -good VERSION -bad VERSION [-promise KEY] [-suite offline]")
		return 2
	}
	if *repo == "" {
		s, err := settings.FromEnvironment()
		if err != nil {
			fmt.Fprintln(stderr, "kcconform bisect:", err)
			return 2
		}
		*repo = s.Server.MavenRepoURL
	}
	b := &bisection{binary: *binary, reports: *reports, suite: *suite, out: stdout, answers: map[string]answer{}}
	var err error
	if *metric != "" {
		m := &metricBisection{binary: *binary, reports: *reports, out: stdout, metric: *metric, grant: *grant, rate: *rate,
			runs: *loadRuns, level: *level, lat: map[string][][]float64{}}
		err = m.run(*good, *bad, *repo)
	} else {
		err = b.run(*good, *bad, *promise, *repo)
	}
	if err != nil {
		fmt.Fprintln(stderr, "kcconform bisect:", err)
		return 2
	}
	return 0
}

// answer is what one release said to the promise: its cell's state and
// what was sent (never a token: reports hold none).
type answer struct {
	state, sent, err string
}

// alike compares results, not the values sent: those hold what differs
// from run to run whatever the release (ports in issuer URLs, the run's
// realm name).
func (a answer) alike(b answer) bool { return a.state == b.state && (a.err == "") == (b.err == "") }

func (a answer) String() string {
	if a.err != "" {
		return "could not run: " + a.err
	}
	return a.state + ": " + a.sent
}

type bisection struct {
	binary, reports, suite string
	out                    io.Writer
	answers                map[string]answer
	runs                   map[string]*report.Run
	tried                  []string
}

func (b *bisection) run(good, bad, promise, repo string) error {
	span, err := releases(b.binary, good, bad, repo)
	if err != nil {
		return err
	}
	b.runs = map[string]*report.Run{}
	if promise == "" {
		b.try(good)
		b.try(bad)
		if promise = firstDiffering(b.runs[good], b.runs[bad]); promise == "" {
			return fmt.Errorf("%s and %s give every promise the same answer: nothing to bisect", good, bad)
		}
		fmt.Fprintf(b.out, "bisect: the first promise whose answer differs: %s\n", promise)
	} else if promise, err = title(promise); err != nil {
		return err
	}
	g, x := b.answer(good, promise), b.answer(bad, promise)
	if g.alike(x) {
		return fmt.Errorf("%s and %s answer %q alike (%s): nothing to bisect", good, bad, promise, g)
	}
	lo, hi := search(span, func(v string) bool { return b.answer(v, promise).alike(g) })
	b.print(promise, span, lo, hi)
	return nil
}

// releases are the served releases from good to bad, in version order.
func releases(binary, good, bad, repo string) ([]string, error) {
	if versions.Compare(good, bad) >= 0 {
		return nil, fmt.Errorf("-good %s must be older than -bad %s", good, bad)
	}
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("-binary: %w (make build)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	served, err := dist.Served(ctx, &http.Client{Timeout: 30 * time.Second}, repo)
	if err != nil {
		return nil, err
	}
	var span []string
	for _, v := range served {
		if versions.Compare(v, good) >= 0 && versions.Compare(v, bad) <= 0 {
			span = append(span, v)
		}
	}
	if len(span) < 2 || span[0] != good || span[len(span)-1] != bad {
		return nil, fmt.Errorf("the repository does not serve both %s and %s (served between them: %v)", good, bad, span)
	}
	return span, nil
}

// search is the binary search: span[0] is alike, span[len-1] is not, and
// it returns the indexes of the last alike and the first different release
// next to each other (assuming one change between them).
func search(span []string, alike func(string) bool) (lo, hi int) {
	lo, hi = 0, len(span)-1
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if alike(span[mid]) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, hi
}

// answer runs a release once and reads its answer to the promise.
func (b *bisection) answer(v, promise string) answer {
	r := b.try(v)
	if r == nil {
		return b.answers[v]
	}
	for _, row := range (report.Matrix{Columns: []report.Column{{Run: r}}}).Rows() {
		if row.Promise == promise {
			return answer{state: row.Cells[0].State, sent: row.Cells[0].Sent}
		}
	}
	return answer{state: "not checked", sent: "(no row for it)"}
}

// try runs the suite on a release, once.
func (b *bisection) try(v string) *report.Run {
	if r, ok := b.runs[v]; ok {
		return r
	}
	b.tried = append(b.tried, v)
	dir, _ := filepath.Abs(filepath.Join(b.reports, v))
	_ = os.RemoveAll(dir)
	_ = os.MkdirAll(dir, 0o755)
	fmt.Fprintf(b.out, "bisect: Keycloak %s (%s suite) ...\n", v, b.suite)
	cmd := exec.Command(b.binary, "--suite", b.suite, "--keycloak-version", v, "--report-dir", dir)
	log, err := os.Create(filepath.Join(dir, "bisect-run.log"))
	if err == nil {
		cmd.Stdout, cmd.Stderr = log, log
		defer log.Close()
	}
	runErr := cmd.Run()
	suites, err := report.Load(filepath.Join(dir, "conformance.json"))
	if err != nil {
		b.answers[v] = answer{err: fmt.Sprintf("no report (%v); see %s", runErr, filepath.Join(dir, "bisect-run.log"))}
		b.runs[v] = nil
		return nil
	}
	r := report.Summarize(suites)
	if st, why := r.Verdict(); st == report.StatusCouldNot {
		b.answers[v] = answer{err: why}
		b.runs[v] = nil
		return nil
	}
	b.runs[v] = r
	return r
}

// firstDiffering is the first promise, in the verdict's order, whose
// result differs between the two runs (pass, FAIL, n/a: the values sent
// differ from run to run anyway).
func firstDiffering(a, b *report.Run) string {
	if a == nil || b == nil {
		return ""
	}
	rows := (report.Matrix{Columns: []report.Column{{Run: a}, {Run: b}}}).Rows()
	for _, r := range rows {
		x, y := r.Cells[0], r.Cells[1]
		if x.State != y.State {
			return r.Promise
		}
	}
	return ""
}

// title is the verdict's name of a promise given by key or title.
func title(p string) (string, error) {
	var keys []string
	for _, id := range contract.Catalogue() {
		pr := id.Promise()
		if pr.Key == p || pr.Title == p {
			return pr.Title, nil
		}
		keys = append(keys, pr.Key)
	}
	return "", fmt.Errorf("-promise %q: expected a promise's key or title: %s", p, strings.Join(keys, ", "))
}

func (b *bisection) print(promise string, span []string, lo, hi int) {
	good, first := span[lo], span[hi]
	fmt.Fprintf(b.out, "\nbisect: %q: the first release whose answer differs from %s's is %s (the release before it, %s, answers as %s)\n\n",
		promise, span[0], first, good, span[0])
	tw := tabwriter.NewWriter(b.out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s (GOOD)\t%s\n", span[0], b.said(span[0], promise))
	if good != span[0] {
		fmt.Fprintf(tw, "%s (last alike)\t%s\n", good, b.said(good, promise))
	}
	fmt.Fprintf(tw, "%s (first different)\t%s\n", first, b.said(first, promise))
	_ = tw.Flush()
	fmt.Fprintf(b.out, "\nreleases tried (%d of the %d served from %s to %s):\n", len(b.tried), len(span), span[0], span[len(span)-1])
	for _, v := range span {
		if _, ok := b.runs[v]; ok {
			fmt.Fprintf(b.out, "  %-8s %s\n", v, b.said(v, promise))
		}
	}
}

func (b *bisection) said(v, promise string) string { return b.answer(v, promise).String() }

// self is this command's own executable, which runs each release's suites.
func self() string {
	p, err := os.Executable()
	if err != nil {
		return "kcconform"
	}
	return p
}
