package contract

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"kcconform/pkg/report"
	"kcconform/pkg/tokenflow"
)

func secondsDur(n int64) time.Duration { return time.Duration(n) * time.Second }

// Hint names the Keycloak setting most likely responsible when a promise
// breaks: where it is in the admin console and in the representation, with
// the value read where admin rights allowed.
func Hint(promise string, cx Context) string {
	s := cx.Settings
	client := cx.ClientID
	if client == "" {
		client = "the client"
	}
	switch promise {
	case "refresh_token", "online refresh_token":
		h := fmt.Sprintf("client attribute client_credentials.use_refresh_token must be \"true\" (Clients → %s → Advanced → OpenID Connect Compatibility Modes → Use refresh tokens for client credentials grant); for a refresh, use.refresh.tokens (Use refresh tokens)", client)
		if s != nil {
			h += fmt.Sprintf("; read: client_credentials.use_refresh_token %t, use.refresh.tokens %t", s.UseRefreshTokenForCC, s.UseRefreshTokens)
		}
		return h
	case "scope", "refresh token typ":
		h := fmt.Sprintf("the client scope offline_access must be assigned to the client (Clients → %s → Client scopes → Add client scope → offline_access, Optional) and the service account must hold the realm role offline_access", client)
		if s != nil {
			h += fmt.Sprintf("; read: default scopes %v, optional scopes %v, service account roles %v", s.DefaultScopes, s.OptionalScopes, s.ServiceAccountRoles)
		}
		return h
	case "refresh_expires_in", "refresh token exp":
		h := "realm offlineSessionMaxLifespanEnabled (Realm settings → Sessions → Offline Session Max Limited) or client attribute client.offline.session.max.lifespan (Clients → " + client + " → Advanced → Client Offline Session Max) gives offline tokens an end: turn it off for refresh_expires_in 0"
		if s != nil {
			h += fmt.Sprintf("; read: offlineSessionMaxLifespanEnabled %t, offlineSessionMaxLifespan %d s, client.offline.session.max.lifespan %d s",
				s.OfflineSessionMaxLifespanEnabled, int64(s.OfflineSessionMaxLifespan.Seconds()), int64(s.ClientOfflineMax.Seconds()))
		}
		return h
	case "expires_in", "access token exp - iat":
		h := "client attribute access.token.lifespan (Clients → " + client + " → Advanced → Advanced settings → Access Token Lifespan), else the realm's accessTokenLifespan (Realm settings → Tokens → Access Token Lifespan); an offline max lifespan, when limited, caps it"
		if s != nil {
			h += fmt.Sprintf("; read: access.token.lifespan %d s, realm accessTokenLifespan %d s", int64(s.ClientAccessTokenLifespan.Seconds()), int64(s.AccessTokenLifespan.Seconds()))
		}
		return h
	case "token_type":
		return "client attribute token.response.type.bearer.lower-case (Clients → " + client + " → Advanced → OpenID Connect Compatibility Modes → Use lower-case bearer type in token responses); or set KC_EXPECT_TOKEN_TYPE_EXACT=false"
	case "not-before-policy":
		return "Keycloak sends not-before-policy in every token answer; a gateway in front of it may have rewritten the body"
	case "access token azp":
		return "the token was issued to another client: check KC_CLIENT_ID, or a gateway that swaps credentials"
	case "access token signature":
		return "the realm's signing keys (Realm settings → Keys); a gateway that alters tokens breaks the signature"
	case "access token iss", "discovery issuer":
		return "Keycloak builds iss from its hostname: the server option --hostname (KC_HOSTNAME, a full URL with any path prefix in 26.x), --proxy-headers behind a proxy, or the realm's Frontend URL (Realm settings → General, attribute frontendUrl); if the public issuer differs from KC_URL on purpose, set KC_EXPECT_ISSUER"
	case "Cache-Control header", "Pragma header", "Content-Type header":
		return "Keycloak sends Cache-Control: no-store, Pragma: no-cache and Content-Type: application/json itself: a proxy or gateway in front of it changes them"
	case "HTTP Basic client authentication":
		return "Keycloak's client-secret authenticator (clientAuthenticatorType client-secret) accepts HTTP Basic: a gateway that drops or rewrites the Authorization header breaks it"
	case "the stored refresh token works again":
		h := "realm revokeRefreshToken (Realm settings → Tokens → Revoke Refresh Token) makes a refresh token single-use (refreshTokenMaxReuse counts the extra uses): an operator who stores the token as the procedure says loses it after one use"
		if s != nil {
			h += fmt.Sprintf("; read: revokeRefreshToken %t, refreshTokenMaxReuse %d", s.RevokeRefreshToken, s.RefreshTokenMaxReuse)
		}
		return h
	}
	return ""
}

