package contract

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"kcconform/pkg/tokenflow"
)

func secondsDur(n int64) time.Duration { return time.Duration(n) * time.Second }

// client names the subject's client in a hint.
func (sub Subject) client() string {
	if sub.ClientID == "" {
		return "the client"
	}
	return sub.ClientID
}

// The hints of the catalogue: each names the Keycloak setting most likely
// responsible, where it is in the admin console and in the representation,
// and appends the values read where admin rights allowed.

func refreshTokenSettings(sub Subject) string {
	h := fmt.Sprintf("client attribute client_credentials.use_refresh_token must be \"true\" (Clients → %s → Advanced → OpenID Connect Compatibility Modes → Use refresh tokens for client credentials grant); for a refresh, use.refresh.tokens (Use refresh tokens)", sub.client())
	if s := sub.Settings; s != nil {
		h += fmt.Sprintf("; read: client_credentials.use_refresh_token %t, use.refresh.tokens %t", s.UseRefreshTokenForCC, s.UseRefreshTokens)
	}
	return h
}

func scopeSettings(sub Subject) string {
	h := fmt.Sprintf("the client scope offline_access must be assigned to the client (Clients → %s → Client scopes → Add client scope → offline_access, Optional) and the service account must hold the realm role offline_access", sub.client())
	if s := sub.Settings; s != nil {
		h += fmt.Sprintf("; read: default scopes %v, optional scopes %v, service account roles %v", s.DefaultScopes, s.OptionalScopes, s.ServiceAccountRoles)
	}
	return h
}

func offlineMaxSettings(sub Subject) string {
	h := "realm offlineSessionMaxLifespanEnabled (Realm settings → Sessions → Offline Session Max Limited) or client attribute client.offline.session.max.lifespan (Clients → " + sub.client() + " → Advanced → Client Offline Session Max) gives offline tokens an end: turn it off for refresh_expires_in 0"
	if s := sub.Settings; s != nil {
		h += fmt.Sprintf("; read: offlineSessionMaxLifespanEnabled %t, offlineSessionMaxLifespan %d s, client.offline.session.max.lifespan %d s",
			s.OfflineSessionMaxLifespanEnabled, int64(s.OfflineSessionMaxLifespan.Seconds()), int64(s.ClientOfflineMax.Seconds()))
	}
	return h
}

func lifespanSettings(sub Subject) string {
	h := "client attribute access.token.lifespan (Clients → " + sub.client() + " → Advanced → Advanced settings → Access Token Lifespan), else the realm's accessTokenLifespan (Realm settings → Tokens → Access Token Lifespan); an offline max lifespan, when limited, caps it"
	if s := sub.Settings; s != nil {
		h += fmt.Sprintf("; read: access.token.lifespan %d s, realm accessTokenLifespan %d s", int64(s.ClientAccessTokenLifespan.Seconds()), int64(s.AccessTokenLifespan.Seconds()))
	}
	return h
}

func tokenTypeSetting(sub Subject) string {
	return "client attribute token.response.type.bearer.lower-case (Clients → " + sub.client() + " → Advanced → OpenID Connect Compatibility Modes → Use lower-case bearer type in token responses); or set KC_EXPECT_TOKEN_TYPE_EXACT=false"
}

func gatewayBody(Subject) string {
	return "Keycloak sends this in every token answer as the procedure shows: a gateway in front of it may have rewritten the body"
}

func gatewayHeaders(Subject) string {
	return "Keycloak sends Cache-Control: no-store, Pragma: no-cache and Content-Type: application/json itself: a proxy or gateway in front of it changes them"
}

func reuseSettings(sub Subject) string {
	h := "realm revokeRefreshToken (Realm settings → Tokens → Revoke Refresh Token) makes a refresh token single-use (refreshTokenMaxReuse counts the extra uses): an operator who stores the token as the procedure says loses it after one use"
	if s := sub.Settings; s != nil {
		h += fmt.Sprintf("; read: revokeRefreshToken %t, refreshTokenMaxReuse %d", s.RevokeRefreshToken, s.RefreshTokenMaxReuse)
	}
	return h
}

