// Package offline is the conformance suite of the operators' procedure: a
// service account's long-lived offline token, got and refreshed on a real
// Keycloak, and the promises the procedure (and RFC 6749 and OIDC for the
// same answers) makes about it. It runs in a realm of its own (admin
// rights), against an existing client with admin rights (an audit: nothing
// in its realm is changed), or with only the client's credentials.
package offline

import (
	"context"
	"fmt"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/release"
	"kcconform/pkg/run"
	"kcconform/pkg/tokenflow"
)

// Suite is the offline suite.
var Suite = framework.Suite{Name: "offline", Description: "kcconform: offline tokens", Register: register}

// The two steps that check the promise the procedure makes to an operator
// who stores the refresh token and uses it whenever a new access token is
// needed (contract.StoredToken).
const (
	storedAgain    = "stored token, after the chained cycles"
	storedAfterGet = "stored token, after a new get"
)

func register(r *run.Run) {
	s := framework.Bootstrap(r, "offline", framework.NeedRealm, framework.ServerOptions{})

	Describe("the documented get request (grant_type=client_credentials, scope=offline_access)", Label(framework.LabelOffline), func() {
		It("answers with an offline token that keeps every promise of the procedure, of RFC 6749 §5.1 and of OIDC", func(ctx SpecContext) {
			c := s.Realm.Client
			resp := s.GetOffline(ctx, c)
			Expect(resp.Status).To(Equal(http.StatusOK))
			checks := append(offlineChecks(ctx, s, c, resp), issuerChecks(ctx, s, c, resp)...)
			framework.ExpectKept("get", resp, checks)
		})
	})

	Describe("the documented refresh request (grant_type=refresh_token)", Label(framework.LabelOffline), func() {
		It("keeps the contract for three refresh cycles in a row, each with a new access token the server accepts, and then takes the stored refresh token again, also after a new get", func(ctx SpecContext) {
			c := s.Realm.Client
			sub := s.Subject(c)
			first := s.GetOffline(ctx, c)
			framework.ExpectKept("get", first, offlineChecks(ctx, s, c, first))
			stored := first.RefreshToken
			prev := first
			for cycle := 1; cycle <= 3; cycle++ {
				By(fmt.Sprintf("refresh cycle %d with the newest refresh token", cycle))
				step := fmt.Sprintf("refresh #%d", cycle)
				resp, err := c.Flow.Refresh(ctx, prev.RefreshToken)
				s.ExpectToken(contract.Refresh, step, sub, err)
				s.RevokeAtEnd(c, resp)
				fresh := resp.AccessToken != prev.AccessToken
				checks := append(offlineChecks(ctx, s, c, resp), contract.RefreshedAccessToken.Check(sub, "new (differs from the previous one)",
					map[bool]string{true: "a new one", false: "the previous one again"}[fresh], fresh))
				By("introspecting the refreshed access token")
				claims, err := c.Flow.Introspect(ctx, resp.AccessToken)
				s.ExpectNoError(err, "introspect the refreshed access token")
				checks = append(checks, contract.IntrospectionCheck(sub, resp, claims))
				framework.ExpectKept(step, resp, checks)
				if resp.RefreshToken != "" {
					prev = resp
				}
			}

			// The procedure tells the operator to store the refresh token and
			// use it whenever a new access token is needed: the stored one,
			// not the newest.
			By("presenting the stored (first) refresh token again")
			again, err := c.Flow.Refresh(ctx, stored)
			framework.Record(storedAgain, []contract.Check{contract.StoredTokenCheck(sub, err)})
			Expect(err).NotTo(HaveOccurred(), "%s (%s)", contract.StoredToken.Title(), storedAgain)
			s.RevokeAtEnd(c, again)
			framework.ExpectKept(storedAgain, again, offlineChecks(ctx, s, c, again))

			By("taking a new token, then presenting the stored refresh token once more")
			s.GetOffline(ctx, c)
			once, err := c.Flow.Refresh(ctx, stored)
			framework.Record(storedAfterGet, []contract.Check{contract.StoredTokenCheck(sub, err)})
			Expect(err).NotTo(HaveOccurred(), "%s (%s)", contract.StoredToken.Title(), storedAfterGet)
			s.RevokeAtEnd(c, once)
			framework.ExpectKept(storedAfterGet, once, offlineChecks(ctx, s, c, once))
		})
	})

	Describe("HTTP Basic client authentication (RFC 6749 §2.3.1)", Label(framework.LabelOffline), func() {
		It("serves the get and the refresh with client_secret_basic as it does with the procedure's client_secret_post", func(ctx SpecContext) {
			c := s.Realm.Client
			basic := &framework.Client{ClientID: c.ClientID, UUID: c.UUID, ServiceAccountID: c.ServiceAccountID, Flow: c.Flow.WithAuth(tokenflow.AuthBasic)}
			sub := s.Subject(basic)
			resp, err := basic.Flow.ClientCredentials(ctx, "offline_access")
			if err == nil {
				s.RevokeAtEnd(basic, resp)
			}
			const expected = "HTTP 200 with a token response for client_secret_basic (servers must accept it, §2.3.1)"
			sent := expected
			if err != nil {
				sent = contract.SentOf(err)
			}
			framework.Record("get with HTTP Basic", []contract.Check{contract.BasicAuth.Check(sub, expected, sent, err == nil)})
			Expect(err).NotTo(HaveOccurred(), contract.BasicAuth.Title())
			framework.ExpectKept("get with HTTP Basic", resp, offlineChecks(ctx, s, basic, resp))

			refreshed, err := basic.Flow.Refresh(ctx, resp.RefreshToken)
			s.ExpectToken(contract.BasicAuth, "refresh with HTTP Basic", sub, err)
			s.RevokeAtEnd(basic, refreshed)
			framework.ExpectKept("refresh with HTTP Basic", refreshed, offlineChecks(ctx, s, basic, refreshed))
		})
	})

	Describe("an online token, for contrast", Label(framework.LabelOffline), func() {
		It("is an ordinary expiring token when scope=offline_access is not asked for", func(ctx SpecContext) {
			c := s.Realm.Client
			resp, err := c.Flow.ClientCredentials(ctx, "")
			s.ExpectToken(contract.OnlineGet, "online get", s.Subject(c), err)
			framework.ExpectKept("online", resp, contract.Online(s.Subject(c), resp))
		})
	})

	Describe("the offline session's idle timeout", Label(framework.LabelOffline, framework.LabelAdmin), func() {
		It("is at least KC_EXPECT_OFFLINE_IDLE_MIN (default 30 days): the token never expires by itself only while it is used that often", func() {
			s.RequireAdmin()
			framework.ExpectKept("idle timeout", nil, []contract.Check{contract.IdleTimeoutCheck(s.Profile, s.Subject(s.Realm.Client))})
		})
	})

	Describe("requests the server must refuse", Label(framework.LabelOffline, framework.LabelNegative), func() {
		It("refuses a wrong client secret with 401", func(ctx SpecContext) {
			c := s.Realm.Client
			bad := tokenflow.NewClient(c.Flow.Endpoints, c.ClientID, framework.Bogus("wrong-secret"), c.Flow.HTTP, s.Run.Redactor)
			_, err := bad.ClientCredentials(ctx, "offline_access")
			framework.ExpectRefusal(contract.WrongSecretRefused, "wrong client secret", s.Subject(c), err, http.StatusUnauthorized, s.Profile.BadSecretErrors...)
		})

		It("refuses a garbage refresh token with 400 invalid_grant", func(ctx SpecContext) {
			_, err := s.Realm.Client.Flow.Refresh(ctx, framework.Bogus("not-a-refresh-token"))
			framework.ExpectRefusal(contract.GarbageRefreshRefused, "garbage refresh token", s.Subject(s.Realm.Client), err, http.StatusBadRequest, "invalid_grant")
		})

		It("refuses a refresh token presented by another client with invalid_grant", Label(framework.LabelAdmin, framework.LabelOwnRealm), func(ctx SpecContext) {
			s.RequireOwnRealm()
			resp := s.GetOffline(ctx, s.Realm.Client)
			other := s.CreateClient(ctx, framework.ResourcePrefix+"other-"+s.Run.ID())
			_, err := other.Flow.Refresh(ctx, resp.RefreshToken)
			framework.ExpectRefusal(contract.ForeignRefreshRefused, "refresh token of another client", s.Subject(other), err, http.StatusBadRequest, "invalid_grant")

			By("the token still refreshes for its own client")
			again, err := s.Realm.Client.Flow.Refresh(ctx, resp.RefreshToken)
			s.ExpectToken(contract.Refresh, "refresh by its own client", s.Subject(s.Realm.Client), err)
			s.RevokeAtEnd(s.Realm.Client, again)
		})

		It("refuses an offline token to a client whose service account lacks the offline_access role", Label(framework.LabelAdmin, framework.LabelOwnRealm), func(ctx SpecContext) {
			s.RequireOwnRealm()
			c := s.CreateClient(ctx, framework.ResourcePrefix+"norole-"+s.Run.ID())
			// A new service account holds offline_access only through the
			// realm's default roles; take those away.
			Expect(s.Admin.RevokeRealmRole(ctx, s.Realm.Name, c.ServiceAccountID, "default-roles-"+s.Realm.Name)).To(Succeed())
			roles, err := s.Admin.EffectiveRealmRoles(ctx, s.Realm.Name, c.ServiceAccountID)
			Expect(err).NotTo(HaveOccurred())
			Expect(roles).NotTo(ContainElement(HaveField("Name", "offline_access")), "precondition: no offline_access role")

			resp, err := c.Flow.ClientCredentials(ctx, "offline_access")
			if err == nil && resp.RefreshToken != "" {
				s.RevokeAtEnd(c, resp)
			}
			framework.ExpectRefusal(contract.NoRoleRefused, "client without offline_access role", s.Subject(c), err, http.StatusBadRequest, "not_allowed", "invalid_scope")
		})
	})

	Describe("revocation by an administrator", Label(framework.LabelOffline, framework.LabelRevoke, framework.LabelAdmin), func() {
		It("refuses the next refresh with invalid_grant after the administrator revokes it, by an action the release performs", func(ctx SpecContext) {
			s.RequireAdmin()
			c := s.Realm.Client
			Expect(c.ServiceAccountID).NotTo(BeEmpty(), "client %s has a service account", c.ClientID)
			resp := s.GetOffline(ctx, c)
			sessions, err := s.Admin.OfflineSessions(ctx, s.Realm.Name, c.ServiceAccountID, c.UUID)
			Expect(err).NotTo(HaveOccurred())
			Expect(sessions).To(ContainElement(HaveField("ID", resp.SessionState)), "the offline session is listed")

			// Only the session this spec opened: an audit changes nothing else.
			del := release.Action(release.ActionSessionDelete)
			Expect(s.Admin.DeleteSession(ctx, s.Realm.Name, resp.SessionState, true)).To(Succeed())
			_, err = c.Flow.Refresh(ctx, resp.RefreshToken)
			performs, why := del.Performs(s.Server.Version)
			if performs || framework.RefusedWith(err, http.StatusBadRequest, "invalid_grant") {
				framework.ExpectRefusal(contract.AdminRevocation, "refresh after its offline session was deleted", s.Subject(c), err, http.StatusBadRequest, "invalid_grant")
				sessions, err = s.Admin.OfflineSessions(ctx, s.Realm.Name, c.ServiceAccountID, c.UUID)
				Expect(err).NotTo(HaveOccurred())
				Expect(sessions).NotTo(ContainElement(HaveField("ID", resp.SessionState)), "the offline session is gone")
				return
			}
			// The release lacks the action and answered success anyway: a
			// finding of its own, not the promise.
			s.RevokeAtEnd(c, resp)
			framework.RecordNotPerformed("refresh after its offline session was deleted", s.Subject(c), del.Title, err, why)

			consent := release.Action(release.ActionConsentRevoke)
			if !s.Realm.Owned {
				// The one path left ends every offline token of the client.
				framework.Record("refresh after "+consent.Title, []contract.Check{contract.Qualified(contract.AdminRevocation.NotApplicable(s.Subject(c), "400 invalid_grant", "not tried",
					fmt.Sprintf("n/a in an audit of %s: on this release only %s (%s) ends an offline token, and it ends every offline token of client %s; run with admin rights and without KC_REALM to check it in a realm of kcconform's own",
						s.Server.Version, consent.Title, consent.How, c.ClientID)), consent.Title)})
				return
			}
			By("revoking by " + consent.Title + ", which this release performs")
			t := s.CreateClient(ctx, framework.ResourcePrefix+"consent-"+s.Run.ID())
			tok := s.GetOffline(ctx, t)
			Expect(s.Admin.DeleteConsent(ctx, s.Realm.Name, t.ServiceAccountID, t.ClientID)).To(Succeed())
			_, err = t.Flow.Refresh(ctx, tok.RefreshToken)
			framework.ExpectRefusal(contract.AdminRevocation, "refresh after "+consent.Title, s.Subject(t), err, http.StatusBadRequest, "invalid_grant")
		})
	})
}

