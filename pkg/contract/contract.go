// Package contract turns the operators' procedure into checks: each promise
// it makes about a token response, the value a profile expects, and what the
// server sent. The Gomega matchers and the verdict table are both built on it.
package contract

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"kcconform/pkg/profile"
	"kcconform/pkg/tokenflow"
)

// Check is one promise held against one server response.
type Check struct {
	// Promise names what is checked, e.g. "refresh_expires_in".
	Promise string `json:"promise"`
	// Expected is the promised value with the reason, e.g.
	// "0 (offline refresh tokens do not expire)".
	Expected string `json:"expected"`
	// Sent is what the server sent, redacted.
	Sent string `json:"sent"`
	Pass bool   `json:"pass"`
}

// Message is the one-line failure text of a check.
func (c Check) Message() string {
	return fmt.Sprintf("expected %s %s, server sent %s", c.Promise, c.Expected, c.Sent)
}

func check(promise, expected, sent string, pass bool) Check {
	return Check{Promise: promise, Expected: expected, Sent: sent, Pass: pass}
}

func num(p *int64) string {
	if p == nil {
		return "nothing (field absent)"
	}
	return strconv.FormatInt(*p, 10)
}

func quoted(s string, present bool) string {
	if !present {
		return "nothing (field absent)"
	}
	return strconv.Quote(s)
}

// Offline checks a response of the documented get or refresh request
// against the profile: the promises the procedure makes.
func Offline(p profile.Profile, clientID string, r *tokenflow.Response) []Check {
	var cs []Check
	cs = append(cs,
		check("access_token", "present", presence(r.AccessToken), r.AccessToken != ""),
		check("refresh_token", "present (the procedure refreshes with it)", presence(r.RefreshToken), r.RefreshToken != ""),
	)
	scopes := r.ScopeValues()
	for _, want := range p.ScopeContains {
		cs = append(cs, check("scope", fmt.Sprintf("to contain %s", want), quoted(r.Scope, r.Has("scope")), slices.Contains(scopes, want)))
	}
	cs = append(cs,
		check("refresh_expires_in", refreshExpiresText(p.RefreshExpiresIn), num(r.RefreshExpiresIn),
			r.RefreshExpiresIn != nil && *r.RefreshExpiresIn == p.RefreshExpiresIn),
		// expires_in is what is left of the lifetime when the response is
		// written: one second less when that crosses a second boundary.
		check("expires_in", fmt.Sprintf("%d (the configured access token lifetime, or 1 s less)", p.ExpiresIn), num(r.ExpiresIn),
			r.ExpiresIn != nil && *r.ExpiresIn <= p.ExpiresIn && *r.ExpiresIn >= p.ExpiresIn-1),
		tokenType(p, r),
	)
	cs = append(cs, accessClaims(clientID, r)...)
	cs = append(cs, offlineRefreshClaims(p, r)...)
	return cs
}

func refreshExpiresText(n int64) string {
	if n == 0 {
		return "0 (offline refresh tokens do not expire)"
	}
	return fmt.Sprintf("%d (set by the profile)", n)
}

func presence(tok string) string {
	if tok == "" {
		return "none"
	}
	return "one"
}

func tokenType(p profile.Profile, r *tokenflow.Response) Check {
	pass := strings.EqualFold(r.TokenType, p.TokenType)
	how := "compared case-insensitively, RFC 6749 §5.1"
	if p.TokenTypeExact {
		pass = r.TokenType == p.TokenType
		how = "compared exactly"
	}
	return check("token_type", fmt.Sprintf("%s (%s)", p.TokenType, how), quoted(r.TokenType, r.Has("token_type")), pass)
}

// accessClaims checks the access token's own claims against the response.
func accessClaims(clientID string, r *tokenflow.Response) []Check {
	exp, hasExp := r.AccessClaims.Int("exp")
	iat, hasIat := r.AccessClaims.Int("iat")
	sent := "no exp/iat claims"
	if hasExp && hasIat {
		sent = strconv.FormatInt(exp-iat, 10)
	}
	// Keycloak reads the clock once for iat/exp and again for expires_in, so
	// the two may straddle a second boundary: allow exactly one second.
	lifetime := check("access token exp - iat", "to equal expires_in "+num(r.ExpiresIn)+" (±1 s)", sent,
		hasExp && hasIat && r.ExpiresIn != nil && abs(exp-iat-*r.ExpiresIn) <= 1)
	azp, ok := r.AccessClaims.String("azp")
	return []Check{lifetime, check("access token azp", strconv.Quote(clientID)+" (the client that asked)", quoted(azp, ok), azp == clientID)}
}

func offlineRefreshClaims(p profile.Profile, r *tokenflow.Response) []Check {
	if r.RefreshToken == "" {
		return nil
	}
	typ, ok := r.RefreshClaims.String("typ")
	cs := []Check{check("refresh token typ", `"Offline"`, quoted(typ, ok), typ == "Offline")}
	exp, hasExp := r.RefreshClaims.Int("exp")
	if p.RefreshExpiresIn == 0 {
		sent := "no exp"
		if hasExp {
			sent = "exp " + strconv.FormatInt(exp, 10)
		}
		cs = append(cs, check("refresh token exp", "absent (the refresh token never expires by itself)", sent, !hasExp))
	}
	return cs
}

// Online checks what the procedure contrasts with: the same client's token
// without scope=offline_access is an ordinary, expiring one.
func Online(r *tokenflow.Response) []Check {
	scopes := r.ScopeValues()
	typ, ok := r.RefreshClaims.String("typ")
	_, hasExp := r.RefreshClaims.Int("exp")
	expSent := "no exp"
	if hasExp {
		expSent = "an exp"
	}
	return []Check{
		check("online scope", "not to contain offline_access (not asked for)", quoted(r.Scope, r.Has("scope")), !slices.Contains(scopes, "offline_access")),
		check("online refresh_token", "present (client_credentials.use_refresh_token)", presence(r.RefreshToken), r.RefreshToken != ""),
		check("online refresh_expires_in", "> 0 (online refresh tokens expire)", num(r.RefreshExpiresIn), r.RefreshExpiresIn != nil && *r.RefreshExpiresIn > 0),
		check("online refresh token typ", `"Refresh"`, quoted(typ, ok), typ == "Refresh"),
		check("online refresh token exp", "present", expSent, hasExp),
	}
}

// Failed returns the checks that did not pass.
func Failed(cs []Check) []Check {
	var out []Check
	for _, c := range cs {
		if !c.Pass {
			out = append(out, c)
		}
	}
	return out
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
