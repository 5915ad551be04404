package keycloak

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnvNamesTheBadSetting(t *testing.T) {
	cases := map[string]map[string]string{
		"KC_TARGET":         {"KC_TARGET": "vm"},
		"KC_VERSION":        {"KC_TARGET": "process", "KC_VERSION": "latest"},
		"KC_TIMEOUT":        {"KC_TARGET": "process", "KC_TIMEOUT": "soon"},
		"KC_URL":            {"KC_TARGET": "external"},
		"KC_REALM":          {"KC_TARGET": "external", "KC_URL": "https://gw/keycloak"},
		"KC_CLIENT_SECRET":  {"KC_TARGET": "external", "KC_URL": "https://gw/keycloak", "KC_REALM": "shasta", "KC_CLIENT_ID": "my-test-client"},
		"KC_ADMIN_PASSWORD": {"KC_TARGET": "external", "KC_URL": "https://gw/keycloak", "KC_ADMIN_USER": "admin"},
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
	if c.URL != "https://gw.example/keycloak" || c.Client == nil || c.Client.Realm != "shasta" {
		t.Fatalf("config = %+v", c)
	}
}

func TestVersionsAndJava(t *testing.T) {
	if compareVersions("26.4.7", "26.10.0") >= 0 || compareVersions("26.7.3", "26.7.3") != 0 || compareVersions("26.6.0", "26.5.6") <= 0 {
		t.Fatal("compareVersions orders wrongly")
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

func TestVerifySHA1RefusesAlteredArchive(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "keycloak-quarkus-dist-1.0.0.tar.gz")
	must(t, os.WriteFile(a, []byte("hello\n"), 0o644))
	must(t, os.WriteFile(a+".sha1", []byte("f572d396fae9206628714fb2ce00f72e94f2258f\n"), 0o644))
	if err := verifySHA1(a); err != nil {
		t.Fatalf("good archive refused: %v", err)
	}
	must(t, os.WriteFile(a, []byte("hellO\n"), 0o644))
	if err := verifySHA1(a); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("altered archive accepted: %v", err)
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
