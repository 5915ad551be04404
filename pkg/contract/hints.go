package contract

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"kcconform/pkg/realmconf"
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

// hint is where a broken promise most likely comes from: the Keycloak
// setting, where it is in the admin console and in the representation
// ("{client}" stands for the client's id), and, where admin rights allowed
// reading them, the values of the settings it names (read).
type hint struct {
	text string
	read func(s *realmconf.Settings) string
	// derive, where set, makes the hint from the settings read instead of
	// text: only what they show missing, never a set-up they show in place.
	derive func(s *realmconf.Settings, client string) string
}

// For is the hint for a subject.
func (h hint) For(sub Subject) string {
	if h.derive != nil && sub.Settings != nil {
		t := h.derive(sub.Settings, sub.client())
		if h.read != nil {
			t += "; read: " + h.read(sub.Settings)
		}
		return t
	}
	t := strings.ReplaceAll(h.text, "{client}", sub.client())
	if h.read != nil && sub.Settings != nil {
		t += "; read: " + h.read(sub.Settings)
	}
	return t
}

// offlineCauses names what the settings read show missing for an offline
// token whose scope names offline_access; withScopeName adds the scope's
// "Include in token scope", which changes the scope only, not the token.
func offlineCauses(s *realmconf.Settings, client string, withScopeName bool) []string {
	var causes []string
	if !slices.Contains(s.DefaultScopes, "offline_access") && !slices.Contains(s.OptionalScopes, "offline_access") {
		causes = append(causes, fmt.Sprintf("the client scope offline_access is not assigned to client %s (Clients → %s → Client scopes → Add client scope → offline_access, Optional)", client, client))
	}
	if !slices.Contains(s.ServiceAccountRoles, "offline_access") {
		causes = append(causes, fmt.Sprintf("the service account of %s does not hold the realm role offline_access, directly, through a composite role or through a group (Clients → %s → Service account roles → Assign role → offline_access)", client, client))
	}
	if withScopeName && !s.OfflineScopeFound {
		causes = append(causes, "the realm has no client scope offline_access (Client scopes → Create client scope, or re-create the realm's default)")
	}
	if withScopeName && s.OfflineScopeFound && !s.OfflineScopeInTokenScope {
		causes = append(causes, `the client scope offline_access has "Include in token scope" off (include.in.token.scope "false"; Client scopes → offline_access → Settings → Include in token scope): the token is offline all the same, but its scope does not name offline_access`)
	}
	return causes
}

// nothingExplains is the hint where the settings read show everything in
// place: it says so and what to read next.
func nothingExplains(what, client string) string {
	return fmt.Sprintf("the settings read show %s in place, so they do not explain this answer; read next: the mappers of client %s's dedicated scope (Clients → %s → Client scopes → %s-dedicated) and a gateway that may rewrite the answer", what, client, client, client)
}

func deriveScope(s *realmconf.Settings, client string) string {
	if c := offlineCauses(s, client, true); len(c) > 0 {
		return strings.Join(c, "; ")
	}
	return nothingExplains("offline_access assigned, the role offline_access held and Include in token scope on", client)
}

func deriveOfflineTyp(s *realmconf.Settings, client string) string {
	if c := offlineCauses(s, client, false); len(c) > 0 {
		return strings.Join(c, "; ")
	}
	return nothingExplains("offline_access assigned and the role offline_access held", client)
}

// deriveRefreshToken names the switches read off that keep a refresh token
// out of an answer: the get's (client_credentials.use_refresh_token) and the
// refresh's (use.refresh.tokens).
func deriveRefreshToken(s *realmconf.Settings, client string) string {
	var causes []string
	if !s.UseRefreshTokenForCC {
		causes = append(causes, fmt.Sprintf(`client attribute client_credentials.use_refresh_token is "false" (Clients → %s → Advanced → OpenID Connect Compatibility Modes → Use refresh tokens for client credentials grant): the get answers without a refresh token`, client))
	}
	if !s.UseRefreshTokens {
		causes = append(causes, fmt.Sprintf(`client attribute use.refresh.tokens is "false" (Clients → %s → Advanced → OpenID Connect Compatibility Modes → Use refresh tokens): a refresh answers without a new refresh token`, client))
	}
	if len(causes) > 0 {
		return strings.Join(causes, "; ")
	}
	return nothingExplains("client_credentials.use_refresh_token and use.refresh.tokens on", client)
}

