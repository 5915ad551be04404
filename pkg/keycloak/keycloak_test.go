package keycloak

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kcconform/pkg/admin"
	"kcconform/pkg/versions"
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
	a := filepath.Join(dir, "keycloak-quarkus-dist-"+DefaultVersion+".tar.gz")
	must(t, os.WriteFile(a, []byte("hello\n"), 0o644))
	must(t, os.WriteFile(a+".sha1", []byte("f572d396fae9206628714fb2ce00f72e94f2258f\n"), 0o644)) // matches, but is not what counts
	err := (&Dist{Version: DefaultVersion, Archive: a}).Verify()
	if err == nil || !strings.Contains(err.Error(), "SHA-512 pinned in pkg/versions/dist.sha512") {
		t.Fatalf("err = %v, want a refusal naming the pinned SHA-512", err)
	}
}

func TestBootstrapAdminEnv(t *testing.T) {
	if got := BootstrapAdminEnv("26.7.3", "u", "p")[0]; !strings.HasPrefix(got, "KC_BOOTSTRAP_ADMIN_USERNAME=") {
		t.Fatal(got)
	}
	if got := BootstrapAdminEnv("25.0.6", "u", "p")[0]; !strings.HasPrefix(got, "KEYCLOAK_ADMIN=") {
		t.Fatal(got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// What crosses the channel between Ginkgo's parallel processes holds no
// secret: each process takes them from its own environment.
func TestInfoMarshalsNoSecret(t *testing.T) {
	i := Info{Target: TargetExternal, BaseURL: "https://gw/keycloak",
		Admin:  admin.Credentials{Username: "admin", Password: "admin-password-1", ClientID: "c", ClientSecret: "admin-client-secret-1"},
		Client: &ExistingClient{Realm: "shasta", ClientID: "my-test-client", Secret: "client-secret-1"}}
	b := string(i.Marshal())
	for _, secret := range []string{"admin-password-1", "admin-client-secret-1", "client-secret-1"} {
		if strings.Contains(b, secret) {
			t.Errorf("Marshal holds %q: %s", secret, b)
		}
	}
	if i.Client.Secret != "client-secret-1" || i.Admin.Password != "admin-password-1" {
		t.Fatal("Marshal changed the Info it was called on")
	}
	back, err := UnmarshalInfo([]byte(b))
	if err != nil || back.BaseURL != i.BaseURL || back.Client.ClientID != "my-test-client" {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}
