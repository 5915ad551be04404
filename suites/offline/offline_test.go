package offline_test

import (
	"context"
	"fmt"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/matchers"
	"kcconform/pkg/tokenflow"
)

// signature checks the access token against the realm's JWKS, as a check.
func signature(ctx context.Context, c *framework.TestClient, resp *tokenflow.Response) contract.Check {
	_, err := c.Flow.VerifyAccessToken(ctx, resp.AccessToken)
	sent := "a valid signature"
	if err != nil {
		sent = err.Error()
	}
	return contract.Check{Promise: "access token signature", Expected: "valid against the realm's JWKS", Sent: sent, Pass: err == nil}
}

func offlineChecks(ctx context.Context, c *framework.TestClient, resp *tokenflow.Response) []contract.Check {
	return append(contract.Offline(f.Profile, c.ClientID, resp), signature(ctx, c, resp))
}

var _ = Describe("the documented get request", Label(framework.LabelOffline), func() {
	It("returns an offline token that keeps every promise of the procedure", func(ctx SpecContext) {
		resp := f.GetOffline(ctx, realm.Client)
		Expect(resp.Status).To(Equal(http.StatusOK))
		framework.ExpectKept("get", resp, offlineChecks(ctx, realm.Client, resp))
	})
})

var _ = Describe("the documented refresh request", Label(framework.LabelOffline), func() {
	It("keeps the contract for three refresh cycles in a row, each with a new access token the server accepts", func(ctx SpecContext) {
		first := f.GetOffline(ctx, realm.Client)
		framework.ExpectKept("get", first, offlineChecks(ctx, realm.Client, first))
		prev := first
		for cycle := 1; cycle <= 3; cycle++ {
			By(fmt.Sprintf("refresh cycle %d", cycle))
			resp, err := realm.Client.Flow.Refresh(ctx, prev.RefreshToken)
			framework.ExpectToken(err)
			Expect(resp.Status).To(Equal(http.StatusOK))
			step := fmt.Sprintf("refresh #%d", cycle)
			checks := offlineChecks(ctx, realm.Client, resp)
			checks = append(checks, contract.Check{
				Promise: "refreshed access token", Expected: "new (differs from the previous one)",
				Sent: map[bool]string{true: "a new one", false: "the previous one again"}[resp.AccessToken != prev.AccessToken],
				Pass: resp.AccessToken != prev.AccessToken,
			})
			framework.ExpectKept(step, resp, checks)

			By("introspecting the refreshed access token")
			claims, err := realm.Client.Flow.Introspect(ctx, resp.AccessToken)
			framework.ExpectNoError(err, "introspect the refreshed access token")
			Expect(claims).To(HaveKeyWithValue("active", true),
				"introspection of the refreshed access token by %s; the token's aud is %v (Keycloak 26.6+ answers active:false to a client not in aud, CVE-2026-37979: the fixture adds an audience mapper)",
				realm.Client.ClientID, resp.AccessClaims["aud"])
			Expect(claims).To(HaveKeyWithValue("client_id", realm.Client.ClientID))
			if resp.RefreshToken != "" {
				prev = resp
			}
		}
	})
})

var _ = Describe("an online token, for contrast", Label(framework.LabelOffline), func() {
	It("is an ordinary expiring token when scope=offline_access is not asked for", func(ctx SpecContext) {
		resp, err := realm.Client.Flow.ClientCredentials(ctx, "")
		framework.ExpectToken(err)
		checks := contract.Online(resp)
		framework.Record("online", checks)
		Expect(resp).To(matchers.BeOnlineToken())
	})
})

var _ = Describe("requests the server must refuse", Label(framework.LabelOffline, framework.LabelNegative), func() {
	It("refuses a wrong client secret with 401", func(ctx SpecContext) {
		bad := tokenflow.NewClient(realm.Client.Flow.Endpoints, realm.Client.ClientID, framework.Bogus("wrong-secret"), realm.Client.Flow.HTTP)
		_, err := bad.ClientCredentials(ctx, "offline_access")
		framework.ExpectRefusal("wrong client secret", err, http.StatusUnauthorized, f.Profile.BadSecretErrors...)
	})

	It("refuses a garbage refresh token with 400 invalid_grant", func(ctx SpecContext) {
		_, err := realm.Client.Flow.Refresh(ctx, framework.Bogus("not-a-refresh-token"))
		framework.ExpectRefusal("garbage refresh token", err, http.StatusBadRequest, "invalid_grant")
	})

	It("refuses a refresh token presented by another client with invalid_grant", Label(framework.LabelAdmin), func(ctx SpecContext) {
		f.RequireAdmin()
		resp := f.GetOffline(ctx, realm.Client)
		other := f.CreateClient(ctx, realm.Name, framework.ResourcePrefix+"other-"+framework.RunID)
		_, err := other.Flow.Refresh(ctx, resp.RefreshToken)
		framework.ExpectRefusal("refresh token of another client", err, http.StatusBadRequest, "invalid_grant")

		By("the token still refreshes for its own client")
		_, err = realm.Client.Flow.Refresh(ctx, resp.RefreshToken)
		framework.ExpectToken(err)
	})

	It("refuses an offline token to a client whose service account lacks the offline_access role", Label(framework.LabelAdmin), func(ctx SpecContext) {
		f.RequireAdmin()
		c := f.CreateClient(ctx, realm.Name, framework.ResourcePrefix+"norole-"+framework.RunID)
		// A new service account holds offline_access only through the realm's
		// default roles; take those away.
		Expect(f.Admin.RevokeRealmRole(ctx, realm.Name, c.ServiceAccountID, "default-roles-"+realm.Name)).To(Succeed())
		roles, err := f.Admin.UserRealmRoles(ctx, realm.Name, c.ServiceAccountID)
		Expect(err).NotTo(HaveOccurred())
		Expect(roles).NotTo(ContainElement(HaveField("Name", "offline_access")), "precondition: no offline_access role")

		resp, err := c.Flow.ClientCredentials(ctx, "offline_access")
		if err == nil && resp.RefreshToken != "" {
			DeferCleanup(c.Flow.Revoke, resp.RefreshToken)
		}
		framework.ExpectRefusal("client without offline_access role", err, http.StatusBadRequest, "not_allowed", "invalid_scope")
	})
})

var _ = Describe("revocation by an administrator", Label(framework.LabelOffline, framework.LabelRevoke, framework.LabelAdmin), func() {
	It("refuses the next refresh with invalid_grant after the consent is deleted", func(ctx SpecContext) {
		f.RequireAdmin()
		resp := f.GetOffline(ctx, realm.Client)
		sessions, err := f.Admin.OfflineSessions(ctx, realm.Name, realm.Client.ServiceAccountID, realm.Client.UUID)
		Expect(err).NotTo(HaveOccurred())
		Expect(sessions).To(ContainElement(HaveField("ID", resp.SessionState)), "the offline session is listed")

		Expect(f.Admin.DeleteConsent(ctx, realm.Name, realm.Client.ServiceAccountID, realm.Client.ClientID)).To(Succeed())

		_, err = realm.Client.Flow.Refresh(ctx, resp.RefreshToken)
		framework.ExpectRefusal("refresh after consent deleted", err, http.StatusBadRequest, "invalid_grant")
		sessions, err = f.Admin.OfflineSessions(ctx, realm.Name, realm.Client.ServiceAccountID, realm.Client.UUID)
		Expect(err).NotTo(HaveOccurred())
		Expect(sessions).NotTo(ContainElement(HaveField("ID", resp.SessionState)), "the offline session is gone")
	})
})
