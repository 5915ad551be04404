package selftest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/admin"
	"kcconform/pkg/framework"
	"kcconform/pkg/report"
)

// breaks starts a verdict that counts broken promises.
const breaks = "the server breaks"

// registerCauses: when the procedure's get is refused, the verdict names one
// cause, never a user's typo as promises the server broke; each case is
// proven both ways on the real server: as set up wrongly, and as set up
// right again.
func (s selfTest) registerCauses() {
	Describe("root cause first", Serial, Label(framework.LabelSelf), func() {
		cases(
			selfCase{
				Name:    "a mistyped KC_CLIENT_SECRET is the operator's mistake, not the server's",
				Setup:   "the right client with a wrong KC_CLIENT_SECRET, client-only then audit; then the right secret",
				Want:    "COULD NOT RUN naming KC_CLIENT_ID and KC_CLIENT_SECRET (client-only) or the secret read (audit); the right secret: PASS",
				Why:     "a verdict that blames Keycloak for a typo sends a release engineer after a bug that is not there",
				Timeout: 3 * nestedTimeout,
				Run: func(ctx SpecContext) {
					realm, c := s.handmadeRealm(ctx, "typo", withoutAudienceMapper)
					env := clientEnv(realm, c)
					env["KC_CLIENT_SECRET"] = framework.Bogus("mistyped-secret")
					r := s.conformance(ctx, env)
					expectVerdict(r, report.StatusCouldNot, `the procedure's get for client my-test-client was refused \(HTTP 401 unauthorized_client .*\): the server refused the client's credentials: check KC_CLIENT_ID and KC_CLIENT_SECRET first; Keycloak answers alike`)
					Expect(verdictOf(r)).NotTo(ContainSubstring(breaks))

					env = s.auditEnv(realm, c.ClientID)
					env["KC_CLIENT_SECRET"] = framework.Bogus("mistyped-secret")
					r = s.conformance(ctx, env)
					expectVerdict(r, report.StatusCouldNot, `.*KC_CLIENT_SECRET is not the secret of client my-test-client \(compared with the one read with admin rights`)

					r = s.conformance(ctx, clientEnv(realm, c))
					expectVerdict(r, report.StatusPass, `the server keeps`)
					s.expectNoOfflineSessions(ctx, realm)
				},
			},
			selfCase{
				Name:    "a disabled client fails the get, naming enabled false where it can read it",
				Setup:   "the procedure's client disabled, with admin rights and without; then enabled again",
				Want:    "FAIL of the get alone, naming enabled false with admin rights and what to check without them; enabled: PASS",
				Why:     "one cause breaks one promise, and the hint names the setting an administrator can change",
				Timeout: 3 * nestedTimeout,
				Run: func(ctx SpecContext) {
					realm, c := s.handmadeRealm(ctx, "disabled", withoutAudienceMapper)
					Expect(s.Admin.UpdateClient(ctx, realm, c.UUID, func(rep map[string]any) { rep["enabled"] = false })).To(Succeed())
					r := s.conformance(ctx, s.auditEnv(realm, c.ClientID))
					expectVerdict(r, report.StatusFail, `the server breaks 1 promise\(s\): get$`)
					Expect(verdictOf(r)).To(ContainSubstring("hint for get: client my-test-client is disabled (read with admin rights: enabled false"))
					Expect(verdictOf(r)).To(MatchRegexp(`HTTP Basic client authentication\s+not reached`))

					r = s.conformance(ctx, clientEnv(realm, c))
					expectVerdict(r, report.StatusCouldNot, `.*check KC_CLIENT_ID and KC_CLIENT_SECRET first`)

					Expect(s.Admin.UpdateClient(ctx, realm, c.UUID, func(rep map[string]any) { rep["enabled"] = true })).To(Succeed())
					r = s.conformance(ctx, s.auditEnv(realm, c.ClientID))
					expectVerdict(r, report.StatusPass, `the server keeps`)
				},
			},
			selfCase{
				Name:    "a client authenticated by a signed JWT fails the get, naming the authenticator",
				Setup:   "the client's authenticator set to a signed JWT; then Client Id and Secret again",
				Want:    "FAIL of the get naming the authenticator (the setting read, or the server's answer), the same line on every run; then PASS",
				Why:     "the procedure authenticates with the client's secret; a stable verdict line lets CI compare runs",
				Timeout: 4 * nestedTimeout,
				Run: func(ctx SpecContext) {
					realm, c := s.handmadeRealm(ctx, "jwt", withoutAudienceMapper)
					Expect(s.Admin.UpdateClient(ctx, realm, c.UUID, func(rep map[string]any) { rep["clientAuthenticatorType"] = "client-secret-jwt" })).To(Succeed())
					r := s.conformance(ctx, s.auditEnv(realm, c.ClientID))
					expectVerdict(r, report.StatusFail, `the server breaks 1 promise\(s\): get$`)
					Expect(verdictOf(r)).To(ContainSubstring("hint for get: client my-test-client authenticates with client-secret-jwt (read with admin rights: clientAuthenticatorType client-secret-jwt)"))

					first := s.conformance(ctx, clientEnv(realm, c))
					expectVerdict(first, report.StatusFail, `the server breaks 1 promise\(s\): get$`)
					Expect(verdictOf(first)).To(ContainSubstring(`Parameter client_assertion_type is missing`))
					Expect(verdictOf(first)).To(ContainSubstring("hint for get: client my-test-client authenticates with a signed JWT"))
					second := s.conformance(ctx, clientEnv(realm, c))
					Expect(headline(second)).To(Equal(headline(first)), "two runs against the same failing server")

					Expect(s.Admin.UpdateClient(ctx, realm, c.UUID, func(rep map[string]any) { rep["clientAuthenticatorType"] = "client-secret" })).To(Succeed())
					r = s.conformance(ctx, clientEnv(realm, c))
					expectVerdict(r, report.StatusPass, `the server keeps`)
				},
			},
			selfCase{
				Name:    "a client without the offline_access scope breaks one promise, the get, with its hint",
				Setup:   "the offline_access client scope removed from the client; then added again",
				Want:    "FAIL with one broken promise, the get, and its hint; then PASS",
				Why:     "the offline token needs the scope; the later promises must not be blamed for the get's failure",
				Timeout: 3 * nestedTimeout,
				Run: func(ctx SpecContext) {
					realm, c := s.handmadeRealm(ctx, "noscope", withoutAudienceMapper)
					Expect(s.Admin.RemoveOptionalClientScope(ctx, realm, c.UUID, "offline_access")).To(Succeed())
					for _, run := range []struct {
						env  map[string]string
						hint string
					}{
						{clientEnv(realm, c), "hint for get: the client scope offline_access must be assigned to the client"},
						// Read with admin rights: only what is missing, not the role it holds.
						{s.auditEnv(realm, c.ClientID), "hint for get: the client scope offline_access is not assigned to client my-test-client"},
					} {
						r := s.conformance(ctx, run.env)
						expectVerdict(r, report.StatusFail, `the server breaks 1 promise\(s\): get$`)
						Expect(verdictOf(r)).To(ContainSubstring(run.hint))
						Expect(verdictOf(r)).To(MatchRegexp(`HTTP Basic client authentication\s+not reached`))
					}
					Expect(s.Admin.AddOptionalClientScope(ctx, realm, c.UUID, "offline_access")).To(Succeed())
					r := s.conformance(ctx, clientEnv(realm, c))
					expectVerdict(r, report.StatusPass, `the server keeps`)
				},
			},
			selfCase{
				Name:    "offline_access as a default scope passes, the online extras n/a naming why",
				Setup:   "offline_access a default (not optional) client scope of the client; audit and client-only",
				Want:    "PASS, the online extras n/a naming why",
				Why:     "the procedure still gets its offline token; checks that need an online token cannot run and must say so, not fail",
				Timeout: 3 * nestedTimeout,
				Run: func(ctx SpecContext) {
					realm, c := s.handmadeRealm(ctx, "defscope", withoutAudienceMapper)
					Expect(s.Admin.RemoveClientScope(ctx, realm, c.UUID, admin.OptionalScope, "offline_access")).To(Succeed())
					Expect(s.Admin.AddClientScope(ctx, realm, c.UUID, admin.DefaultScope, "offline_access")).To(Succeed())
					for _, run := range []struct {
						env map[string]string
						why string
					}{
						{s.auditEnv(realm, c.ClientID), "has offline_access as a default client scope (read: default scopes"},
						{clientEnv(realm, c), "without scope=offline_access came back offline"},
					} {
						r := s.conformance(ctx, run.env)
						expectVerdict(r, report.StatusPass, `the server keeps`)
						Expect(verdictOf(r)).To(MatchRegexp(`online scope\s+n/a`))
						Expect(verdictOf(r)).To(ContainSubstring(run.why))
						Expect(verdictOf(r)).NotTo(ContainSubstring("must be assigned to the client"))
					}
					// As optional (the fixture's way), the extras pass in every other spec's run.
				},
			},
			selfCase{
				Name:    "include.in.token.scope off fails scope, the hint naming that switch alone",
				Setup:   "the offline_access scope's Include in token scope off; then on again",
				Want:    "FAIL of scope, the hint naming include.in.token.scope and no setting the printed settings show in place; then PASS",
				Why:     "the promise is a scope that contains offline_access; a hint asks only for what is missing",
				Timeout: 4 * nestedTimeout,
				Run: func(ctx SpecContext) {
					realm, c := s.handmadeRealm(ctx, "inscope", withoutAudienceMapper)
					Expect(s.Admin.SetClientScopeAttribute(ctx, realm, "offline_access", "include.in.token.scope", "false")).To(Succeed())
					for _, env := range []map[string]string{s.auditEnv(realm, c.ClientID), clientEnv(realm, c)} {
						r := s.conformance(ctx, env)
						expectVerdict(r, report.StatusFail, `the server breaks 1 promise\(s\): scope$`)
						Expect(verdictOf(r)).To(MatchRegexp(`hint for scope: [^\n]*include\.in\.token\.scope "false"`))
						Expect(verdictOf(r)).NotTo(ContainSubstring("must be assigned to the client"))
						Expect(verdictOf(r)).NotTo(ContainSubstring("is not assigned to client"))
						Expect(verdictOf(r)).NotTo(ContainSubstring("does not hold the realm role offline_access"))
					}
					Expect(s.Admin.SetClientScopeAttribute(ctx, realm, "offline_access", "include.in.token.scope", "true")).To(Succeed())
					r := s.conformance(ctx, s.auditEnv(realm, c.ClientID))
					expectVerdict(r, report.StatusPass, `the server keeps`)
				},
			},
			selfCase{
				Name:    "a refresh-token switch off fails refresh_token, the hint naming that switch only",
				Setup:   "use.refresh.tokens off, then client_credentials.use_refresh_token off; then both on",
				Want:    "FAIL naming the switch that is off and not the other; both on: PASS",
				Why:     "either switch takes the refresh token away; a hint naming the one already on sends the administrator the wrong way",
				Timeout: 4 * nestedTimeout,
				Run: func(ctx SpecContext) {
					realm, c := s.handmadeRealm(ctx, "rtoff", withoutAudienceMapper)
					for _, tc := range []struct{ cc, refresh, hint, never string }{
						{"false", "true", `client_credentials.use_refresh_token is "false"`, `use.refresh.tokens is "false"`},
						{"true", "false", `use.refresh.tokens is "false"`, `client_credentials.use_refresh_token is "false"`},
					} {
						setClientAttributes(ctx, s, realm, c, map[string]string{"client_credentials.use_refresh_token": tc.cc, "use.refresh.tokens": tc.refresh})
						r := s.conformance(ctx, s.auditEnv(realm, c.ClientID))
						expectVerdict(r, report.StatusFail, `the server breaks \d+ promise\(s\): .*refresh_token`)
						Expect(verdictOf(r)).To(MatchRegexp(`hint for refresh_token: [^\n]*` + regexp.QuoteMeta(tc.hint)))
						Expect(verdictOf(r)).NotTo(ContainSubstring(tc.never))
						Expect(verdictOf(r)).NotTo(ContainSubstring("must be \"true\""))
					}
					setClientAttributes(ctx, s, realm, c, map[string]string{"client_credentials.use_refresh_token": "true", "use.refresh.tokens": "true"})
					r := s.conformance(ctx, s.auditEnv(realm, c.ClientID))
					expectVerdict(r, report.StatusPass, `the server keeps`)
				},
			},
			selfCase{
				Name:    "lightweight access tokens pass, named in the settings and in no hint",
				Setup:   "client.use.lightweight.access.token.enabled on",
				Want:    "PASS; the settings name the lightweight tokens, no hint does",
				Why:     "measured on 26.7.3: the token keeps iss, azp, scope, exp and iat, so no promise breaks",
				Timeout: 2 * nestedTimeout,
				Run: func(ctx SpecContext) {
					realm, c := s.handmadeRealm(ctx, "light", withoutAudienceMapper)
					setClientAttributes(ctx, s, realm, c, map[string]string{"client.use.lightweight.access.token.enabled": "true"})
					r := s.conformance(ctx, s.auditEnv(realm, c.ClientID))
					expectVerdict(r, report.StatusPass, `the server keeps`)
					Expect(verdictOf(r)).To(ContainSubstring("lightweight access tokens true"))
					Expect(verdictOf(r)).NotTo(ContainSubstring("has lightweight access tokens on"))
				},
			},
			selfCase{
				Name:    "offline_access held only through a group passes; out of the group the get fails",
				Setup:   "the service account holds offline_access only as a member of a group; then leaves it",
				Want:    "PASS, the settings naming the group; out of it, FAIL of the get with the role held not at all",
				Why:     "a role through a group is as good as a direct one; the hint says how the role is held, or that it is not",
				Timeout: 3 * nestedTimeout,
				Run: func(ctx SpecContext) {
					realm, c := s.handmadeRealm(ctx, "group", func(rep map[string]any) {
						withoutAudienceMapper(rep)
						rep["groups"] = []any{map[string]any{"name": "offline-holders", "realmRoles": []any{"offline_access"}}}
						for _, u := range rep["users"].([]any) {
							u.(map[string]any)["realmRoles"] = []any{}
							u.(map[string]any)["groups"] = []any{"/offline-holders"}
						}
					})
					r := s.conformance(ctx, s.auditEnv(realm, c.ClientID))
					expectVerdict(r, report.StatusPass, `the server keeps`)
					Expect(verdictOf(r)).To(ContainSubstring("(offline_access: through group /offline-holders)"))

					groups, err := s.Admin.UserGroups(ctx, realm, c.ServiceAccountID)
					Expect(err).NotTo(HaveOccurred())
					Expect(groups).To(HaveLen(1))
					Expect(s.Admin.LeaveGroup(ctx, realm, c.ServiceAccountID, groups[0].ID)).To(Succeed())
					r = s.conformance(ctx, s.auditEnv(realm, c.ClientID))
					expectVerdict(r, report.StatusFail, `the server breaks 1 promise\(s\): get$`)
					Expect(verdictOf(r)).To(MatchRegexp(`hint for get: [^\n]*realm role offline_access[^\n]*offline_access held not at all`))
					Expect(verdictOf(r)).NotTo(ContainSubstring("is not assigned to client"))
				},
			},
			selfCase{
				Name:    "an operator's partial export as KC_FIXTURE passes; with a 300 s lifespan it fails",
				Setup:   "KC_FIXTURE: the admin console's partial export (secrets masked, no audience mapper); then with access.token.lifespan 300",
				Want:    "PASS in a realm of its own; then FAIL naming expires_in",
				Why:     "operators test their own realm as exported; masked secrets and keys must not stop the run",
				Timeout: 3 * nestedTimeout,
				Run: func(ctx SpecContext) {
					realm, c := s.handmadeRealm(ctx, "export", withoutAudienceMapper)
					export, err := s.Admin.PartialExport(ctx, realm)
					Expect(err).NotTo(HaveOccurred())
					Expect(string(export)).To(ContainSubstring("**********"), "the export masks the client's secret")
					fixture := filepath.Join(GinkgoT().TempDir(), realm+"-export.json")
					Expect(os.WriteFile(fixture, export, 0o600)).To(Succeed())
					env := s.adminEnv()
					env["KC_FIXTURE"] = fixture
					r := s.conformance(ctx, env)
					expectVerdict(r, report.StatusPass, `the server keeps`)
					s.expectNoRealmsLeft(ctx)

					Expect(s.Admin.UpdateClient(ctx, realm, c.UUID, func(rep map[string]any) {
						rep["attributes"].(map[string]any)["access.token.lifespan"] = "300"
					})).To(Succeed())
					export, err = s.Admin.PartialExport(ctx, realm)
					Expect(err).NotTo(HaveOccurred())
					Expect(os.WriteFile(fixture, export, 0o600)).To(Succeed())
					r = s.conformance(ctx, env)
					expectVerdict(r, report.StatusFail, `the server breaks \d+ promise\(s\): .*expires_in`)
					s.expectNoRealmsLeft(ctx)
				},
			},
		)
	})
}

// setClientAttributes sets attributes of the procedure's client.
func setClientAttributes(ctx context.Context, s selfTest, realm string, c *framework.Client, attrs map[string]string) {
	GinkgoHelper()
	Expect(s.Admin.UpdateClient(ctx, realm, c.UUID, func(rep map[string]any) {
		a, _ := rep["attributes"].(map[string]any)
		if a == nil {
			a = map[string]any{}
			rep["attributes"] = a
		}
		for k, v := range attrs {
			a[k] = v
		}
	})).To(Succeed())
}
