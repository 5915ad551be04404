// Package realmconf reads, with admin rights, the realm and client settings
// that decide the procedure's promises (token lifespans, the offline
// session's idle timeout and maximum lifespan, refresh-token rotation, the
// client's refresh-token switches, scopes and the service account's roles),
// and uses them to explain a verdict: where a promise breaks, which setting
// is most likely responsible and what value it has.
package realmconf

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"kcconform/pkg/admin"
)

// Keycloak's defaults for what a realm representation may leave out.
const (
	DefaultOfflineSessionIdle = 30 * 24 * time.Hour
	DefaultOfflineSessionMax  = 60 * 24 * time.Hour
)

// Settings are what the realm and the client say about the procedure's
// promises. Zero durations in client fields mean "not set on the client".
type Settings struct {
	Realm    string
	ClientID string

	AccessTokenLifespan              time.Duration
	OfflineSessionIdleTimeout        time.Duration
	OfflineSessionMaxLifespanEnabled bool
	OfflineSessionMaxLifespan        time.Duration
	RevokeRefreshToken               bool
	RefreshTokenMaxReuse             int

	ClientAccessTokenLifespan time.Duration // access.token.lifespan
	ClientOfflineIdle         time.Duration // client.offline.session.idle.timeout
	ClientOfflineMax          time.Duration // client.offline.session.max.lifespan
	UseRefreshTokenForCC      bool          // client_credentials.use_refresh_token
	UseRefreshTokens          bool          // use.refresh.tokens (default on)
	Enabled                   bool
	PublicClient              bool
	// Authenticator is the client's clientAuthenticatorType: the procedure's
	// client_secret needs "client-secret" (Client Id and Secret).
	Authenticator          string
	ServiceAccountsEnabled bool
	// SecretDiffers marks a KC_CLIENT_SECRET that is not the secret read
	// with admin rights (set by the harness, which knows what was given).
	SecretDiffers       bool
	DefaultScopes       []string
	OptionalScopes      []string
	ServiceAccountRoles []string
	// OfflineScopeInTokenScope is the realm's client scope offline_access's
	// "Include in token scope" (include.in.token.scope, default on);
	// OfflineScopeFound says the realm has that scope at all.
	OfflineScopeInTokenScope, OfflineScopeFound bool
	// OfflineRoleVia says how the service account holds the realm role
	// offline_access: "directly", "through group /path", "through a
	// composite role" or "not at all" ("" where it has no service account).
	OfflineRoleVia string
	// LightweightAccessToken is client.use.lightweight.access.token.enabled:
	// access tokens carry only the claims Keycloak always adds and those of
	// mappers marked for lightweight tokens.
	LightweightAccessToken bool
	// SelfAudience is whether a protocol mapper puts the client in its own
	// tokens' aud (needed for introspection by the client on 26.6+).
	SelfAudience bool
}

