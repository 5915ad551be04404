package selftest

import (
	"kcconform/fixtures"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/framework"
	"kcconform/pkg/report"
	"kcconform/pkg/versions"
)

// registerVerdicts: a healthy server passes in every mode; a misconfigured
// one fails naming the promise and the value sent.
func (s selfTest) registerVerdicts() {
	Describe("the kcconform command against an external Keycloak", Serial, Label(framework.LabelSelf), func() {
		cases(
			selfCase{
				Name:    "a healthy server passes with admin rights, leaving nothing behind and leaking nothing",
				Setup:   "an external Keycloak with admin rights, a realm of the run's own, GITHUB_STEP_SUMMARY set",
				Want:    "PASS, the 30-day idle timeout reported, nothing left on the server, no secret in the output, the table in the summary",
				Why:     "CI's own use, end to end",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
					summary := filepath.Join(GinkgoT().TempDir(), "step-summary.md")
					Expect(os.WriteFile(summary, []byte("earlier steps\n"), 0o600)).To(Succeed())
					env := s.adminEnv()
					env["GITHUB_STEP_SUMMARY"] = summary
					r := s.conformance(ctx, env)
					expectVerdict(r, report.StatusPass, `the server keeps the procedure's promises`)
					Expect(verdictOf(r)).To(MatchRegexp(`\d+ passed, 0 failed, 0 skipped`))
					Expect(verdictOf(r)).To(ContainSubstring("external target"))
					Expect(verdictOf(r)).To(ContainSubstring("offline tokens keep working while used at least every 30 days"))
					s.expectNoRealmsLeft(ctx)
					s.ExpectNoLeak(r, s.Server.Admin.Password)
					md, err := os.ReadFile(summary)
					Expect(err).NotTo(HaveOccurred())
					Expect(string(md)).To(HavePrefix("earlier steps\n"), "appended, not overwritten")
					Expect(string(md)).To(ContainSubstring("| procedure | refresh_expires_in | pass |"))
					Expect(string(md)).To(ContainSubstring("PASS: the server keeps the procedure's promises"))
				},
			},
			selfCase{
				Name:    "a client set up by hand passes with only its credentials; introspection n/a",
				Setup:   "a client made by hand exactly as the procedure says (no audience mapper); client-only",
				Want:    "PASS, introspection not applicable with the reason",
				Why:     "the procedure names no audience mapper; a check it does not promise must not fail",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
					realm, c := s.handmadeRealm(ctx, "plain", withoutAudienceMapper)
					r := s.conformance(ctx, clientEnv(realm, c))
					expectVerdict(r, report.StatusPass, `the server keeps`)
					Expect(verdictOf(r)).To(MatchRegexp(`[1-9]\d* passed, 0 failed, [1-9]\d* skipped`))
					Expect(verdictOf(r)).To(MatchRegexp(`harness extra\s+introspection\s+(n/a|pass)`))
					if versions.Compare(s.Server.Version, "26.6.0") >= 0 {
						Expect(verdictOf(r)).To(ContainSubstring("not applicable: introspection: client my-test-client is not in the token's aud"))
						Expect(verdictOf(r)).To(ContainSubstring("add an audience mapper"))
					}
					s.expectNoOfflineSessions(ctx, realm)
					s.ExpectNoLeak(r, c.Flow.ClientSecret, s.Server.Admin.Password)
				},
			},
			selfCase{
				Name:    "access.token.lifespan 300 fails expires_in, and its bundle reproduces the failure",
				Setup:   "the client's access.token.lifespan 300; the reproduction bundle copied to a clean folder and run; then the realm mended",
				Want:    "FAIL naming expires_in, the value sent and the setting; the bundle fails the same way, and passes once mended",
				Why:     "a failing check must say what the server sent and how to replay it",
				Timeout: 2 * nestedTimeout,
				Run: func(ctx SpecContext) {
					fixture := s.fixtureWith(func(realm map[string]any) {
						fixtures.ProcedureClient(realm)["attributes"].(map[string]any)["access.token.lifespan"] = "300"
					})
					env := s.adminEnv()
					env["KC_FIXTURE"] = fixture
					r := s.conformance(ctx, env)
					expectVerdict(r, report.StatusFail, `the server breaks \d+ promise\(s\): .*expires_in`)
					// 299 where the second turned between issuing and answering.
					Expect(verdictOf(r)).To(MatchRegexp(`procedure\s+expires_in\s+FAIL\s+31536000 \(the configured access token lifetime, or 1 s less\)\s+(299|300)\b`))
					Expect(verdictOf(r)).To(ContainSubstring("hint for expires_in: client attribute access.token.lifespan"))
					Expect(verdictOf(r)).To(ContainSubstring("read: access.token.lifespan 300 s"))
					s.expectNoRealmsLeft(ctx)
					s.ExpectNoLeak(r, s.Server.Admin.Password)

					// The bundle, as a developer gets it: copied to an empty folder
					// and run there (through kcconform --replay, which runs its
					// reproduce.sh). The same bundle with the realm mended must not
					// reproduce: the script's check can fail.
					bundle := s.expectBundle(r, "expires_in")
					out, code := s.replay(ctx, bundle, nil)
					Expect(code).To(Equal(report.StatusFail.ExitCode()), out)
					Expect(out).To(MatchRegexp(`REPRODUCED: Keycloak \S+ broke "expires_in[^"]*" again`))
					Expect(out).To(MatchRegexp(`"expires_in": (299|300),`))
					out, code = s.replay(ctx, bundle, func(realm map[string]any) {
						fixtures.ProcedureClient(realm)["attributes"].(map[string]any)["access.token.lifespan"] = "31536000"
					})
					Expect(code).To(Equal(report.StatusPass.ExitCode()), out)
					Expect(out).To(ContainSubstring(`NOT REPRODUCED: Keycloak`))
					Expect(out).NotTo(MatchRegexp(`eyJ[A-Za-z0-9_-]{10,}\.`), "a token in the replay's output")
				},
			},
			selfCase{
				Name:    "a realm limiting offline sessions fails refresh_expires_in, naming the setting",
				Setup:   "the realm's Offline Session Max Limited on",
				Want:    "FAIL naming refresh_expires_in, the value sent and Offline Session Max Limited",
				Why:     "the promise is refresh_expires_in 0: a refresh token that never expires by itself",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
					fixture := s.fixtureWith(func(realm map[string]any) { realm["offlineSessionMaxLifespanEnabled"] = true })
					env := s.adminEnv()
					env["KC_FIXTURE"] = fixture
					r := s.conformance(ctx, env)
					expectVerdict(r, report.StatusFail, `the server breaks \d+ promise\(s\): .*refresh_expires_in`)
					Expect(verdictOf(r)).To(MatchRegexp(`procedure\s+refresh_expires_in\s+FAIL\s+0 \(offline refresh tokens do not expire\)\s+[1-9]\d*`))
					Expect(verdictOf(r)).To(ContainSubstring("Offline Session Max Limited"))
					Expect(verdictOf(r)).To(ContainSubstring("read: offlineSessionMaxLifespanEnabled true"))
					s.expectNoRealmsLeft(ctx)
				},
			},
		)
	})
}
