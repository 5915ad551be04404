package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"kcconform/pkg/keycloak"
	"kcconform/pkg/redact"
	"kcconform/pkg/settings"
)

// runScale runs the scale benchmark for each size and path, keeping every
// result in DIR/bench-scale/scale.json (a size and path measured again
// replaces its row; others are kept, so a long size can run on its own),
// then writes scale.md and scale.png there. It exits 1 if a stored token
// was refused or a run failed.
func runScale(reports, sizes string, froms []string, to, rolling string, so scaleOptions, bootTimeout time.Duration) {
	if rolling != "" && !strings.Contains(rolling, "->") {
		must(fmt.Errorf("-scale-rolling: expected FROM->TO, e.g. 26.7.0->26.7.3, got %q", rolling))
	}
	var ns []int
	for _, f := range strings.Fields(sizes) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 10_000_000 {
			must(fmt.Errorf("-scale: expected numbers of offline sessions from 1 to 10000000, space-separated, got %q", f))
		}
		ns = append(ns, n)
	}
	if so.Clients < 1 || so.Sample < 1 {
		must(fmt.Errorf("-scale-clients and -scale-sample: expected at least 1, got %d and %d", so.Clients, so.Sample))
	}
	if so.Heap != "" && !heapSize.MatchString(so.Heap) {
		must(fmt.Errorf("-scale-heap: expected a JVM heap size such as 2g or 1536m, got %q", so.Heap))
	}
	st, err := settings.Parse(func(k string) string {
		if k == "KC_TARGET" {
			return keycloak.TargetProcess
		}
		return os.Getenv(k)
	})
	must(err)
	cfg := st.Server
	// A release migrating many sessions takes its time: the field saw
	// hours (keycloak#32994).
	cfg.BootTimeout = bootTimeout
	dir := filepath.Join(reports, "bench-scale")
	must(os.MkdirAll(dir, 0o755))
	jsonPath := filepath.Join(dir, "scale.json")
	var file scaleFile
	if b, err := os.ReadFile(jsonPath); err == nil {
		must(json.Unmarshal(b, &file))
	}
	all := file.Paths
	save := func() {
		file.Paths = all
		b, err := json.MarshalIndent(file, "", "  ")
		must(err)
		must(os.WriteFile(jsonPath, b, 0o644))
	}
	red := redact.New()
	ok := true
	commit := "?"
	if c, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(c))
	}
	for _, n := range ns {
		for _, from := range froms {
			ctx, cancel := context.WithTimeout(context.Background(), 12*time.Hour)
			r := scaleRun(ctx, cfg, red, n, from, to, so)
			r.Commit = commit
			cancel()
			if r.Err != "" || r.RefusedRestart > 0 || r.RefusedUpgrade > 0 {
				ok = false
			}
			fmt.Fprintf(os.Stderr, "== bench-scale: N=%d %s→%s: seeded at %.1f/s (vegeta %s), restart %.1f s, upgrade %.1f s, refused %d+%d of %d %s\n",
				n, from, to, r.SeedRate, rates(r.VegetaRate), r.BootRestart, r.BootUpgrade, r.RefusedRestart, r.RefusedUpgrade, r.Sample, r.Err)
			all = slices.DeleteFunc(all, func(x scaleResult) bool { return x.N == n && x.From == from && x.To == to && x.Heap == so.Heap })
			all = append(all, r)
			slices.SortStableFunc(all, func(a, b scaleResult) int {
				if c := strings.Compare(a.path(), b.path()); c != 0 {
					return c
				}
				return a.N - b.N
			})
			save()
		}
		if rolling != "" {
			from, to, _ := strings.Cut(rolling, "->")
			ctx, cancel := context.WithTimeout(context.Background(), 12*time.Hour)
			r := scaleRolling(ctx, cfg, red, n, from, to, so)
			r.Commit = commit
			cancel()
			if r.Err != "" || r.LoadRefused > 0 || r.Refused > 0 {
				ok = false
			}
			fmt.Fprintf(os.Stderr, "== bench-scale: N=%d, a cluster %s→%s (%s): %.1f s, %d of %d refreshes refused during it, %d of %d after %s\n",
				n, from, to, r.Mode, r.UpgradeSeconds, r.LoadRefused, r.LoadRequests, r.Refused, r.Sample, r.Err)
			file.Rolling = slices.DeleteFunc(file.Rolling, func(x rollingResult) bool { return x.N == n && x.From == from && x.To == to && x.Heap == so.Heap })
			file.Rolling = append(file.Rolling, r)
			slices.SortStableFunc(file.Rolling, func(a, b rollingResult) int { return a.N - b.N })
			save()
		}
	}
	f, err := os.Create(filepath.Join(dir, "scale.md"))
	must(err)
	writeScaleMarkdown(f, file, machine(), commit, time.Now().UTC().Format("2006-01-02"))
	must(f.Close())
	must(writeScalePlot(filepath.Join(dir, "scale.png"), all))
	writeScaleMarkdown(os.Stdout, file, machine(), commit, time.Now().UTC().Format("2006-01-02"))
	fmt.Printf("bench-scale: %s, %s\n", filepath.Join(dir, "scale.md"), filepath.Join(dir, "scale.png"))
	if !ok {
		fmt.Println("bench-scale: FAIL: a run failed or a stored token was refused")
		os.Exit(1)
	}
}

