package redact

import (
	"os"
	"strings"
	"testing"
)

func TestFingerprintsFindTheRunsOwnCredentials(t *testing.T) {
	dir := t.TempDir()
	r := NewRecording(NewSink(dir))
	secret := "Zq3-generated-admin-pw_x9"
	r.AddSecret(secret)
	chosen := "P@ss word!"
	r.AddSecret(chosen)
	r.AddToken(sampleJWT)
	fp, err := LoadFingerprints(dir)
	if err != nil || fp.Len() != 3 {
		t.Fatalf("fingerprints: %v, %d", err, fp.Len())
	}
	leaky := "password=" + secret + "&x\n{\"refresh_token\":\"" + sampleJWT + "\"} admin:" + chosen + ";"
	leaks := fp.Scan(leaky)
	if len(leaks) != 3 {
		t.Fatalf("found %+v, want both secrets and the token", leaks)
	}
	for _, l := range leaks {
		if strings.Contains(l.Fingerprint, secret) {
			t.Fatal("a leak report shows the secret")
		}
	}
	// Where a leak is shown: the text before it on its line, credentials masked.
	if got := leaks[1].Before(leaky, 60); got != `{"refresh_token":"` {
		t.Errorf("Before = %q, want the JSON key before the token", got)
	}
	if text := "line\npw " + secret + " end"; (Leak{Offset: len(text)}).Before(text, 60) != "pw … end" {
		t.Errorf("Before = %q, want the line with the credential masked", (Leak{Offset: len(text)}).Before(text, 60))
	}
	if got := fp.Scan(r.String(leaky)); len(got) != 0 {
		t.Fatalf("redacted text still leaks: %+v", got)
	}
	b, _ := os.ReadFile(dir + "/1.txt")
	if strings.Contains(string(b), secret) || strings.Contains(string(b), sampleJWT) {
		t.Fatal("the fingerprint file holds a credential in clear")
	}
}

// BenchmarkScan: the leak scan of `make test` reads every report; a MiB of
// report text must scan in well under a second.
func BenchmarkScan(b *testing.B) {
	fp := &Fingerprints{sums: map[[32]byte]string{{1}: "secret"}, lengths: []int{24, 32, 86}, anyLengths: nil}
	text := strings.Repeat(`{"promise":"refresh_expires_in","sent":"0","token":"eyJhbGci…[sha256:3f2a9c1b0d4e]"}`+"\n", 1<<20/90)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		fp.Scan(text)
	}
}
