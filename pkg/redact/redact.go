// Package redact turns credentials into text that is safe to print. Every
// output path of kcconform (failure messages, report entries, server logs,
// replay commands) goes through a Redactor, which is passed explicitly: one
// per run, filled by whatever learns a credential.
//
// An offline refresh token never expires, so a leaked one is a standing
// credential. Tokens are therefore shown as their first characters plus a
// short SHA-256 fingerprint: two tokens can be told apart, neither can be
// used. Client secrets and passwords are shown as "***".
package redact

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Secret is what a client secret or password is replaced with.
const Secret = "***"

// prefixLen is how many leading characters of a token are shown. A JWT starts
// with its base64url header, which carries nothing secret.
const prefixLen = 8

// MaxShown is the most of a body any output shows; the rest is cut, and the
// cut says how large the body was.
const MaxShown = 4 << 10

// Token returns the printable form of a token: its first characters and a
// fingerprint, for example "eyJhbGci…[sha256:3f2a9c1b0d4e]".
func Token(tok string) string {
	if tok == "" {
		return "<empty>"
	}
	sum := sha256.Sum256([]byte(tok))
	fp := hex.EncodeToString(sum[:6])
	if len(tok) <= prefixLen*2 || !isWord([]byte(tok[:prefixLen])) {
		// Too short to show a prefix without showing most of it, or a prefix
		// that is not plainly a token's.
		return "[sha256:" + fp + "]"
	}
	return tok[:prefixLen] + "…[sha256:" + fp + "]"
}

