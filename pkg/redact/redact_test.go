package redact

import (
	"strings"
	"testing"
)

const sampleJWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZXJ2aWNlLWFjY291bnQifQ.c2lnbmF0dXJlLWJ5dGVz"

func TestTokenKeepsPrefixAndFingerprint(t *testing.T) {
	got := Token(sampleJWT)
	if strings.Contains(got, sampleJWT) || !strings.HasPrefix(got, sampleJWT[:8]) || !strings.Contains(got, "sha256:") {
		t.Fatalf("Token(jwt) = %q, want prefix plus fingerprint and not the token", got)
	}
	if Token(sampleJWT) == Token(sampleJWT+"x") {
		t.Fatal("two different tokens must have different fingerprints")
	}
	if Token("") != "<empty>" {
		t.Fatalf("Token(\"\") = %q", Token(""))
	}
	if short := Token("abcdef"); strings.Contains(short, "abcdef") {
		t.Fatalf("a short token is shown in clear: %q", short)
	}
}

func TestStringRedactsRegisteredAndUnregistered(t *testing.T) {
	r := New()
	r.AddSecret("s3cr3t-value")
	r.AddToken("opaque-refresh-token-123")
	in := "secret=s3cr3t-value rt=opaque-refresh-token-123 at=" + sampleJWT
	out := r.String(in)
	for _, leak := range []string{"s3cr3t-value", "opaque-refresh-token-123", sampleJWT} {
		if strings.Contains(out, leak) {
			t.Fatalf("String left %q in %q", leak, out)
		}
	}
	if !strings.Contains(out, "secret=***") {
		t.Fatalf("secret not shown as ***: %q", out)
	}
}

func TestJSONRedactsCredentialFields(t *testing.T) {
	r := New()
	out := r.JSON([]byte(`{"access_token":"aaaaaaaaaaaaaaaaaaaaaaaa","refresh_token":"bbbbbbbbbbbbbbbbbbbbbbbbbb","client_secret":"ccc","nested":[{"password":"ddd"}],"expires_in":1}`))
	for _, leak := range []string{"aaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbb", `"ccc"`, `"ddd"`} {
		if strings.Contains(out, leak) {
			t.Fatalf("JSON left %s in %s", leak, out)
		}
	}
	if !strings.Contains(out, `"expires_in":1`) {
		t.Fatalf("JSON lost a plain field: %s", out)
	}
	if got := r.JSON([]byte("not json " + sampleJWT)); strings.Contains(got, sampleJWT) {
		t.Fatalf("non-JSON body kept a token: %s", got)
	}
}

func BenchmarkString(b *testing.B) {
	r := New()
	for i := 0; i < 20; i++ {
		r.AddToken(strings.Repeat(string(rune('a'+i)), 40))
	}
	line := strings.Repeat("2026-11-27 INFO some server log line without credentials ", 20) + sampleJWT
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = r.String(line)
	}
}
