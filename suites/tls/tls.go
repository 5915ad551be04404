// Package tls runs the offline suite against Keycloak serving HTTPS with a
// certificate made at test time, signed by a CA the harness is told to trust
// (KC_CA_FILE), and shows that without that CA the certificate is refused
// with a clear error, and that turning verification off is marked loudly.
package tls

import (
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/framework"
	"kcconform/pkg/report"
	"kcconform/pkg/run"
)

// Suite is the TLS suite.
var Suite = framework.Suite{Name: "tls", Description: "kcconform: TLS", Register: register}

func register(r *run.Run) {
	// One server for the run, over HTTPS with a certificate of a CA made
	// for it; the process target only (the suite skips elsewhere).
	s := framework.Bootstrap(r, "tls", framework.NeedServer, framework.ServerOptions{HTTPS: true})

	adminEnv := func() map[string]string {
		return map[string]string{"KC_ADMIN_USER": s.Server.Admin.Username, "KC_ADMIN_PASSWORD": s.Server.Admin.Password}
	}

	Describe("the offline suite over HTTPS", Serial, Label(framework.LabelTLS), func() {
		It("passes against Keycloak serving HTTPS with a certificate of a CA named by KC_CA_FILE", func(ctx SpecContext) {
			Expect(s.Server.BaseURL).To(HavePrefix("https://"))
			env := adminEnv()
			env["KC_CA_FILE"] = s.Certs.CAFile
			r := s.Conformance(ctx, s.Server.BaseURL, env)
			Expect(r.ExitCode).To(Equal(0), report.LastLines(r.Output, 30))
			Expect(r.Output).To(ContainSubstring("verdict: PASS"))
			Expect(r.Output).To(ContainSubstring("external target, " + s.Server.BaseURL))
			Expect(r.Output).NotTo(ContainSubstring("TLS VERIFICATION OFF"))
			s.ExpectNoLeak(r, s.Server.Admin.Password)
		}, SpecTimeout(10*time.Minute))

		It("refuses the server's certificate with a clear error when its CA is not trusted", func(ctx SpecContext) {
			r := s.Conformance(ctx, s.Server.BaseURL, adminEnv())
			Expect(r.ExitCode).NotTo(Equal(0))
			Expect(r.Output).To(ContainSubstring("TLS verification failed: the server's certificate is not signed by a trusted CA (set KC_CA_FILE"))
			Expect(r.Output).To(ContainSubstring(s.Server.BaseURL + "/realms/master/.well-known/openid-configuration"))
			Expect(r.Output).To(ContainSubstring("verdict: COULD NOT RUN"))
		}, SpecTimeout(5*time.Minute))

		It("runs with verification off only when KC_INSECURE_SKIP_VERIFY says so, and marks the run loudly", func(ctx SpecContext) {
			env := adminEnv()
			env["KC_INSECURE_SKIP_VERIFY"] = "true"
			r := s.Conformance(ctx, s.Server.BaseURL, env)
			Expect(r.ExitCode).To(Equal(0), report.LastLines(r.Output, 30))
			Expect(r.Output).To(ContainSubstring("TLS VERIFICATION OFF"))
			b, err := os.ReadFile(filepath.Join(r.Reports, "conformance.json"))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(b)).To(ContainSubstring("TLS VERIFICATION IS OFF"))
		}, SpecTimeout(10*time.Minute))
	})
}
