package contract

import (
	"fmt"

	"kcconform/pkg/report"
)

// ID is a promise kcconform checks. Suites, hints, --list and the verdict
// all name a promise by its ID, so that renaming one is one change the
// compiler follows.
type ID int

// The promises, in the order verdicts list them: the procedure's, RFC
// 6749's, OIDC's, then the harness extras.
const (
	Get ID = iota + 1
	Refresh
	AccessToken
	RefreshToken
	Scope
	RefreshExpiresIn
	ExpiresIn
	TokenType
	NotBeforePolicy
	AccessLifetime
	RefreshTyp
	RefreshExp
	RefreshedAccessToken
	StoredToken
	IdleTimeout
	IdleExpiry
	AdminRevocation
	NoRoleRefused
	SurvivesRestart
	SurvivesUpgrade
	CrossNodeRefresh
	CrossNodeRevocation
	SurvivesNodeLoss
	SurvivesRollingRestart
	SurvivesClusterUpgrade
	CacheControl
	Pragma
	ContentType
	BasicAuth
	WrongSecretRefused
	GarbageRefreshRefused
	ForeignRefreshRefused
	Issuer
	DiscoveryIssuer
	Azp
	Signature
	Introspection
	OnlineGet
	OnlineScope
	OnlineRefreshToken
	OnlineRefreshExpiresIn
	OnlineRefreshTyp
	OnlineRefreshExp
	GrantUnderLoad
	RollingAvailability
	lastID
)

// Promise is a promise's entry in the catalogue.
type Promise struct {
	// Key is the promise's stable name in reports (Check.ID).
	Key string
	// Title names it in the verdict.
	Title string
	Class report.Class
	// What is what the server must do, for kcconform --list.
	What string
	// hint names the Keycloak setting most likely responsible when the
	// promise breaks, with the values read where admin rights allowed.
	hint hint
}

