// Package selftest proves that kcconform's verdict means something, in both
// directions: it runs the kcconform command against a real Keycloak it
// controls, as an external target, configured to keep or to break each
// promise, in every mode (a realm of its own, an audit of an existing client
// with admin rights, a client's credentials only), and checks the verdict,
// that nothing is left on the server, and that no secret or token leaks into
// any output. Where Keycloak cannot be configured to break a promise (the
// headers, HTTP Basic) or to behave like a hostile server, a forwarding
// proxy in front of the real Keycloak changes only that.
package selftest

import (
	"context"
	"encoding/json"
	"kcconform/fixtures"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/format"

	"kcconform/pkg/framework"
	"kcconform/pkg/report"
	"kcconform/pkg/run"
)

// Suite is the self-test suite.
var Suite = framework.Suite{Name: "selftest", Description: "kcconform: self-test", Register: register}

// selfTest is the self-test's session: one Keycloak with admin rights.
type selfTest struct{ *framework.Session }

func register(r *run.Run) {
	// A nested run's verdict is long: show all of it when an assertion on
	// it fails.
	format.MaxLength = 64 << 10
	s := selfTest{framework.Bootstrap(r, "selftest", framework.NeedServer, framework.ServerOptions{})}
	s.registerVerdicts()
	s.registerTrust()
	s.registerHostile()
	s.registerInterrupts()
	s.registerTools()
	s.registerCauses()
}

func (s selfTest) conformance(ctx context.Context, env map[string]string, args ...string) framework.NestedRun {
	GinkgoHelper()
	return s.Conformance(ctx, s.Server.BaseURL, env, args...)
}

func (s selfTest) adminEnv() map[string]string {
	return map[string]string{"KC_ADMIN_USER": s.Server.Admin.Username, "KC_ADMIN_PASSWORD": s.Server.Admin.Password}
}

// clientEnv is the client-only mode: what a reader of the procedure holds.
func clientEnv(realm string, c *framework.Client) map[string]string {
	return map[string]string{"KC_REALM": realm, "KC_CLIENT_ID": c.ClientID, "KC_CLIENT_SECRET": c.Flow.ClientSecret}
}

// auditEnv is the audit mode: admin rights and an existing client, whose
// secret the run reads itself.
func (s selfTest) auditEnv(realm, clientID string) map[string]string {
	env := s.adminEnv()
	env["KC_REALM"], env["KC_CLIENT_ID"] = realm, clientID
	return env
}

// handmadeRealm creates a realm from the fixture, as an operator would set
// up the procedure's client by hand, with change applied, and returns its
// name and client. It is deleted at the end.
func (s selfTest) handmadeRealm(ctx context.Context, suffix string, change func(realm map[string]any)) (string, *framework.Client) {
	GinkgoHelper()
	name := framework.ResourcePrefix + "handmade-" + suffix + "-" + s.Run.ID()
	rep, err := s.RealmFixture(name, change)
	Expect(err).NotTo(HaveOccurred())
	r := s.CreateRealm(ctx, name, rep)
	return name, r.Client
}

// withoutAudienceMapper is a client set up exactly as the procedure needs,
// and no more: no audience mapper (introspection on 26.6+ needs one).
func withoutAudienceMapper(realm map[string]any) {
	delete(fixtures.ProcedureClient(realm), "protocolMappers")
}

// fixtureWith writes the standard realm fixture with changes applied, for a
// nested run's KC_FIXTURE.
func (s selfTest) fixtureWith(change func(realm map[string]any)) string {
	GinkgoHelper()
	b, err := s.Fixture()
	Expect(err).NotTo(HaveOccurred())
	var realm map[string]any
	Expect(json.Unmarshal(b, &realm)).To(Succeed())
	change(realm)
	out, err := json.Marshal(realm)
	Expect(err).NotTo(HaveOccurred())
	p := filepath.Join(GinkgoT().TempDir(), "fixture.json")
	Expect(os.WriteFile(p, out, 0o600)).To(Succeed())
	return p
}

// expectNoRealmsLeft checks that no realm a nested run created remains.
func (s selfTest) expectNoRealmsLeft(ctx context.Context) {
	GinkgoHelper()
	realms, err := s.Admin.Realms(ctx)
	Expect(err).NotTo(HaveOccurred())
	for _, r := range realms {
		Expect(r).NotTo(HavePrefix(framework.ResourcePrefix+"offline-"), "a realm the nested run created is left on the server")
	}
}

// expectNoOfflineSessions checks that a nested run gave back every offline
// token it took in a realm it did not own.
func (s selfTest) expectNoOfflineSessions(ctx context.Context, realm string) {
	GinkgoHelper()
	n, err := s.Admin.OfflineSessionCount(ctx, realm)
	Expect(err).NotTo(HaveOccurred())
	Expect(n).To(BeZero(), "offline sessions the nested run took in realm %s are left", realm)
}

// verdictOf is the verdict a nested run printed (from its first line on),
// without Ginkgo's output before it: what the assertions read, and what a
// failed assertion shows.
func verdictOf(r framework.NestedRun) string {
	if i := strings.Index(r.Output, "\nverdict: "); i >= 0 {
		return r.Output[i+1:]
	}
	return r.Output
}

// headline is the first line of a nested run's verdict.
func headline(r framework.NestedRun) string {
	m := regexp.MustCompile(`(?m)^verdict: .*$`).FindString(r.Output)
	return m
}

// expectVerdict checks the exit code and the verdict's first line.
func expectVerdict(r framework.NestedRun, status report.Status, pattern string) {
	GinkgoHelper()
	Expect(headline(r)).To(MatchRegexp(`^verdict: `+regexp.QuoteMeta(string(status))+`: `+pattern), report.LastLines(r.Output, 40))
	Expect(r.ExitCode).To(Equal(status.ExitCode()), report.LastLines(r.Output, 40))
}

const nestedTimeout = 10 * time.Minute
