package keycloak

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kcconform/pkg/admin"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnvNamesTheBadSetting(t *testing.T) {
	cases := map[string]map[string]string{
		"KC_TARGET":            {"KC_TARGET": "vm"},
		"KC_VERSION":           {"KC_TARGET": "process", "KC_VERSION": "latest"},
		"KC_TIMEOUT":           {"KC_TARGET": "process", "KC_TIMEOUT": "soon"},
		"KC_URL":               {"KC_TARGET": "external"},
		"KC_REALM":             {"KC_TARGET": "external", "KC_URL": "https://gw/keycloak"},
		"KC_CLIENT_SECRET":     {"KC_TARGET": "external", "KC_URL": "https://gw/keycloak", "KC_REALM": "shasta", "KC_CLIENT_ID": "my-test-client"},
		"KC_ADMIN_PASSWORD":    {"KC_TARGET": "external", "KC_URL": "https://gw/keycloak", "KC_ADMIN_USER": "admin"},
		"KC_BOOT_TIMEOUT":      {"KC_TARGET": "process", "KC_BOOT_TIMEOUT": "9223372037"},
		"KC_EXPECT_EXPIRES_IN": {"KC_TARGET": "process", "KC_EXPECT_EXPIRES_IN": "-3"},
		"KC_RUN_ID":            {"KC_TARGET": "process", "KC_RUN_ID": "Bad/Id"},
		"KC_CA_FILE":           {"KC_TARGET": "process", "KC_CA_FILE": "/nonexistent/ca.pem"},
	}
	for field, m := range cases {
		m["KC_CACHE_DIR"] = t.TempDir()
		_, err := FromEnv(env(m))
		if err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("%s: err = %v, want one starting with the field's name", field, err)
		}
	}
}

func TestFromEnvExternalKeepsPathPrefix(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"KC_TARGET": "external", "KC_URL": "https://gw.example/keycloak/",
		"KC_REALM": "shasta", "KC_CLIENT_ID": "my-test-client", "KC_CLIENT_SECRET": "x", "KC_CACHE_DIR": t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != "https://gw.example/keycloak" || c.Client == nil || c.Client.Realm != "shasta" || c.Mode() != ModeClientOnly {
		t.Fatalf("config = %+v", c)
	}
}

// KC_TIMEOUT beyond what a duration holds is refused, not wrapped around
// to a negative deadline.
func TestDurationsDoNotOverflow(t *testing.T) {
	_, err := FromEnv(env(map[string]string{"KC_TARGET": "process", "KC_TIMEOUT": "9223372037", "KC_CACHE_DIR": t.TempDir()}))
	if err == nil || !strings.HasPrefix(err.Error(), "KC_TIMEOUT:") {
		t.Fatalf("err = %v", err)
	}
	c, err := FromEnv(env(map[string]string{"KC_TARGET": "process", "KC_TIMEOUT": "90", "KC_BOOT_TIMEOUT": "5m", "KC_CACHE_DIR": t.TempDir()}))
	if err != nil || c.Timeout.Seconds() != 90 || c.BootTimeout.Minutes() != 5 {
		t.Fatalf("c = %+v, err = %v", c, err)
	}
}

// Credentials never go over plain http to a host that is not loopback,
// unless KC_ALLOW_PLAIN_HTTP says so; a URL with user info, a query or a
// fragment is refused.
func TestExternalURLIsCheckedBeforeAnyRequest(t *testing.T) {
	admin := map[string]string{"KC_TARGET": "external", "KC_ADMIN_USER": "admin", "KC_ADMIN_PASSWORD": "pw"}
	for url, want := range map[string]string{
		"http://kc.example.invalid":        "KC_ALLOW_PLAIN_HTTP",
		"https://user:pw@kc.example/":      "user info",
		"https://kc.example/keycloak?x=1":  "query",
		"https://kc.example/keycloak#frag": "fragment",
		"ftp://kc.example":                 "http or https",
	} {
		m := map[string]string{"KC_URL": url, "KC_CACHE_DIR": t.TempDir()}
		for k, v := range admin {
			m[k] = v
		}
		_, err := FromEnv(env(m))
		if err == nil || !strings.HasPrefix(err.Error(), "KC_URL:") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want one naming KC_URL and %q", url, err, want)
		}
	}
	for _, url := range []string{"http://127.0.0.1:8080", "http://localhost:8080/keycloak", "http://[::1]:8080"} {
		m := map[string]string{"KC_URL": url, "KC_CACHE_DIR": t.TempDir()}
		for k, v := range admin {
			m[k] = v
		}
		if _, err := FromEnv(env(m)); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}
	m := map[string]string{"KC_URL": "http://kc.example.invalid", "KC_ALLOW_PLAIN_HTTP": "true", "KC_CACHE_DIR": t.TempDir()}
	for k, v := range admin {
		m[k] = v
	}
	if c, err := FromEnv(env(m)); err != nil || c.Mode() != ModeProvisioned {
		t.Fatalf("allowed plain http: %v", err)
	}
}

func TestAuditModeNeedsNoSecret(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"KC_TARGET": "external", "KC_URL": "https://gw/keycloak", "KC_ADMIN_USER": "admin",
		"KC_ADMIN_PASSWORD": "pw", "KC_REALM": "shasta", "KC_CLIENT_ID": "my-test-client", "KC_CACHE_DIR": t.TempDir()}))
	if err != nil || c.Mode() != ModeAudit {
		t.Fatalf("mode %q, err %v", c.Mode(), err)
	}
}

func TestVersionsAndJava(t *testing.T) {
	if CompareVersions("26.4.7", "26.10.0") >= 0 || CompareVersions("26.7.3", "26.7.3") != 0 || CompareVersions("26.6.0", "26.5.6") <= 0 {
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
