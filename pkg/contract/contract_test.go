package contract

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"kcconform/pkg/profile"
	"kcconform/pkg/tokenflow"
)

func jwt(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	e := base64.RawURLEncoding.EncodeToString
	return e([]byte(`{"alg":"none"}`)) + "." + e(b) + ".c2ln"
}

func response(t *testing.T, fields map[string]any) *tokenflow.Response {
	t.Helper()
	body := map[string]any{
		"access_token":  jwt(map[string]any{"exp": 1031536000, "iat": 1000000000, "azp": "my-test-client"}),
		"refresh_token": jwt(map[string]any{"typ": "Offline"}),
		"expires_in":    31536000, "refresh_expires_in": 0, "token_type": "Bearer", "scope": "profile offline_access",
	}
	for k, v := range fields {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	r, err := tokenflow.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOfflineKeptByTheProceduresExample(t *testing.T) {
	if failed := Failed(Offline(profile.Documented(), "my-test-client", response(t, nil))); len(failed) != 0 {
		t.Fatalf("failed: %+v", failed)
	}
}

func TestOfflineNamesTheBrokenPromise(t *testing.T) {
	r := response(t, map[string]any{"refresh_expires_in": 1800, "refresh_token": jwt(map[string]any{"typ": "Refresh", "exp": 5})})
	var msgs []string
	for _, c := range Failed(Offline(profile.Documented(), "my-test-client", r)) {
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
	for _, c := range Failed(Offline(profile.Documented(), "my-test-client", r)) {
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
		for _, c := range Failed(Offline(profile.Documented(), "my-test-client", r)) {
			if c.Promise == "expires_in" {
				ok = false
			}
		}
		if ok != pass {
			t.Errorf("expires_in %d: pass %v, want %v", sent, ok, pass)
		}
	}
}