// deriveOnlineRefresh: an online get answers without any refresh token
// where client_credentials.use_refresh_token is off, so its refresh token's
// checks fail for that, not for the SSO session settings.
func deriveOnlineRefresh(s *realmconf.Settings, client string) string {
	if !s.UseRefreshTokenForCC {
		return fmt.Sprintf(`client attribute client_credentials.use_refresh_token is "false" (Clients → %s → Advanced → OpenID Connect Compatibility Modes → Use refresh tokens for client credentials grant): the online get answers without a refresh token`, client)
	}
	return sessionText
}

// lightweight adds, to a hint about the access token's claims, the
// client's lightweight access tokens where they are read on: such a token
// carries only the claims Keycloak always adds and those of mappers marked
// "Add to lightweight access token".
func lightweight(text string) func(s *realmconf.Settings, client string) string {
	return func(s *realmconf.Settings, client string) string {
		t := strings.ReplaceAll(text, "{client}", client)
		if s.LightweightAccessToken {
			t = fmt.Sprintf(`client %s has lightweight access tokens on (client.use.lightweight.access.token.enabled "true"; Clients → %s → Advanced → Always use lightweight access token): its access tokens carry only the claims Keycloak always adds and those of mappers with "Add to lightweight access token" on; `, client, client) + t
		}
		return t
	}
}

// The hints' texts.
const (
	refreshTokenText = "client attribute client_credentials.use_refresh_token must be \"true\" (Clients → {client} → Advanced → OpenID Connect Compatibility Modes → Use refresh tokens for client credentials grant); for a refresh, use.refresh.tokens (Use refresh tokens)"
	scopeText        = "the client scope offline_access must be assigned to the client (Clients → {client} → Client scopes → Add client scope → offline_access, Optional) and the service account must hold the realm role offline_access"
	offlineMaxText   = "realm offlineSessionMaxLifespanEnabled (Realm settings → Sessions → Offline Session Max Limited) or client attribute client.offline.session.max.lifespan (Clients → {client} → Advanced → Client Offline Session Max) gives offline tokens an end: turn it off for refresh_expires_in 0"
	lifespanText     = "client attribute access.token.lifespan (Clients → {client} → Advanced → Advanced settings → Access Token Lifespan), else the realm's accessTokenLifespan (Realm settings → Tokens → Access Token Lifespan); an offline max lifespan, when limited, caps it"
	tokenTypeText    = "client attribute token.response.type.bearer.lower-case (Clients → {client} → Advanced → OpenID Connect Compatibility Modes → Use lower-case bearer type in token responses); or set KC_EXPECT_TOKEN_TYPE_EXACT=false"
	gatewayBodyText  = "Keycloak sends this in every token answer as the procedure shows: a gateway in front of it may have rewritten the body"
	headersText      = "Keycloak sends Cache-Control: no-store, Pragma: no-cache and Content-Type: application/json itself: a proxy or gateway in front of it changes them"
	reuseText        = "realm revokeRefreshToken (Realm settings → Tokens → Revoke Refresh Token) makes a refresh token single-use (refreshTokenMaxReuse counts the extra uses): an operator who stores the token as the procedure says loses it after one use"
	idleText         = "the realm's offlineSessionIdleTimeout (Realm settings → Sessions → Offline Session Idle), or a client's client.offline.session.idle.timeout (Clients → {client} → Advanced → Client Offline Session Idle)"
	revocationText   = "Keycloak refuses a revoked offline token with 400 invalid_grant; a server that still refreshes it keeps the session in a cache that did not see the revocation (nodes that do not form a cluster, an external session store)"
	roleText         = "the service account must hold the realm role offline_access (Clients → {client} → Service account roles), usually through default-roles-<realm>"
	persistenceText  = "offline sessions are kept in the database (offline_user_session, offline_client_session): a database reset, a migration that dropped them, or a realm re-imported at start loses them"
	basicAuthText    = "Keycloak's client-secret authenticator (clientAuthenticatorType client-secret) accepts HTTP Basic: a gateway that drops or rewrites the Authorization header breaks it"
	wrongSecretText  = "Keycloak answers a wrong secret with 401 for a confidential client whose authenticator is Client Id and Secret (Clients → {client} → Credentials); set KC_EXPECT_BAD_SECRET_ERROR if a gateway answers otherwise"
	issuerText       = "Keycloak builds iss from its hostname: the server option --hostname (KC_HOSTNAME, a full URL with any path prefix in 26.x), --proxy-headers behind a proxy, or the realm's Frontend URL (Realm settings → General, attribute frontendUrl); if the public issuer differs from KC_URL on purpose, set KC_EXPECT_ISSUER"
	azpText          = "the token was issued to another client: check KC_CLIENT_ID, or a gateway that swaps credentials"
	signatureText    = "the realm's signing keys (Realm settings → Keys); a gateway that alters tokens breaks the signature"
	audienceText     = "introspection by a client that is not in the token's aud answers active:false in Keycloak 26.6+: add an audience mapper (Clients → {client} → Client scopes → {client}-dedicated → Add mapper → By configuration → Audience, Included Client Audience {client})"
	sessionText      = "the realm's SSO session settings (Realm settings → Sessions → SSO Session Idle/Max) give online refresh tokens their end"
	loadText         = "errors under load: the server's CPU and database pool (KC_DB_POOL_MAX_SIZE), or the load generator's own share (GEN-CPU in the table)"
	clusterText      = "nodes that share a database but do not form a cluster (--cache=local, a blocked cluster port or a bind address the others cannot reach) keep serving what their own cache holds: every node needs --cache=ispn, a cluster port the others reach, and the same --hostname (else a token of one node has another issuer)"
	availabilityText = "a node must answer what it accepted before it stops (graceful shutdown: --shutdown-delay, --shutdown-timeout) and the gateway must stop routing to a node that is not ready (active health checks on /health/ready) and retry a connection that failed (HAProxy retry-on conn-failure); concurrent refreshes of one offline session on several nodes can collide in the database (HTTP 500, OptimisticLockException on OFFLINE_CLIENT_SESSION in a node's log)"
	clientText       = "the client must be enabled, confidential, with service accounts on and Client Id and Secret as its authenticator (Clients → {client} → Capability config, Credentials); check KC_CLIENT_ID and KC_CLIENT_SECRET"
)