// catalogue describes every promise.
var catalogue = [lastID]Promise{
	Get:                    {"get", "get", report.Procedure, "the procedure's get request (client_credentials, scope=offline_access) is answered with HTTP 200 and a token response", hint{text: clientText, read: nil}},
	Refresh:                {"refresh", "refresh", report.Procedure, "the procedure's refresh request is answered with HTTP 200 and a token response", hint{text: clientText, read: nil}},
	AccessToken:            {"access-token", "access_token", report.Procedure, "present", hint{text: gatewayBodyText, read: nil}},
	RefreshToken:           {"refresh-token", "refresh_token", report.Procedure, "present (the procedure refreshes with it)", hint{text: refreshTokenText, read: readRefreshTokens, derive: deriveRefreshToken}},
	Scope:                  {"scope", "scope", report.Procedure, "contains offline_access (KC_EXPECT_SCOPE)", hint{text: scopeText, read: readScopes, derive: deriveScope}},
	RefreshExpiresIn:       {"refresh-expires-in", "refresh_expires_in", report.Procedure, "0: the refresh token never expires by itself (KC_EXPECT_REFRESH_EXPIRES_IN)", hint{text: offlineMaxText, read: readOfflineMax}},
	ExpiresIn:              {"expires-in", "expires_in", report.Procedure, "31536000, or 1 s less (KC_EXPECT_EXPIRES_IN)", hint{text: lifespanText, read: readLifespans}},
	TokenType:              {"token-type", "token_type", report.Procedure, "bearer, case-insensitively (KC_EXPECT_TOKEN_TYPE)", hint{text: tokenTypeText, read: nil}},
	NotBeforePolicy:        {"not-before-policy", "not-before-policy", report.Procedure, "a number, as in the procedure's example answer", hint{text: gatewayBodyText, read: nil}},
	AccessLifetime:         {"access-lifetime", "access token exp - iat", report.Procedure, "equals expires_in (±1 s)", hint{text: lifespanText, read: readLifespans}},
	RefreshTyp:             {"refresh-typ", "refresh token typ", report.Procedure, `"Offline"`, hint{text: scopeText, read: readScopes, derive: deriveOfflineTyp}},
	RefreshExp:             {"refresh-exp", "refresh token exp", report.Procedure, "absent: the refresh token never expires by itself", hint{text: offlineMaxText, read: readOfflineMax}},
	RefreshedAccessToken:   {"refreshed-access-token", "refreshed access token", report.Procedure, "each refresh gives a new access token", hint{text: gatewayBodyText, read: nil}},
	StoredToken:            {"stored-token", "the stored refresh token works again", report.Procedure, "the first refresh token, stored as the procedure says, refreshes again after the chained cycles and after a new get", hint{text: reuseText, read: readReuse}},
	IdleTimeout:            {"idle-timeout", "offline session idle timeout", report.Procedure, ">= KC_EXPECT_OFFLINE_IDLE_MIN (30 days), read with admin rights", hint{text: idleText, read: readIdle}},
	IdleExpiry:             {"idle-expiry", "offline session idle", report.Procedure, "a token used within the idle timeout keeps working; one unused past it is refused (idle suite)", hint{text: idleText, read: readIdle}},
	AdminRevocation:        {"admin-revocation", "administrative revocation", report.Procedure, "after an administrator's revocation the next refresh gets 400 invalid_grant", hint{text: revocationText, read: nil}},
	NoRoleRefused:          {"no-role-refused", "client without offline_access role", report.Procedure, "an offline token is refused to a service account without the offline_access role", hint{text: roleText, read: readRoles}},
	SurvivesRestart:        {"survives-restart", "offline token after a restart", report.Procedure, "a token refreshes after the server is stopped or killed and started on the same database (restart suite)", hint{text: persistenceText, read: nil}},
	SurvivesUpgrade:        {"survives-upgrade", "offline token after an upgrade", report.Procedure, "a token issued by KC_UPGRADE_FROM refreshes after the upgrade to KC_UPGRADE_TO (upgrade suite)", hint{text: persistenceText, read: nil}},
	CrossNodeRefresh:       {"cross-node-refresh", "refresh on another node", report.Procedure, "a token got on one node of a cluster refreshes on every other node, and the stored token works on every node (cluster suite)", hint{text: clusterText, read: nil}},
	CrossNodeRevocation:    {"cross-node-revocation", "revocation on every node", report.Procedure, "an offline session an administrator deleted on one node is refused on every other node, within a bound measured and reported (cluster suite)", hint{text: clusterText, read: nil}},
	SurvivesNodeLoss:       {"survives-node-loss", "offline token after a node is lost", report.Procedure, "the stored tokens refresh on the surviving nodes after the issuing node is killed, and on that node when it is back (keycloak#44821; cluster suite)", hint{text: persistenceText + "; " + clusterText, read: nil}},
	SurvivesRollingRestart: {"survives-rolling-restart", "offline token through a rolling restart", report.Procedure, "no refresh of the stored token through the gateway is refused (400 invalid_grant) while every node in turn is stopped (SIGTERM) and started again under load, and the token refreshes on every node after (cluster suite)", hint{text: persistenceText + "; " + clusterText, read: nil}},
	SurvivesClusterUpgrade: {"survives-cluster-upgrade", "offline token through a cluster upgrade", report.Procedure, "no refresh of the stored token through the gateway is refused while the nodes are upgraded to KC_CLUSTER_UPGRADE_TO under load (node by node where update-compatibility allows it, else all at once); tokens of the old version refresh on every new node, and the new version issues tokens (cluster suite)", hint{text: persistenceText + "; " + clusterText, read: nil}},
	CacheControl:           {"cache-control", "Cache-Control header", report.RFC6749, "no-store on every token answer (§5.1)", hint{text: headersText, read: nil}},
	Pragma:                 {"pragma", "Pragma header", report.RFC6749, "no-cache on every token answer (§5.1)", hint{text: headersText, read: nil}},
	ContentType:            {"content-type", "Content-Type header", report.RFC6749, "application/json on every token answer (§5.1)", hint{text: headersText, read: nil}},
	BasicAuth:              {"basic-auth", "HTTP Basic client authentication", report.RFC6749, "get and refresh work with client_secret_basic (§2.3.1)", hint{text: basicAuthText, read: nil}},
	WrongSecretRefused:     {"wrong-secret", "wrong client secret", report.RFC6749, "a wrong secret gets 401 (§5.2; KC_EXPECT_BAD_SECRET_ERROR)", hint{text: wrongSecretText, read: nil}},
	GarbageRefreshRefused:  {"garbage-refresh", "garbage refresh token", report.RFC6749, "a garbage refresh token gets 400 invalid_grant (§5.2)", hint{text: gatewayBodyText, read: nil}},
	ForeignRefreshRefused:  {"foreign-refresh", "refresh token of another client", report.RFC6749, "another client's refresh token gets 400 invalid_grant (§6)", hint{text: gatewayBodyText, read: nil}},
	Issuer:                 {"issuer", "access token iss", report.OIDC, "the realm URL of KC_URL (or KC_EXPECT_ISSUER)", hint{text: issuerText, read: nil}},
	DiscoveryIssuer:        {"discovery-issuer", "discovery issuer", report.OIDC, "the discovery document's issuer equals the tokens' iss (OIDC Discovery §4.3)", hint{text: issuerText, read: nil}},
	Azp:                    {"azp", "access token azp", report.OIDC, "the client that asked", hint{text: azpText, read: readLightweight, derive: lightweight(azpText)}},
	Signature:              {"signature", "access token signature", report.OIDC, "valid against the realm's JWKS", hint{text: signatureText, read: nil}},
	Introspection:          {"introspection", "introspection", report.Extra, "active for a fresh token (not applicable where the client is not in the token's aud)", hint{text: audienceText, read: nil}},
	OnlineGet:              {"online-get", "online get", report.Extra, "without scope=offline_access: HTTP 200 with a token response", hint{text: clientText, read: nil}},
	OnlineScope:            {"online-scope", "online scope", report.Extra, "without scope=offline_access: no offline_access in scope", hint{text: scopeText, read: readScopes}},
	OnlineRefreshToken:     {"online-refresh-token", "online refresh_token", report.Extra, "without scope=offline_access: a refresh token too", hint{text: refreshTokenText, read: readRefreshTokens, derive: deriveRefreshToken}},
	OnlineRefreshExpiresIn: {"online-refresh-expires-in", "online refresh_expires_in", report.Extra, "without scope=offline_access: > 0 (online refresh tokens expire)", hint{text: sessionText, read: readRefreshTokens, derive: deriveOnlineRefresh}},
	OnlineRefreshTyp:       {"online-refresh-typ", "online refresh token typ", report.Extra, `without scope=offline_access: "Refresh"`, hint{text: sessionText, read: readRefreshTokens, derive: deriveOnlineRefresh}},
	OnlineRefreshExp:       {"online-refresh-exp", "online refresh token exp", report.Extra, "without scope=offline_access: an exp", hint{text: sessionText, read: readRefreshTokens, derive: deriveOnlineRefresh}},
	GrantUnderLoad:         {"grant-under-load", "grant under load", report.Extra, "fewer than 1% errors at each rate (load suite)", hint{text: loadText, read: nil}},
	RollingAvailability:    {"rolling-availability", "availability while nodes restart one at a time", report.Extra, "no request through the gateway fails (5xx, or no HTTP answer) while nodes are stopped and started one at a time: the goal for a version that shuts down gracefully (cluster suite)", hint{text: availabilityText, read: nil}},
}

