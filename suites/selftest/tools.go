package selftest

import (
	"encoding/json"
	"kcconform/fixtures"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/framework"
	"kcconform/pkg/report"
)

func (s selfTest) registerTools() {
	Describe("the kcconform command copied to a machine with no Go, Maven or Java", Serial, Label(framework.LabelSelf), func() {
		cases(
			selfCase{
				Name:    "the offline suite runs from an empty PATH outside the checkout and writes reports",
				Setup:   "the binary copied to a folder outside the repository, PATH empty, against an external Keycloak, with and without admin rights",
				Want:    "PASS and the reports written, both ways",
				Why:     "the binary is sold as needing no Go, Maven or Java",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
					dir := GinkgoT().TempDir()
					b, err := os.ReadFile(s.Binary())
					Expect(err).NotTo(HaveOccurred())
					bin := filepath.Join(dir, "kcconform")
					Expect(os.WriteFile(bin, b, 0o755)).To(Succeed())
					run := func(env map[string]string, args ...string) (int, string, string) {
						reports := filepath.Join(GinkgoT().TempDir(), "reports")
						cmd := exec.CommandContext(ctx, bin, append([]string{"--report-dir", reports}, args...)...)
						cmd.Dir = dir
						cmd.Env = []string{"PATH=/nonexistent", "HOME=" + dir, "KC_TARGET=external", "KC_URL=" + s.Server.BaseURL}
						for k, v := range env {
							cmd.Env = append(cmd.Env, k+"="+v)
						}
						out, _ := cmd.CombinedOutput()
						return cmd.ProcessState.ExitCode(), string(out), reports
					}
					code, help, _ := run(nil, "--help")
					Expect(code).To(Equal(0))
					for _, setting := range []string{"--url", "KC_URL", "--client-secret", "KC_CLIENT_SECRET", "--expect-offline-idle-min", "--allow-plain-http"} {
						Expect(help).To(ContainSubstring(setting))
					}
					code, out, reports := run(s.adminEnv())
					Expect(code).To(Equal(0), report.LastLines(out, 30))
					Expect(out).To(ContainSubstring("verdict: PASS"))
					for _, f := range []string{"conformance.json", "conformance.xml", "conformance.html", "summary.md", "verdict.txt"} {
						Expect(filepath.Join(reports, f)).To(BeAnExistingFile())
					}
					realm, c := s.handmadeRealm(ctx, "portable", nil)
					code, out, _ = run(clientEnv(realm, c))
					Expect(code).To(Equal(0), report.LastLines(out, 30))
					Expect(out).To(ContainSubstring("verdict: PASS"))
					Expect(out).To(ContainSubstring("client-only"))
				},
			},
		)
	})

	Describe("make clean-server", Serial, Label(framework.LabelSelf), func() {
		cases(
			selfCase{
				Name:    "removes the realms earlier runs left, and nothing else",
				Setup:   "a realm named as an earlier run's, beside master",
				Want:    "the earlier run's realm removed, master kept, no password in the output",
				Why:     "clean-server runs against staging servers that hold the operator's own realms",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
					left := framework.ResourcePrefix + "offline-leftover" + s.Run.ID() + "-p1"
					rep, err := s.RealmFixture(left, nil)
					Expect(err).NotTo(HaveOccurred())
					s.CreateRealm(ctx, left, rep)

					cmd := exec.CommandContext(ctx, "make", "-s", "-C", framework.ModuleRoot(), "clean-server")
					cmd.Env = append(os.Environ(), "KC_URL="+s.Server.BaseURL, "KC_ADMIN_USER="+s.Server.Admin.Username, "KC_ADMIN_PASSWORD="+s.Server.Admin.Password)
					out, err := cmd.CombinedOutput()
					Expect(err).NotTo(HaveOccurred(), string(out))
					Expect(string(out)).To(ContainSubstring("removed realm " + left))
					Expect(string(out)).NotTo(ContainSubstring(s.Server.Admin.Password))
					exists, err := s.Admin.RealmExists(ctx, left)
					Expect(err).NotTo(HaveOccurred())
					Expect(exists).To(BeFalse())
					exists, err = s.Admin.RealmExists(ctx, "master")
					Expect(err).NotTo(HaveOccurred())
					Expect(exists).To(BeTrue())
				},
			},
		)
	})

	Describe("a failed spec's replay command", Serial, Label(framework.LabelSelf), func() {
		cases(
			selfCase{
				Name:    "sends the same request again when pasted into a shell with the variables set",
				Setup:   "a client with access.token.lifespan 300 fails; the failed get's replay command run in bash with CLIENT_SECRET set",
				Want:    "the same answer again (expires_in 300), the secret only as a variable in the command",
				Why:     "a developer reproducing a regression must get the server's answer again with curl",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
					realm, c := s.handmadeRealm(ctx, "replay", func(rep map[string]any) {
						fixtures.ProcedureClient(rep)["attributes"].(map[string]any)["access.token.lifespan"] = "300"
					})
					r := s.conformance(ctx, clientEnv(realm, c))
					Expect(r.ExitCode).NotTo(Equal(0))
					s.ExpectNoLeak(r, c.Flow.ClientSecret, s.Server.Admin.Password)

					replay := replayOfGet(filepath.Join(r.Reports, "conformance.json"))
					Expect(replay).To(ContainSubstring(`client_secret="${CLIENT_SECRET}"`))
					Expect(replay).NotTo(ContainSubstring(c.Flow.ClientSecret))
					By("running: " + replay)
					sh := exec.CommandContext(ctx, "bash", "-c", replay)
					sh.Env = append(os.Environ(), "CLIENT_SECRET="+c.Flow.ClientSecret)
					out, err := sh.Output()
					Expect(err).NotTo(HaveOccurred())
					// Only scalars go into assertions: a failed assertion prints its
					// value, and the answer holds tokens.
					var sent struct {
						ExpiresIn    float64 `json:"expires_in"`
						Scope        string  `json:"scope"`
						AccessToken  string  `json:"access_token"`
						RefreshToken string  `json:"refresh_token"`
					}
					Expect(json.Unmarshal(out, &sent)).To(Succeed(), "jq printed the token response")
					s.Run.Redactor.AddToken(sent.AccessToken)
					s.Run.Redactor.AddToken(sent.RefreshToken)
					// expires_in is what is left of the 300 s when the answer is
					// written: 1 s less when that crosses a second boundary.
					Expect(sent.ExpiresIn).To(BeNumerically("~", 299.5, 0.5), "the replay got what the failed spec got (expires_in 300)")
					Expect(sent.Scope).To(ContainSubstring("offline_access"))
					Expect(sent.RefreshToken).NotTo(BeEmpty(), "a refresh token")
					// The replay took an offline token of its own: give it back.
					rt := sent.RefreshToken
					Expect(c.Flow.Revoke(ctx, rt)).To(Succeed())
				},
			},
		)
	})
}

// replayOfGet finds, in a Ginkgo JSON report, the replay command of a failed
// get request (grant_type=client_credentials with scope=offline_access).
func replayOfGet(path string) string {
	GinkgoHelper()
	suites, err := report.Load(path)
	Expect(err).NotTo(HaveOccurred())
	for _, su := range suites {
		for _, sp := range su.Specs {
			if !sp.Failed() {
				continue
			}
			for _, e := range sp.Entries {
				if e.Name != report.EntryReplay {
					continue
				}
				for _, line := range strings.Split(e.Value.Representation, "\n") {
					// The procedure's own form: client_secret_post, not the HTTP Basic spec's.
					if strings.HasPrefix(line, "curl ") && strings.Contains(line, "grant_type=client_credentials") && strings.Contains(line, "scope=offline_access") &&
						strings.Contains(line, "client_secret=") {
						return line
					}
				}
			}
		}
	}
	Fail("no replay command of the get request in the failed specs of " + path)
	return ""
}
