package contract

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"kcconform/pkg/profile"
	"kcconform/pkg/realmconf"
	"kcconform/pkg/report"
	"kcconform/pkg/tokenflow"
	"kcconform/pkg/tokenflow/tokenflowtest"
)

var (
	jwt      = tokenflowtest.JWT
	response = tokenflowtest.Response
)

var cx = Subject{ClientID: "my-test-client"}

func TestOfflineKeptByTheProceduresExample(t *testing.T) {
	if failed := Failed(Offline(profile.Documented(), cx, response(t, nil))); len(failed) != 0 {
		t.Fatalf("failed: %+v", failed)
	}
}

func TestOfflineNamesTheBrokenPromise(t *testing.T) {
	r := response(t, map[string]any{"refresh_expires_in": 1800, "refresh_token": jwt(map[string]any{"typ": "Refresh", "exp": 5})})
	var msgs []string
	for _, c := range Failed(Offline(profile.Documented(), cx, r)) {
		msgs = append(msgs, c.Message())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"expected refresh_expires_in 0 (offline refresh tokens do not expire), server sent 1800",
		`expected refresh token typ "Offline", server sent "Refresh"`,
		"expected refresh token exp absent",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("messages lack %q:\n%s", want, all)
		}
	}
}

func TestAbsentIsNotZero(t *testing.T) {
	r := response(t, map[string]any{"refresh_expires_in": nil})
	for _, c := range Failed(Offline(profile.Documented(), cx, r)) {
		if c.Promise == "refresh_expires_in" && strings.Contains(c.Sent, "absent") {
			return
		}
	}
	t.Fatal("a missing refresh_expires_in passed as 0")
}

func TestExpiresInAllowsTheSecondThatPassed(t *testing.T) {
	for sent, pass := range map[int]bool{31536000: true, 31535999: true, 31535998: false, 31536001: false, 300: false} {
		r := response(t, map[string]any{"expires_in": sent})
		ok := true
		for _, c := range Failed(Offline(profile.Documented(), cx, r)) {
			if c.Promise == "expires_in" {
				ok = false
			}
		}
		if ok != pass {
			t.Errorf("expires_in %d: pass %v, want %v", sent, ok, pass)
		}
	}
}

// RFC 6749 §5.1: an answer without Cache-Control: no-store (or Pragma:
// no-cache, or a JSON type) breaks a promise, and the hint names the proxy.
func TestHeadersOfSection51(t *testing.T) {
	r := response(t, nil)
	r.Header = http.Header{"Cache-Control": {"private, max-age=0"}, "Content-Type": {"application/json;charset=UTF-8"}}
	failed := map[string]Check{}
	for _, c := range Failed(Offline(profile.Documented(), cx, r)) {
		failed[c.Promise] = c
	}
	if len(failed) != 2 || failed["Cache-Control header"].Class != report.RFC6749 || failed["Pragma header"].Sent != "no Pragma header" {
		t.Fatalf("failed = %+v", failed)
	}
	if !strings.Contains(failed["Cache-Control header"].Hint, "proxy or gateway") {
		t.Fatalf("hint = %q", failed["Cache-Control header"].Hint)
	}
}

func TestIssuerNamesBothValues(t *testing.T) {
	r := response(t, map[string]any{"access_token": jwt(map[string]any{"iss": "https://wrong.example/realms/shasta", "azp": "my-test-client"})})
	cs := IssuerChecks(cx, r, "https://wrong.example/realms/shasta", "https://gw/keycloak/realms/shasta", "the realm URL of KC_URL")
	if !cs[0].Failed() || !strings.Contains(cs[0].Message(), `expected access token iss "https://gw/keycloak/realms/shasta" (the realm URL of KC_URL), server sent "https://wrong.example/realms/shasta"`) {
		t.Fatalf("iss check = %+v", cs[0])
	}
	if cs[1].Failed() {
		t.Fatalf("discovery agrees with the token: %+v", cs[1])
	}
}

