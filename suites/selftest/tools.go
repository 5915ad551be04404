package selftest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/framework"
	"kcconform/pkg/report"
)

func registerTools() {
	Describe("make clean-server", Serial, Label(framework.LabelSelf), func() {
		It("removes the realms earlier runs left, and nothing else", func(ctx SpecContext) {
			left := framework.ResourcePrefix + "offline-leftover" + framework.RunID() + "-p1"
			rep, err := framework.RealmFixture(left, nil)
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
		}, SpecTimeout(nestedTimeout))
	})

	Describe("a failed spec's replay command", Serial, Label(framework.LabelSelf), func() {
		It("sends the same request again when pasted into a shell with the variables set", func(ctx SpecContext) {
			realm, c := handmadeRealm(ctx, "replay", func(rep map[string]any) {
				framework.FixtureClient(rep)["attributes"].(map[string]any)["access.token.lifespan"] = "300"
			})
			r := conformance(ctx, clientEnv(realm, c))
			Expect(r.ExitCode).NotTo(Equal(0))
			framework.ExpectNoLeak(r, c.Flow.ClientSecret, s.Server.Admin.Password)

			replay := replayOfGet(filepath.Join(r.Reports, "conformance.json"))
			Expect(replay).To(ContainSubstring(`client_secret="${CLIENT_SECRET}"`))
			Expect(replay).NotTo(ContainSubstring(c.Flow.ClientSecret))
			By("running: " + replay)
			sh := exec.CommandContext(ctx, "bash", "-c", replay)
			sh.Env = append(os.Environ(), "CLIENT_SECRET="+c.Flow.ClientSecret)
			out, err := sh.Output()
			Expect(err).NotTo(HaveOccurred())
			var sent map[string]any
			Expect(json.Unmarshal(out, &sent)).To(Succeed(), "jq printed the token response")
			Expect(sent).To(HaveKeyWithValue("expires_in", BeNumerically("==", 300)), "the replay got what the failed spec got")
			Expect(sent["scope"]).To(ContainSubstring("offline_access"))
			Expect(sent).To(HaveKey("refresh_token"))
			// The replay took an offline token of its own: give it back.
			rt, _ := sent["refresh_token"].(string)
			framework.Redactor.AddToken(rt)
			Expect(c.Flow.Revoke(ctx, rt)).To(Succeed())
		}, SpecTimeout(nestedTimeout))
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
					if strings.HasPrefix(line, "curl ") && strings.Contains(line, "grant_type=client_credentials") && strings.Contains(line, "scope=offline_access") {
						return line
					}
				}
			}
		}
	}
	Fail("no replay command of the get request in the failed specs of " + path)
	return ""
}