// What the hints read where admin rights allowed.

func readRefreshTokens(s *realmconf.Settings) string {
	return fmt.Sprintf("client_credentials.use_refresh_token %t, use.refresh.tokens %t", s.UseRefreshTokenForCC, s.UseRefreshTokens)
}

func readScopes(s *realmconf.Settings) string {
	return fmt.Sprintf("default scopes %v, optional scopes %v, %s, offline_access include.in.token.scope %t", s.DefaultScopes, s.OptionalScopes, readRoles(s), s.OfflineScopeInTokenScope)
}

func readOfflineMax(s *realmconf.Settings) string {
	return fmt.Sprintf("offlineSessionMaxLifespanEnabled %t, offlineSessionMaxLifespan %d s, client.offline.session.max.lifespan %d s",
		s.OfflineSessionMaxLifespanEnabled, int64(s.OfflineSessionMaxLifespan.Seconds()), int64(s.ClientOfflineMax.Seconds()))
}

func readLifespans(s *realmconf.Settings) string {
	return fmt.Sprintf("access.token.lifespan %d s, realm accessTokenLifespan %d s", int64(s.ClientAccessTokenLifespan.Seconds()), int64(s.AccessTokenLifespan.Seconds()))
}

func readReuse(s *realmconf.Settings) string {
	return fmt.Sprintf("revokeRefreshToken %t, refreshTokenMaxReuse %d", s.RevokeRefreshToken, s.RefreshTokenMaxReuse)
}

func readRoles(s *realmconf.Settings) string {
	if s.OfflineRoleVia == "" {
		return fmt.Sprintf("service account roles %v", s.ServiceAccountRoles)
	}
	return fmt.Sprintf("service account roles %v, offline_access held %s", s.ServiceAccountRoles, s.OfflineRoleVia)
}

func readLightweight(s *realmconf.Settings) string {
	return fmt.Sprintf("lightweight access tokens %t", s.LightweightAccessToken)
}

func readIdle(s *realmconf.Settings) string {
	idle, source := s.OfflineIdle()
	return fmt.Sprintf("offline idle timeout %d s (%s)", int64(idle.Seconds()), source)
}

// Cause is why the server refused a request of the procedure, as far as
// the answer and the settings read can tell.
type Cause struct {
	// Text names the cause and the setting to change.
	Text string
	// Credentials marks a refusal of the client's credentials that is the
	// run's to mend, not the server's to answer for: a KC_CLIENT_SECRET that
	// is not the client's, or a refusal nothing read explains (the server
	// answers alike for an unknown client and a wrong secret).
	Credentials bool
}

