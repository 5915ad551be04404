package matchers

import (
	"strings"
	"testing"

	"kcconform/pkg/contract"
	"kcconform/pkg/profile"
	"kcconform/pkg/tokenflow"
	"kcconform/pkg/tokenflow/tokenflowtest"
)

// response is the procedure's example answer with refresh_expires_in n.
func response(t *testing.T, n int) *tokenflow.Response {
	return tokenflowtest.Response(t, map[string]any{"refresh_expires_in": n})
}

func TestKeepOfflinePromises(t *testing.T) {
	m := KeepOfflinePromises(profile.Documented(), contract.Subject{ClientID: "my-test-client"})
	if ok, err := m.Match(response(t, 0)); !ok || err != nil {
		t.Fatalf("the procedure's own example failed: %v %v", ok, err)
	}
	r := response(t, 1800)
	if ok, _ := m.Match(r); ok {
		t.Fatal("refresh_expires_in 1800 kept the contract")
	}
	msg := m.FailureMessage(r)
	if !strings.Contains(msg, "expected refresh_expires_in 0 (offline refresh tokens do not expire), server sent 1800") {
		t.Fatalf("message: %s", msg)
	}
	if strings.Contains(msg, r.AccessToken) || strings.Contains(msg, r.RefreshToken) {
		t.Fatalf("a token in clear in the message: %s", msg)
	}
}

func TestFailWithOAuthError(t *testing.T) {
	m := FailWithOAuthError(400, "invalid_grant")
	if ok, _ := m.Match(&tokenflow.Error{Status: 400, Code: "invalid_grant"}); !ok {
		t.Fatal("the expected refusal did not match")
	}
	if ok, _ := m.Match(&tokenflow.Error{Status: 401, Code: "unauthorized_client"}); ok {
		t.Fatal("another refusal matched")
	}
	if ok, _ := m.Match(nil); ok {
		t.Fatal("a token (no error) matched a refusal")
	}
	if msg := m.FailureMessage(nil); !strings.Contains(msg, "server sent a token (HTTP 200)") {
		t.Fatalf("message: %s", msg)
	}
}
