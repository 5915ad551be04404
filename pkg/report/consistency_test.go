package report

import (
	"strings"
	"testing"
)

func TestHintContradictions(t *testing.T) {
	settings := Settings{Realm: "r", ClientID: "c", Lines: []string{
		"client scopes: default [profile email] optional [offline_access]",
		"client scope offline_access: include.in.token.scope false",
		"service account realm roles: [default-roles-r offline_access]",
		"client c: client_credentials.use_refresh_token true, use.refresh.tokens true, audience mapper for itself true",
	}}
	row := func(hint string, asIntended bool) Row {
		return Row{Step: "get", Check: Check{Promise: "scope", Hint: hint, Result: Fail}, AsIntended: asIntended}
	}
	static := "the client scope offline_access must be assigned to the client (Clients → c → Client scopes → Add client scope → offline_access, Optional) and the service account must hold the realm role offline_access"
	derived := `the client scope offline_access has "Include in token scope" off (include.in.token.scope "false"; Client scopes → offline_access → Settings → Include in token scope): the token is offline all the same; read: default scopes [] optional [offline_access]`
	r := &Run{Settings: []Settings{settings}, Rows: []Row{row(static, false), row(derived, false), row(static, true),
		row(`client_credentials.use_refresh_token must be "true" (Clients → other → Advanced)`, false)}}
	got := r.HintContradictions()
	if len(got) != 2 || !strings.Contains(got[0], "offline_access assigned") || !strings.Contains(got[1], "role offline_access held") {
		t.Fatalf("got %q", got)
	}
	// The read values a hint quotes are no request.
	r.Rows = []Row{row(`x; read: client_credentials.use_refresh_token must be "true" for client c `, false)}
	if got := r.HintContradictions(); len(got) != 0 {
		t.Fatalf("read values counted as a request: %q", got)
	}
	// The role line names how offline_access is held: "not at all" is no role.
	settings.Lines[2] = "service account realm roles: [default-roles-r] (offline_access: not at all)"
	r = &Run{Settings: []Settings{settings}, Rows: []Row{row("the service account of c does not hold the realm role offline_access", false)}}
	if got := r.HintContradictions(); len(got) != 0 {
		t.Fatalf("a role held not at all read as in place: %q", got)
	}
	// The refresh-token switches and lightweight tokens.
	settings.Lines[3] = "client c: client_credentials.use_refresh_token true, use.refresh.tokens true, lightweight access tokens false, audience mapper for itself true"
	for _, h := range []string{`client attribute use.refresh.tokens is "false" (Clients → c → Advanced)`, `client attribute client_credentials.use_refresh_token is "false" (Clients → c → Advanced)`, "client c has lightweight access tokens on (…)"} {
		r = &Run{Settings: []Settings{settings}, Rows: []Row{row(h, false)}}
		if got := r.HintContradictions(); len(got) != 1 {
			t.Errorf("hint %q against %q: %q", h, settings.Lines[3], got)
		}
	}
	disabled := Settings{ClientID: "c", Lines: []string{"client c: enabled true, publicClient false, clientAuthenticatorType client-secret, serviceAccountsEnabled true"}}
	r = &Run{Settings: []Settings{disabled}, Rows: []Row{row("client c is disabled (read with admin rights: enabled false)", false)}}
	if got := r.HintContradictions(); len(got) != 1 {
		t.Errorf("a disabled hint against an enabled client: %q", got)
	}
	// A hint about include.in.token.scope where the settings show it on.
	settings.Lines[1] = "client scope offline_access: include.in.token.scope true"
	r = &Run{Settings: []Settings{settings}, Rows: []Row{row(`client c: include.in.token.scope "false" is off`, false)}}
	if got := r.HintContradictions(); len(got) != 1 || !strings.Contains(got[0], "Include in token scope on") {
		t.Fatalf("got %q", got)
	}
}
