// Package benchcompare is "kcconform bench-compare": runs the load suite against two Keycloak versions on
// this machine, alternately, and states for every grant and rate the ratio
// of TO's latency to FROM's (p50 and p95) with a bootstrap interval that
// resamples runs, then requests (package confidence). It repeats the pair
// of runs until every p50 difference is shown at the interval's level or
// -max-runs is reached, and then says "no difference shown" for the rest.
// The other metrics are shown with their run-to-run spread. It writes
// reports/bench-compare/: a plot of latency against throughput per version
// (PNG), compare.json, and an HTML report with the plot.
//
//	kcconform bench-compare -from 26.5.6 -to 26.7.3 [-min-runs 3] [-max-runs 5] [-level 0.99]
package benchcompare

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"kcconform/pkg/cmds/internal/cli"
	"kcconform/pkg/cmds/internal/loadrun"
	"kcconform/pkg/confidence"
	"kcconform/pkg/load"
	"kcconform/pkg/report"
)

// Main runs "kcconform bench-compare" with args, and returns its exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kcconform bench-compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "older Keycloak version")
	to := fs.String("to", "", "newer Keycloak version")
	minRuns := fs.Int("min-runs", 3, "runs per version before a difference may be stated (at least 2; with 2, a run pair that happens to agree has shown differences that 5 runs did not)")
	maxRuns := fs.Int("max-runs", 5, "runs per version at most: what is not shown by then is \"no difference shown\"")
	level := fs.Float64("level", 0.99, "the intervals' confidence level")
	binary := fs.String("binary", self(), "the kcconform command (default: this one)")
	dir := fs.String("reports", "reports/bench-compare", "where the runs' reports, the plot and the comparison go")
	if status, ok := cli.Parse(fs, args); !ok {
		return status
	}
	if *from == "" || *to == "" || *minRuns < 2 || *maxRuns < 2 || *level <= 0.5 || *level >= 1 {
		fmt.Fprintln(stderr, "usage: kcconform bench-compare -from VERSION -to VERSION [-min-runs N>=2] [-max-runs M>=2] [-level 0.5<L<1]")
		return 2
	}
	*minRuns = min(*minRuns, *maxRuns) // a cap below the minimum is the number of runs
	c, err := run(*binary, *dir, *from, *to, *minRuns, *maxRuns, *level, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "kcconform bench-compare:", err)
		return 1
	}
	c.write(stdout)
	if err := c.save(*dir); err != nil {
		fmt.Fprintln(stderr, "kcconform bench-compare:", err)
		return 1
	}
	fmt.Fprintf(stdout, "plot: %s, report: %s\n", filepath.Join(*dir, "latency-throughput.png"), filepath.Join(*dir, "compare.html"))
	return 0
}

// comparison is every run of both versions.
type comparison struct {
	From, To string
	Runs     map[string][]load.Report `json:"-"` // by version
	Columns  []report.Column          `json:"-"`
	Rows     []row
	// Latency is each grant and rate's latency ratios with their
	// intervals; Stopped says why the runs ended.
	Latency []latencyRow
	Level   float64
	Stopped string
}

// latencyRow is one grant at one rate: its p50 and p95 ratios, TO over FROM.
type latencyRow struct {
	Grant          string
	Rate           int
	P50From, P50To float64 // ms, pooled over the runs
	P50, P95       confidence.Interval
}

// row is one metric of one grant at one rate.
type row struct {
	Grant, Metric        string
	Rate                 int
	From, To             float64 // means
	SpreadFrom, SpreadTo float64 // (max-min)/mean over the runs
	Ratio                float64
	Beyond               bool // |ratio-1| exceeds the larger spread
}

