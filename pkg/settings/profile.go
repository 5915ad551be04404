package settings

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kcconform/pkg/profile"
)

// parseProfile builds the profile KC_PROFILE names (default "documented")
// and applies the KC_EXPECT_* overrides.
func parseProfile(get Lookup) (profile.Profile, error) {
	name := get("KC_PROFILE")
	if name == "" {
		name = "documented"
	}
	mk, ok := profile.Named(name)
	if !ok {
		return profile.Profile{}, fmt.Errorf("KC_PROFILE: unknown profile %q, expected one of %s", name, strings.Join(profile.Names(), ", "))
	}
	p := mk()
	if v := get("KC_EXPECT_SCOPE"); v != "" {
		p.ScopeContains = strings.Fields(strings.ReplaceAll(v, ",", " "))
	}
	var err error
	if p.RefreshExpiresIn, err = intOverride(get, "KC_EXPECT_REFRESH_EXPIRES_IN", p.RefreshExpiresIn); err != nil {
		return profile.Profile{}, err
	}
	if p.ExpiresIn, err = intOverride(get, "KC_EXPECT_EXPIRES_IN", p.ExpiresIn); err != nil {
		return profile.Profile{}, err
	}
	if v := get("KC_EXPECT_TOKEN_TYPE"); v != "" {
		p.TokenType = v
	}
	if v := get("KC_EXPECT_TOKEN_TYPE_EXACT"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return profile.Profile{}, fmt.Errorf("KC_EXPECT_TOKEN_TYPE_EXACT: expected true or false, got %q", v)
		}
		p.TokenTypeExact = b
	}
	if v := get("KC_EXPECT_BAD_SECRET_ERROR"); v != "" {
		p.BadSecretErrors = strings.Fields(strings.ReplaceAll(v, ",", " "))
	}
	if v := get("KC_EXPECT_OFFLINE_IDLE_MIN"); v != "" {
		d, err := ParseDuration(v)
		if err != nil {
			return profile.Profile{}, fmt.Errorf("KC_EXPECT_OFFLINE_IDLE_MIN: expected a duration such as 30d, 720h or a number of seconds, got %q", v)
		}
		p.OfflineIdleMin = int64(d / time.Second)
	}
	if v := get("KC_EXPECT_ISSUER"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.HasSuffix(v, "/") {
			return profile.Profile{}, fmt.Errorf("KC_EXPECT_ISSUER: expected the realm's issuer URL without a trailing slash, e.g. https://host/keycloak/realms/shasta, got %q", v)
		}
		p.Issuer = v
	}
	return p, p.Validate()
}

func intOverride(get Lookup, key string, def int64) (int64, error) {
	v := get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > maxSeconds {
		return 0, fmt.Errorf("%s: expected a whole number of seconds from 0 to %d, got %q", key, maxSeconds, v)
	}
	return n, nil
}
