// Package selftest_test proves that kcconform's verdict means something: it
// runs `make conformance` against a real Keycloak it controls, as an external
// target, and checks that a healthy server passes (with admin credentials,
// and with only a client's credentials), that misconfigured servers fail
// naming the broken promise and the value sent, that nothing is left behind
// on the server, and that no secret or token leaks into any output.
package selftest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/framework"
)

var f *framework.Framework

func TestSelftest(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "kcconform: self-test")
}

var _ = framework.DeclareServerSuite("selftest", false, func(fw *framework.Framework, _ *framework.Realm) { f = fw })

func conformance(ctx context.Context, env map[string]string) framework.NestedRun {
	GinkgoHelper()
	return framework.Conformance(ctx, f.Server.BaseURL, env)
}

func adminEnv() map[string]string {
	return map[string]string{"KC_ADMIN_USER": f.Server.Admin.Username, "KC_ADMIN_PASSWORD": f.Server.Admin.Password}
}

// fixtureWith writes the standard realm fixture with changes applied.
func fixtureWith(change func(realm map[string]any, client map[string]any)) string {
	GinkgoHelper()
	b, err := os.ReadFile(filepath.Join(framework.ModuleRoot(), "fixtures", "realms", "offline.json"))
	Expect(err).NotTo(HaveOccurred())
	var realm map[string]any
	Expect(json.Unmarshal(b, &realm)).To(Succeed())
	client := realm["clients"].([]any)[0].(map[string]any)
	change(realm, client)
	out, err := json.Marshal(realm)
	Expect(err).NotTo(HaveOccurred())
	p := filepath.Join(GinkgoT().TempDir(), "fixture.json")
	Expect(os.WriteFile(p, out, 0o600)).To(Succeed())
	return p
}

// expectNoRealmsLeft checks that no realm of a nested run remains.
func expectNoRealmsLeft(ctx context.Context) {
	GinkgoHelper()
	realms, err := f.Admin.Realms(ctx)
	Expect(err).NotTo(HaveOccurred())
	for _, r := range realms {
		Expect(r).NotTo(HavePrefix(framework.ResourcePrefix+"offline-"), "a realm the nested run created is left on the server")
	}
}

var _ = Describe("make conformance against an external Keycloak", Serial, func() {
	It("passes against a healthy server with admin credentials, leaving nothing behind and leaking nothing", func(ctx SpecContext) {
		r := conformance(ctx, adminEnv())
		Expect(r.ExitCode).To(Equal(0), framework.LastLines(r.Output, 30))
		Expect(r.Output).To(MatchRegexp(`\d+ passed, 0 failed, 0 skipped`))
		Expect(r.Output).To(ContainSubstring("verdict: PASS"))
		Expect(r.Output).To(ContainSubstring("external target"))
		expectNoRealmsLeft(ctx)
		framework.ExpectNoLeak(r, f.Server.Admin.Password)
	}, SpecTimeout(10*time.Minute))

	It("passes with only the realm, client id and secret of a client set up by hand, skipping the admin specs with a reason", func(ctx SpecContext) {
		name := framework.ResourcePrefix + "handmade-" + framework.RunID
		rep, err := framework.RealmFixture(framework.FixturePath(), name)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(f.Admin.DeleteRealm, name)
		Expect(f.Admin.CreateRealm(ctx, rep)).To(Succeed())
		c := f.LookupClient(ctx, name, framework.FixtureClientID)
		secret := c.Flow.ClientSecret

		r := conformance(ctx, map[string]string{"KC_REALM": name, "KC_CLIENT_ID": c.ClientID, "KC_CLIENT_SECRET": secret})
		Expect(r.ExitCode).To(Equal(0), framework.LastLines(r.Output, 30))
		Expect(r.Output).To(MatchRegexp(`[1-9]\d* passed, 0 failed, [1-9]\d* skipped`))
		Expect(r.Output).To(ContainSubstring("verdict: PASS"))
		framework.ExpectNoLeak(r, secret, f.Server.Admin.Password)

		By("the offline sessions it took were revoked again")
		sessions, err := f.Admin.OfflineSessions(ctx, name, c.ServiceAccountID, c.UUID)
		Expect(err).NotTo(HaveOccurred())
		Expect(sessions).To(BeEmpty())
	}, SpecTimeout(10*time.Minute))

	It("fails naming expires_in and the value sent when the client's access.token.lifespan is 300", func(ctx SpecContext) {
		fixture := fixtureWith(func(_, client map[string]any) {
			client["attributes"].(map[string]any)["access.token.lifespan"] = "300"
		})
		env := adminEnv()
		env["KC_FIXTURE"] = fixture
		r := conformance(ctx, env)
		Expect(r.ExitCode).NotTo(Equal(0))
		Expect(r.Output).To(ContainSubstring("expected expires_in 31536000 (the configured access token lifetime, or 1 s less), server sent 300"))
		Expect(r.Output).To(MatchRegexp(`expires_in\s+31536000 \(the configured access token lifetime, or 1 s less\)\s+300\s+FAIL`))
		Expect(r.Output).To(ContainSubstring("verdict: FAIL"))
		expectNoRealmsLeft(ctx)
		framework.ExpectNoLeak(r, f.Server.Admin.Password)
	}, SpecTimeout(10*time.Minute))

	It("fails naming refresh_expires_in and the value sent when the realm limits offline sessions (offlineSessionMaxLifespanEnabled)", func(ctx SpecContext) {
		fixture := fixtureWith(func(realm, _ map[string]any) {
			realm["offlineSessionMaxLifespanEnabled"] = true
		})
		env := adminEnv()
		env["KC_FIXTURE"] = fixture
		r := conformance(ctx, env)
		Expect(r.ExitCode).NotTo(Equal(0))
		Expect(r.Output).To(MatchRegexp(`expected refresh_expires_in 0 \(offline refresh tokens do not expire\), server sent [1-9]\d*`))
		Expect(r.Output).To(ContainSubstring("verdict: FAIL"))
		expectNoRealmsLeft(ctx)
		framework.ExpectNoLeak(r, f.Server.Admin.Password)
	}, SpecTimeout(10*time.Minute))
})
