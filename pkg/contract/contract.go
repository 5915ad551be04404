// Package contract turns the operators' procedure, and what RFC 6749 and
// OIDC require of the same answers, into checks: each promise with its
// class, the value a profile expects, what the server sent, the result, and
// for a failure the Keycloak setting most likely responsible. The Gomega
// matchers and the verdict table are both built on it.
package contract

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"kcconform/pkg/profile"
	"kcconform/pkg/realmconf"
	"kcconform/pkg/report"
	"kcconform/pkg/tokenflow"
)

// Check is one promise held against one server answer (report.Check).
type Check = report.Check

// Subject is what a check is about besides the answer: the client that
// asked, and the realm's settings where admin rights allowed reading them
// (nil otherwise), which sharpen the hints.
type Subject struct {
	ClientID string
	Settings *realmconf.Settings
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

// Offline checks an answer of the documented get or refresh request against
// the profile: the promises the procedure makes, and RFC 6749 §5.1's rules
// for every answer that carries tokens.
func Offline(p profile.Profile, sub Subject, r *tokenflow.Response) []Check {
	var cs []Check
	cs = append(cs,
		AccessToken.Check(sub, "present", presence(r.AccessToken), r.AccessToken != ""),
		RefreshToken.Check(sub, "present (the procedure refreshes with it)", presence(r.RefreshToken), r.RefreshToken != ""),
	)
	scopes := r.ScopeValues()
	typ, _ := r.RefreshClaims.String("typ")
	for _, want := range p.ScopeContains {
		c := Scope.Check(sub, fmt.Sprintf("to contain %s", want), quoted(r.Scope, r.Has("scope")), slices.Contains(scopes, want))
		if c.Result == report.Fail && want == "offline_access" && typ == "Offline" && sub.Settings == nil {
			// Client-only, the answer itself narrows it down.
			c.Hint = `the token is offline (refresh token typ "Offline") but its scope does not name offline_access: the client scope offline_access most likely has "Include in token scope" off (include.in.token.scope "false"; Client scopes → offline_access → Settings); give admin credentials for an audit that reads it`
		}
		cs = append(cs, c)
	}
	cs = append(cs,
		RefreshExpiresIn.Check(sub, refreshExpiresText(p.RefreshExpiresIn), num(r.RefreshExpiresIn),
			r.RefreshExpiresIn != nil && *r.RefreshExpiresIn == p.RefreshExpiresIn),
		// expires_in is what is left of the lifetime when the response is
		// written: one second less when that crosses a second boundary.
		ExpiresIn.Check(sub, fmt.Sprintf("%d (the configured access token lifetime, or 1 s less)", p.ExpiresIn), num(r.ExpiresIn),
			r.ExpiresIn != nil && *r.ExpiresIn <= p.ExpiresIn && *r.ExpiresIn >= p.ExpiresIn-1),
		tokenType(p, sub, r),
		NotBeforePolicy.Check(sub, "a number (as in the procedure's example answer)", num(r.NotBeforePolicy), r.NotBeforePolicy != nil),
	)
	cs = append(cs, accessClaims(sub, r)...)
	cs = append(cs, offlineRefreshClaims(p, sub, r)...)
	return append(cs, Headers(sub, r)...)
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

func tokenType(p profile.Profile, sub Subject, r *tokenflow.Response) Check {
	pass := strings.EqualFold(r.TokenType, p.TokenType)
	how := "compared case-insensitively, RFC 6749 §5.1"
	if p.TokenTypeExact {
		pass = r.TokenType == p.TokenType
		how = "compared exactly"
	}
	return TokenType.Check(sub, fmt.Sprintf("%s (%s)", p.TokenType, how), quoted(r.TokenType, r.Has("token_type")), pass)
}

// Headers checks RFC 6749 §5.1's rules for an answer that carries tokens:
// it must not be stored by any cache, and it is JSON.
func Headers(sub Subject, r *tokenflow.Response) []Check {
	h := func(name string) string {
		v := strings.Join(r.Header.Values(name), ", ")
		if v == "" {
			return "no " + name + " header"
		}
		return strconv.Quote(v)
	}
	directives := func(name, want string) bool {
		for _, v := range r.Header.Values(name) {
			for _, d := range strings.Split(v, ",") {
				if strings.EqualFold(strings.TrimSpace(d), want) {
					return true
				}
			}
		}
		return false
	}
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(r.Header.Get("Content-Type"), ";", 2)[0]))
	cc := h("Cache-Control")
	if cc == `"no-cache"` && r.Header.Get("Pragma") == "no-cache" {
		// Go's HTTP client reads a lone Pragma: no-cache as Cache-Control:
		// no-cache (RFC 7234 §5.4): the two cannot be told apart here.
		cc = `"no-cache", or no Cache-Control header at all`
	}
	return []Check{
		CacheControl.Check(sub, "no-store (§5.1: answers with tokens are not cached)", cc, directives("Cache-Control", "no-store")),
		Pragma.Check(sub, "no-cache (§5.1)", h("Pragma"), directives("Pragma", "no-cache")),
		ContentType.Check(sub, "application/json (§5.1)", h("Content-Type"), ct == "application/json"),
	}
}

