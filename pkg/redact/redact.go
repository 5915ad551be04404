// Package redact is the one place where kcconform turns credentials into text
// that is safe to print. Every output path (failure messages, report entries,
// logs, replay commands) goes through it.
//
// An offline refresh token never expires, so a leaked one is a standing
// credential. Tokens are therefore shown as their first characters plus a short
// SHA-256 fingerprint: two tokens can be told apart, neither can be used.
// Client secrets and passwords are shown as "***".
package redact

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Secret is what a client secret or password is replaced with.
const Secret = "***"

// prefixLen is how many leading characters of a token are shown. A JWT starts
// with its base64url header, which carries nothing secret.
const prefixLen = 8

// Token returns the printable form of a token: its first characters and a
// fingerprint, for example "eyJhbGci…[sha256:3f2a9c1b0d4e]".
func Token(tok string) string {
	if tok == "" {
		return "<empty>"
	}
	sum := sha256.Sum256([]byte(tok))
	fp := hex.EncodeToString(sum[:6])
	if len(tok) <= prefixLen*2 {
		// Too short to show a prefix without showing most of it.
		return "[sha256:" + fp + "]"
	}
	return tok[:prefixLen] + "…[sha256:" + fp + "]"
}

// jwtPattern matches anything shaped like a compact JWS or JWE, so tokens that
// were never registered (for example in a server's error page) are caught too.
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)?`)

// tokenKeys and secretKeys name JSON fields whose values are credentials.
var (
	tokenKeys  = map[string]bool{"access_token": true, "refresh_token": true, "id_token": true, "token": true}
	secretKeys = map[string]bool{"client_secret": true, "secret": true, "password": true, "value": true, "clientSecret": true}
)

// Redactor replaces known credentials in text. It is safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	tokens  map[string]bool
	secrets map[string]bool
}

// Default is the process-wide redactor: whatever a flow or launcher learns
// (generated passwords, client secrets, tokens) is registered here.
var Default = New()

// New returns an empty Redactor.
func New() *Redactor {
	return &Redactor{tokens: map[string]bool{}, secrets: map[string]bool{}}
}

// minSecretLen keeps a redactor from blanking out ordinary words.
const minSecretLen = 4

// AddToken registers a token; later output shows it as Token(tok).
func (r *Redactor) AddToken(tok string) {
	if len(tok) < minSecretLen {
		return
	}
	r.mu.Lock()
	known := r.tokens[tok]
	r.tokens[tok] = true
	r.mu.Unlock()
	if !known {
		record("token", tok)
	}
}

// AddSecret registers a client secret or password; later output shows "***".
func (r *Redactor) AddSecret(s string) {
	if len(s) < minSecretLen {
		return
	}
	r.mu.Lock()
	known := r.secrets[s]
	r.secrets[s] = true
	r.mu.Unlock()
	if !known {
		record("secret", s)
	}
}

// String returns s with every registered credential and every JWT-shaped
// string replaced.
func (r *Redactor) String(s string) string {
	r.mu.RLock()
	toks := keys(r.tokens)
	secs := keys(r.secrets)
	r.mu.RUnlock()
	// Longest first, so a secret that contains another is replaced whole.
	for _, t := range toks {
		if strings.Contains(s, t) {
			s = strings.ReplaceAll(s, t, Token(t))
		}
	}
	for _, t := range secs {
		s = strings.ReplaceAll(s, t, Secret)
	}
	return jwtPattern.ReplaceAllStringFunc(s, Token)
}

// JSON returns a JSON body with credential fields replaced, re-encoded
// compactly. A body that is not JSON is redacted as text.
func (r *Redactor) JSON(body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return r.String(string(body))
	}
	out, err := json.Marshal(redactValue(v))
	if err != nil {
		return r.String(string(body))
	}
	return r.String(string(out))
}

func redactValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			s, isString := val.(string)
			switch {
			case isString && tokenKeys[k]:
				x[k] = Token(s)
			case isString && secretKeys[k]:
				x[k] = Secret
			default:
				x[k] = redactValue(val)
			}
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactValue(x[i])
		}
		return x
	default:
		return v
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// String redacts s with the Default redactor.
func String(s string) string { return Default.String(s) }

// JSON redacts a JSON body with the Default redactor.
func JSON(body []byte) string { return Default.JSON(body) }