// Introspection answering inactive to a client not in aud does not apply
// (with the fix in the reason), whoever made the realm; with the client in
// aud it fails.
func TestIntrospectionApplicability(t *testing.T) {
	notInAud := response(t, map[string]any{"access_token": jwt(map[string]any{"aud": "account"})})
	inAud := response(t, map[string]any{"access_token": jwt(map[string]any{"aud": []any{"account", "my-test-client"}})})
	inactive := tokenflow.Claims{"active": false}
	if c := IntrospectionCheck(cx, notInAud, inactive); c.Result != report.NotApplicable || !strings.Contains(c.Hint, "audience mapper") {
		t.Fatalf("client not in aud: %+v", c)
	}
	if c := IntrospectionCheck(cx, inAud, inactive); c.Result != report.Fail {
		t.Fatalf("client in aud: %+v", c)
	}
	if c := IntrospectionCheck(cx, notInAud, tokenflow.Claims{"active": true}); c.Result != report.Pass {
		t.Fatalf("active: %+v", c)
	}
}

func TestStoredTokenHintNamesRevokeRefreshToken(t *testing.T) {
	refused := &tokenflow.Error{Status: 400, Code: "invalid_grant", Description: "Maximum allowed refresh token reuse exceeded"}
	c := StoredTokenCheck(Subject{ClientID: "c", Settings: &realmconf.Settings{RevokeRefreshToken: true}}, refused)
	if !c.Failed() || !strings.Contains(c.Hint, "Revoke Refresh Token") || !strings.Contains(c.Hint, "read: revokeRefreshToken true") ||
		!strings.Contains(c.Sent, "Maximum allowed refresh token reuse exceeded") {
		t.Fatalf("check = %+v", c)
	}
	if c := StoredTokenCheck(cx, nil); c.Failed() {
		t.Fatalf("a working stored token failed: %+v", c)
	}
	if c := TokenAnswer(Get, cx, errors.New("boom")); !c.Failed() || c.Sent != "boom" {
		t.Fatalf("TokenAnswer = %+v", c)
	}
}

func TestIdleTimeoutAgainstTheProfile(t *testing.T) {
	st := &realmconf.Settings{Realm: "r", ClientID: "c", OfflineSessionIdleTimeout: time.Hour}
	c := IdleTimeoutCheck(profile.Documented(), Subject{ClientID: "c", Settings: st})
	if !c.Failed() || !strings.Contains(c.Sent, "3600 s") || !strings.Contains(c.Hint, "offlineSessionIdleTimeout") {
		t.Fatalf("check = %+v", c)
	}
	st.OfflineSessionIdleTimeout = realmconf.DefaultOfflineSessionIdle
	if c := IdleTimeoutCheck(profile.Documented(), Subject{ClientID: "c", Settings: st}); c.Failed() || !strings.Contains(c.Sent, "30 days") {
		t.Fatalf("check = %+v", c)
	}
	st.ClientOfflineIdle = 600 * time.Second
	if c := IdleTimeoutCheck(profile.Documented(), Subject{ClientID: "c", Settings: st}); !c.Failed() || !strings.Contains(c.Hint, "client.offline.session.idle.timeout") {
		t.Fatalf("client override: %+v", c)
	}
}

// Every promise of the catalogue has a key, a title, a class, what it
// expects and a hint, each key and title once; every promise's check
// carries its identity.
func TestEveryPromiseHasAHint(t *testing.T) {
	keys, titles := map[string]bool{}, map[string]bool{}
	ids := Catalogue()
	if len(ids) == 0 {
		t.Fatal("an empty catalogue")
	}
	for _, id := range ids {
		p := id.Promise()
		if p.Key == "" || p.Title == "" || p.Class == "" || p.What == "" {
			t.Errorf("promise %d: incomplete entry %+v", id, p)
		}
		if keys[p.Key] || titles[p.Title] {
			t.Errorf("promise %q (%s): key or title used twice", p.Title, p.Key)
		}
		keys[p.Key], titles[p.Title] = true, true
		for _, sub := range []Subject{{}, {ClientID: "c", Settings: &realmconf.Settings{}}} {
			if id.Hint(sub) == "" {
				t.Errorf("promise %q has no hint", p.Title)
			}
		}
		c := id.Check(cx, "x", "y", false)
		if c.ID != p.Key || c.Promise != p.Title || c.Class != p.Class || c.Rank != int(id) || c.Hint == "" {
			t.Errorf("promise %q: its failed check is %+v", p.Title, c)
		}
	}
}