// accessClaims checks the access token's own claims against the response.
func accessClaims(sub Subject, r *tokenflow.Response) []Check {
	exp, hasExp := r.AccessClaims.Int("exp")
	iat, hasIat := r.AccessClaims.Int("iat")
	sent := "no exp/iat claims"
	if hasExp && hasIat {
		sent = strconv.FormatInt(exp-iat, 10)
	}
	// Keycloak reads the clock once for iat/exp and again for expires_in, so
	// the two may straddle a second boundary: allow exactly one second.
	lifetime := AccessLifetime.Check(sub, "to equal expires_in "+num(r.ExpiresIn)+" (±1 s)", sent,
		hasExp && hasIat && r.ExpiresIn != nil && abs(exp-iat-*r.ExpiresIn) <= 1)
	azp, ok := r.AccessClaims.String("azp")
	return []Check{lifetime, Azp.Check(sub, strconv.Quote(sub.ClientID)+" (the client that asked)", quoted(azp, ok), azp == sub.ClientID)}
}

func offlineRefreshClaims(p profile.Profile, sub Subject, r *tokenflow.Response) []Check {
	if r.RefreshToken == "" {
		return nil
	}
	typ, ok := r.RefreshClaims.String("typ")
	cs := []Check{RefreshTyp.Check(sub, `"Offline"`, quoted(typ, ok), typ == "Offline")}
	exp, hasExp := r.RefreshClaims.Int("exp")
	if p.RefreshExpiresIn == 0 {
		sent := "no exp"
		if hasExp {
			sent = "exp " + strconv.FormatInt(exp, 10)
		}
		cs = append(cs, RefreshExp.Check(sub, "absent (the refresh token never expires by itself)", sent, !hasExp))
	}
	return cs
}

// Online checks what the procedure contrasts with: the same client's token
// without scope=offline_access is an ordinary, expiring one. These are
// harness extras: Keycloak's behaviour, not the procedure's promise.
func Online(sub Subject, r *tokenflow.Response) []Check {
	scopes := r.ScopeValues()
	typ, ok := r.RefreshClaims.String("typ")
	_, hasExp := r.RefreshClaims.Int("exp")
	expSent := "no exp"
	if hasExp {
		expSent = "an exp"
	}
	cs := []Check{
		OnlineScope.Check(sub, "not to contain offline_access (not asked for)", quoted(r.Scope, r.Has("scope")), !slices.Contains(scopes, "offline_access")),
		OnlineRefreshToken.Check(sub, "present (client_credentials.use_refresh_token)", presence(r.RefreshToken), r.RefreshToken != ""),
		OnlineRefreshExpiresIn.Check(sub, "> 0 (online refresh tokens expire)", num(r.RefreshExpiresIn), r.RefreshExpiresIn != nil && *r.RefreshExpiresIn > 0),
		OnlineRefreshTyp.Check(sub, `"Refresh"`, quoted(typ, ok), typ == "Refresh"),
		OnlineRefreshExp.Check(sub, "present", expSent, hasExp),
	}
	if why := offlineByDefault(sub, r); why != "" {
		for i := range cs {
			cs[i].Result, cs[i].Hint = report.NotApplicable, why
		}
	}
	return cs
}

// offlineByDefault says why a client can have no online token: offline_access
// is one of its default client scopes, read with admin rights or seen in an
// answer to a get that did not ask for it. Empty when neither shows.
func offlineByDefault(sub Subject, r *tokenflow.Response) string {
	const tail = ", so every token it gets is offline and no online token can be had; the procedure's promises are checked on the offline token"
	if s := sub.Settings; s != nil && slices.Contains(s.DefaultScopes, "offline_access") {
		return fmt.Sprintf("n/a: client %s has offline_access as a default client scope (read: default scopes %v)%s", sub.client(), s.DefaultScopes, tail)
	}
	typ, _ := r.RefreshClaims.String("typ")
	if typ == "Offline" {
		return fmt.Sprintf("n/a: a get of client %s without scope=offline_access came back offline (refresh token typ \"Offline\", refresh_expires_in %s, scope %s): offline_access is a default client scope of it%s",
			sub.client(), num(r.RefreshExpiresIn), quoted(r.Scope, r.Has("scope")), tail)
	}
	return ""
}

// TokenAnswer is the check that a request was answered with a token at all;
// err is what the flow returned.
func TokenAnswer(id ID, sub Subject, err error) Check {
	const expected = "HTTP 200 with a token response"
	if err == nil {
		return id.Check(sub, expected, expected, true)
	}
	c := id.Check(sub, expected, SentOf(err), false)
	cause, ok := RefusalCause(err, sub)
	if ok && cause.Text != "" {
		c.Hint = cause.Text
	}
	// A refused get is the root cause of every other check that failed with
	// the same answer.
	c.Root = id == Get && ok
	return c
}

