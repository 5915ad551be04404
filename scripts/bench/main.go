// Command bench measures kcconform against real servers on this machine and
// writes reports/bench.json and a table:
//
//   - Keycloak's boot per target and mode (process: the plain way, and with
//     the database template and class-data-sharing archive; start-dev;
//     container: --optimized and start-dev), the first boot and the median
//     of the later ones;
//
//   - a warm conformance run's wall time against its boot;
//
//   - the harness's time per get and per refresh flow against a raw net/http
//     client sending the same requests to the same server in the same run:
//     the median ratio and its spread (10th to 90th percentile) over many
//     repetitions; the run fails if the median exceeds 1.10;
//
//   - the offline suite's wall time with 1 and 2 parallel processes;
//
//   - `kcconform before --tokens 1000`'s grant rate against raw vegeta's
//     (the same client_credentials grant, 8 workers, 1000 requests) on the
//     same server in the same run: vegeta before and after it, the ratio
//     to their mean.
//
//     go run ./scripts/bench [-reports reports] [-reps 200] [-boots 3]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"kcconform/fixtures"
	"kcconform/pkg/dist"
	"kcconform/pkg/kccontainer"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/keycloak/cluster"
	"kcconform/pkg/keycloak/launch"
	"kcconform/pkg/ports"
	"kcconform/pkg/redact"
	"kcconform/pkg/report"
	"kcconform/pkg/settings"
	"kcconform/pkg/target"
	"kcconform/pkg/tokenflow"
	"kcconform/pkg/transport"
)

// maxRatio is the most the harness's flow may cost against raw HTTP.
const maxRatio = 1.10

type bootResult struct {
	Target, Mode string
	First        float64   `json:"firstSeconds"`
	Later        float64   `json:"laterMedianSeconds"`
	All          []float64 `json:"allSeconds"`
	Note         string    `json:"note,omitempty"`
}

type flowResult struct {
	Flow                  string
	Reps                  int
	HarnessMedianMs       float64
	RawMedianMs           float64
	RatioMedian, P10, P90 float64
}

type results struct {
	Machine     string
	Boots       []bootResult
	Conformance struct {
		WallSeconds, BootSeconds float64
		Boot                     []report.Phase
	}
	Flows  []flowResult
	Suites map[string]float64 `json:"offlineSuiteSecondsByProcs"`
	Grants grantResult        `json:"beforeGrantRate"`
}

// grantResult is kcconform before's grant rate beside raw vegeta's.
type grantResult struct {
	Tokens, Concurrency int
	Before              float64   `json:"beforeGrantsPerSecond"`
	Vegeta              []float64 `json:"vegetaGrantsPerSecond"`
	Ratio               float64   `json:"ratioToVegetaMean"`
}

