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
		It("gets no credential re-sent when its token endpoint redirects to another host: the run fails saying so", func(ctx SpecContext) {
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
		}, SpecTimeout(nestedTimeout))

		It("gets its opaque tokens kept out of every output when an answer has a wrong-typed field: the run fails naming the field", func(ctx SpecContext) {
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
		}, SpecTimeout(nestedTimeout))

		It("gets a huge answer read up to 1 MiB and shown cut, with its size: the run fails saying so, and its output stays small", func(ctx SpecContext) {
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
		}, SpecTimeout(nestedTimeout))

		It("is refused before any connection when KC_URL is plain http to a host that is not loopback, naming KC_ALLOW_PLAIN_HTTP", func(ctx SpecContext) {
			began := time.Now()
			r := s.Conformance(ctx, "http://kc.example.invalid", s.adminEnv())
			expectVerdict(r, report.StatusCouldNot, `KC_URL: http://kc.example.invalid is plain http to a host that is not loopback.*KC_ALLOW_PLAIN_HTTP`)
			Expect(time.Since(began)).To(BeNumerically("<", 20*time.Second))
			Expect(r.Output).NotTo(ContainSubstring(s.Server.Admin.Password))
		}, SpecTimeout(time.Minute))
	})
}