// refusalHint explains why the get or refresh request was refused, from the
// OAuth error the server sent.
func refusalHint(err error, cx Context) string {
	e, ok := tokenflow.AsError(err)
	if !ok {
		return ""
	}
	s := cx.Settings
	client := cx.ClientID
	switch {
	case e.Code == "invalid_scope":
		return Hint("scope", cx)
	case e.Code == "not_allowed" || strings.Contains(e.Description, "Offline tokens not allowed"):
		h := "the service account must hold the realm role offline_access (Clients → " + client + " → Service account roles), usually through default-roles-<realm>"
		if s != nil {
			h += fmt.Sprintf("; read: service account roles %v", s.ServiceAccountRoles)
		}
		return h
	case e.Code == "unauthorized_client" && e.Status == 400:
		return "the client must allow the client-credentials grant: serviceAccountsEnabled (Clients → " + client + " → Capability config → Service accounts roles)"
	case e.Status == 401 || e.Code == "invalid_client" || e.Code == "unauthorized_client":
		return "the client id or secret is wrong (KC_CLIENT_ID, KC_CLIENT_SECRET), or the client is not confidential"
	case e.Code == "invalid_grant":
		h := "the offline session is gone: revoked by an administrator, unused past the offline session idle timeout, or, with revokeRefreshToken, the token was used before"
		if s != nil {
			idle, _ := s.OfflineIdle()
			h += fmt.Sprintf("; read: revokeRefreshToken %t, offline idle timeout %d s", s.RevokeRefreshToken, int64(idle.Seconds()))
		}
		return h
	case e.Status == 0:
		return ""
	}
	if s != nil && !slices.Contains(append(s.DefaultScopes, s.OptionalScopes...), "offline_access") {
		return Hint("scope", cx)
	}
	return ""
}

// Promise is an entry of the catalogue of checks.
type Promise struct {
	Class   report.Class
	Promise string
	What    string
}

// Catalog lists every check kcconform makes on the server's answers, for
// kcconform --list.
var Catalog = []Promise{
	{report.Procedure, "get / refresh", "the procedure's get and refresh requests are answered with HTTP 200 and a token response"},
	{report.Procedure, "access_token, refresh_token", "both are present"},
	{report.Procedure, "scope", "contains offline_access (KC_EXPECT_SCOPE)"},
	{report.Procedure, "refresh_expires_in", "0: the refresh token never expires by itself (KC_EXPECT_REFRESH_EXPIRES_IN)"},
	{report.Procedure, "expires_in", "31536000, or 1 s less (KC_EXPECT_EXPIRES_IN)"},
	{report.Procedure, "token_type", "bearer, case-insensitively (KC_EXPECT_TOKEN_TYPE)"},
	{report.Procedure, "not-before-policy", "a number"},
	{report.Procedure, "access token exp - iat", "equals expires_in (±1 s)"},
	{report.Procedure, "refresh token typ, exp", "\"Offline\", and no exp"},
	{report.Procedure, "refreshed access token", "each refresh gives a new access token"},
	{report.Procedure, "the stored refresh token works again", "the first refresh token, stored as the procedure says, refreshes again after the chained cycles and after a new get"},
	{report.Procedure, "offline session idle timeout", ">= KC_EXPECT_OFFLINE_IDLE_MIN (30 days), read with admin rights"},
	{report.Procedure, "administrative revocation", "after an administrator's revocation the next refresh gets 400 invalid_grant"},
	{report.RFC6749, "Cache-Control, Pragma, Content-Type headers", "no-store, no-cache and application/json on every token answer (§5.1)"},
	{report.RFC6749, "HTTP Basic client authentication", "get and refresh work with client_secret_basic (§2.3.1)"},
	{report.RFC6749, "refusals", "a wrong secret gets 401, a garbage or foreign refresh token 400 invalid_grant (§5.2)"},
	{report.OIDC, "access token iss, discovery issuer", "iss equals the discovery document's issuer and the realm URL of KC_URL (or KC_EXPECT_ISSUER)"},
	{report.OIDC, "access token azp", "the client that asked"},
	{report.OIDC, "access token signature", "valid against the realm's JWKS"},
	{report.Extra, "introspection", "active for a fresh token (not applicable where the client is not in the token's aud)"},
	{report.Extra, "online token", "without scope=offline_access: an ordinary expiring token"},
}