// credentialsText is the cause of a refused client authentication that
// nothing read explains.
const credentialsText = "the server refused the client's credentials: check KC_CLIENT_ID and KC_CLIENT_SECRET first; " +
	"Keycloak answers alike for an unknown client, a disabled one and a wrong secret, so this run cannot tell them apart " +
	"(give admin credentials, KC_ADMIN_USER and KC_ADMIN_PASSWORD, for an audit that reads the client's settings)"

// RefusalCause explains a refused get or refresh: from the client's settings
// where admin rights allowed reading them, else from the OAuth error the
// server sent. ok is false when err is no answer of the server.
func RefusalCause(err error, sub Subject) (c Cause, ok bool) {
	e, ok := tokenflow.AsError(err)
	if !ok || e.Status == 0 {
		return Cause{}, false
	}
	if s := sub.Settings; s != nil {
		if c, ok := causeRead(s, sub); ok {
			return c, true
		}
	}
	client := sub.client()
	switch {
	case e.Code == "invalid_scope":
		return Cause{Text: hint{text: scopeText, read: readScopes, derive: deriveOfflineTyp}.For(sub)}, true
	case e.Code == "not_allowed" || strings.Contains(e.Description, "Offline tokens not allowed"):
		return Cause{Text: hint{text: roleText, read: readRoles}.For(sub)}, true
	case strings.Contains(e.Description, "client_assertion"):
		return Cause{Text: "client " + client + " authenticates with a signed JWT (the server asks for a client_assertion: clientAuthenticatorType client-secret-jwt or client-jwt): the procedure sends client_secret, which needs \"Client Id and Secret\" (Clients → " + client + " → Credentials → Client Authenticator)"}, true
	case e.Code == "unauthorized_client" && e.Status == 400:
		return Cause{Text: "the client must allow the client-credentials grant: serviceAccountsEnabled (Clients → " + client + " → Capability config → Service accounts roles)"}, true
	case e.Status == 401 || e.Code == "invalid_client" || e.Code == "unauthorized_client":
		return Cause{Text: credentialsText, Credentials: true}, true
	case e.Code == "invalid_grant":
		h := "the offline session is gone: revoked by an administrator, unused past the offline session idle timeout, or, with revokeRefreshToken, the token was used before"
		if s := sub.Settings; s != nil {
			idle, _ := s.OfflineIdle()
			h += fmt.Sprintf("; read: revokeRefreshToken %t, offline idle timeout %d s", s.RevokeRefreshToken, int64(idle.Seconds()))
		}
		return Cause{Text: h}, true
	}
	return Cause{}, true
}

// causeRead is the cause the client's settings, read with admin rights,
// show: the first of them that the procedure's get cannot work with.
func causeRead(s *realmconf.Settings, sub Subject) (Cause, bool) {
	client := sub.client()
	switch {
	case !s.Enabled:
		return Cause{Text: "client " + client + " is disabled (read with admin rights: enabled false; Clients → " + client + " → Enabled)"}, true
	case s.PublicClient:
		return Cause{Text: "client " + client + " is public (read with admin rights: publicClient true): the procedure's client_secret needs a confidential client (Clients → " + client + " → Capability config → Client authentication On)"}, true
	case s.Authenticator != "client-secret":
		return Cause{Text: "client " + client + " authenticates with " + s.Authenticator + " (read with admin rights: clientAuthenticatorType " + s.Authenticator + "): the procedure sends client_secret, which needs \"Client Id and Secret\", client-secret (Clients → " + client + " → Credentials → Client Authenticator)"}, true
	case s.SecretDiffers:
		return Cause{Text: "KC_CLIENT_SECRET is not the secret of client " + client + " (compared with the one read with admin rights, Clients → " + client + " → Credentials): check KC_CLIENT_SECRET, or leave it out for the audit to read it", Credentials: true}, true
	case !s.ServiceAccountsEnabled:
		return Cause{Text: "client " + client + " has no service account (read with admin rights: serviceAccountsEnabled false; Clients → " + client + " → Capability config → Service accounts roles)"}, true
	case !slices.Contains(append(slices.Clone(s.DefaultScopes), s.OptionalScopes...), "offline_access"):
		return Cause{Text: hint{text: scopeText, read: readScopes, derive: deriveOfflineTyp}.For(sub)}, true
	case !slices.Contains(s.ServiceAccountRoles, "offline_access"):
		return Cause{Text: hint{text: roleText, read: readRoles}.For(sub)}, true
	}
	return Cause{}, false
}
