package dist

import (
	"kcconform/pkg/versions"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionsAndJava(t *testing.T) {
	if versions.Compare("26.4.7", "26.10.0") >= 0 || versions.Compare("26.7.3", "26.7.3") != 0 || versions.Compare("26.6.0", "26.5.6") <= 0 {
		t.Fatal("CompareVersions orders wrongly")
	}
	if got := SupportedJavaMajors("26.7.3"); !containsInt(got, 25) {
		t.Fatalf("26.7.3 supports %v, want 25 among them", got)
	}
	if got := SupportedJavaMajors("26.4.7"); containsInt(got, 25) {
		t.Fatalf("26.4.7 supports %v, want no 25", got)
	}
}

func TestFindJDKRefusesUnsupportedJavaHome(t *testing.T) {
	home := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(home, "bin"), 0o755))
	must(t, os.WriteFile(filepath.Join(home, "bin", "java"), nil, 0o755))
	must(t, os.WriteFile(filepath.Join(home, "release"), []byte(`JAVA_VERSION="11.0.2"`+"\n"), 0o644))
	_, err := FindJDK("26.7.3", home)
	if err == nil || !strings.Contains(err.Error(), "JAVA_HOME") || !strings.Contains(err.Error(), "Java 11") {
		t.Fatalf("err = %v", err)
	}
}

func TestVerifyRefusesAlteredArchive(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "keycloak-quarkus-dist-1.0.0.tar.gz")
	must(t, os.WriteFile(a, []byte("hello\n"), 0o644))
	must(t, os.WriteFile(a+".sha1", []byte("f572d396fae9206628714fb2ce00f72e94f2258f\n"), 0o644))
	d := &Dist{Version: "1.0.0", Archive: a}
	if err := d.Verify(); err != nil {
		t.Fatalf("good archive refused: %v", err)
	}
	must(t, os.WriteFile(a, []byte("hellO\n"), 0o644))
	if err := d.Verify(); err == nil || !strings.Contains(err.Error(), "refusing") || !strings.Contains(err.Error(), "no checksum of 1.0.0 is pinned") {
		t.Fatalf("altered archive accepted: %v", err)
	}
}

// A version the project names is checked against the SHA-512 pinned in the
// repository, whatever checksum file lies next to it.
func TestVerifyUsesThePinnedSHA512(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "keycloak-quarkus-dist-"+versions.Default+".tar.gz")
	must(t, os.WriteFile(a, []byte("hello\n"), 0o644))
	must(t, os.WriteFile(a+".sha1", []byte("f572d396fae9206628714fb2ce00f72e94f2258f\n"), 0o644)) // matches, but is not what counts
	err := (&Dist{Version: versions.Default, Archive: a}).Verify()
	if err == nil || !strings.Contains(err.Error(), "SHA-512 pinned in pkg/versions/dist.sha512") {
		t.Fatalf("err = %v, want a refusal naming the pinned SHA-512", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
