// Package tls runs the offline suite against Keycloak serving HTTPS with a
// certificate made at test time, signed by a CA the harness is told to trust
// (KC_CA_FILE), and shows that without that CA the certificate is refused
// with a clear error, and that turning verification off is marked loudly.
package tls

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/framework"
	"kcconform/pkg/keycloak"
)

// Suite is the TLS suite.
var Suite = framework.Suite{Name: "tls", Description: "kcconform: TLS", Register: register}

type shared struct {
	Server keycloak.Info   `json:"server"`
	Certs  framework.Certs `json:"certs"`
	Label  string          `json:"label"`
}

func register() {
	var (
		server keycloak.Info
		certs  framework.Certs
	)
	SynchronizedBeforeSuite(func(ctx context.Context) []byte {
		cfg := framework.RequireProcessTarget()
		dir, err := os.MkdirTemp("", "kcconform-certs-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, dir)
		c, err := framework.MakeCerts(dir, "kcconform test CA "+framework.RunID())
		Expect(err).NotTo(HaveOccurred())
		cfg.CAFile = c.CAFile
		label := "tls server " + framework.RunID()
		srv := framework.NewServer(cfg, keycloak.Options{HTTPS: &keycloak.TLSFiles{Cert: c.CertFile, Key: c.KeyFile},
			AdminPassword: framework.DerivePassword(label)})
		framework.StartServer(ctx, srv, "Keycloak with HTTPS only")
		b, err := json.Marshal(shared{Server: srv.Info().Public(), Certs: c, Label: label})
		Expect(err).NotTo(HaveOccurred())
		return b
	}, func(data []byte) {
		var sh shared
		Expect(json.Unmarshal(data, &sh)).To(Succeed())
		server, certs = sh.Server, sh.Certs
		server.Admin.Password = framework.DerivePassword(sh.Label)
		framework.RecordServer(server, keycloak.ModeProvisioned, framework.Profile())
	}, NodeTimeout(10*time.Minute))

	adminEnv := func() map[string]string {
		return map[string]string{"KC_ADMIN_USER": server.Admin.Username, "KC_ADMIN_PASSWORD": server.Admin.Password}
	}

	Describe("the offline suite over HTTPS", Serial, Label(framework.LabelTLS), func() {
		It("passes against Keycloak serving HTTPS with a certificate of a CA named by KC_CA_FILE", func(ctx SpecContext) {
			Expect(server.BaseURL).To(HavePrefix("https://"))
			env := adminEnv()
			env["KC_CA_FILE"] = certs.CAFile
			r := framework.Conformance(ctx, server.BaseURL, env)
			Expect(r.ExitCode).To(Equal(0), framework.LastLines(r.Output, 30))
			Expect(r.Output).To(ContainSubstring("verdict: PASS"))
			Expect(r.Output).To(ContainSubstring("external target, " + server.BaseURL))
			Expect(r.Output).NotTo(ContainSubstring("TLS VERIFICATION OFF"))
			framework.ExpectNoLeak(r, server.Admin.Password)
		}, SpecTimeout(10*time.Minute))

		It("refuses the server's certificate with a clear error when its CA is not trusted", func(ctx SpecContext) {
			r := framework.Conformance(ctx, server.BaseURL, adminEnv())
			Expect(r.ExitCode).NotTo(Equal(0))
			Expect(r.Output).To(ContainSubstring("TLS verification failed: the server's certificate is not signed by a trusted CA (set KC_CA_FILE"))
			Expect(r.Output).To(ContainSubstring(server.BaseURL + "/realms/master/.well-known/openid-configuration"))
			Expect(r.Output).To(ContainSubstring("verdict: COULD NOT RUN"))
		}, SpecTimeout(5*time.Minute))

		It("runs with verification off only when KC_INSECURE_SKIP_VERIFY says so, and marks the run loudly", func(ctx SpecContext) {
			env := adminEnv()
			env["KC_INSECURE_SKIP_VERIFY"] = "true"
			r := framework.Conformance(ctx, server.BaseURL, env)
			Expect(r.ExitCode).To(Equal(0), framework.LastLines(r.Output, 30))
			Expect(r.Output).To(ContainSubstring("TLS VERIFICATION OFF"))
			b, err := os.ReadFile(filepath.Join(r.Reports, "conformance.json"))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(b)).To(ContainSubstring("TLS VERIFICATION IS OFF"))
		}, SpecTimeout(10*time.Minute))
	})
}