// scaleFile is what scale.json keeps: every size of every path measured.
type scaleFile struct {
	Paths   []scaleResult
	Rolling []rollingResult
}

// cost is one measured cost of the scale benchmark, per result.
type cost struct {
	name, unit string
	of         func(scaleResult) float64
}

// scaleCosts are the costs fitted against N.
var scaleCosts = []cost{
	{"seeding", "s", func(r scaleResult) float64 { return r.SeedSeconds }},
	{"restart to ready", "s", func(r scaleResult) float64 { return r.BootRestart }},
	{"upgrade to ready", "s", func(r scaleResult) float64 { return r.BootUpgrade }},
	{"peak RSS on FROM", "MiB", func(r scaleResult) float64 { return r.PeakRSSFrom }},
	{"peak RSS on TO", "MiB", func(r scaleResult) float64 { return r.PeakRSSTo }},
	{"database size", "MiB", func(r scaleResult) float64 { return r.DatabaseMiB }},
}

// fit is cost ≈ a·N^b by least squares on log-log, and its R².
type fit struct {
	A, B, R2 float64
	Points   int
}

func powerFit(ns, ys []float64) fit {
	var xs, ls []float64
	for i := range ns {
		if ns[i] > 0 && ys[i] > 0 {
			xs, ls = append(xs, math.Log(ns[i])), append(ls, math.Log(ys[i]))
		}
	}
	f := fit{Points: len(xs)}
	if len(xs) < 2 {
		return f
	}
	var mx, my float64
	for i := range xs {
		mx, my = mx+xs[i], my+ls[i]
	}
	mx, my = mx/float64(len(xs)), my/float64(len(xs))
	var sxy, sxx, syy float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ls[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
		syy += (ls[i] - my) * (ls[i] - my)
	}
	if sxx == 0 {
		return f
	}
	f.B = sxy / sxx
	f.A = math.Exp(my - f.B*mx)
	if syy > 0 {
		f.R2 = sxy * sxy / (sxx * syy)
	}
	return f
}

func (f fit) at(n float64) float64 { return f.A * math.Pow(n, f.B) }

// incrementFit fits the cost above the smallest size's (base) against N,
// over the larger sizes whose cost exceeds it.
func incrementFit(ns, ys []float64) (fit, float64) {
	if len(ns) < 3 {
		return fit{}, 0
	}
	lo := 0
	for i := range ns {
		if ns[i] < ns[lo] {
			lo = i
		}
	}
	var xs, ds []float64
	for i := range ns {
		if i != lo && ys[i] > ys[lo] {
			xs, ds = append(xs, ns[i]), append(ds, ys[i]-ys[lo])
		}
	}
	return powerFit(xs, ds), ys[lo]
}