// A refused get is explained by the client's settings where they were read,
// else by the server's answer; a refused client authentication that nothing
// read explains is the run's to mend (credentials), never the server's.
func TestRefusalCause(t *testing.T) {
	unauthorized := &tokenflow.Error{Status: 401, Code: "unauthorized_client", Description: "Invalid client or Invalid client credentials"}
	jwtClient := &tokenflow.Error{Status: 400, Code: "invalid_client", Description: "Parameter client_assertion_type is missing"}
	noScope := &tokenflow.Error{Status: 400, Code: "invalid_scope", Description: "Invalid scopes: offline_access"}
	healthy := func() *realmconf.Settings {
		return &realmconf.Settings{Enabled: true, Authenticator: "client-secret", ServiceAccountsEnabled: true,
			OptionalScopes: []string{"offline_access"}, ServiceAccountRoles: []string{"offline_access"}}
	}
	for _, tc := range []struct {
		name        string
		err         error
		settings    func(*realmconf.Settings)
		want        string
		credentials bool
	}{
		{"wrong secret, client-only", unauthorized, nil, "check KC_CLIENT_ID and KC_CLIENT_SECRET first", true},
		{"jwt authenticator, client-only", jwtClient, nil, "authenticates with a signed JWT", false},
		{"no offline_access, client-only", noScope, nil, "the client scope offline_access must be assigned", false},
		{"disabled, audit", unauthorized, func(s *realmconf.Settings) { s.Enabled = false }, "is disabled (read with admin rights: enabled false", false},
		{"jwt authenticator, audit", jwtClient, func(s *realmconf.Settings) { s.Authenticator = "client-secret-jwt" }, "clientAuthenticatorType client-secret-jwt", false},
		{"public, audit", unauthorized, func(s *realmconf.Settings) { s.PublicClient = true }, "is public", false},
		{"secret differs, audit", unauthorized, func(s *realmconf.Settings) { s.SecretDiffers = true }, "KC_CLIENT_SECRET is not the secret of client c", true},
		{"no offline_access, audit", noScope, func(s *realmconf.Settings) { s.OptionalScopes = nil }, "read: default scopes [], optional scopes []", false},
		{"no role, audit", unauthorized, func(s *realmconf.Settings) { s.ServiceAccountRoles = nil }, "must hold the realm role offline_access", false},
		{"nothing read explains it, audit", unauthorized, func(*realmconf.Settings) {}, "check KC_CLIENT_ID and KC_CLIENT_SECRET first", true},
	} {
		sub := Subject{ClientID: "c"}
		if tc.settings != nil {
			sub.Settings = healthy()
			tc.settings(sub.Settings)
		}
		cause, ok := RefusalCause(tc.err, sub)
		if !ok || !strings.Contains(cause.Text, tc.want) || cause.Credentials != tc.credentials {
			t.Errorf("%s: cause %+v (ok %v), want %q, credentials %v", tc.name, cause, ok, tc.want, tc.credentials)
		}
	}
	if _, ok := RefusalCause(errors.New("dial tcp: refused"), cx); ok {
		t.Error("a transport error has an OAuth cause")
	}
	if c := TokenAnswer(Get, cx, jwtClient); !c.Root || !c.Failed() {
		t.Errorf("a refused get is not the root cause: %+v", c)
	}
	if c := TokenAnswer(Refresh, cx, jwtClient); c.Root {
		t.Errorf("a refused refresh is a root cause: %+v", c)
	}
}

