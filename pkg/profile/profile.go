// Package profile holds what kcconform expects a server to send. A profile is
// chosen independently of the realm fixture, so a misconfigured or regressed
// server fails the run instead of silently changing the expectations.
package profile

import (
	"fmt"
	"sort"
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

// Named returns the constructor of a predefined profile.
func Named(name string) (func() Profile, bool) {
	mk, ok := named[name]
	return mk, ok
}
