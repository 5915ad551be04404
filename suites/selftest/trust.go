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
		cases(
			selfCase{
				Name:    "a realm that revokes used refresh tokens fails the stored-token promise",
				Setup:   "revokeRefreshToken on with refreshTokenMaxReuse 0; client-only, then audit",
				Want:    "FAIL naming the stored-token promise, the hint naming Revoke Refresh Token; the audit changes nothing and leaves no session",
				Why:     "the procedure stores the refresh token and uses it whenever a new access token is needed",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
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
				},
			},
			selfCase{
				Name:    "an audit passes the same client where the realm keeps refresh tokens, changing nothing",
				Setup:   "the realm keeps refresh tokens; an audit with admin rights",
				Want:    "PASS, the realm and its clients as they were",
				Why:     "an audit only reads: it runs against the operator's own realm",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
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
				},
			},
		)
	})

	Describe("the offline session's idle timeout", Serial, Label(framework.LabelSelf), func() {
		cases(
			selfCase{
				Name:    "offlineSessionIdleTimeout 3600 fails, naming the idle timeout and 3600",
				Setup:   "the realm's offlineSessionIdleTimeout 3600, read in an audit",
				Want:    "FAIL naming the idle timeout and 3600",
				Why:     "an hour without a refresh would end a token the procedure promises never expires by itself",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
					realm, c := s.handmadeRealm(ctx, "idle", func(realm map[string]any) { realm["offlineSessionIdleTimeout"] = 3600 })
					r := s.conformance(ctx, s.auditEnv(realm, c.ClientID))
					expectVerdict(r, report.StatusFail, `the server breaks \d+ promise\(s\): .*offline session idle timeout`)
					Expect(verdictOf(r)).To(MatchRegexp(`procedure\s+offline session idle timeout\s+FAIL\s+>= 2592000 s.*3600 s`))
					Expect(verdictOf(r)).To(ContainSubstring("offlineSessionIdleTimeout (Realm settings → Sessions → Offline Session Idle) is 3600 s"))
					s.expectNoOfflineSessions(ctx, realm)
				},
			},
		)
	})

	Describe("RFC 6749 §5.1 and §2.3.1, through a proxy that changes only that", Serial, Label(framework.LabelSelf), func() {
		cases(
			selfCase{
				Name:    "token answers without Cache-Control: no-store fail, naming the header",
				Setup:   "a proxy that drops Cache-Control from token answers",
				Want:    "FAIL naming the header",
				Why:     "RFC 6749 §5.1: a token answer must not be cached",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
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
				},
			},
			selfCase{
				Name:    "a server that refuses HTTP Basic client authentication fails, naming it",
				Setup:   "a proxy that refuses the Authorization: Basic header",
				Want:    "FAIL naming HTTP Basic",
				Why:     "RFC 6749 §2.3.1: a server must support HTTP Basic for a client's password",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
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
				},
			},
		)
	})

	Describe("the issuer", Serial, Label(framework.LabelSelf), func() {
		cases(
			selfCase{
				Name:    "an iss that is not the client's realm URL fails naming both; KC_EXPECT_ISSUER passes",
				Setup:   "tokens issued under another URL than the one the client uses; then KC_EXPECT_ISSUER set to it",
				Want:    "FAIL naming both values; then PASS",
				Why:     "a client checks iss against the URL it knows; a proxy's own hostname is a deliberate set-up",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
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
				},
			},
		)
	})
}
