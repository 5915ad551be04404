package revocation_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/tokenflow"
)

// action is an administrative revocation of target's offline token.
type action struct {
	// revoke performs the action.
	revoke func(ctx context.Context, target *framework.TestClient, tok *tokenflow.Response)
	// notBefore actions revoke tokens issued strictly before the second
	// they are taken in.
	notBefore bool
	// realmWide actions revoke every token of the realm: the control token
	// is then one taken after the action.
	realmWide bool
}

func now() int64 { return time.Now().Unix() }

var actions = []struct {
	name string
	action
}{
	{"consent delete (DELETE /users/{id}/consents/{client})", action{revoke: func(ctx context.Context, t *framework.TestClient, _ *tokenflow.Response) {
		Expect(f.Admin.DeleteConsent(ctx, realm.Name, t.ServiceAccountID, t.ClientID)).To(Succeed())
	}}},
	{"user logout (POST /users/{id}/logout)", action{notBefore: true, revoke: func(ctx context.Context, t *framework.TestClient, _ *tokenflow.Response) {
		Expect(f.Admin.LogoutUser(ctx, realm.Name, t.ServiceAccountID)).To(Succeed())
	}}},
	{"offline session delete (DELETE /sessions/{id}?isOffline=true)", action{revoke: func(ctx context.Context, _ *framework.TestClient, tok *tokenflow.Response) {
		Expect(tok.SessionState).NotTo(BeEmpty(), "session_state names the offline session")
		Expect(f.Admin.DeleteSession(ctx, realm.Name, tok.SessionState, true)).To(Succeed())
	}}},
	{"realm not-before set to now and pushed (PUT realm, POST /push-revocation)", action{notBefore: true, realmWide: true, revoke: func(ctx context.Context, _ *framework.TestClient, _ *tokenflow.Response) {
		Expect(f.Admin.UpdateRealm(ctx, realm.Name, func(rep map[string]any) { rep["notBefore"] = now() })).To(Succeed())
		Expect(f.Admin.PushRevocation(ctx, realm.Name)).To(Succeed())
	}}},
	{"client not-before set to now and pushed (PUT client, POST /clients/{id}/push-revocation)", action{notBefore: true, revoke: func(ctx context.Context, t *framework.TestClient, _ *tokenflow.Response) {
		Expect(f.Admin.UpdateClient(ctx, realm.Name, t.UUID, func(rep map[string]any) { rep["notBefore"] = now() })).To(Succeed())
		Expect(f.Admin.PushClientRevocation(ctx, realm.Name, t.UUID)).To(Succeed())
	}}},
	{"offline_access scope removed from the client", action{revoke: func(ctx context.Context, t *framework.TestClient, _ *tokenflow.Response) {
		Expect(f.Admin.RemoveOptionalClientScope(ctx, realm.Name, t.UUID, "offline_access")).To(Succeed())
	}}},
	{"service account disabled", action{revoke: func(ctx context.Context, t *framework.TestClient, _ *tokenflow.Response) {
		Expect(f.Admin.UpdateClient(ctx, realm.Name, t.UUID, func(rep map[string]any) { rep["serviceAccountsEnabled"] = false })).To(Succeed())
	}}},
	{"client deleted and re-created with the same client id", action{revoke: func(ctx context.Context, t *framework.TestClient, _ *tokenflow.Response) {
		Expect(f.Admin.DeleteClient(ctx, realm.Name, t.UUID)).To(Succeed())
		// The token is presented by the new client of the same id.
		*t = *f.CreateClient(ctx, realm.Name, t.ClientID)
	}}},
}

var _ = Describe("administrative revocation", Label(framework.LabelRevoke, framework.LabelAdmin), func() {
	BeforeEach(func() { f.RequireAdmin() })

	for n, entry := range actions {
		name, a := entry.name, entry.action
		id := fmt.Sprintf("%s-%d-%s", framework.RunID, n+1, "%d")
		It("refuses the next refresh with 400 invalid_grant after "+name+", and a control token keeps working", func(ctx SpecContext) {
			p := GinkgoParallelProcess()
			target := f.CreateClient(ctx, realm.Name, framework.ResourcePrefix+"target-"+fmt.Sprintf(id, p))
			control := f.CreateClient(ctx, realm.Name, framework.ResourcePrefix+"control-"+fmt.Sprintf(id, p))

			tok := f.GetOffline(ctx, target)
			var ctl *tokenflow.Response
			if !a.realmWide {
				ctl = f.GetOffline(ctx, control)
			}
			if a.notBefore {
				framework.WaitPastIssue(ctx, tok)
				if ctl != nil {
					framework.WaitPastIssue(ctx, ctl)
				}
			}

			By("revoking: " + name)
			a.revoke(ctx, target, tok)

			_, err := target.Flow.Refresh(ctx, tok.RefreshToken)
			framework.ExpectRefusal("after "+name, err, http.StatusBadRequest, "invalid_grant")

			By("the control token of another client in the realm still refreshes")
			if a.realmWide {
				ctl = f.GetOffline(ctx, control)
			}
			resp, err := control.Flow.Refresh(ctx, ctl.RefreshToken)
			framework.ExpectToken(err)
			framework.ExpectKept("control after "+name, resp, contract.Offline(f.Profile, control.ClientID, resp))
		})
	}
})