// SentOf is what the server sent, as a failed request's error tells it.
func SentOf(err error) string {
	if err == nil {
		return "a token (HTTP 200)"
	}
	if e, ok := tokenflow.AsError(err); ok {
		return e.Sent()
	}
	return err.Error()
}

// Refused is the check that a request the server must refuse was refused
// with the given status and one of the codes.
func Refused(id ID, sub Subject, err error, status int, codes ...string) Check {
	sent := "a token (HTTP 200)"
	pass := false
	if e, ok := tokenflow.AsError(err); ok {
		sent = e.Sent()
		pass = e.Status == status && slices.Contains(codes, e.Code)
	} else if err != nil {
		sent = err.Error()
	}
	return id.Check(sub, fmt.Sprintf("HTTP %d %s", status, strings.Join(codes, " or ")), sent, pass)
}

// IssuerChecks check the access token's iss against the realm's discovery
// document and the issuer kcconform expects: the realm URL derived from
// KC_URL, or KC_EXPECT_ISSUER.
func IssuerChecks(sub Subject, r *tokenflow.Response, discovered, expected, expectedFrom string) []Check {
	iss, ok := r.AccessClaims.String("iss")
	sent := quoted(iss, ok)
	return []Check{
		Issuer.Check(sub, fmt.Sprintf("%q (%s)", expected, expectedFrom), sent, ok && iss == expected),
		DiscoveryIssuer.Check(sub, fmt.Sprintf("%q, the access token's iss (OIDC Discovery §4.3)", iss), strconv.Quote(discovered), ok && discovered == iss),
	}
}

// IntrospectionCheck checks that the realm's introspection endpoint says a
// fresh access token is active. It is a harness extra: Keycloak 26.6 and
// later answer active:false to a client that is not in the token's aud, and
// the procedure configures no audience. One rule in every mode, whoever
// made the realm: where the client is not in aud and the answer is
// inactive, the check does not apply.
func IntrospectionCheck(sub Subject, r *tokenflow.Response, claims tokenflow.Claims) Check {
	active, _ := claims["active"].(bool)
	sent := fmt.Sprintf("active %v", claims["active"])
	if cid, ok := claims["client_id"].(string); ok {
		sent += ", client_id " + strconv.Quote(cid)
	}
	c := Introspection.Check(sub, "active:true for the token just issued (RFC 7662)", sent, active)
	inAud := audienceContains(r.AccessClaims["aud"], sub.ClientID)
	switch {
	case active:
	case !inAud:
		c.Result = report.NotApplicable
		c.Hint = fmt.Sprintf("client %s is not in the token's aud (%v), and Keycloak 26.6+ answers active:false to such a client (CVE-2026-37979); the procedure configures no audience. To check introspection, add an audience mapper: Clients → %s → Client scopes → %s-dedicated → Add mapper → By configuration → Audience (Included Client Audience %s, Add to access token on)",
			sub.ClientID, r.AccessClaims["aud"], sub.ClientID, sub.ClientID, sub.ClientID)
	default:
		c.Hint = fmt.Sprintf("the token's aud is %v; the server answered inactive for a token it has just issued", r.AccessClaims["aud"])
	}
	return c
}

func audienceContains(aud any, clientID string) bool {
	switch a := aud.(type) {
	case string:
		return a == clientID
	case []any:
		for _, v := range a {
			if v == clientID {
				return true
			}
		}
	}
	return false
}

// StoredTokenCheck checks that the refresh token the procedure tells the
// operator to store works again after it was used: err is the answer to
// presenting it once more.
func StoredTokenCheck(sub Subject, err error) Check {
	sent := "HTTP 200 with a token response"
	if err != nil {
		sent = SentOf(err)
	}
	return StoredToken.Check(sub, "HTTP 200 with a token response: the procedure stores the refresh token and uses it whenever a new access token is needed", sent, err == nil)
}

// IdleTimeoutCheck checks the offline session idle timeout read with admin
// rights against the profile's minimum.
func IdleTimeoutCheck(p profile.Profile, sub Subject) Check {
	idle, source := sub.Settings.OfflineIdle()
	secs := int64(idle.Seconds())
	c := IdleTimeout.Check(sub,
		fmt.Sprintf(">= %d s (%s, KC_EXPECT_OFFLINE_IDLE_MIN): the token never expires by itself only while it is used at least that often", p.OfflineIdleMin, realmconf.Days(secondsDur(p.OfflineIdleMin))),
		fmt.Sprintf("%d s (%s), from the %s", secs, realmconf.Days(idle), source), secs >= p.OfflineIdleMin)
	if c.Failed() {
		c.Hint = fmt.Sprintf("%s is %d s: raise it (or set KC_EXPECT_OFFLINE_IDLE_MIN if this is intended)", source, secs)
	}
	return c
}

// Failed returns the checks that failed.
func Failed(cs []Check) []Check { return report.Failed(cs) }

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
