package tokenflow_test

import (
	"encoding/json"
	"strings"
	"testing"

	"kcconform/pkg/redact"
	"kcconform/pkg/tokenflow"
)

// seedBodies are token responses as servers send them, and as broken or
// hostile ones might.
func seedBodies() []string {
	good, _ := json.Marshal(goodBody())
	return []string{
		string(good),
		`{"error":"invalid_grant","error_description":"Invalid refresh token"}`,
		`{"access_token":"a.b.c","expires_in":"31536000"}`,
		`{"access_token":"eyJhbGciOiJub25lIn0.eyJleHAiOjF9.c2ln","scope":42}`,
		`{"access_token":"x.e30.y","refresh_expires_in":-1,"not-before-policy":1e99}`,
		`{"access_token":"x.bnVsbA.y"}`,
		`{"access_token":`, ``, `[]`, `null`, `{"a":1}{"b":2}`,
	}
}

// FuzzParse: the token-response parser never panics, and what it accepts is
// consistent: an access token with decoded claims, never shown in clear by
// Redacted.
func FuzzParse(f *testing.F) {
	for _, s := range seedBodies() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := tokenflow.Parse(body)
		if err != nil {
			if r != nil {
				t.Fatal("a response together with an error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if r.AccessToken == "" || r.AccessClaims == nil {
			t.Fatalf("accepted a response without a decodable access token: %q", body)
		}
		if r.RefreshToken != "" && r.RefreshClaims == nil {
			t.Fatal("accepted a refresh token without claims")
		}
		red := redact.New()
		red.Harvest(body)
		if shown := red.Body(body); len(r.AccessToken) >= 16 && strings.Contains(shown, r.AccessToken) {
			t.Fatalf("the body shown holds the access token: %s", shown)
		}
	})
}

// FuzzDecodeJWT: claim decoding never panics and accepts only JSON objects.
func FuzzDecodeJWT(f *testing.F) {
	for _, s := range []string{
		jwtWith(map[string]any{"typ": "Offline", "iat": 1, "sid": "x"}),
		"a.b.c", "..", "a.e30.c", "a.bnVsbA.c", "a.W10.c", "a.eyJ.c", "eyJhbGciOiJIUzUxMiJ9.eyJleHAiOiIxIn0.", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := tokenflow.DecodeJWT(tok)
		if err == nil && c == nil {
			t.Fatalf("no error and no claims for %q", tok)
		}
		if err != nil && c != nil {
			t.Fatal("claims together with an error")
		}
		if err == nil {
			c.Int("exp")
			c.String("typ")
		}
	})
}
