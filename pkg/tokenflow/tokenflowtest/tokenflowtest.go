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

// Body returns the procedure's example answer as a JSON object. fields
// override its fields; a nil value removes one.
func Body(fields map[string]any) map[string]any {
	body := map[string]any{
		"access_token":       JWT(map[string]any{"exp": 1031536000, "iat": 1000000000, "azp": "my-test-client"}),
		"refresh_token":      JWT(map[string]any{"typ": "Offline", "iat": 1000000000}),
		"expires_in":         31536000,
		"refresh_expires_in": 0,
		"token_type":         "Bearer",
		"not-before-policy":  0,
		"session_state":      "abc",
		"scope":              "profile offline_access",
	}
	for k, v := range fields {
		if v == nil {
			delete(body, k)
		} else {
			body[k] = v
		}
	}
	return body
}

// Response returns Body(fields), parsed, with Keycloak's RFC 6749 §5.1
// headers.
func Response(t testing.TB, fields map[string]any) *tokenflow.Response {
	t.Helper()
	b, _ := json.Marshal(Body(fields))
	r, err := tokenflow.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	r.Header = http.Header{"Cache-Control": {"no-store"}, "Pragma": {"no-cache"}, "Content-Type": {"application/json"}}
	return r
}
