package redact

import (
	"fmt"
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

// BenchmarkString: a run registers hundreds of tokens; redacting an answer
// must not grow with them.
func BenchmarkString(b *testing.B) {
	r := New()
	for i := 0; i < 1000; i++ {
		r.AddToken(fmt.Sprintf("eyJhbGciOiJIUzUxMiJ9.eyJqdGkiOiIl%08d.signature-%08d", i, i*7))
	}
	line := strings.Repeat("2026-11-27 INFO some server log line without credentials ", 20) + sampleJWT
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = r.String(line)
	}
}

func TestStringRedactsEncodedForms(t *testing.T) {
	r := New()
	secret := `p@ss/w"rd&x=1 +z`
	r.AddSecret(secret)
	for _, form := range encodings(secret) {
		if out := r.String("before " + form + " after"); strings.Contains(out, form) {
			t.Errorf("the form %q is left in %q", form, out)
		}
	}
}

func TestHarvestRegistersCredentialsOfAnyShape(t *testing.T) {
	r := New()
	// Opaque tokens, a wrong-typed field, a nested value: all under
	// credential keys, none JWT-shaped.
	body := []byte(`{"access_token":"opaque-access-0123456789","refresh_token":31536000123,"id_token":{"x":["opaque-id-token-abc"]},"expires_in":"31536000","scope":"offline_access"}`)
	r.Harvest(body)
	out := r.String(string(body))
	for _, leak := range []string{"opaque-access-0123456789", "31536000123", "opaque-id-token-abc"} {
		if strings.Contains(out, leak) {
			t.Errorf("Harvest missed %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, `"expires_in":"31536000"`) || !strings.Contains(out, "offline_access") {
		t.Errorf("Harvest redacted what is not a credential: %s", out)
	}
	form := New()
	form.Harvest([]byte("grant_type=refresh_token&client_id=c&client_secret=form-secret-1&refresh_token=form-token-123"))
	if out := form.String("form-secret-1 form-token-123"); strings.Contains(out, "form-secret-1") || strings.Contains(out, "form-token-123") {
		t.Errorf("Harvest of a form body missed a credential: %s", out)
	}
}

func TestJSONAndFormRedactEveryShape(t *testing.T) {
	r := New()
	out := r.JSON([]byte(`{"refresh_token":123456789,"client_secret":{"k":"nested-secret"},"token":["a-b-c-d-e"]}`))
	for _, leak := range []string{"123456789", "nested-secret", "a-b-c-d-e"} {
		if strings.Contains(out, leak) {
			t.Errorf("JSON left %q in %s", leak, out)
		}
	}
	f := r.Form([]byte("client_id=my-test-client&client_secret=form-secret&refresh_token=rt-value-12345"))
	if strings.Contains(f, "form-secret") || strings.Contains(f, "rt-value-12345") || !strings.Contains(f, "client_id=my-test-client") {
		t.Errorf("Form = %s", f)
	}
}

func TestBodyIsCutWithItsSize(t *testing.T) {
	r := New()
	big := []byte(strings.Repeat("x", 1<<20))
	out := r.Body(big)
	if len(out) > MaxShown+100 || !strings.Contains(out, "[cut: 1048576 bytes in all]") {
		t.Fatalf("Body of 1 MiB: %d bytes shown, ends %q", len(out), out[len(out)-40:])
	}
	if small := r.Body([]byte(`{"error":"invalid_grant"}`)); small != `{"error":"invalid_grant"}` {
		t.Fatalf("Body of a small JSON = %q", small)
	}
}
