// Package revocation checks the procedure's last promise: an administrator
// can revoke offline tokens. For every administrative action of the
// reference table, the next refresh is refused with 400 invalid_grant, and a
// control token of another client in the same realm keeps working. It needs
// a realm of its own (admin rights, no KC_REALM).
package revocation

import (
	"context"
	"fmt"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/admin"
	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/release"
	"kcconform/pkg/run"
	"kcconform/pkg/tokenflow"
)

// Suite is the revocation suite.
var Suite = framework.Suite{Name: "revocation", Description: "kcconform: revocation", Register: register}

// action is an administrative revocation of target's offline token.
type action struct {
	// key names the action in keycloak's table of which releases perform it.
	key string
	// revoke performs the action.
	revoke func(ctx context.Context, s *framework.Session, target *framework.Client, tok *tokenflow.Response)
	// notBefore actions revoke tokens issued strictly before the second
	// they are taken in.
	notBefore bool
	// realmWide actions revoke every token of the realm: the control token
	// is then one taken after the action.
	realmWide bool
}

func now() int64 { return time.Now().Unix() }

func register(r *run.Run) {
	s := framework.Bootstrap(r, "revocation", framework.NeedRealm, framework.ServerOptions{})

	DescribeTable("an administrator revokes an offline token: the next refresh is refused with 400 invalid_grant, and a control token of another client keeps working",
		Label(framework.LabelRevoke, framework.LabelAdmin, framework.LabelOwnRealm),
		func(ctx SpecContext, name string, a action) {
			s.RequireOwnRealm()
			id := fmt.Sprintf("%s-%s-%d", s.Run.ID(), randomSuffix(), GinkgoParallelProcess())
			target := s.CreateClient(ctx, framework.ResourcePrefix+"target-"+id)
			control := s.CreateClient(ctx, framework.ResourcePrefix+"control-"+id)

			tok := s.GetOffline(ctx, target)
			var ctl *tokenflow.Response
			if !a.realmWide {
				ctl = s.GetOffline(ctx, control)
			}
			if a.notBefore {
				framework.WaitPastIssue(ctx, tok)
				if ctl != nil {
					framework.WaitPastIssue(ctx, ctl)
				}
			}

			By("revoking: " + name)
			a.revoke(ctx, s, target, tok)

			_, err := target.Flow.Refresh(ctx, tok.RefreshToken)
			if performs, why := release.Action(a.key).Performs(s.Server.Version); !performs {
				// A release without the action is not held to it; what it
				// answered is reported beside the reason.
				if !framework.RefusedWith(err, http.StatusBadRequest, "invalid_grant") {
					s.RevokeAtEnd(target, tok)
					framework.RecordNotPerformed("after "+name, s.Subject(target), name, err, why)
					return
				}
			}
			framework.ExpectRefusal(contract.AdminRevocation, "after "+name, s.Subject(target), err, http.StatusBadRequest, "invalid_grant")

			By("the control token of another client in the realm still refreshes")
			if a.realmWide {
				ctl = s.GetOffline(ctx, control)
			}
			resp, err := control.Flow.Refresh(ctx, ctl.RefreshToken)
			s.ExpectToken(contract.Refresh, "control after "+name, s.Subject(control), err)
			s.RevokeAtEnd(control, resp)
			framework.ExpectKept("control after "+name, resp, contract.Offline(s.Profile, s.Subject(control), resp))
		},
		func(name string, _ action) string { return "after " + name },
		Entry(nil, "a consent delete (DELETE /users/{id}/consents/{client})", action{key: release.ActionConsentRevoke, revoke: func(ctx context.Context, s *framework.Session, t *framework.Client, _ *tokenflow.Response) {
			Expect(s.Admin.DeleteConsent(ctx, s.Realm.Name, t.ServiceAccountID, t.ClientID)).To(Succeed())
		}}),
		Entry(nil, "a user logout (POST /users/{id}/logout)", action{key: release.ActionUserLogout, notBefore: true, revoke: func(ctx context.Context, s *framework.Session, t *framework.Client, _ *tokenflow.Response) {
			Expect(s.Admin.LogoutUser(ctx, s.Realm.Name, t.ServiceAccountID)).To(Succeed())
		}}),
		Entry(nil, "an offline session delete (DELETE /sessions/{id}?isOffline=true)", action{key: release.ActionSessionDelete, revoke: func(ctx context.Context, s *framework.Session, _ *framework.Client, tok *tokenflow.Response) {
			Expect(tok.SessionState).NotTo(BeEmpty(), "session_state names the offline session")
			Expect(s.Admin.DeleteSession(ctx, s.Realm.Name, tok.SessionState, true)).To(Succeed())
		}}),
		Entry(nil, "a realm not-before set to now and pushed (PUT realm, POST /push-revocation)", action{key: release.ActionRealmNotBefore, notBefore: true, realmWide: true, revoke: func(ctx context.Context, s *framework.Session, _ *framework.Client, _ *tokenflow.Response) {
			// Set back after the spec: on 22.0.5 and 23.0.7 a realm not-before
			// left in place stops a later client not-before from revoking
			// (seen here), so the table's order would decide its verdict.
			var prev any
			Expect(s.Admin.UpdateRealm(ctx, s.Realm.Name, func(rep map[string]any) { prev, rep["notBefore"] = rep["notBefore"], now() })).To(Succeed())
			framework.Cleanup(func(ctx SpecContext) {
				Expect(s.Admin.UpdateRealm(ctx, s.Realm.Name, func(rep map[string]any) { rep["notBefore"] = prev })).To(Succeed())
			})
			Expect(s.Admin.PushRevocation(ctx, s.Realm.Name)).To(Succeed())
		}}),
		Entry(nil, "a client not-before set to now and pushed (PUT client, POST /clients/{id}/push-revocation)", action{key: release.ActionClientNotBefore, notBefore: true, revoke: func(ctx context.Context, s *framework.Session, t *framework.Client, _ *tokenflow.Response) {
			Expect(s.Admin.UpdateClient(ctx, s.Realm.Name, t.UUID, func(rep map[string]any) { rep["notBefore"] = now() })).To(Succeed())
			Expect(s.Admin.PushClientRevocation(ctx, s.Realm.Name, t.UUID)).To(Succeed())
		}}),
		Entry(nil, "the offline_access scope removed from the client", action{key: release.ActionScopeRemoved, revoke: func(ctx context.Context, s *framework.Session, t *framework.Client, _ *tokenflow.Response) {
			Expect(s.Admin.RemoveOptionalClientScope(ctx, s.Realm.Name, t.UUID, "offline_access")).To(Succeed())
		}}),
		Entry(nil, "the service account disabled", action{key: release.ActionServiceAccount, revoke: func(ctx context.Context, s *framework.Session, t *framework.Client, _ *tokenflow.Response) {
			Expect(s.Admin.UpdateClient(ctx, s.Realm.Name, t.UUID, func(rep map[string]any) { rep["serviceAccountsEnabled"] = false })).To(Succeed())
		}}),
		Entry(nil, "the client deleted and re-created with the same client id", action{key: release.ActionClientRecreated, revoke: func(ctx context.Context, s *framework.Session, t *framework.Client, _ *tokenflow.Response) {
			Expect(s.Admin.DeleteClient(ctx, s.Realm.Name, t.UUID)).To(Succeed())
			// The token is presented by the new client of the same id.
			*t = *s.CreateClient(ctx, t.ClientID)
		}}),
	)

	It("negative control: the revocation path this release offers, answered 204 without reaching the server, FAILs the promise",
		Label(framework.LabelRevoke, framework.LabelAdmin, framework.LabelOwnRealm), func(ctx SpecContext) {
			s.RequireOwnRealm()
			// The path the offline suite takes on this release.
			a := release.Action(release.ActionSessionDelete)
			if ok, _ := a.Performs(s.Server.Version); !ok {
				a = release.Action(release.ActionConsentRevoke)
			}
			t := s.CreateClient(ctx, fmt.Sprintf("%snegative-%s-%s-%d", framework.ResourcePrefix, s.Run.ID(), randomSuffix(), GinkgoParallelProcess()))
			tok := s.GetOffline(ctx, t)
			s.RevokeAtEnd(t, tok)

			hc, err := s.Server.HTTPClient()
			Expect(err).NotTo(HaveOccurred())
			swallowed := 0
			hc.Transport = swallowDeletes{next: hc.Transport, n: &swallowed}
			ac, err := admin.New(s.Server.BaseURL, s.Server.Admin, hc, s.Run.Redactor)
			Expect(err).NotTo(HaveOccurred())
			By("revoking by " + a.Title + " through an admin client whose DELETE never leaves it (204 made up)")
			if a.Key == release.ActionSessionDelete {
				Expect(tok.SessionState).NotTo(BeEmpty(), "session_state names the offline session")
				Expect(ac.DeleteSession(ctx, s.Realm.Name, tok.SessionState, true)).To(Succeed())
			} else {
				Expect(ac.DeleteConsent(ctx, s.Realm.Name, t.ServiceAccountID, t.ClientID)).To(Succeed())
			}
			Expect(swallowed).To(Equal(1), "the DELETE was answered by the control, not the server")

			_, err = t.Flow.Refresh(ctx, tok.RefreshToken)
			// One row on every release, whichever path it offers.
			step := "negative control: after a revocation that never reached the server"
			msg := InterceptGomegaFailure(func() {
				framework.ExpectRefusal(contract.AdminRevocation, step, s.Subject(t), err, http.StatusBadRequest, "invalid_grant")
			})
			Expect(msg).To(HaveOccurred(), "the check fails when the action did nothing (%s on %s)", a.Title, s.Server.Version)
			AddReportEntry("the self-check's failure, as intended ("+a.Title+")", s.Run.Redactor.String(msg.Error()))
		})
}

// swallowDeletes answers every DELETE with 204 itself, as a gateway that
// drops the request would, and passes every other request on.
type swallowDeletes struct {
	next http.RoundTripper
	n    *int
}

func (t swallowDeletes) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodDelete {
		if t.next == nil {
			return http.DefaultTransport.RoundTrip(r)
		}
		return t.next.RoundTrip(r)
	}
	*t.n++
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusNoContent, Status: "204 No Content", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

func randomSuffix() string { return framework.Bogus("x")[len("kcconform-x-"):][:6] }