// jwtPattern matches anything shaped like a compact JWS or JWE, so tokens that
// were never registered (for example in a server's error page) are caught too.
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)?`)

// tokenKeys and secretKeys name the fields (JSON or form) whose values are
// credentials, whatever their shape.
var (
	tokenKeys = map[string]bool{"access_token": true, "refresh_token": true, "id_token": true, "token": true,
		"device_code": true, "code": true, "assertion": true, "client_assertion": true, "subject_token": true}
	secretKeys = map[string]bool{"client_secret": true, "secret": true, "password": true, "value": true,
		"clientSecret": true, "adminPassword": true}
)

// IsCredentialKey reports whether a JSON or form field of this name carries
// a credential.
func IsCredentialKey(k string) bool { return tokenKeys[k] || secretKeys[k] }

// minSecretLen keeps a redactor from blanking out ordinary words.
const minSecretLen = 4

// Redactor replaces known credentials in text. It is safe for concurrent use.
type Redactor struct {
	mu sync.RWMutex
	// forms maps every form a credential can take in text (as sent, JSON
	// string-escaped, URL-encoded) to what replaces it.
	forms map[string]string
	// byTail indexes the forms of keyLen bytes or more by their last
	// keyLen bytes, so that String finds them in one pass over the text,
	// however many are registered (a run registers hundreds of tokens).
	byTail map[string][]string
	// short is the shorter forms, longest first; nil when they changed. A
	// built slice is never changed, so it can be read without the lock.
	short      []replacement
	shortDirty bool
	// sink records the fingerprints of the credentials learnt (nil: none).
	sink *Sink
}

// keyLen is the length of the byTail keys.
const keyLen = 8

type replacement struct{ form, shown string }

// New returns an empty Redactor.
func New() *Redactor {
	return &Redactor{forms: map[string]string{}, byTail: map[string][]string{}}
}

// NewRecording returns an empty Redactor that records the fingerprint of
// every credential it learns in sink (a run's leak scan looks for them).
func NewRecording(sink *Sink) *Redactor {
	r := New()
	r.sink = sink
	return r
}

// AddToken registers a token; later output shows it as Token(tok).
func (r *Redactor) AddToken(tok string) { r.add("token", tok, Token(tok)) }

// AddSecret registers a client secret or password; later output shows "***".
func (r *Redactor) AddSecret(s string) { r.add("secret", s, Secret) }

func (r *Redactor) add(kind, s, shown string) {
	if r == nil || len(s) < minSecretLen {
		return
	}
	r.mu.Lock()
	_, known := r.forms[s]
	if !known {
		for _, f := range encodings(s) {
			if len(f) < minSecretLen {
				continue
			}
			if _, dup := r.forms[f]; !dup && len(f) >= keyLen {
				tail := f[len(f)-keyLen:]
				r.byTail[tail] = append(r.byTail[tail], f)
			}
			if len(f) < keyLen {
				r.shortDirty = true
			}
			r.forms[f] = shown
		}
	}
	r.mu.Unlock()
	if !known {
		r.sink.record(kind, s)
	}
}

// encodings are the forms a credential takes in text: as it is, escaped in a
// JSON string, and URL-encoded (query and path).
func encodings(s string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	add(s)
	for _, html := range []bool{true, false} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(html)
		if enc.Encode(s) == nil {
			js := strings.TrimSuffix(buf.String(), "\n")
			js = js[1 : len(js)-1]
			add(js)
			add(strings.ReplaceAll(js, "/", `\/`))
		}
	}
	add(url.QueryEscape(s))
	add(url.PathEscape(s))
	add(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"))
	return out
}

// String returns s with every registered credential, in any of its forms,
// and every JWT-shaped string replaced.
func (r *Redactor) String(s string) string {
	// A replacement can complete a credential with the text around it
	// ("a" + "a***" gives "a***" again): repeat until nothing changes. A
	// secret's replacement is shorter than the secret, so this ends; the
	// bound only guards against contrived tokens.
	for pass, limit := 0, len(s)+4; pass < limit; pass++ { // limit: of the text as given, not as it shrinks
		before := s
		if r != nil {
			s = r.replaceLong(s)
			for _, f := range r.shortForms() {
				if strings.Contains(s, f.form) {
					s = strings.ReplaceAll(s, f.form, f.shown)
				}
			}
		}
		s = jwtPattern.ReplaceAllStringFunc(s, Token)
		if s == before {
			break
		}
	}
	return s
}

// replaceLong replaces the forms of keyLen bytes or more: at every end
// position of the text, the forms whose tail is the keyLen bytes before it
// are candidates; the longest match wins, and matches do not overlap.
func (r *Redactor) replaceLong(s string) string {
	type match struct {
		start, end int
		shown      string
	}
	var found []match
	r.mu.RLock()
	for end := keyLen; end <= len(s); end++ {
		cands := r.byTail[s[end-keyLen:end]]
		for _, f := range cands {
			if start := end - len(f); start >= 0 && s[start:end] == f {
				found = append(found, match{start, end, r.forms[f]})
			}
		}
	}
	r.mu.RUnlock()
	if len(found) == 0 {
		return s
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].start != found[j].start {
			return found[i].start < found[j].start
		}
		return found[i].end > found[j].end
	})
	var b strings.Builder
	at := 0
	for _, m := range found {
		if m.start < at {
			continue // inside a longer match already replaced
		}
		b.WriteString(s[at:m.start])
		b.WriteString(m.shown)
		at = m.end
	}
	b.WriteString(s[at:])
	return b.String()
}

// shortForms returns the forms shorter than keyLen, longest first.
func (r *Redactor) shortForms() []replacement {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shortDirty || r.short == nil {
		short := []replacement{}
		for f, shown := range r.forms {
			if len(f) < keyLen {
				short = append(short, replacement{f, shown})
			}
		}
		// Longest first, so a credential that contains another is replaced whole.
		sort.Slice(short, func(i, j int) bool { return len(short[i].form) > len(short[j].form) })
		r.short, r.shortDirty = short, false
	}
	return r.short
}

// Harvest registers every credential a JSON or form body carries: any value
// of 8 characters or more under a credential-bearing key, whatever its shape
// (a string, a number, an object's leaves). Call it on an answer that
// carries credentials (a token endpoint's) before anything parses or checks
// it.
func (r *Redactor) Harvest(body []byte) {
	if v, ok := decodeJSON(body); ok {
		walk(v, "", func(key, text string) {
			r.register(key, text)
		})
		return
	}
	if form, ok := parseForm(body); ok {
		for k, vs := range form {
			for _, v := range vs {
				r.register(k, v)
			}
		}
	}
}

// minHarvestLen is the shortest value Harvest takes for a credential: a
// token or a secret is long, and a "true" under a key named value is not
// one.
const minHarvestLen = 8

func (r *Redactor) register(key, text string) {
	if len(text) < minHarvestLen || text == "true" || text == "false" {
		return
	}
	switch {
	case tokenKeys[key]:
		r.AddToken(text)
	case secretKeys[key]:
		r.AddSecret(text)
	}
}

// walk calls leaf for every scalar under a credential key, with that key.
func walk(v any, key string, leaf func(key, text string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if IsCredentialKey(k) {
				walk(val, k, leaf)
			} else {
				walk(val, key, leaf)
			}
		}
	case []any:
		for _, val := range x {
			walk(val, key, leaf)
		}
	case nil:
	default:
		if key != "" {
			leaf(key, scalarText(x))
		}
	}
}

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// JSON returns a JSON body with every credential field's value replaced,
// whatever its shape, re-encoded compactly. A body that is not JSON is
// redacted as text.
func (r *Redactor) JSON(body []byte) string {
	v, ok := decodeJSON(body)
	if !ok {
		return r.String(string(body))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(redactValue(v)); err != nil {
		return r.String(string(body))
	}
	return r.String(strings.TrimSuffix(buf.String(), "\n"))
}

// Form returns an application/x-www-form-urlencoded body with every
// credential field's value replaced.
func (r *Redactor) Form(body []byte) string {
	form, ok := parseForm(body)
	if !ok {
		return r.String(string(body))
	}
	for k, vs := range form {
		for i, v := range vs {
			switch {
			case tokenKeys[k]:
				vs[i] = Token(v)
			case secretKeys[k]:
				vs[i] = Secret
			}
		}
	}
	return r.String(form.Encode())
}

// Body returns any response or request body fit to show: field-aware
// redaction of JSON and form bodies, text redaction otherwise, cut to
// MaxShown with the body's size stated.
func (r *Redactor) Body(body []byte) string {
	var s string
	switch {
	case json.Valid(bytes.TrimSpace(body)):
		s = r.JSON(body)
	case looksLikeForm(body):
		s = r.Form(body)
	default:
		s = r.String(string(body))
	}
	return Cut(s, len(body))
}

// Cut shortens already redacted text to MaxShown bytes, saying how large the
// original (size bytes) was.
func Cut(s string, size int) string {
	if len(s) <= MaxShown {
		return s
	}
	end := MaxShown
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return fmt.Sprintf("%s… [cut: %d bytes in all]", s[:end], size)
}

func redactValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			switch {
			case tokenKeys[k]:
				x[k] = redactLeaves(val, Token)
			case secretKeys[k]:
				x[k] = redactLeaves(val, func(string) string { return Secret })
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

// redactLeaves replaces every scalar of v (a credential field's value of
// any shape) by how it is shown.
func redactLeaves(v any, show func(string) string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			x[k] = redactLeaves(val, show)
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactLeaves(x[i], show)
		}
		return x
	case nil:
		return nil
	default:
		return show(scalarText(x))
	}
}

func decodeJSON(body []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	return v, true
}

// looksLikeForm reports whether a body is shaped like name=value pairs.
func looksLikeForm(body []byte) bool {
	b := bytes.TrimSpace(body)
	return len(b) > 0 && bytes.IndexByte(b, '=') > 0 && bytes.IndexAny(b, " \t\r\n{<\"") < 0
}

func parseForm(body []byte) (url.Values, bool) {
	if !looksLikeForm(body) {
		return nil, false
	}
	form, err := url.ParseQuery(string(bytes.TrimSpace(body)))
	if err != nil || len(form) == 0 {
		return nil, false
	}
	return form, true
}
