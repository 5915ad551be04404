package release

import (
	"fmt"
	"kcconform/pkg/versions"
	"strings"
)

// AdminAction is an administrative action by which the suites revoke an
// offline token, and which releases perform it, as data beside the release
// lines: a promise is checked through an action the release performs, and
// an action a release lacks is "n/a" in the verdict, never a failure.
type AdminAction struct {
	// Key is the action's stable name.
	Key string
	// Title names it in verdicts; How is its request.
	Title, How string
	// Since is the first release that performs it ("": every release
	// kcconform runs, from 22.0 on).
	Since string
	// Backports are earlier patch releases of other lines that perform it
	// too (a fix carried back): a version of such a line performs it from
	// that patch on.
	Backports []string
	// Before says what releases before Since do instead, and Source where
	// that is known from.
	Before, Source string
}

// Keys of the administrative actions.
const (
	ActionSessionDelete   = "session-delete"
	ActionConsentRevoke   = "consent-revoke"
	ActionUserLogout      = "user-logout"
	ActionRealmNotBefore  = "realm-not-before"
	ActionClientNotBefore = "client-not-before"
	ActionScopeRemoved    = "scope-removed"
	ActionServiceAccount  = "service-account-disabled"
	ActionClientRecreated = "client-recreated"
)

// adminActions are the actions the suites use.
var adminActions = []AdminAction{
	{Key: ActionSessionDelete, Title: "an offline session delete", How: "DELETE /admin/realms/{realm}/sessions/{id}?isOffline=true",
		Since:  "24.0.2",
		Before: "the request answers 204 but deletes only the online session, so the offline token still refreshes",
		Source: "make behaviour: 22.0.5, 23.0.7 and 24.0.0 keep the offline session, 24.0.2 ends it (24.0.1 is not served; keycloak#24523, #24763)"},
	{Key: ActionConsentRevoke, Title: "a consent delete", How: "DELETE /admin/realms/{realm}/users/{service-account}/consents/{clientId} (console: Users → Consents → Revoke)"},
	{Key: ActionUserLogout, Title: "a user logout", How: "POST /admin/realms/{realm}/users/{service-account}/logout"},
	{Key: ActionRealmNotBefore, Title: "a realm not-before set to now and pushed", How: "PUT /admin/realms/{realm} notBefore, POST /admin/realms/{realm}/push-revocation"},
	{Key: ActionClientNotBefore, Title: "a client not-before set to now and pushed", How: "PUT /admin/realms/{realm}/clients/{id} notBefore, POST /admin/realms/{realm}/clients/{id}/push-revocation"},
	{Key: ActionScopeRemoved, Title: "the offline_access scope removed from the client", How: "DELETE /admin/realms/{realm}/clients/{id}/optional-client-scopes/{scope}",
		Since: "26.5.0", Backports: []string{"26.2.11", "26.4.4"},
		Before: "the offline sessions already granted stay valid after the scope is removed",
		Source: "keycloak#43734; make behaviour: 26.4.0 keeps the sessions, 26.4.5 ends them (26.4.1 to 26.4.4 are not served)"},
	{Key: ActionServiceAccount, Title: "the service account disabled", How: "PUT /admin/realms/{realm}/clients/{id} serviceAccountsEnabled false"},
	{Key: ActionClientRecreated, Title: "the client deleted and re-created with the same client id", How: "DELETE, then POST /admin/realms/{realm}/clients"},
}

// Action is the administrative action of key (it panics on a key that is
// not declared: a programming error).
func Action(key string) AdminAction {
	for _, a := range adminActions {
		if a.Key == key {
			return a
		}
	}
	panic("keycloak: no administrative action " + key)
}

// Performs says whether version performs the action. A version that is not
// a release number (an external server's, unread) is taken to perform it:
// its answer decides. why, for a version that does not, is what the
// verdict prints: "n/a on 22.0.5: arrived in 23.0 (…)".
func (a AdminAction) Performs(version string) (bool, string) {
	if a.Since == "" || !versions.IsRelease(version) || versions.Compare(version, a.Since) >= 0 {
		return true, ""
	}
	for _, b := range a.Backports {
		if minorOf(b) == minorOf(version) && versions.Compare(version, b) >= 0 {
			return true, ""
		}
	}
	why := fmt.Sprintf("n/a on %s: %s ends offline tokens from %s on", version, a.Title, a.Since)
	if len(a.Backports) > 0 {
		why += " (and " + strings.Join(a.Backports, ", ") + ")"
	}
	if a.Before != "" {
		why += "; before it " + a.Before
	}
	if a.Source != "" {
		why += " [" + a.Source + "]"
	}
	return false, why
}

// minorOf is a version's major.minor.
func minorOf(v string) string {
	p := strings.SplitN(v, ".", 3)
	if len(p) < 2 {
		return v
	}
	return p[0] + "." + p[1]
}
