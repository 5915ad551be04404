// Command benchcompare runs the load suite against two Keycloak versions on
// this machine, each several times (to measure the run-to-run spread), and
// prints, for every grant, rate and metric, the ratio of TO to FROM and
// whether it exceeds the spread. It writes reports/bench-compare/: a plot of
// latency against throughput per version (PNG), compare.json, and an HTML
// report with the plot.
//
//	go run ./scripts/benchcompare -from 26.5.6 -to 26.7.3 [-repeat 2] [-binary bin/kcconform]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"kcconform/pkg/load"
	"kcconform/pkg/report"
)

func main() {
	from := flag.String("from", "", "older Keycloak version")
	to := flag.String("to", "", "newer Keycloak version")
	repeat := flag.Int("repeat", 2, "runs per version (the spread needs at least 2)")
	binary := flag.String("binary", "bin/kcconform", "the kcconform command (make build)")
	dir := flag.String("reports", "reports/bench-compare", "where the runs' reports, the plot and the comparison go")
	flag.Parse()
	if *from == "" || *to == "" || *repeat < 1 {
		fmt.Fprintln(os.Stderr, "usage: benchcompare -from VERSION -to VERSION [-repeat N]")
		os.Exit(2)
	}
	c, err := run(*binary, *dir, *from, *to, *repeat, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcompare:", err)
		os.Exit(1)
	}
	c.write(os.Stdout)
	if err := c.save(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "benchcompare:", err)
		os.Exit(1)
	}
	fmt.Printf("plot: %s, report: %s\n", filepath.Join(*dir, "latency-throughput.png"), filepath.Join(*dir, "compare.html"))
}

// comparison is every run of both versions.
type comparison struct {
	From, To string
	Runs     map[string][]load.Report // by version
	Columns  []report.Column          `json:"-"`
	Rows     []row
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

func run(binary, dir, from, to string, repeat int, log io.Writer) (*comparison, error) {
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("-binary: %w (make build)", err)
	}
	c := &comparison{From: from, To: to, Runs: map[string][]load.Report{}}
	for i := 1; i <= repeat; i++ {
		// Alternate the versions, so that a drift of the machine touches both.
		for _, v := range []string{from, to} {
			out, err := filepath.Abs(filepath.Join(dir, fmt.Sprintf("%s-run%d", v, i)))
			if err != nil {
				return nil, err
			}
			_ = os.RemoveAll(out)
			fmt.Fprintf(log, "== bench-compare: Keycloak %s, run %d of %d\n", v, i, repeat)
			began := time.Now()
			cmd := exec.Command(binary, "--suite", "load", "--keycloak-version", v, "--report-dir", out)
			cmd.Env = append(os.Environ(), "KC_TARGET=process")
			logFile, err := os.Create(out + ".log")
			if err != nil {
				if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
					return nil, err
				}
				if logFile, err = os.Create(out + ".log"); err != nil {
					return nil, err
				}
			}
			cmd.Stdout, cmd.Stderr = logFile, logFile
			runErr := cmd.Run()
			logFile.Close()
			b, err := os.ReadFile(filepath.Join(out, "load-"+v+".json"))
			if err != nil {
				return nil, fmt.Errorf("Keycloak %s run %d gave no load report (%v); see %s.log", v, i, runErr, out)
			}
			var rep load.Report
			if err := json.Unmarshal(b, &rep); err != nil {
				return nil, err
			}
			c.Runs[v] = append(c.Runs[v], rep)
			if suites, err := report.Load(filepath.Join(out, "conformance.json")); err == nil && i == 1 {
				c.Columns = append(c.Columns, report.Column{Name: "Keycloak " + v, Run: report.Summarize(suites)})
			}
			fmt.Fprintf(log, "   %s\n", time.Since(began).Round(time.Second))
		}
	}
	c.compare()
	return c, nil
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
	fmt.Fprintf(w, "bench-compare: Keycloak %s -> %s, %d and %d run(s)\n", c.From, c.To, len(c.Runs[c.From]), len(c.Runs[c.To]))
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
