package tokenflow

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"kcconform/pkg/redact"
)

// Response is a token endpoint's answer as the server sent it. Numeric
// fields are pointers so that "absent" and "0" differ: refresh_expires_in
// missing is not the same promise as refresh_expires_in 0.
type Response struct {
	Status int
	// Header is the answer's HTTP header (RFC 6749 §5.1 asks for
	// Cache-Control: no-store and Pragma: no-cache).
	Header           http.Header
	AccessToken      string
	RefreshToken     string
	TokenType        string
	Scope            string
	SessionState     string
	ExpiresIn        *int64
	RefreshExpiresIn *int64
	NotBeforePolicy  *int64

	// AccessClaims and RefreshClaims are the tokens' decoded payloads
	// (unverified; see Client.VerifyAccessToken).
	AccessClaims  Claims
	RefreshClaims Claims

	// Request is what was sent; Replay is the curl command that sends it again.
	Request Request
	Replay  string
	// Shown is the body as sent, redacted and cut, fit for any output.
	Shown string

	raw map[string]json.RawMessage
}

// Has reports whether the server sent field at all.
func (r *Response) Has(field string) bool {
	_, ok := r.raw[field]
	return ok
}

// Redacted is the response body as sent, with every credential redacted.
func (r *Response) Redacted() string { return r.Shown }

// ScopeValues splits the space-separated scope.
func (r *Response) ScopeValues() []string { return strings.Fields(r.Scope) }

// Parse decodes a token response strictly: every field the procedure names
// must have the JSON type RFC 6749 gives it, or the error names the field,
// what was expected and what was sent.
func Parse(body []byte) (*Response, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("token response: empty body, expected a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := jsonUnmarshal(body, &raw); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("token response: truncated JSON body (%d bytes)", len(body))
		}
		return nil, fmt.Errorf("token response: expected a JSON object, got %s", describeJSON(body))
	}
	r := &Response{raw: raw}
	strs := []struct {
		name string
		dst  *string
	}{
		{"access_token", &r.AccessToken}, {"refresh_token", &r.RefreshToken}, {"token_type", &r.TokenType},
		{"scope", &r.Scope}, {"session_state", &r.SessionState},
	}
	for _, f := range strs {
		if err := stringField(raw, f.name, f.dst); err != nil {
			return nil, err
		}
	}
	nums := []struct {
		name string
		dst  **int64
	}{
		{"expires_in", &r.ExpiresIn}, {"refresh_expires_in", &r.RefreshExpiresIn}, {"not-before-policy", &r.NotBeforePolicy},
	}
	for _, f := range nums {
		if err := intField(raw, f.name, f.dst); err != nil {
			return nil, err
		}
	}
	if r.AccessToken == "" {
		return nil, errors.New("token response: access_token: expected a non-empty string, the server sent none")
	}
	var err error
	if r.AccessClaims, err = DecodeJWT(r.AccessToken); err != nil {
		return nil, fmt.Errorf("token response: access_token: %w", err)
	}
	if r.RefreshToken != "" {
		if r.RefreshClaims, err = DecodeJWT(r.RefreshToken); err != nil {
			return nil, fmt.Errorf("token response: refresh_token: %w", err)
		}
	}
	return r, nil
}

func stringField(raw map[string]json.RawMessage, name string, dst *string) error {
	v, ok := raw[name]
	if !ok || string(v) == "null" {
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("token response: %s: expected a string, got %s", name, describeField(name, v))
	}
	return nil
}

func intField(raw map[string]json.RawMessage, name string, dst **int64) error {
	v, ok := raw[name]
	if !ok || string(v) == "null" {
		return nil
	}
	var n int64
	if err := json.Unmarshal(v, &n); err != nil {
		return fmt.Errorf("token response: %s: expected a whole number of seconds, got %s", name, describeField(name, v))
	}
	*dst = &n
	return nil
}

// describeField describes a field's value; a credential's value is named by
// its type only.
func describeField(name string, v []byte) string {
	if redact.IsCredentialKey(name) {
		return jsonKind(v) + " (not shown: a credential field)"
	}
	return describeJSON(v)
}

// jsonKind names a JSON value's type.
func jsonKind(v []byte) string {
	t := bytes.TrimSpace(v)
	kind := "text that is not JSON"
	if json.Valid(t) && len(t) > 0 {
		switch t[0] {
		case '"':
			kind = "a string"
		case '{':
			kind = "an object"
		case '[':
			kind = "an array"
		case 't', 'f':
			kind = "a boolean"
		case 'n':
			kind = "null"
		default:
			kind = "a number"
		}
	}
	return kind
}

// describeJSON names a JSON value's type and shows a short sample (one line;
// callers redact the text they show).
func describeJSON(v []byte) string {
	t := bytes.TrimSpace(v)
	kind := jsonKind(v)
	// One line: the cause is printed in a single line of a report.
	sample := strings.Join(strings.Fields(redact.New().String(string(t))), " ")
	if r := []rune(sample); len(r) > 60 {
		sample = string(r[:60]) + "…"
	}
	return fmt.Sprintf("%s %s", kind, sample)
}

func jsonUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// Claims is a JWT payload.
type Claims map[string]any

// Int returns a numeric claim.
func (c Claims) Int(name string) (int64, bool) {
	n, ok := c[name].(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

// String returns a string claim.
func (c Claims) String(name string) (string, bool) {
	s, ok := c[name].(string)
	return s, ok
}

// DecodeJWT decodes a compact JWT's payload without verifying it. Keycloak's
// refresh tokens are signed with a realm-internal HMAC key that no client can
// verify; access tokens are verified separately against the JWKS.
func DecodeJWT(tok string) (Claims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("expected a JWT of three dot-separated parts, got %d part(s)", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("JWT payload: expected base64url: %w", err)
	}
	c, err := decodeClaims(payload)
	if err != nil {
		return nil, fmt.Errorf("JWT payload: %w", err)
	}
	return c, nil
}

func decodeClaims(b []byte) (Claims, error) {
	var c Claims
	if err := jsonUnmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("expected a JSON object of claims, got %s", describeJSON(b))
	}
	if c == nil {
		return nil, errors.New("expected a JSON object of claims, got null")
	}
	return c, nil
}
