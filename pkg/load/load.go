// Package load drives the procedure's two grants at a Keycloak token
// endpoint at stepped rates, with vegeta, and measures what a release
// engineer compares across versions: throughput, latency percentiles,
// errors, the Keycloak process's CPU seconds (hence grants per second per
// vCPU, beside Keycloak's sizing guide) and the load generator's own CPU
// share, so that a saturated generator is not mistaken for a slow server.
// Loopback only, and bounded in count and time.
package load

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// SizingGuidePerVCPU is what Keycloak's sizing guide gives, per vCPU, for
// the client-credentials and refresh grants on its reference machines
// (about 120 per second; up to twice that on x86).
const SizingGuidePerVCPU = 120.0

// Grants.
const (
	ClientCredentials = "client_credentials+offline_access"
	Refresh           = "refresh_token"
)

// Target is where and as whom the grants are sent.
type Target struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	// RefreshToken is presented by every refresh (the stored token of the
	// procedure).
	RefreshToken string
	// ServerGroup is the process group of the Keycloak process, for its
	// CPU time (0: not measured).
	ServerGroup int
}

// Step is a rate held for a duration.
type Step struct {
	Rate     int           `json:"rate"`
	Duration time.Duration `json:"duration"`
}

// Result is one step's measurement.
type Result struct {
	Grant      string        `json:"grant"`
	Rate       int           `json:"rate"`
	Requests   uint64        `json:"requests"`
	Throughput float64       `json:"throughput"`
	Success    float64       `json:"success"`
	P50        time.Duration `json:"p50"`
	P95        time.Duration `json:"p95"`
	P99        time.Duration `json:"p99"`
	Errors     []string      `json:"errors,omitempty"`
	// ServerCPU is the Keycloak process's CPU seconds during the step.
	ServerCPU float64 `json:"serverCPU"`
	// PerVCPU is successful grants per CPU second of the server.
	PerVCPU float64 `json:"perVCPU"`
	// GeneratorCPU is this process's share of the machine's CPU during the
	// step (1 = every core busy).
	GeneratorCPU float64 `json:"generatorCPU"`
	// LatenciesMS are the successful requests' latencies in milliseconds
	// (at most MaxRequests a run), for comparisons with their confidence
	// (package confidence).
	LatenciesMS []float64 `json:"latenciesMs,omitempty"`
}

// MaxRequests bounds a run: the sum of rate × duration over the steps.
const MaxRequests = 20000

// Run runs the steps for one grant and returns a result per step.
func Run(ctx context.Context, t Target, grant string, steps []Step) ([]Result, error) {
	u, err := url.Parse(t.TokenURL)
	if err != nil {
		return nil, err
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
		return nil, fmt.Errorf("%s is not loopback: the load suite only loads a server on this machine", t.TokenURL)
	}
	total := 0
	for _, s := range steps {
		total += s.Rate * int(s.Duration.Seconds())
	}
	if total > MaxRequests {
		return nil, fmt.Errorf("%d requests, more than the %d a run may send", total, MaxRequests)
	}
	body, err := form(t, grant)
	if err != nil {
		return nil, err
	}
	header := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodPost, URL: t.TokenURL, Body: body, Header: header})
	// A warm-up at the first rate, not measured: the server's JIT compiles
	// the grant's code paths during it.
	if len(steps) > 0 {
		warm := vegeta.NewAttacker(vegeta.Timeout(30*time.Second), vegeta.KeepAlive(true), vegeta.Redirects(0))
		for r := range warm.Attack(targeter, vegeta.Rate{Freq: steps[0].Rate, Per: time.Second}, 3*time.Second, grant+" warm-up") {
			r.Body = nil
		}
	}
	var out []Result
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		// An attacker per step: one that has finished an attack sends no more.
		attacker := vegeta.NewAttacker(vegeta.Timeout(30*time.Second), vegeta.KeepAlive(true), vegeta.Redirects(0), vegeta.MaxWorkers(256))
		cpu0, gen0, wall0 := groupCPU(t.ServerGroup), selfCPU(), time.Now()
		var m vegeta.Metrics
		var lat []float64
		for r := range attacker.Attack(targeter, vegeta.Rate{Freq: s.Rate, Per: time.Second}, s.Duration, grant) {
			r.Body = nil // tokens: never kept
			m.Add(r)
			if r.Code == http.StatusOK {
				lat = append(lat, math.Round(float64(r.Latency)/1e4)/100) // ms, to 10 µs
			}
			if ctx.Err() != nil {
				attacker.Stop()
			}
		}
		m.Close()
		wall := time.Since(wall0).Seconds()
		res := Result{Grant: grant, Rate: s.Rate, Requests: m.Requests, Throughput: m.Throughput, Success: m.Success,
			P50: m.Latencies.P50, P95: m.Latencies.P95, P99: m.Latencies.P99, Errors: m.Errors, LatenciesMS: lat,
			GeneratorCPU: (selfCPU() - gen0) / wall / float64(runtime.NumCPU())}
		if t.ServerGroup > 0 {
			res.ServerCPU = groupCPU(t.ServerGroup) - cpu0
			if res.ServerCPU > 0 {
				res.PerVCPU = m.Throughput * wall / res.ServerCPU
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// selfCPU is this process's CPU seconds so far.
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's times.
const clockTicks = 100

// groupCPU is the CPU seconds of every process in a process group so far.
func groupCPU(pgid int) float64 {
	if pgid <= 0 {
		return 0
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// The command (field 2) may hold spaces: the fields after it start
		// after the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		// f[0] is the state (field 3): pgrp is field 5, utime 14, stime 15.
		if len(f) < 13 {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g != pgid {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return float64(ticks) / clockTicks
}

// Report is what a run of the load suite writes (load-VERSION.json).
type Report struct {
	Version string   `json:"version"`
	Target  string   `json:"target"`
	VCPUs   int      `json:"vcpus"`
	Results []Result `json:"results"`
}

// Table is the report as text.
func (rep Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Keycloak %s (%s target, %d vCPU)\n", rep.Version, rep.Target, rep.VCPUs)
	fmt.Fprintf(&b, "%-36s %6s %9s %9s %9s %9s %8s %9s %7s\n", "GRANT", "RATE", "THRUPUT", "P50", "P95", "P99", "OK", "PER-CPU-S", "GEN-CPU")
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "%-36s %6d %9.1f %9s %9s %9s %7.2f%% %9.0f %6.0f%%\n", r.Grant, r.Rate, r.Throughput,
			r.P50.Round(time.Millisecond/10), r.P95.Round(time.Millisecond/10), r.P99.Round(time.Millisecond/10), r.Success*100, r.PerVCPU, r.GeneratorCPU*100)
	}
	return b.String()
}