func idleSettings(Subject) string {
	return "the realm's offlineSessionIdleTimeout (Realm settings → Sessions → Offline Session Idle), or a client's client.offline.session.idle.timeout (Clients → Advanced → Client Offline Session Idle)"
}

func revocationSettings(Subject) string {
	return "Keycloak refuses a revoked offline token with 400 invalid_grant; a server that still refreshes it keeps the session in a cache that did not see the revocation (nodes that do not form a cluster, an external session store)"
}

func roleSettings(sub Subject) string {
	h := "the service account must hold the realm role offline_access (Clients → " + sub.client() + " → Service account roles), usually through default-roles-<realm>"
	if s := sub.Settings; s != nil {
		h += fmt.Sprintf("; read: service account roles %v", s.ServiceAccountRoles)
	}
	return h
}

func persistenceSettings(Subject) string {
	return "offline sessions are kept in the database (offline_user_session, offline_client_session): a database reset, a migration that dropped them, or a realm re-imported at start loses them"
}

func basicAuthSetting(Subject) string {
	return "Keycloak's client-secret authenticator (clientAuthenticatorType client-secret) accepts HTTP Basic: a gateway that drops or rewrites the Authorization header breaks it"
}

func authenticatorSetting(sub Subject) string {
	return "Keycloak answers a wrong secret with 401 for a confidential client whose authenticator is Client Id and Secret (Clients → " + sub.client() + " → Credentials); set KC_EXPECT_BAD_SECRET_ERROR if a gateway answers otherwise"
}

func issuerSettings(Subject) string {
	return "Keycloak builds iss from its hostname: the server option --hostname (KC_HOSTNAME, a full URL with any path prefix in 26.x), --proxy-headers behind a proxy, or the realm's Frontend URL (Realm settings → General, attribute frontendUrl); if the public issuer differs from KC_URL on purpose, set KC_EXPECT_ISSUER"
}

func azpSetting(Subject) string {
	return "the token was issued to another client: check KC_CLIENT_ID, or a gateway that swaps credentials"
}

func signatureSettings(Subject) string {
	return "the realm's signing keys (Realm settings → Keys); a gateway that alters tokens breaks the signature"
}

func audienceSetting(sub Subject) string {
	c := sub.client()
	return fmt.Sprintf("introspection by a client that is not in the token's aud answers active:false in Keycloak 26.6+: add an audience mapper (Clients → %s → Client scopes → %s-dedicated → Add mapper → By configuration → Audience, Included Client Audience %s)", c, c, c)
}

func sessionSettings(Subject) string {
	return "the realm's SSO session settings (Realm settings → Sessions → SSO Session Idle/Max) give online refresh tokens their end"
}

func loadSettings(Subject) string {
	return "errors under load: the server's CPU and database pool (KC_DB_POOL_MAX_SIZE), or the load generator's own share (GEN-CPU in the table)"
}

func refusalSettings(sub Subject) string {
	return "the client must be enabled, confidential, with service accounts on and Client Id and Secret as its authenticator (Clients → " + sub.client() + " → Capability config, Credentials); check KC_CLIENT_ID and KC_CLIENT_SECRET"
}

// refusalHint explains why the get or refresh request was refused, from the
// OAuth error the server sent.
func refusalHint(err error, sub Subject) string {
	e, ok := tokenflow.AsError(err)
	if !ok {
		return ""
	}
	s := sub.Settings
	client := sub.client()
	switch {
	case e.Code == "invalid_scope":
		return scopeSettings(sub)
	case e.Code == "not_allowed" || strings.Contains(e.Description, "Offline tokens not allowed"):
		return roleSettings(sub)
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
		return scopeSettings(sub)
	}
	return ""
}
