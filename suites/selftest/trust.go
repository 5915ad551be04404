package selftest

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/framework"
	"kcconform/pkg/report"
)

// registerTrust: each promise the verdict depends on, shown in both
// directions against a real Keycloak set up to keep or to break it.
func (s selfTest) registerTrust() {
	Describe("the stored refresh token (the procedure stores it and uses it whenever a new access token is needed)", Serial, Label(framework.LabelSelf), func() {
		It("fails, naming the stored-token promise, a realm that revokes used refresh tokens, with only the client's credentials and in an audit that names the setting", func(ctx SpecContext) {
			realm, c := s.handmadeRealm(ctx, "rotate", func(realm map[string]any) {
				withoutAudienceMapper(realm)
				realm["revokeRefreshToken"] = true
				realm["refreshTokenMaxReuse"] = 0
			})
			By("client-only")
			r := s.conformance(ctx, clientEnv(realm, c))
			expectVerdict(r, report.StatusFail, `the server breaks \d+ promise\(s\): .*the stored refresh token works again`)
			Expect(verdictOf(r)).To(MatchRegexp(`procedure\s+the stored refresh token works again\s+FAIL`))
			Expect(verdictOf(r)).To(ContainSubstring("hint for the stored refresh token works again: realm revokeRefreshToken (Realm settings → Tokens → Revoke Refresh Token)"))
			s.ExpectNoLeak(r, c.Flow.ClientSecret, s.Server.Admin.Password)

			By("audit, with admin rights")
			r = s.conformance(ctx, s.auditEnv(realm, c.ClientID))
			expectVerdict(r, report.StatusFail, `the server breaks \d+ promise\(s\): .*the stored refresh token works again`)
			Expect(verdictOf(r)).To(ContainSubstring("read: revokeRefreshToken true, refreshTokenMaxReuse 0"))
			Expect(verdictOf(r)).To(ContainSubstring("revokeRefreshToken true (refreshTokenMaxReuse 0)"))
			Expect(verdictOf(r)).To(MatchRegexp(`skipped \d+ spec\(s\): changes its realm: kcconform changes nothing in realm ` + realm))
			s.expectNoOfflineSessions(ctx, realm)
			s.ExpectNoLeak(r, c.Flow.ClientSecret, s.Server.Admin.Password)
		}, SpecTimeout(nestedTimeout))

		It("passes the same client in an audit when the realm keeps refresh tokens, changing nothing in its realm", func(ctx SpecContext) {
			realm, c := s.handmadeRealm(ctx, "audit", withoutAudienceMapper)
			snapshot := func() (map[string]any, []map[string]any) {
				rep, err := s.Admin.Realm(ctx, realm)
				Expect(err).NotTo(HaveOccurred())
				var clients []map[string]any
				Expect(s.Admin.Do(ctx, "GET", "/realms/"+realm+"/clients", nil, &clients)).To(Succeed())
				return rep, clients
			}
			realmBefore, clientsBefore := snapshot()
			r := s.conformance(ctx, s.auditEnv(realm, c.ClientID))
			expectVerdict(r, report.StatusPass, `the server keeps`)
			Expect(verdictOf(r)).To(ContainSubstring("audit of an existing client"))
			realmAfter, clientsAfter := snapshot()
			Expect(realmAfter).To(Equal(realmBefore), "the audit changed realm %s", realm)
			Expect(clientsAfter).To(Equal(clientsBefore), "the audit changed the clients of realm %s", realm)
			s.expectNoOfflineSessions(ctx, realm)
		}, SpecTimeout(nestedTimeout))
	})

	Describe("the offline session's idle timeout", Serial, Label(framework.LabelSelf), func() {
		It("fails, naming the idle timeout and 3600, a realm whose offlineSessionIdleTimeout is 3600, read in an audit", func(ctx SpecContext) {
			realm, c := s.handmadeRealm(ctx, "idle", func(realm map[string]any) { realm["offlineSessionIdleTimeout"] = 3600 })
			r := s.conformance(ctx, s.auditEnv(realm, c.ClientID))
			expectVerdict(r, report.StatusFail, `the server breaks \d+ promise\(s\): .*offline session idle timeout`)
			Expect(verdictOf(r)).To(MatchRegexp(`procedure\s+offline session idle timeout\s+FAIL\s+>= 2592000 s.*3600 s`))
			Expect(verdictOf(r)).To(ContainSubstring("offlineSessionIdleTimeout (Realm settings → Sessions → Offline Session Idle) is 3600 s"))
			s.expectNoOfflineSessions(ctx, realm)
		}, SpecTimeout(nestedTimeout))
	})

	Describe("RFC 6749 §5.1 and §2.3.1, through a proxy that changes only that", Serial, Label(framework.LabelSelf), func() {
		It("fails, naming the header, token answers without Cache-Control: no-store", func(ctx SpecContext) {
			p := newProxy(s.Server.BaseURL, nil, func(resp *http.Response) error {
				if isTokenRequest(resp.Request) && resp.StatusCode == http.StatusOK {
					resp.Header.Del("Cache-Control")
				}
				return nil
			})
			r := s.Conformance(ctx, p.URL(), s.adminEnv())
			expectVerdict(r, report.StatusFail, `the server breaks \d+ promise\(s\): Cache-Control header`)
			Expect(verdictOf(r)).To(MatchRegexp(`RFC 6749\s+Cache-Control header\s+FAIL\s+no-store.*no Cache-Control header`))
			Expect(verdictOf(r)).To(ContainSubstring("a proxy or gateway in front of it changes them"))
			s.expectNoRealmsLeft(ctx)
		}, SpecTimeout(nestedTimeout))

		It("fails, naming HTTP Basic, a server that refuses HTTP Basic client authentication", func(ctx SpecContext) {
			p := newProxy(s.Server.BaseURL, func(w http.ResponseWriter, r *http.Request) bool {
				if _, _, basic := r.BasicAuth(); basic && isTokenRequest(r) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusUnauthorized)
					_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"client authentication by HTTP Basic is not accepted here"}`))
					return true
				}
				return false
			}, nil)
			r := s.Conformance(ctx, p.URL(), s.adminEnv())
			expectVerdict(r, report.StatusFail, `the server breaks \d+ promise\(s\): HTTP Basic client authentication`)
			Expect(verdictOf(r)).To(MatchRegexp(`RFC 6749\s+HTTP Basic client authentication\s+FAIL`))
			s.expectNoRealmsLeft(ctx)
		}, SpecTimeout(nestedTimeout))
	})

	Describe("the issuer", Serial, Label(framework.LabelSelf), func() {
		It("fails, naming both values, tokens whose iss is not the realm URL the client uses, and passes them with KC_EXPECT_ISSUER", func(ctx SpecContext) {
			const public = "https://sso.example.invalid/keycloak"
			realm, c := s.handmadeRealm(ctx, "issuer", func(realm map[string]any) {
				realm["attributes"] = map[string]any{"frontendUrl": public}
			})
			r := s.conformance(ctx, clientEnv(realm, c))
			expectVerdict(r, report.StatusFail, `the server breaks \d+ promise\(s\): access token iss`)
			want := s.Server.BaseURL + "/realms/" + realm
			Expect(verdictOf(r)).To(ContainSubstring(`"` + want + `"`))
			Expect(verdictOf(r)).To(ContainSubstring(public + "/realms/" + realm))
			Expect(verdictOf(r)).To(ContainSubstring("hint for access token iss"))

			env := clientEnv(realm, c)
			env["KC_EXPECT_ISSUER"] = public + "/realms/" + realm
			r = s.conformance(ctx, env)
			expectVerdict(r, report.StatusPass, `the server keeps`)
			s.expectNoOfflineSessions(ctx, realm)
		}, SpecTimeout(nestedTimeout))
	})
}
