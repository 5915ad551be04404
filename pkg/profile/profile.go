// Package profile holds what kcconform expects a server to send. A profile is
// chosen independently of the realm fixture, so a misconfigured or regressed
// server fails the run instead of silently changing the expectations.
package profile

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Profile is the set of expectations the offline-token contract is checked
// against.
type Profile struct {
	// Name is the profile's name, for reports.
	Name string `json:"name"`
	// ScopeContains lists scope values that must appear in the response's
	// space-separated scope (never equality: Keycloak adds scopes over time).
	ScopeContains []string `json:"scopeContains"`
	// RefreshExpiresIn is the expected refresh_expires_in of an offline token.
	RefreshExpiresIn int64 `json:"refreshExpiresIn"`
	// ExpiresIn is the expected expires_in, the access token's lifetime.
	ExpiresIn int64 `json:"expiresIn"`
	// TokenType is the expected token_type.
	TokenType string `json:"tokenType"`
	// TokenTypeExact compares token_type case-sensitively; RFC 6749 says the
	// value is case-insensitive, so the default is false.
	TokenTypeExact bool `json:"tokenTypeExact"`
	// BadSecretErrors are the OAuth error codes accepted for a wrong client
	// secret. RFC 6749 §5.2 names invalid_client; Keycloak 26 answers
	// unauthorized_client ("Invalid client or Invalid client credentials").
	BadSecretErrors []string `json:"badSecretErrors"`
	// OfflineIdleMin is the shortest offline session idle timeout accepted
	// (seconds): "never expires by itself" holds only while the token is
	// used at least that often. Checked where admin rights allow reading it.
	OfflineIdleMin int64 `json:"offlineIdleMin"`
	// Issuer, when set, is the issuer tokens must carry, for deployments
	// whose public issuer differs from the URL kcconform is given.
	Issuer string `json:"issuer,omitempty"`
}

// Documented is what the operators' procedure promises.
func Documented() Profile {
	return Profile{
		Name:             "documented",
		ScopeContains:    []string{"offline_access"},
		RefreshExpiresIn: 0,
		ExpiresIn:        31536000,
		TokenType:        "bearer",
		BadSecretErrors:  []string{"invalid_client", "unauthorized_client"},
		OfflineIdleMin:   30 * 24 * 3600, // Keycloak's default offlineSessionIdleTimeout
	}
}

// RFC6749 is the documented profile with the wrong-secret error the RFC names
// and nothing else; Keycloak 26 fails it (it answers unauthorized_client).
func RFC6749() Profile {
	p := Documented()
	p.Name = "rfc6749"
	p.BadSecretErrors = []string{"invalid_client"}
	return p
}

var named = map[string]func() Profile{
	"documented": Documented,
	"rfc6749":    RFC6749,
}

// Names lists the predefined profiles.
func Names() []string {
	out := make([]string, 0, len(named))
	for n := range named {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// FromEnv builds the profile named by KC_PROFILE (default "documented") and
// applies the KC_EXPECT_* overrides. getenv is usually os.Getenv.
func FromEnv(getenv func(string) string) (Profile, error) {
	name := getenv("KC_PROFILE")
	if name == "" {
		name = "documented"
	}
	mk, ok := named[name]
	if !ok {
		return Profile{}, fmt.Errorf("KC_PROFILE: unknown profile %q, expected one of %s", name, strings.Join(Names(), ", "))
	}
	p := mk()
	if v := getenv("KC_EXPECT_SCOPE"); v != "" {
		p.ScopeContains = strings.Fields(strings.ReplaceAll(v, ",", " "))
	}
	var err error
	if p.RefreshExpiresIn, err = intOverride(getenv, "KC_EXPECT_REFRESH_EXPIRES_IN", p.RefreshExpiresIn); err != nil {
		return Profile{}, err
	}
	if p.ExpiresIn, err = intOverride(getenv, "KC_EXPECT_EXPIRES_IN", p.ExpiresIn); err != nil {
		return Profile{}, err
	}
	if v := getenv("KC_EXPECT_TOKEN_TYPE"); v != "" {
		p.TokenType = v
	}
	if v := getenv("KC_EXPECT_TOKEN_TYPE_EXACT"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Profile{}, fmt.Errorf("KC_EXPECT_TOKEN_TYPE_EXACT: expected true or false, got %q", v)
		}
		p.TokenTypeExact = b
	}
	if v := getenv("KC_EXPECT_BAD_SECRET_ERROR"); v != "" {
		p.BadSecretErrors = strings.Fields(strings.ReplaceAll(v, ",", " "))
	}
	if v := getenv("KC_EXPECT_OFFLINE_IDLE_MIN"); v != "" {
		d, err := ParseDuration(v)
		if err != nil {
			return Profile{}, fmt.Errorf("KC_EXPECT_OFFLINE_IDLE_MIN: expected a duration such as 30d, 720h or a number of seconds, got %q", v)
		}
		p.OfflineIdleMin = int64(d / time.Second)
	}
	if v := getenv("KC_EXPECT_ISSUER"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.HasSuffix(v, "/") {
			return Profile{}, fmt.Errorf("KC_EXPECT_ISSUER: expected the realm's issuer URL without a trailing slash, e.g. https://host/keycloak/realms/shasta, got %q", v)
		}
		p.Issuer = v
	}
	return p, p.Validate()
}

// maxSeconds bounds every duration setting, so that none overflows
// time.Duration (about 292 years).
const maxSeconds = 100 * 365 * 24 * 3600

// ParseDuration reads a duration setting: a number of seconds, a Go
// duration (90s, 2h) or a number of days (30d). It refuses values that are
// not positive or that would overflow.
func ParseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n <= 0 || n > maxSeconds/86400 {
			return 0, fmt.Errorf("expected a whole number of days from 1 to %d, got %q", maxSeconds/86400, v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 || n > maxSeconds {
			return 0, fmt.Errorf("expected a number of seconds from 1 to %d, got %q", maxSeconds, v)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > maxSeconds*time.Second {
		return 0, fmt.Errorf("expected a positive duration such as 30s, 2h or 30d, up to 100 years, got %q", v)
	}
	return d, nil
}

func intOverride(getenv func(string) string, key string, def int64) (int64, error) {
	v := getenv(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > maxSeconds {
		return 0, fmt.Errorf("%s: expected a whole number of seconds from 0 to %d, got %q", key, maxSeconds, v)
	}
	return n, nil
}

// Validate reports the first expectation that cannot be checked.
func (p Profile) Validate() error {
	switch {
	case len(p.ScopeContains) == 0:
		return fmt.Errorf("profile %q: scopeContains: expected at least one scope value", p.Name)
	case p.TokenType == "":
		return fmt.Errorf("profile %q: tokenType: expected a token type such as bearer", p.Name)
	case p.ExpiresIn <= 0:
		return fmt.Errorf("profile %q: expiresIn: expected a lifetime > 0 seconds, got %d", p.Name, p.ExpiresIn)
	case p.RefreshExpiresIn < 0:
		return fmt.Errorf("profile %q: refreshExpiresIn: expected >= 0, got %d", p.Name, p.RefreshExpiresIn)
	case len(p.BadSecretErrors) == 0:
		return fmt.Errorf("profile %q: badSecretErrors: expected at least one error code", p.Name)
	}
	return nil
}
