package selftest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/framework"
	"kcconform/pkg/report"
)

// registerHostile: credentials stay with the server they were meant for,
// and nothing a broken or hostile server sends puts one in clear text
// anywhere. The hostile behaviour is a proxy's, in front of the real
// Keycloak, on loopback.
func (s selfTest) registerHostile() {
	Describe("a hostile or broken server", Serial, Label(framework.LabelSelf, framework.LabelSecurity), func() {
		cases(
			selfCase{
				Name:    "a token endpoint redirecting to another host gets no credential re-sent",
				Setup:   "the token endpoint answers with a redirect to another host",
				Want:    "FAIL saying the server redirected; the other host gets no request",
				Why:     "following the redirect would send the client's secret to whoever the redirect names",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
					rec := newRecorder()
					// Another host name for the same loopback: localhost, not 127.0.0.1.
					target := strings.Replace(rec.srv.URL, "127.0.0.1", "localhost", 1) + "/collect"
					p := newProxy(s.Server.BaseURL, func(w http.ResponseWriter, r *http.Request) bool {
						if isProcedureRequest(r) {
							http.Redirect(w, r, target, http.StatusTemporaryRedirect)
							return true
						}
						return false
					}, nil)
					realm, c := s.handmadeRealm(ctx, "redirect", nil)
					r := s.Conformance(ctx, p.URL(), clientEnv(realm, c))
					Expect(r.ExitCode).NotTo(Equal(0))
					Expect(verdictOf(r)).To(ContainSubstring("redirected to " + target + "; credentials not re-sent"))
					Expect(rec.received()).To(BeEmpty(), "the redirect target got requests")
					s.ExpectNoLeak(r, c.Flow.ClientSecret, s.Server.Admin.Password)
				},
			},
			selfCase{
				Name:    "a wrong-typed field fails naming it, the opaque tokens kept out of every output",
				Setup:   "a token answer with one field of the wrong JSON type",
				Want:    "FAIL naming the field; no token of the answer in any output",
				Why:     "an answer that fails to decode still carries credentials, and a leaked offline token is a standing one",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
					opaque := []string{framework.Bogus("opaque-access"), framework.Bogus("opaque-refresh")}
					p := newProxy(s.Server.BaseURL, nil, func(resp *http.Response) error {
						if resp.StatusCode == http.StatusOK && isTokenRequest(resp.Request) && !strings.Contains(resp.Request.URL.Path, "/realms/master/") {
							b, _ := json.Marshal(map[string]any{"access_token": opaque[0], "refresh_token": opaque[1], "expires_in": "31536000",
								"refresh_expires_in": 0, "token_type": "Bearer", "scope": "offline_access"})
							replaceBody(resp, b)
						}
						return nil
					})
					realm, c := s.handmadeRealm(ctx, "opaque", nil)
					r := s.Conformance(ctx, p.URL(), clientEnv(realm, c))
					Expect(r.ExitCode).NotTo(Equal(0))
					Expect(verdictOf(r)).To(ContainSubstring("expires_in: expected a whole number of seconds, got a string"))
					s.ExpectNoLeak(r, append(opaque, c.Flow.ClientSecret, s.Server.Admin.Password)...)
				},
			},
			selfCase{
				Name:    "a huge answer is read up to 1 MiB and shown cut, with its size",
				Setup:   "a token answer far over 1 MiB",
				Want:    "FAIL saying so; the run's output stays small",
				Why:     "a hostile server must not exhaust the harness's memory or bury the verdict",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
					p := newProxy(s.Server.BaseURL, nil, func(resp *http.Response) error {
						if isTokenRequest(resp.Request) && !strings.Contains(resp.Request.URL.Path, "/realms/master/") {
							replaceBody(resp, []byte(`{"error":"server_error","padding":"`+strings.Repeat("x", 3<<20)+`"}`))
						}
						return nil
					})
					realm, c := s.handmadeRealm(ctx, "huge", nil)
					r := s.Conformance(ctx, p.URL(), clientEnv(realm, c))
					Expect(r.ExitCode).NotTo(Equal(0))
					Expect(verdictOf(r)).To(ContainSubstring("larger than the 1 MiB kcconform reads"))
					Expect(len(r.Output)).To(BeNumerically("<", 512<<10), "the output of a run against a huge answer")
					s.ExpectNoLeak(r, c.Flow.ClientSecret, s.Server.Admin.Password)
				},
			},
			selfCase{
				Name:    "plain http to a host that is not loopback is refused, naming KC_ALLOW_PLAIN_HTTP",
				Setup:   "KC_URL=http://kc.example.invalid",
				Want:    "COULD NOT RUN before any connection, naming KC_ALLOW_PLAIN_HTTP",
				Why:     "the client's secret and the admin password would cross the network in clear text",
				Timeout: time.Minute,
				Run: func(ctx SpecContext) {
					began := time.Now()
					r := s.Conformance(ctx, "http://kc.example.invalid", s.adminEnv())
					expectVerdict(r, report.StatusCouldNot, `KC_URL: http://kc.example.invalid is plain http to a host that is not loopback.*KC_ALLOW_PLAIN_HTTP`)
					Expect(time.Since(began)).To(BeNumerically("<", 20*time.Second))
					Expect(r.Output).NotTo(ContainSubstring(s.Server.Admin.Password))
				},
			},
		)
	})
}