// A client with offline_access as a default scope has no online token: the
// online extras do not apply, read or seen, and an online answer still
// holds them to it.
func TestOnlineExtrasNotApplicableWhereOfflineIsTheDefault(t *testing.T) {
	offline := response(t, map[string]any{"scope": "profile email offline_access"})
	online := response(t, map[string]any{"scope": "profile email", "refresh_expires_in": 1800, "refresh_token": jwt(map[string]any{"typ": "Refresh", "exp": 5})})
	read := Subject{ClientID: "c", Settings: &realmconf.Settings{DefaultScopes: []string{"profile", "offline_access"}}}
	for name, c := range map[string]struct {
		sub  Subject
		r    *tokenflow.Response
		want string
	}{
		"seen in the answer":  {cx, offline, "came back offline"},
		"read with admin":     {read, online, "offline_access as a default client scope"},
		"an online answer":    {cx, online, ""},
		"read, not a default": {Subject{ClientID: "c", Settings: &realmconf.Settings{OptionalScopes: []string{"offline_access"}}}, online, ""},
	} {
		for _, ch := range Online(c.sub, c.r) {
			switch {
			case c.want == "" && ch.Result != report.Pass:
				t.Errorf("%s: %s %s (%s)", name, ch.Promise, ch.Result, ch.Hint)
			case c.want != "" && (ch.Result != report.NotApplicable || !strings.Contains(ch.Hint, c.want)):
				t.Errorf("%s: %s %s, hint %q", name, ch.Promise, ch.Result, ch.Hint)
			}
		}
	}
}

// Each hint about the offline set-up is made from what was read: it names
// what is missing, never a set-up the settings show in place.
func TestScopeHintsFollowWhatWasRead(t *testing.T) {
	inPlace := func() *realmconf.Settings {
		return &realmconf.Settings{OptionalScopes: []string{"offline_access"}, ServiceAccountRoles: []string{"default-roles-r", "offline_access"},
			OfflineScopeFound: true, OfflineScopeInTokenScope: true}
	}
	assignAsk, roleAsk, includeAsk := "is not assigned to client", "does not hold the realm role offline_access", "include.in.token.scope \"false\""
	for name, c := range map[string]struct {
		change      func(s *realmconf.Settings)
		want, never []string
	}{
		"include.in.token.scope off": {func(s *realmconf.Settings) { s.OfflineScopeInTokenScope = false }, []string{includeAsk}, []string{assignAsk, roleAsk}},
		"assigned as default":        {func(s *realmconf.Settings) { s.OptionalScopes, s.DefaultScopes = nil, []string{"offline_access"} }, []string{"do not explain"}, []string{assignAsk, roleAsk, includeAsk}},
		"not assigned":               {func(s *realmconf.Settings) { s.OptionalScopes = nil }, []string{assignAsk}, []string{roleAsk, includeAsk}},
		// Effective roles: held through a composite or a group reads the same.
		"role held through a composite": {func(s *realmconf.Settings) {
			s.ServiceAccountRoles = []string{"default-roles-r", "offline_access", "uma_authorization"}
		}, []string{"do not explain"}, []string{assignAsk, roleAsk}},
		"role not held":       {func(s *realmconf.Settings) { s.ServiceAccountRoles = []string{"default-roles-r"} }, []string{roleAsk}, []string{assignAsk, includeAsk}},
		"everything in place": {func(*realmconf.Settings) {}, []string{"do not explain", "read next"}, []string{assignAsk, roleAsk, includeAsk}},
	} {
		s := inPlace()
		c.change(s)
		h := Scope.Hint(Subject{ClientID: "c", Settings: s})
		for _, w := range c.want {
			if !strings.Contains(h, w) {
				t.Errorf("%s: hint %q lacks %q", name, h, w)
			}
		}
		for _, n := range c.never {
			if strings.Contains(h, n) {
				t.Errorf("%s: hint %q asks for %q, which the settings show in place", name, h, n)
			}
		}
	}
	// Client-only: an offline token whose scope lacks offline_access.
	r := response(t, map[string]any{"scope": "profile email"})
	for _, ch := range Failed(Offline(profile.Documented(), cx, r)) {
		if ch.ID == "scope" && !strings.Contains(ch.Hint, "include.in.token.scope") {
			t.Errorf("client-only hint %q", ch.Hint)
		}
	}
	if len(Failed(Offline(profile.Documented(), cx, r))) == 0 {
		t.Error("a scope without offline_access passed")
	}
}