// Read reads a realm's and one of its clients' settings.
func Read(ctx context.Context, ac *admin.Client, realm, clientID string) (*Settings, error) {
	rrep, err := ac.Realm(ctx, realm)
	if err != nil {
		return nil, fmt.Errorf("read realm %s: %w", realm, err)
	}
	cl, err := ac.FindClient(ctx, realm, clientID)
	if err != nil {
		return nil, fmt.Errorf("read client %s: %w", clientID, err)
	}
	crep, err := ac.ClientRepresentation(ctx, realm, cl.ID)
	if err != nil {
		return nil, fmt.Errorf("read client %s: %w", clientID, err)
	}
	s := &Settings{Realm: realm, ClientID: clientID}
	s.AccessTokenLifespan = seconds(rrep["accessTokenLifespan"])
	s.OfflineSessionIdleTimeout = seconds(rrep["offlineSessionIdleTimeout"])
	if s.OfflineSessionIdleTimeout == 0 {
		s.OfflineSessionIdleTimeout = DefaultOfflineSessionIdle
	}
	s.OfflineSessionMaxLifespanEnabled, _ = rrep["offlineSessionMaxLifespanEnabled"].(bool)
	s.OfflineSessionMaxLifespan = seconds(rrep["offlineSessionMaxLifespan"])
	if s.OfflineSessionMaxLifespan == 0 {
		s.OfflineSessionMaxLifespan = DefaultOfflineSessionMax
	}
	s.RevokeRefreshToken, _ = rrep["revokeRefreshToken"].(bool)
	s.RefreshTokenMaxReuse = int(seconds(rrep["refreshTokenMaxReuse"]) / time.Second) // a count, held like seconds

	attrs, _ := crep["attributes"].(map[string]any)
	attr := func(k string) string { v, _ := attrs[k].(string); return v }
	s.ClientAccessTokenLifespan = seconds(attr("access.token.lifespan"))
	s.ClientOfflineIdle = seconds(attr("client.offline.session.idle.timeout"))
	s.ClientOfflineMax = seconds(attr("client.offline.session.max.lifespan"))
	s.UseRefreshTokenForCC = attr("client_credentials.use_refresh_token") == "true"
	s.UseRefreshTokens = attr("use.refresh.tokens") != "false"
	s.LightweightAccessToken = attr("client.use.lightweight.access.token.enabled") == "true"
	s.ServiceAccountsEnabled, _ = crep["serviceAccountsEnabled"].(bool)
	s.Enabled, _ = crep["enabled"].(bool)
	s.PublicClient, _ = crep["publicClient"].(bool)
	if s.Authenticator, _ = crep["clientAuthenticatorType"].(string); s.Authenticator == "" {
		s.Authenticator = "client-secret"
	}
	mappers, _ := crep["protocolMappers"].([]any)
	for _, m := range mappers {
		mm, _ := m.(map[string]any)
		cfg, _ := mm["config"].(map[string]any)
		if mm["protocolMapper"] == "oidc-audience-mapper" && cfg["included.client.audience"] == clientID && cfg["access.token.claim"] != "false" {
			s.SelfAudience = true
		}
	}
	if s.DefaultScopes, s.OptionalScopes, err = ac.ClientScopes(ctx, realm, cl.ID); err != nil {
		return nil, fmt.Errorf("read client scopes of %s: %w", clientID, err)
	}
	scope, err := ac.ClientScopeAttributes(ctx, realm, "offline_access")
	if err != nil {
		return nil, fmt.Errorf("read the client scope offline_access of realm %s: %w", realm, err)
	}
	s.OfflineScopeFound = scope != nil
	s.OfflineScopeInTokenScope = s.OfflineScopeFound && scope["include.in.token.scope"] != "false"
	if s.ServiceAccountsEnabled {
		sa, err := ac.ServiceAccountUser(ctx, realm, cl.ID)
		if err != nil {
			return nil, fmt.Errorf("read service account of %s: %w", clientID, err)
		}
		roles, err := ac.EffectiveRealmRoles(ctx, realm, sa.ID)
		if err != nil {
			return nil, fmt.Errorf("read roles of %s's service account: %w", clientID, err)
		}
		for _, r := range roles {
			s.ServiceAccountRoles = append(s.ServiceAccountRoles, r.Name)
		}
		slices.Sort(s.ServiceAccountRoles)
		if s.OfflineRoleVia, err = roleVia(ctx, ac, realm, sa.ID, s.ServiceAccountRoles); err != nil {
			return nil, fmt.Errorf("read how %s's service account holds offline_access: %w", clientID, err)
		}
	}
	return s, nil
}

// roleVia says how a user whose effective realm roles are effective holds
// offline_access: mapped directly, through one of its groups, or through a
// composite role (the realm's default roles).
func roleVia(ctx context.Context, ac *admin.Client, realm, userID string, effective []string) (string, error) {
	if !slices.Contains(effective, "offline_access") {
		return "not at all", nil
	}
	direct, err := ac.UserRealmRoles(ctx, realm, userID)
	if err != nil {
		return "", err
	}
	if slices.ContainsFunc(direct, func(r admin.Role) bool { return r.Name == "offline_access" }) {
		return "directly", nil
	}
	groups, err := ac.UserGroups(ctx, realm, userID)
	if err != nil {
		return "", err
	}
	for _, g := range groups {
		rs, err := ac.GroupRealmRoles(ctx, realm, g.ID)
		if err != nil {
			return "", err
		}
		if slices.ContainsFunc(rs, func(r admin.Role) bool { return r.Name == "offline_access" }) {
			return "through group " + g.Path, nil
		}
	}
	return "through a composite role", nil
}

// seconds reads a number of seconds that a representation holds as a JSON
// number or a string.
func seconds(v any) time.Duration {
	switch x := v.(type) {
	case float64:
		return time.Duration(x) * time.Second
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return time.Duration(n) * time.Second
	}
	return 0
}

