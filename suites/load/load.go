// Package load measures the procedure's two grants under load, on a
// Keycloak it starts on this machine (loopback only) with the JVM's full
// compiler: the client-credentials grant with offline_access and the
// refresh grant with the stored token, at stepped rates for a bounded time
// each. It records throughput, latency percentiles, errors, the server's CPU
// seconds (grants per second per vCPU, beside Keycloak's sizing guide) and
// the generator's own CPU share, in the report and in load-VERSION.json for
// make bench-compare. Label load; not in the default run.
package load

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/load"
	"kcconform/pkg/report"
)

// Suite is the load suite.
var Suite = framework.Suite{Name: "load", Description: "kcconform: load", Register: register}

// steps reads KC_LOAD_RATES (requests per second, comma-separated) and
// KC_LOAD_STEP (each rate's duration).
func steps() []load.Step {
	GinkgoHelper()
	rates, step := "25,50,100", 5*time.Second
	if v := os.Getenv("KC_LOAD_RATES"); v != "" {
		rates = v
	}
	if v := os.Getenv("KC_LOAD_STEP"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Minute {
			Fail(fmt.Sprintf("KC_LOAD_STEP: expected a duration up to 1m, got %q", v))
		}
		step = d
	}
	var out []load.Step
	for _, r := range strings.Split(rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 || n > 2000 {
			Fail(fmt.Sprintf("KC_LOAD_RATES: expected rates from 1 to 2000 per second, comma-separated, got %q", rates))
		}
		out = append(out, load.Step{Rate: n, Duration: step})
	}
	return out
}

func register() {
	Describe("the procedure's grants under load", Label(framework.LabelLoad), func() {
		It("serves the client-credentials and refresh grants at stepped rates with fewer than 1% errors, and reports throughput, latency and grants per vCPU", func(ctx SpecContext) {
			cfg := framework.RequireLifecycleTarget()
			srv := framework.NewServer(cfg, keycloak.Options{FullJIT: true})
			framework.StartServer(ctx, srv, "Keycloak "+cfg.Version+" with the JVM's full compiler")
			s := framework.ForServer(srv, cfg)
			s.Realm = s.ProvisionRealm(ctx, "load")
			c := s.Realm.Client
			stored := s.GetOffline(ctx, c)
			t := load.Target{TokenURL: c.Flow.Endpoints.Token, ClientID: c.ClientID, ClientSecret: c.Flow.ClientSecret,
				RefreshToken: stored.RefreshToken, ServerGroup: s.Server.ProcessGroup}
			rep := load.Report{Version: cfg.Version, Target: cfg.Target, VCPUs: runtime.NumCPU()}
			var checks []contract.Check
			for _, grant := range []string{load.ClientCredentials, load.Refresh} {
				By("loading the " + grant + " grant")
				res, err := load.Run(ctx, t, grant, steps())
				framework.ExpectNoError(err, "load "+grant)
				rep.Results = append(rep.Results, res...)
				for _, r := range res {
					checks = append(checks, contract.Check{Promise: fmt.Sprintf("%s at %d/s", grant, r.Rate), Class: report.Extra,
						Expected: "fewer than 1% errors", Sent: summary(r), Result: map[bool]report.Result{true: report.Pass, false: report.Fail}[r.Success >= 0.99]})
				}
			}
			b, err := json.MarshalIndent(rep, "", "  ")
			Expect(err).NotTo(HaveOccurred())
			Expect(os.WriteFile(filepath.Join(framework.ReportDir(), "load-"+cfg.Version+".json"), b, 0o644)).To(Succeed())
			AddReportEntry("load", rep.Table())
			framework.ExpectKept("load", nil, checks)
		}, SpecTimeout(20*time.Minute))
	})
}

func summary(r load.Result) string {
	s := fmt.Sprintf("%.1f/s, p50 %s, p95 %s, p99 %s, %.2f%% ok", r.Throughput, r.P50.Round(time.Millisecond/10), r.P95.Round(time.Millisecond/10), r.P99.Round(time.Millisecond/10), r.Success*100)
	if r.PerVCPU > 0 {
		s += fmt.Sprintf(", %.0f grants per CPU second (sizing guide: about %.0f per vCPU)", r.PerVCPU, load.SizingGuidePerVCPU)
	}
	return s + fmt.Sprintf(", generator CPU %.0f%%", r.GeneratorCPU*100)
}
