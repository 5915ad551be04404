// Package tokenflowtest makes token answers shaped like Keycloak's, for the
// unit tests of the packages that judge them. Never used against a server.
package tokenflowtest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"kcconform/pkg/tokenflow"
)

// JWT returns an unsigned JWT-shaped string carrying claims: tokenflow.Parse
// only decodes payloads (signatures are checked against the server's keys).
func JWT(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	e := base64.RawURLEncoding.EncodeToString
	return e([]byte(`{"alg":"none"}`)) + "." + e(b) + "." + e([]byte("a-signature-of-some-length"))
}

// Response returns the procedure's example answer, parsed, with Keycloak's
// RFC 6749 §5.1 headers. fields override its fields; a nil value removes one.
func Response(t testing.TB, fields map[string]any) *tokenflow.Response {
	t.Helper()
	body := map[string]any{
		"access_token":  JWT(map[string]any{"exp": 1031536000, "iat": 1000000000, "azp": "my-test-client"}),
		"refresh_token": JWT(map[string]any{"typ": "Offline"}),
		"expires_in":    31536000, "refresh_expires_in": 0, "token_type": "Bearer", "scope": "profile offline_access",
		"not-before-policy": 0,
	}
	for k, v := range fields {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	r, err := tokenflow.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	r.Header = http.Header{"Cache-Control": {"no-store"}, "Pragma": {"no-cache"}, "Content-Type": {"application/json"}}
	return r
}