// offlineChecks are the contract's checks of an answer, and the access
// token's signature against the realm's JWKS.
func offlineChecks(ctx context.Context, s *framework.Session, c *framework.Client, resp *tokenflow.Response) []contract.Check {
	_, err := c.Flow.VerifyAccessToken(ctx, resp.AccessToken)
	sent := "a valid signature"
	if err != nil {
		sent = s.ErrString(err)
	}
	sig := contract.Signature.Check(s.Subject(c), "valid against the realm's JWKS", sent, err == nil)
	return append(contract.Offline(s.Profile, s.Subject(c), resp), sig)
}

// issuerChecks compare the access token's iss with the realm's discovery
// document and with the issuer expected: KC_EXPECT_ISSUER, else the realm
// URL of KC_URL.
func issuerChecks(ctx context.Context, s *framework.Session, c *framework.Client, resp *tokenflow.Response) []contract.Check {
	d, err := c.Flow.Discover(ctx)
	s.ExpectNoError(err, "read the realm's discovery document")
	expected, from := c.Flow.Endpoints.Issuer, "the realm URL of the server's base URL"
	if s.Profile.Issuer != "" {
		expected, from = s.Profile.Issuer, "KC_EXPECT_ISSUER"
	}
	return contract.IssuerChecks(s.Subject(c), resp, d.Issuer, expected, from)
}