func run(binary, dir, from, to string, minRuns, maxRuns int, level float64, log io.Writer) (*comparison, error) {
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("-binary: %w (make build)", err)
	}
	c := &comparison{From: from, To: to, Runs: map[string][]load.Report{}, Level: level}
	for i := 1; i <= maxRuns; i++ {
		// Alternate the versions, so that a drift of the machine touches both.
		for _, v := range []string{from, to} {
			out := filepath.Join(dir, fmt.Sprintf("%s-run%d", v, i))
			fmt.Fprintf(log, "== bench-compare: Keycloak %s, run %d (at most %d)\n", v, i, maxRuns)
			began := time.Now()
			rep, err := loadrun.Run(binary, v, out)
			if err != nil {
				return nil, fmt.Errorf("run %d: %w", i, err)
			}
			c.Runs[v] = append(c.Runs[v], rep)
			if suites, err := report.Load(filepath.Join(out, "conformance.json")); err == nil && i == 1 {
				c.Columns = append(c.Columns, report.Column{Name: "Keycloak " + v, Run: report.Summarize(suites)})
			}
			fmt.Fprintf(log, "   %s\n", time.Since(began).Round(time.Second))
		}
		if i < minRuns {
			continue
		}
		if err := c.intervals(); err != nil {
			return nil, err
		}
		open := 0
		for _, l := range c.Latency {
			if !l.P50.Shown() {
				open++
			}
		}
		fmt.Fprintf(log, "== bench-compare: after %d run(s) each, %d of %d p50 difference(s) not shown at %g%%\n", i, open, len(c.Latency), level*100)
		if open == 0 {
			c.Stopped = fmt.Sprintf("every p50 difference shown after %d run(s) each", i)
			break
		}
		c.Stopped = fmt.Sprintf("%d run(s) each, the cap (-max-runs): what is not shown by then is no difference shown", i)
	}
	c.compare()
	return c, nil
}

// intervals computes every grant and rate's latency ratios from the runs'
// per-request latencies. The seed is fixed: the same runs give the same
// intervals.
func (c *comparison) intervals() error {
	type gr struct {
		grant string
		rate  int
	}
	lat := func(v string) map[gr][][]float64 {
		out := map[gr][][]float64{}
		for _, rep := range c.Runs[v] {
			for _, r := range rep.Results {
				out[gr{r.Grant, r.Rate}] = append(out[gr{r.Grant, r.Rate}], r.LatenciesMS)
			}
		}
		return out
	}
	lf, lt := lat(c.From), lat(c.To)
	c.Latency = nil
	for k, a := range lf {
		b, ok := lt[k]
		if !ok {
			continue
		}
		p50, err := confidence.Ratio(a, b, 0.5, c.Level, 2000, 1)
		if err != nil {
			return fmt.Errorf("%s at %d/s: %w (a load report without per-request latencies?)", k.grant, k.rate, err)
		}
		p95, err := confidence.Ratio(a, b, 0.95, c.Level, 2000, 1)
		if err != nil {
			return fmt.Errorf("%s at %d/s: %w", k.grant, k.rate, err)
		}
		c.Latency = append(c.Latency, latencyRow{Grant: k.grant, Rate: k.rate, P50: p50, P95: p95,
			P50From: confidence.Quantile(confidence.Pool(a), 0.5), P50To: confidence.Quantile(confidence.Pool(b), 0.5)})
	}
	sort.Slice(c.Latency, func(i, j int) bool {
		if c.Latency[i].Grant != c.Latency[j].Grant {
			return c.Latency[i].Grant < c.Latency[j].Grant
		}
		return c.Latency[i].Rate < c.Latency[j].Rate
	})
	return nil
}

type key struct {
	grant  string
	rate   int
	metric string
}

var metrics = []struct {
	name string
	get  func(load.Result) float64
}{
	{"throughput /s", func(r load.Result) float64 { return r.Throughput }},
	{"p50 ms", func(r load.Result) float64 { return ms(r.P50) }},
	{"p95 ms", func(r load.Result) float64 { return ms(r.P95) }},
	{"p99 ms", func(r load.Result) float64 { return ms(r.P99) }},
	{"grants per CPU second", func(r load.Result) float64 { return r.PerVCPU }},
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// values collects each metric's values over a version's runs.
func values(reps []load.Report) map[key][]float64 {
	out := map[key][]float64{}
	for _, rep := range reps {
		for _, r := range rep.Results {
			for _, m := range metrics {
				k := key{r.Grant, r.Rate, m.name}
				out[k] = append(out[k], m.get(r))
			}
		}
	}
	return out
}

func meanSpread(xs []float64) (mean, spread float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, x := range xs {
		sum += x
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	mean = sum / float64(len(xs))
	if mean != 0 {
		spread = (hi - lo) / mean
	}
	return mean, spread
}

func (c *comparison) compare() {
	vf, vt := values(c.Runs[c.From]), values(c.Runs[c.To])
	var keys []key
	for k := range vf {
		if _, ok := vt[k]; ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].grant != keys[j].grant {
			return keys[i].grant < keys[j].grant
		}
		if keys[i].rate != keys[j].rate {
			return keys[i].rate < keys[j].rate
		}
		return keys[i].metric < keys[j].metric
	})
	for _, k := range keys {
		mf, sf := meanSpread(vf[k])
		mt, st := meanSpread(vt[k])
		r := row{Grant: k.grant, Rate: k.rate, Metric: k.metric, From: mf, To: mt, SpreadFrom: sf, SpreadTo: st}
		if mf != 0 {
			r.Ratio = mt / mf
			r.Beyond = math.Abs(r.Ratio-1) > math.Max(sf, st)
		}
		c.Rows = append(c.Rows, r)
	}
}

