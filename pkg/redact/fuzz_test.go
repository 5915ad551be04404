package redact

import (
	"strings"
	"testing"
)

// FuzzRedact: a registered secret never appears in redacted text, whatever
// surrounds it and in whichever form it is written (as is, JSON-escaped,
// URL-encoded).
func FuzzRedact(f *testing.F) {
	f.Add("s3cr3t-value", "password=", "&x", byte(0))
	f.Add(`p@ss/w"rd`, `{"password":"`, `"}`, byte(1))
	f.Add("a***", "a", "", byte(0))
	f.Add("with space+plus", "client_secret=", "", byte(3))
	f.Fuzz(func(t *testing.T, secret, before, after string, form byte) {
		if len(secret) < minSecretLen {
			return
		}
		r := New()
		r.AddSecret(secret)
		forms := encodings(secret)
		text := before + forms[int(form)%len(forms)] + after
		out := r.String(text)
		for _, f := range forms {
			if len(f) >= minSecretLen && strings.Contains(out, f) {
				t.Fatalf("secret %q (form %q) left in %q (from %q)", secret, f, out, text)
			}
		}
	})
}
