// Package profile holds what kcconform expects a server to send. A profile is
// chosen independently of the realm fixture, so a misconfigured or regressed
// server fails the run instead of silently changing the expectations.
package profile

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
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
	return p, p.Validate()
}

func intOverride(getenv func(string) string, key string, def int64) (int64, error) {
	v := getenv(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: expected a whole number of seconds >= 0, got %q", key, v)
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
