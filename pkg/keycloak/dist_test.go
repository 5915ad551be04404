package keycloak

import (
	"context"
	"crypto/sha1" //nolint:gosec // the repository's checksum format
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// Where Maven is absent the fetcher downloads from KC_MAVEN_REPO_URL and
// checks the published SHA-1; a tampered artifact is refused and not cached.
func TestFetchDistDirectDownload(t *testing.T) {
	artifact := []byte("not really a tar.gz, but bytes with a checksum")
	sum := sha1.Sum(artifact) //nolint:gosec
	tamper := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const base = "/maven2/org/keycloak/keycloak-quarkus-dist/9.9.9/keycloak-quarkus-dist-9.9.9.tar.gz"
		switch r.URL.Path {
		case base:
			if tamper {
				_, _ = w.Write(append([]byte("evil "), artifact...))
				return
			}
			_, _ = w.Write(artifact)
		case base + ".sha1":
			_, _ = w.Write([]byte(hex.EncodeToString(sum[:])))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	t.Setenv("PATH", "") // no mvn
	env := func(k string) string {
		if k == "KC_MAVEN_REPO_URL" {
			return srv.URL + "/maven2/"
		}
		return ""
	}

	tamper = true
	cache := t.TempDir()
	if _, err := FetchDist(context.Background(), "9.9.9", cache, env); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("tampered artifact: err = %v, want a refusal", err)
	}
	tamper = false
	d, err := FetchDist(context.Background(), "9.9.9", cache, env)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(d.Archive); string(b) != string(artifact) {
		t.Fatal("cached archive differs from the artifact")
	}
	if _, err := FetchDist(context.Background(), "9.9.9", cache, func(string) string { return "" }); err != nil {
		t.Fatalf("second fetch should use the cache: %v", err)
	}
}

func TestFetchDistWithoutMavenNamesTheSetting(t *testing.T) {
	t.Setenv("PATH", "")
	_, err := FetchDist(context.Background(), "9.9.9", t.TempDir(), func(string) string { return "" })
	if err == nil || !strings.HasPrefix(err.Error(), "KC_MAVEN_REPO_URL:") {
		t.Fatalf("err = %v", err)
	}
}