// writeScaleMarkdown writes the table, the fitted exponents and the
// extrapolation to 10^6 and 10^7 sessions.
func writeScaleMarkdown(w io.Writer, file scaleFile, machine, commit, date string) {
	rs := file.Paths
	fmt.Fprintf(w, "# Offline sessions at scale (make bench-scale)\n\nRendered %s at commit %s, %s (each row names the commit that measured it). Every session made by a real\n", date, commit, machine)
	fmt.Fprintf(w, "`client_credentials` grant with `scope=offline_access` (8 at a time, spread over the clients), on PostgreSQL, process target.\n\n")
	fmt.Fprintf(w, "| N | path | commit | clients | counted (admin API) | seeding s | grants/s | vegeta grants/s | ratio | grants per Keycloak CPU-s | boot fresh s | restart s | upgrade s | sample | refused after restart | refused after upgrade | RSS FROM MiB | RSS TO MiB | DB MiB | rows before (user/client) | rows after |\n")
	fmt.Fprintf(w, "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range rs {
		if r.Err != "" {
			fmt.Fprintf(w, "| %d | %s | %s | FAILED: %s |\n", r.N, r.path(), r.Commit, strings.ReplaceAll(r.Err, "|", "/"))
			continue
		}
		fmt.Fprintf(w, "| %d | %s | %s | %d | %d | %.1f | %.1f | %s | %.2f | %.1f | %.1f | %.1f | %.1f | %d | %d | %d | %.0f | %.0f | %.1f | %d/%d | %d/%d |\n",
			r.N, r.path(), r.Commit, r.Clients, r.Sessions, r.SeedSeconds, r.SeedRate, rates(r.VegetaRate), r.Ratio, r.GrantsPerCPUSecond,
			r.BootFresh, r.BootRestart, r.BootUpgrade, r.Sample, r.RefusedRestart, r.RefusedUpgrade, r.PeakRSSFrom, r.PeakRSSTo, r.DatabaseMiB,
			r.RowsBefore["offline_user_session"], r.RowsBefore["offline_client_session"], r.RowsAfter["offline_user_session"], r.RowsAfter["offline_client_session"])
	}
	fmt.Fprintf(w, "\n## How each cost grows with N (cost ≈ a·N^b, least squares on log-log), and what that gives at 10^6 and 10^7\n\n")
	fmt.Fprintf(w, "The total holds a fixed part (a boot with no session takes seconds), so the growth is fitted twice: the total,\n")
	fmt.Fprintf(w, "and, from three sizes on, the part above the smallest size's cost (Δ ≈ c·N^b; extrapolated as that cost plus Δ).\n\n")
	fmt.Fprintf(w, "| path | cost | b (total) | R² | at 10^6 | at 10^7 | b (Δ above the smallest N) | at 10^6 | at 10^7 | sizes |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, from := range paths(rs) {
		for _, c := range scaleCosts {
			ns, ys := series(rs, from, c)
			f := powerFit(ns, ys)
			if f.Points < 2 {
				continue
			}
			inc := "-"
			at6, at7 := "-", "-"
			if d, base := incrementFit(ns, ys); d.Points >= 2 {
				inc = fmt.Sprintf("%.2f", d.B)
				at6, at7 = human(base+d.at(1e6), c.unit), human(base+d.at(1e7), c.unit)
			}
			fmt.Fprintf(w, "| %s | %s | %.2f | %.2f | %s | %s | %s | %s | %s | %d |\n", from, c.name, f.B, f.R2, human(f.at(1e6), c.unit), human(f.at(1e7), c.unit), inc, at6, at7, f.Points)
		}
	}
	if len(file.Rolling) > 0 {
		fmt.Fprintf(w, "\n## A rolling upgrade of a cluster holding N offline sessions, under load (10 refreshes per second through the gateway)\n\n")
		fmt.Fprintf(w, "| N | path | commit | nodes | how | seeded grants/s | upgrade s | refreshes during | refused (400) | unavailable (5xx, none) | sample after | refused after |\n|---:|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range file.Rolling {
			if r.Err != "" {
				fmt.Fprintf(w, "| %d | %s | %s | FAILED: %s |\n", r.N, r.path(), r.Commit, strings.ReplaceAll(r.Err, "|", "/"))
				continue
			}
			fmt.Fprintf(w, "| %d | %s | %s | %d | %s | %.1f | %.1f | %d | %d | %d | %d | %d |\n", r.N, r.path(), r.Commit, r.Nodes, r.Mode, r.SeedRate,
				r.UpgradeSeconds, r.LoadRequests, r.LoadRefused, r.LoadUnavailable, r.Sample, r.Refused)
		}
	}
	fmt.Fprintf(w, "\nAn extrapolation from two or three sizes on a 2-core machine: boot times hold a fixed part (about the fresh boot) that a\npower law of the total bends; treat the figures as an order of magnitude.\n")
	for _, r := range rs {
		if len(r.MigrationLines) > 0 {
			fmt.Fprintf(w, "\nMigration lines of %s at N=%d (from %s):\n\n```\n%s\n```\n", r.To, r.N, r.From, strings.Join(r.MigrationLines, "\n"))
		}
	}
}

