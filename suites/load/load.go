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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/load"
	"kcconform/pkg/run"
	"kcconform/pkg/settings"
)

// Suite is the load suite.
var Suite = framework.Suite{Name: "load", Description: "kcconform: load", Register: register}

// steps are the load suite's steps: KC_LOAD_RATES, each for KC_LOAD_STEP.
func steps(st settings.Settings) []load.Step {
	var out []load.Step
	for _, n := range st.LoadRates {
		out = append(out, load.Step{Rate: n, Duration: st.LoadStep})
	}
	return out
}

func register(r *run.Run) {
	base := framework.NewSession(r)
	Describe("the procedure's grants under load", Label(framework.LabelLoad), func() {
		It("serves the client-credentials and refresh grants at stepped rates with fewer than 1% errors, and reports throughput, latency and grants per vCPU", func(ctx SpecContext) {
			cfg := base.RequireLifecycleTarget()
			srv := base.NewServer(cfg, nil, keycloak.Options{FullJIT: true})
			base.StartServer(ctx, srv, "Keycloak "+cfg.Version+" with the JVM's full compiler")
			s := base.ForServer(srv, cfg)
			s.Realm = s.ProvisionRealm(ctx, "load")
			c := s.Realm.Client
			stored := s.GetOffline(ctx, c)
			t := load.Target{TokenURL: c.Flow.Endpoints.Token, ClientID: c.ClientID, ClientSecret: c.Flow.ClientSecret,
				RefreshToken: stored.RefreshToken, ServerGroup: s.Server.ProcessGroup}
			rep := load.Report{Version: cfg.Version, Target: cfg.Target, VCPUs: runtime.NumCPU()}
			var checks []contract.Check
			for _, grant := range []string{load.ClientCredentials, load.Refresh} {
				By("loading the " + grant + " grant")
				res, err := load.Run(ctx, t, grant, steps(r.Settings))
				s.ExpectNoError(err, "load "+grant)
				rep.Results = append(rep.Results, res...)
				for _, step := range res {
					chk := contract.GrantUnderLoad.Check(s.Subject(c), "fewer than 1% errors", summary(step), step.Success >= 0.99)
					checks = append(checks, contract.Qualified(chk, fmt.Sprintf("%s at %d/s", grant, step.Rate)))
				}
			}
			b, err := json.MarshalIndent(rep, "", "  ")
			Expect(err).NotTo(HaveOccurred())
			Expect(os.WriteFile(filepath.Join(s.Run.Settings.ReportDir, "load-"+cfg.Version+".json"), b, 0o644)).To(Succeed())
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
