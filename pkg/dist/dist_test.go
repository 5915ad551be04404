package dist

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha1" //nolint:gosec // the repository's checksum format
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	repo := srv.URL + "/maven2/"

	tamper = true
	cache := t.TempDir()
	if _, err := Fetch(context.Background(), "9.9.9", cache, repo); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("tampered artifact: err = %v, want a refusal", err)
	}
	tamper = false
	d, err := Fetch(context.Background(), "9.9.9", cache, repo)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(d.Archive); string(b) != string(artifact) {
		t.Fatal("cached archive differs from the artifact")
	}
	if _, err := Fetch(context.Background(), "9.9.9", cache, ""); err != nil {
		t.Fatalf("second fetch should use the cache: %v", err)
	}
}

func TestFetchDistWithoutMavenNamesTheSetting(t *testing.T) {
	t.Setenv("PATH", "")
	_, err := Fetch(context.Background(), "9.9.9", t.TempDir(), "")
	if err == nil || !strings.HasPrefix(err.Error(), "KC_MAVEN_REPO_URL:") {
		t.Fatalf("err = %v", err)
	}
}

// writeTarGz writes an archive of the given entries (under a top folder).
func writeTarGz(t *testing.T, entries []*tar.Header) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.tar.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len("data"))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte("data"))
		}
	}
	tw.Close()
	gz.Close()
	f.Close()
	return path
}

// Extraction refuses every entry that reaches outside its folder.
func TestExtractRefusesEscapes(t *testing.T) {
	cases := map[string]*tar.Header{
		"dot-dot":           {Name: "kc/../../evil", Typeflag: tar.TypeReg, Mode: 0o644},
		"absolute":          {Name: "/etc/evil", Typeflag: tar.TypeReg, Mode: 0o644},
		"symlink outside":   {Name: "kc/lib/evil", Typeflag: tar.TypeSymlink, Linkname: "../../../../etc"},
		"absolute symlink":  {Name: "kc/lib/evil", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		"hard link outside": {Name: "kc/lib/evil", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"},
	}
	for name, h := range cases {
		dir := filepath.Join(t.TempDir(), "out")
		archive := writeTarGz(t, []*tar.Header{{Name: "kc/", Typeflag: tar.TypeDir, Mode: 0o755}, h})
		err := Extract(archive, dir)
		if err == nil || !strings.Contains(err.Error(), "refusing an archive that reaches outside its folder") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	dir := filepath.Join(t.TempDir(), "out")
	good := writeTarGz(t, []*tar.Header{
		{Name: "kc/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "kc/bin/kc.sh", Typeflag: tar.TypeReg, Mode: 0o755},
		{Name: "kc/bin/link", Typeflag: tar.TypeSymlink, Linkname: "kc.sh"},
		{Name: "kc/bin/hard", Typeflag: tar.TypeLink, Linkname: "kc/bin/kc.sh"},
	})
	if err := Extract(good, dir); err != nil {
		t.Fatalf("a good archive was refused: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "bin", "hard")); err != nil || string(b) != "data" {
		t.Fatalf("hard link: %q %v", b, err)
	}
}