// Catalogue lists every promise, in the verdict's order.
func Catalogue() []ID {
	ids := make([]ID, 0, lastID-1)
	for id := Get; id < lastID; id++ {
		ids = append(ids, id)
	}
	return ids
}

// Promise is the catalogue's entry of id.
func (id ID) Promise() Promise {
	if id <= 0 || id >= lastID {
		panic(fmt.Sprintf("contract: promise %d is not in the catalogue", int(id)))
	}
	return catalogue[id]
}

// Title names the promise in the verdict.
func (id ID) Title() string { return id.Promise().Title }

// Class says whose promise it is.
func (id ID) Class() report.Class { return id.Promise().Class }

// Hint names the Keycloak setting most likely responsible when the promise
// breaks: where it is in the admin console and in the representation, with
// the value read where admin rights allowed.
func (id ID) Hint(sub Subject) string { return id.Promise().hint.For(sub) }

// Check is the check of this promise: expected and sent, a pass or a FAIL
// (with the hint).
func (id ID) Check(sub Subject, expected, sent string, pass bool) Check {
	p := id.Promise()
	c := Check{Promise: p.Title, ID: p.Key, Rank: int(id), Class: p.Class, Expected: expected, Sent: sent, Result: report.Pass}
	if !pass {
		c.Result = report.Fail
		c.Hint = id.Hint(sub)
	}
	return c
}

// NotApplicable is the check of this promise where the server cannot be
// held to it (why says so, as the verdict's hint): never a failure.
func (id ID) NotApplicable(sub Subject, expected, sent, why string) Check {
	c := id.Check(sub, expected, sent, true)
	c.Result, c.Hint = report.NotApplicable, why
	return c
}

// Qualified is c for one of several ways its promise is checked (an
// administrator's action, a load rate): its title names which.
func Qualified(c Check, what string) Check {
	c.Promise += ": " + what
	return c
}

// ByKey is the promise whose stable report name (Check.ID) is key.
func ByKey(key string) (ID, bool) {
	for id := Get; id < lastID; id++ {
		if catalogue[id].Key == key {
			return id, true
		}
	}
	return 0, false
}