func main() {
	reports := flag.String("reports", "reports", "report folder")
	reps := flag.Int("reps", 200, "repetitions of each flow")
	boots := flag.Int("boots", 3, "boots of each mode")
	scale := flag.String("scale", "", "instead: the scale benchmark for these numbers of offline sessions, e.g. \"1000 10000\" (make bench-scale)")
	scaleFrom := flag.String("scale-from", "24.0.5 25.0.6", "the scale benchmark's upgrade paths: these releases, each upgraded to -scale-to")
	scaleTo := flag.String("scale-to", "26.7.3", "the release the scale benchmark upgrades to")
	scaleSample := flag.Int("scale-sample", 1000, "stored tokens refreshed after the restart and after the upgrade")
	scaleClients := flag.Int("scale-clients", 10, "clients the sessions are spread over")
	scaleBoot := flag.Duration("scale-boot-timeout", 2*time.Hour, "the scale benchmark's bound of each boot (a migration of many sessions)")
	scaleHeap := flag.String("scale-heap", "", "the scale benchmark's JVM heap (-Xmx), e.g. 2g: 24.0.5 holds every offline session in memory and its default 512m ends near 10^5 (empty: the release's default)")
	scaleRolling := flag.String("scale-rolling", "26.7.0->26.7.3", "the scale benchmark's cluster path, FROM->TO: a 3-node cluster upgraded node by node under load (empty: none)")
	flag.Parse()
	if *scale != "" {
		runScale(*reports, *scale, strings.Fields(*scaleFrom), *scaleTo, *scaleRolling, scaleOptions{Sample: *scaleSample, Clients: *scaleClients, Heap: *scaleHeap}, *scaleBoot)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	st, err := settings.Parse(func(k string) string {
		if k == "KC_TARGET" {
			return keycloak.TargetProcess
		}
		return os.Getenv(k)
	})
	must(err)
	cfg := st.Server
	red := redact.New()
	var res results
	res.Machine = machine()

	fmt.Fprintln(os.Stderr, "== bench: boots")
	res.Boots = append(res.Boots, bootProcess(ctx, cfg, red, "optimized, fresh database", *boots, keycloak.Options{NoFastBoot: true}))
	res.Boots = append(res.Boots, bootProcess(ctx, cfg, red, "optimized, template and archive", *boots, keycloak.Options{}))
	res.Boots = append(res.Boots, bootStartDev(ctx, cfg, *boots))
	res.Boots = append(res.Boots, bootOnPostgres(ctx, cfg, red, *boots))
	res.Boots = append(res.Boots, bootCluster(ctx, cfg, red, 3, *boots))
	if img := cfg.Image; img != "" && target.DockerAvailable(os.Getenv) {
		res.Boots = append(res.Boots, bootContainer(ctx, img, "start --optimized", true, *boots))
		res.Boots = append(res.Boots, bootContainer(ctx, img, "start-dev", false, *boots))
	} else {
		res.Boots = append(res.Boots, bootResult{Target: "container", Mode: "-", Note: "no container engine (KC_IMAGE, DOCKER_HOST)"})
	}

	fmt.Fprintln(os.Stderr, "== bench: a warm conformance run")
	dir, err := os.MkdirTemp("", "kcconform-bench-")
	must(err)
	defer os.RemoveAll(dir)
	for i := 0; i < 2; i++ { // the first warms the caches
		began := time.Now()
		// The process target explicitly: container-env.sh's DOCKER_HOST would
		// otherwise make the container the default target.
		cmd := exec.Command("bin/kcconform", "--report-dir", filepath.Join(dir, "conf"))
		cmd.Env = append(os.Environ(), "KC_TARGET="+keycloak.TargetProcess)
		out, err := cmd.CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s\n", report.LastLines(string(out), 20))
			must(err)
		}
		res.Conformance.WallSeconds = time.Since(began).Seconds()
	}
	if suites, err := report.Load(filepath.Join(dir, "conf", "conformance.json")); err == nil {
		if r := report.Summarize(suites); len(r.Servers) > 0 {
			res.Conformance.BootSeconds, res.Conformance.Boot = r.Servers[0].BootSeconds, r.Servers[0].Boot
		}
	}

	fmt.Fprintln(os.Stderr, "== bench: flows against raw HTTP, and the suite with 1 and 2 processes")
	srv, err := launch.New(cfg, keycloak.Options{Redactor: red})
	must(err)
	defer srv.Remove(context.Background())
	must(srv.Up(ctx))
	info := srv.Info()
	res.Flows = flows(ctx, info, red, *reps)
	res.Suites = suites(info, dir)
	fmt.Fprintln(os.Stderr, "== bench: kcconform before --tokens 1000 beside raw vegeta")
	res.Grants = grantRate(ctx, info, red, dir, 1000, 8)

	b, err := json.MarshalIndent(res, "", "  ")
	must(err)
	must(os.MkdirAll(*reports, 0o755))
	must(os.WriteFile(filepath.Join(*reports, "bench.json"), b, 0o644))
	ok := res.print(os.Stdout)
	fmt.Printf("bench: %s\n", filepath.Join(*reports, "bench.json"))
	if !ok {
		fmt.Printf("bench: FAIL: a flow costs more than %.2f times raw HTTP at the median\n", maxRatio)
		os.Exit(1)
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func machine() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	model := ""
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
			break
		}
	}
	out, _ := exec.Command("nproc").Output()
	return fmt.Sprintf("%s cores, %s", strings.TrimSpace(string(out)), model)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func percentile(xs []float64, p float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[int(p*float64(len(s)-1))]
}