// OfflineIdle is the effective offline session idle timeout: the client's
// override when it is set and shorter, else the realm's. source names the
// setting it comes from.
func (s *Settings) OfflineIdle() (d time.Duration, source string) {
	if s.ClientOfflineIdle > 0 && s.ClientOfflineIdle < s.OfflineSessionIdleTimeout {
		return s.ClientOfflineIdle, fmt.Sprintf("client %s attribute client.offline.session.idle.timeout (Clients → %s → Advanced → Advanced settings → Client Offline Session Idle)", s.ClientID, s.ClientID)
	}
	return s.OfflineSessionIdleTimeout, fmt.Sprintf("realm %s offlineSessionIdleTimeout (Realm settings → Sessions → Offline Session Idle)", s.Realm)
}

// Lines describe the settings for the report.
func (s *Settings) Lines() []string {
	idle, source := s.OfflineIdle()
	lines := []string{
		fmt.Sprintf("offline tokens keep working while used at least every %s: idle timeout %d s, from the %s", Days(idle), int64(idle/time.Second), source),
	}
	if s.OfflineSessionMaxLifespanEnabled || s.ClientOfflineMax > 0 {
		lines = append(lines, fmt.Sprintf("offline sessions end after at most %s (offlineSessionMaxLifespanEnabled %t, offlineSessionMaxLifespan %d s, client.offline.session.max.lifespan %d s): refresh_expires_in is then > 0",
			Days(s.effectiveMax()), s.OfflineSessionMaxLifespanEnabled, int64(s.OfflineSessionMaxLifespan/time.Second), int64(s.ClientOfflineMax/time.Second)))
	} else {
		lines = append(lines, "offline sessions have no maximum lifespan (offlineSessionMaxLifespanEnabled false): refresh_expires_in 0")
	}
	lines = append(lines,
		fmt.Sprintf("access token lifespan: %s", s.accessLifespanText()),
		fmt.Sprintf("revokeRefreshToken %t (refreshTokenMaxReuse %d): %s", s.RevokeRefreshToken, s.RefreshTokenMaxReuse, map[bool]string{
			true:  "a stored refresh token works only as often as the reuse count allows",
			false: "a stored refresh token keeps working"}[s.RevokeRefreshToken]),
		fmt.Sprintf("client %s: enabled %t, publicClient %t, clientAuthenticatorType %s, serviceAccountsEnabled %t", s.ClientID, s.Enabled, s.PublicClient, s.Authenticator, s.ServiceAccountsEnabled),
		fmt.Sprintf("client %s: client_credentials.use_refresh_token %t, use.refresh.tokens %t, lightweight access tokens %t, audience mapper for itself %t",
			s.ClientID, s.UseRefreshTokenForCC, s.UseRefreshTokens, s.LightweightAccessToken, s.SelfAudience),
		fmt.Sprintf("client scopes: default %v, optional %v", s.DefaultScopes, s.OptionalScopes),
		s.offlineScopeLine(),
		s.rolesLine(),
	)
	return lines
}

func (s *Settings) rolesLine() string {
	if s.OfflineRoleVia == "" {
		return fmt.Sprintf("service account realm roles: %v", s.ServiceAccountRoles)
	}
	return fmt.Sprintf("service account realm roles: %v (offline_access: %s)", s.ServiceAccountRoles, s.OfflineRoleVia)
}

func (s *Settings) offlineScopeLine() string {
	if !s.OfflineScopeFound {
		return "client scope offline_access: not found in the realm"
	}
	return fmt.Sprintf("client scope offline_access: include.in.token.scope %t", s.OfflineScopeInTokenScope)
}

func (s *Settings) effectiveMax() time.Duration {
	if s.ClientOfflineMax > 0 && (!s.OfflineSessionMaxLifespanEnabled || s.ClientOfflineMax < s.OfflineSessionMaxLifespan) {
		return s.ClientOfflineMax
	}
	return s.OfflineSessionMaxLifespan
}

func (s *Settings) accessLifespanText() string {
	if s.ClientAccessTokenLifespan > 0 {
		return fmt.Sprintf("%d s, from client attribute access.token.lifespan (realm accessTokenLifespan %d s)", int64(s.ClientAccessTokenLifespan/time.Second), int64(s.AccessTokenLifespan/time.Second))
	}
	return fmt.Sprintf("%d s, from the realm's accessTokenLifespan (the client sets no access.token.lifespan)", int64(s.AccessTokenLifespan/time.Second))
}

// Days writes a duration in days when it is a whole number of them, else in
// hours, minutes or seconds.
func Days(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", int64(d/(24*time.Hour)))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d hours", int64(d/time.Hour))
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", int64(d/time.Minute))
	}
	return fmt.Sprintf("%d s", int64(d/time.Second))
}