// The refresh-token switches, lightweight access tokens and how the role is
// held: each hint from recorded settings names what is off, never a switch
// the settings show on.
func TestDerivedHintsOfTheClientsSwitches(t *testing.T) {
	inPlace := func() *realmconf.Settings {
		return &realmconf.Settings{Enabled: true, Authenticator: "client-secret", ServiceAccountsEnabled: true,
			UseRefreshTokenForCC: true, UseRefreshTokens: true, OptionalScopes: []string{"offline_access"},
			ServiceAccountRoles: []string{"offline_access"}, OfflineRoleVia: "through group /holders", OfflineScopeFound: true, OfflineScopeInTokenScope: true}
	}
	ccAsk, refreshAsk, lightAsk := `client_credentials.use_refresh_token is "false"`, `use.refresh.tokens is "false"`, "has lightweight access tokens on"
	for name, c := range map[string]struct {
		id          ID
		change      func(s *realmconf.Settings)
		want, never []string
	}{
		"use_refresh_token off":             {RefreshToken, func(s *realmconf.Settings) { s.UseRefreshTokenForCC = false }, []string{ccAsk}, []string{refreshAsk, "do not explain"}},
		"use.refresh.tokens off":            {RefreshToken, func(s *realmconf.Settings) { s.UseRefreshTokens = false }, []string{refreshAsk}, []string{ccAsk}},
		"both off":                          {RefreshToken, func(s *realmconf.Settings) { s.UseRefreshTokens, s.UseRefreshTokenForCC = false, false }, []string{ccAsk, refreshAsk}, nil},
		"both on":                           {RefreshToken, func(*realmconf.Settings) {}, []string{"do not explain", "read next"}, []string{ccAsk, refreshAsk, "must be"}},
		"online, use_refresh_token off":     {OnlineRefreshToken, func(s *realmconf.Settings) { s.UseRefreshTokenForCC = false }, []string{ccAsk}, []string{refreshAsk}},
		"online typ, use_refresh_token off": {OnlineRefreshTyp, func(s *realmconf.Settings) { s.UseRefreshTokenForCC = false }, []string{ccAsk}, []string{"SSO Session"}},
		"online typ, switches on":           {OnlineRefreshTyp, func(*realmconf.Settings) {}, []string{"SSO Session"}, []string{ccAsk}},
		"azp, lightweight on":               {Azp, func(s *realmconf.Settings) { s.LightweightAccessToken = true }, []string{lightAsk, "lightweight access tokens true"}, nil},
		"azp, lightweight off":              {Azp, func(*realmconf.Settings) {}, []string{"issued to another client"}, []string{lightAsk}},
		"role held through a group":         {RefreshTyp, func(*realmconf.Settings) {}, []string{"offline_access held through group /holders", "do not explain"}, []string{"does not hold"}},
		"role not held at all":              {RefreshTyp, func(s *realmconf.Settings) { s.ServiceAccountRoles, s.OfflineRoleVia = nil, "not at all" }, []string{"does not hold the realm role offline_access", "held not at all"}, []string{"is not assigned"}},
		"role held directly, scope gone":    {RefreshTyp, func(s *realmconf.Settings) { s.OptionalScopes, s.OfflineRoleVia = nil, "directly" }, []string{"is not assigned to client c"}, []string{"does not hold"}},
		"no role for a refused get, read":   {NoRoleRefused, func(s *realmconf.Settings) { s.OfflineRoleVia = "through a composite role" }, []string{"held through a composite role"}, nil},
	} {
		s := inPlace()
		c.change(s)
		h := c.id.Hint(Subject{ClientID: "c", Settings: s})
		for _, w := range c.want {
			if !strings.Contains(h, w) {
				t.Errorf("%s: hint %q lacks %q", name, h, w)
			}
		}
		for _, n := range c.never {
			if strings.Contains(h, n) {
				t.Errorf("%s: hint %q has %q, which the settings show in place", name, h, n)
			}
		}
	}
	// Client-only (nothing read): the fixed text, which names both switches.
	if h := RefreshToken.Hint(cx); !strings.Contains(h, "client_credentials.use_refresh_token") || !strings.Contains(h, "use.refresh.tokens") {
		t.Errorf("client-only refresh_token hint %q", h)
	}
}