func summarize(target, mode string, secs []float64) bootResult {
	r := bootResult{Target: target, Mode: mode, All: secs}
	if len(secs) > 0 {
		r.First = secs[0]
		r.Later = median(secs[1:])
	}
	return r
}

// bootProcess boots the process target n times, each on a new server.
func bootProcess(ctx context.Context, cfg keycloak.Config, red *redact.Redactor, mode string, n int, opts keycloak.Options) bootResult {
	return bootEach(mode, n, func() (func(), error) {
		opts.Redactor = red
		srv, err := launch.New(cfg, opts)
		if err != nil {
			return func() {}, err
		}
		return func() { _ = srv.Remove(context.Background()) }, srv.Up(ctx)
	})
}

// bootOnPostgres boots one node on a new local PostgreSQL n times: what a
// cluster's node costs alone, its database's start included.
func bootOnPostgres(ctx context.Context, cfg keycloak.Config, red *redact.Redactor, n int) bootResult {
	return bootEach("one node on PostgreSQL (with its start)", n, func() (func(), error) {
		db, err := launch.StartDatabase(ctx, cfg, nil, red)
		if err != nil {
			return func() {}, err
		}
		srv := db.NewServer(cfg, keycloak.Options{Redactor: red})
		return func() { _ = srv.Remove(context.Background()); _ = db.Remove(context.Background()) }, srv.Up(ctx)
	})
}

// bootCluster boots a cluster of nodes on a new PostgreSQL behind a gateway
// n times, until every node sees all of them.
func bootCluster(ctx context.Context, cfg keycloak.Config, red *redact.Redactor, nodes, n int) bootResult {
	return bootEach(fmt.Sprintf("cluster of %d on PostgreSQL, gateway", nodes), n, func() (func(), error) {
		cl := cluster.New(cfg, keycloak.Options{Redactor: red}, cluster.Options{Nodes: nodes})
		return func() { _ = cl.Remove(context.Background()) }, cl.Up(ctx)
	})
}

// bootEach times up n times on the process target, removing what it
// started after each.
func bootEach(mode string, n int, up func() (remove func(), err error)) bootResult {
	var secs []float64
	for i := 0; i < n; i++ {
		began := time.Now()
		remove, err := up()
		secs = append(secs, time.Since(began).Seconds())
		remove()
		must(err)
	}
	return summarize("process", mode, secs)
}

// bootStartDev extracts the distribution and starts it with start-dev, as
// a user of the bare distribution would, until /health/ready answers.
func bootStartDev(ctx context.Context, cfg keycloak.Config, n int) bootResult {
	jdk, err := dist.FindJDK(cfg.Version, cfg.JavaHome)
	must(err)
	dist, err := dist.Fetch(ctx, cfg.Version, cfg.CacheDir, cfg.MavenRepoURL)
	must(err)
	var secs []float64
	for i := 0; i < n; i++ {
		dir, err := os.MkdirTemp("", "kcconform-bench-dev-")
		must(err)
		must(exec.Command("tar", "-xzf", dist.Archive, "-C", dir, "--strip-components=1").Run())
		port, _ := freePorts()
		cmd := exec.Command(filepath.Join(dir, "bin", "kc.sh"), "start-dev", "--health-enabled=true", "--http-host=127.0.0.1",
			fmt.Sprintf("--http-port=%d", port[0]), fmt.Sprintf("--http-management-port=%d", port[1]), "--cache=local")
		cmd.Env = append(os.Environ(), "JAVA_HOME="+jdk.Home)
		began := time.Now()
		must(cmd.Start())
		waitHealth(ctx, fmt.Sprintf("http://127.0.0.1:%d/health/ready", port[1]))
		secs = append(secs, time.Since(began).Seconds())
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		os.RemoveAll(dir)
	}
	return summarize("process", "start-dev", secs)
}