func (c *comparison) write(w io.Writer) {
	fmt.Fprintf(w, "bench-compare: Keycloak %s -> %s, %d and %d run(s); %s\n", c.From, c.To, len(c.Runs[c.From]), len(c.Runs[c.To]), c.Stopped)
	fmt.Fprintf(w, "latency, %s over %s, with %g%% bootstrap intervals (runs resampled, then requests):\n", c.To, c.From, c.Level*100)
	fmt.Fprintf(w, "%-34s %5s %9s %9s  %-50s %s\n", "GRANT", "RATE", "P50 FROM", "P50 TO", "P50 RATIO", "P95 RATIO")
	for _, l := range c.Latency {
		fmt.Fprintf(w, "%-34s %5d %7.1fms %7.1fms  %-50s %s\n", l.Grant, l.Rate, l.P50From, l.P50To, l.P50, l.P95)
	}
	fmt.Fprintln(w, "every metric, mean over the runs, with the run-to-run spread:")
	fmt.Fprintf(w, "%-34s %5s %-22s %10s %10s %7s %8s %8s %s\n", "GRANT", "RATE", "METRIC", c.From, c.To, "RATIO", "SPREAD-F", "SPREAD-T", "")
	for _, r := range c.Rows {
		note := ""
		if r.Beyond {
			note = "beyond the run-to-run spread"
		}
		fmt.Fprintf(w, "%-34s %5d %-22s %10.1f %10.1f %7.2f %7.0f%% %7.0f%% %s\n", r.Grant, r.Rate, r.Metric, r.From, r.To, r.Ratio, r.SpreadFrom*100, r.SpreadTo*100, note)
	}
}

func (c *comparison) save(dir string) error {
	png, err := c.plot()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "latency-throughput.png"), png, 0o644); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "compare.json"), b, 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "compare.html"))
	if err != nil {
		return err
	}
	m := report.Matrix{Title: fmt.Sprintf("kcconform bench-compare: Keycloak %s and %s under load", c.From, c.To), Columns: c.Columns, Plot: png}
	if err := m.WriteHTML(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// plot draws p50 and p95 latency against throughput, a line per version,
// grant and percentile (the first run of each version).
func (c *comparison) plot() ([]byte, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Keycloak %s and %s: latency against throughput", c.From, c.To)
	p.X.Label.Text = "throughput (grants per second)"
	p.Y.Label.Text = "latency (ms)"
	p.Legend.Top = true
	var lines []any
	for _, v := range []string{c.From, c.To} {
		if len(c.Runs[v]) == 0 {
			continue
		}
		byGrant := map[string][]load.Result{}
		for _, r := range c.Runs[v][0].Results {
			byGrant[r.Grant] = append(byGrant[r.Grant], r)
		}
		grants := make([]string, 0, len(byGrant))
		for g := range byGrant {
			grants = append(grants, g)
		}
		sort.Strings(grants)
		for _, g := range grants {
			for _, pct := range []string{"p50", "p95"} {
				pts := make(plotter.XYs, 0, len(byGrant[g]))
				for _, r := range byGrant[g] {
					y := ms(r.P50)
					if pct == "p95" {
						y = ms(r.P95)
					}
					pts = append(pts, plotter.XY{X: r.Throughput, Y: y})
				}
				lines = append(lines, fmt.Sprintf("%s %s %s", v, strings.SplitN(g, "+", 2)[0], pct), pts)
			}
		}
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, err
	}
	wt, err := p.WriterTo(9*vg.Inch, 6*vg.Inch, "png")
	if err != nil {
		return nil, err
	}
	var buf bytesBuffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.b, nil
}

type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// self is this command's own executable, which runs each release's suites.
func self() string {
	p, err := os.Executable()
	if err != nil {
		return "kcconform"
	}
	return p
}