// rates is vegeta's rates: both where there are two (a run before and after
// the seeding), their mean and range where the bursts were interleaved.
func rates(v []float64) string {
	if len(v) <= 2 {
		var s []string
		for _, x := range v {
			s = append(s, fmt.Sprintf("%.1f", x))
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%.1f (%.1f–%.1f, %d bursts)", mean(v), slices.Min(v), slices.Max(v), len(v))
}

// path is FROM→TO, with the heap where the run set one.
func (r scaleResult) path() string { return pathOf(r.From, r.To, r.Heap) }

func (r rollingResult) path() string { return pathOf(r.From, r.To, r.Heap) }

func pathOf(from, to, heap string) string {
	if heap == "" {
		return from + "→" + to
	}
	return from + "→" + to + " (-Xmx" + heap + ")"
}

// heapSize is what -Xmx takes.
var heapSize = regexp.MustCompile(`^[1-9][0-9]*[kKmMgG]$`)

func human(v float64, unit string) string {
	switch {
	case unit == "s" && v >= 3600:
		return fmt.Sprintf("%.1f h", v/3600)
	case unit == "s" && v >= 60:
		return fmt.Sprintf("%.1f min", v/60)
	case unit == "MiB" && v >= 1024:
		return fmt.Sprintf("%.1f GiB", v/1024)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// paths are the results' FROM versions, in order.
func paths(rs []scaleResult) []string {
	var out []string
	for _, r := range rs {
		if !slices.Contains(out, r.path()) {
			out = append(out, r.path())
		}
	}
	return out
}

func series(rs []scaleResult, from string, c cost) (ns, ys []float64) {
	for _, r := range rs {
		if r.path() == from && r.Err == "" {
			ns, ys = append(ns, float64(r.N)), append(ys, c.of(r))
		}
	}
	return ns, ys
}

// writeScalePlot draws every cost against N, log-log, a line per path.
func writeScalePlot(path string, rs []scaleResult) error {
	p := plot.New()
	p.Title.Text = "offline sessions at scale: cost against N (log-log)"
	p.X.Label.Text = "offline sessions N"
	p.Y.Label.Text = "seconds, or MiB"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	var lines []any
	for _, from := range paths(rs) {
		for _, c := range scaleCosts {
			ns, ys := series(rs, from, c)
			pts := plotter.XYs{}
			for i := range ns {
				if ys[i] > 0 {
					pts = append(pts, plotter.XY{X: ns[i], Y: ys[i]})
				}
			}
			if len(pts) > 0 {
				lines = append(lines, fmt.Sprintf("%s: %s (%s)", from, c.name, c.unit), pts)
			}
		}
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return fmt.Errorf("plot the costs: %w", err)
	}
	wt, err := p.WriterTo(10*vg.Inch, 7*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("render the plot: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write the plot: %w", err)
	}
	if _, err := wt.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("write the plot %s: %w", path, err)
	}
	return f.Close()
}