func freePorts() ([2]int, error) {
	var p [2]int
	for i := range p {
		n, err := ports.Free()
		if err != nil {
			return p, err
		}
		p[i] = n
	}
	return p, nil
}

func waitHealth(ctx context.Context, u string) {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if resp, err := hc.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	must(fmt.Errorf("%s: not ready within 5 minutes", u))
}

func bootContainer(ctx context.Context, img, mode string, optimized bool, n int) bootResult {
	var secs []float64
	for i := 0; i < n; i++ {
		began := time.Now()
		c, err := kccontainer.Run(ctx, img, kccontainer.WithOptimized(optimized))
		secs = append(secs, time.Since(began).Seconds())
		_ = c.Terminate(context.Background())
		must(err)
	}
	return summarize("container", mode, secs)
}

// flows compares the harness's get and refresh with raw net/http requests
// to the same server, alternating them, reps times each.
func flows(ctx context.Context, info keycloak.Info, red *redact.Redactor, reps int) []flowResult {
	name, secret, remove := benchRealm(ctx, info, red, "kcconform-bench-")
	defer remove()
	hc, err := transport.New(transport.Options{Timeout: 30 * time.Second})
	must(err)
	flow := tokenflow.NewClient(tokenflow.RealmEndpoints(info.BaseURL, name), fixtures.ClientID, secret, hc, red)
	raw, err := transport.New(transport.Options{Timeout: 30 * time.Second})
	must(err)
	stored, err := flow.ClientCredentials(ctx, "offline_access")
	must(err)
	post := func(form url.Values) {
		resp, err := raw.PostForm(flow.Endpoints.Token, form)
		must(err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			must(fmt.Errorf("raw request: HTTP %d", resp.StatusCode))
		}
	}
	base := url.Values{"client_id": {fixtures.ClientID}, "client_secret": {secret}}
	with := func(kv ...string) url.Values {
		f := url.Values{}
		for k, v := range base {
			f[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	measure := func(name string, harness, rawCall func()) flowResult {
		// Warm both paths (connections, the JIT) first.
		for i := 0; i < 20; i++ {
			harness()
			rawCall()
		}
		var h, r, ratios []float64
		for i := 0; i < reps; i++ {
			t0 := time.Now()
			harness()
			t1 := time.Now()
			rawCall()
			t2 := time.Now()
			h = append(h, t1.Sub(t0).Seconds()*1000)
			r = append(r, t2.Sub(t1).Seconds()*1000)
			ratios = append(ratios, t1.Sub(t0).Seconds()/t2.Sub(t1).Seconds())
		}
		return flowResult{Flow: name, Reps: reps, HarnessMedianMs: median(h), RawMedianMs: median(r),
			RatioMedian: median(ratios), P10: percentile(ratios, 0.1), P90: percentile(ratios, 0.9)}
	}
	return []flowResult{
		measure("get (client_credentials, scope offline_access)", func() {
			_, err := flow.ClientCredentials(ctx, "offline_access")
			must(err)
		}, func() { post(with("grant_type", "client_credentials", "scope", "offline_access")) }),
		measure("refresh (refresh_token, the stored token)", func() {
			_, err := flow.Refresh(ctx, stored.RefreshToken)
			must(err)
		}, func() { post(with("grant_type", "refresh_token", "refresh_token", stored.RefreshToken)) }),
	}
}

// benchRealm makes a realm of the fixture on the server and returns its
// name, the client's secret, and its removal.
func benchRealm(ctx context.Context, info keycloak.Info, red *redact.Redactor, prefix string) (string, string, func()) {
	ac, err := info.AdminClient(red)
	must(err)
	name := prefix + fmt.Sprint(time.Now().Unix())
	rep, err := fixtures.Rename(fixtures.Offline, name, red, nil)
	must(err)
	must(ac.CreateRealm(ctx, rep))
	remove := func() { _ = ac.DeleteRealm(context.Background(), name) }
	cl, err := ac.FindClient(ctx, name, fixtures.ClientID)
	if err == nil {
		var secret string
		if secret, err = ac.ClientSecret(ctx, name, cl.ID); err == nil {
			return name, secret, remove
		}
	}
	remove()
	must(err)
	return "", "", nil
}

// suites times the offline suite against the server with 1 and 2 Ginkgo
// processes.
func suites(info keycloak.Info, dir string) map[string]float64 {
	out := map[string]float64{}
	for _, procs := range []int{1, 2} {
		cmd := exec.Command("bin/ginkgo", fmt.Sprintf("--procs=%d", procs), "./suites/offline")
		cmd.Env = append(os.Environ(), "KC_TARGET=external", "KC_URL="+info.BaseURL, "KC_ADMIN_USER="+info.Admin.Username,
			"KC_ADMIN_PASSWORD="+info.Admin.Password, "KC_REPORT_DIR="+filepath.Join(dir, fmt.Sprintf("procs%d", procs)))
		began := time.Now()
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "%s\n", report.LastLines(redact.New().String(string(b)), 20))
			must(err)
		}
		out[fmt.Sprint(procs)] = time.Since(began).Seconds()
	}
	return out
}

func (res results) print(w io.Writer) bool {
	fmt.Fprintf(w, "bench on %s\n\n", res.Machine)
	fmt.Fprintf(w, "%-10s %-32s %8s %13s  %s\n", "TARGET", "BOOT", "FIRST", "LATER (MED.)", "")
	for _, b := range res.Boots {
		fmt.Fprintf(w, "%-10s %-32s %7.1fs %12.1fs  %s\n", b.Target, b.Mode, b.First, b.Later, b.Note)
	}
	fmt.Fprintf(w, "\nwarm conformance run: %.1fs wall, of which boot %.1fs", res.Conformance.WallSeconds, res.Conformance.BootSeconds)
	var parts []string
	for _, p := range res.Conformance.Boot {
		parts = append(parts, fmt.Sprintf("%s %.1fs", p.Name, p.Seconds))
	}
	fmt.Fprintf(w, " (%s)\n\n", strings.Join(parts, ", "))
	fmt.Fprintf(w, "%-48s %6s %10s %10s %7s %13s\n", "FLOW", "REPS", "HARNESS", "RAW HTTP", "RATIO", "SPREAD P10-90")
	ok := true
	for _, f := range res.Flows {
		fmt.Fprintf(w, "%-48s %6d %8.2fms %8.2fms %7.3f %6.3f-%.3f\n", f.Flow, f.Reps, f.HarnessMedianMs, f.RawMedianMs, f.RatioMedian, f.P10, f.P90)
		if f.RatioMedian > maxRatio {
			ok = false
		}
	}
	fmt.Fprintf(w, "\noffline suite against one server: %.1fs with 1 process, %.1fs with 2\n", res.Suites["1"], res.Suites["2"])
	g := res.Grants
	fmt.Fprintf(w, "\nkcconform before --tokens %d (concurrency %d): %.1f grants/s; raw vegeta (%d workers) before and after it: %.1f and %.1f grants/s; ratio %.2f\n",
		g.Tokens, g.Concurrency, g.Before, g.Concurrency, g.Vegeta[0], g.Vegeta[1], g.Ratio)
	return ok
}
