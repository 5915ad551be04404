package settings

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"kcconform/pkg/keycloak"
)

func env(m map[string]string) Lookup { return func(k string) string { return m[k] } }

// server parses every setting and returns the target's configuration.
func server(get Lookup) (keycloak.Config, error) {
	s, err := Parse(get)
	return s.Server, err
}

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
		_, err := server(env(m))
		if err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("%s: err = %v, want one starting with the field's name", field, err)
		}
	}
}

func TestFromEnvExternalKeepsPathPrefix(t *testing.T) {
	c, err := server(env(map[string]string{"KC_TARGET": "external", "KC_URL": "https://gw.example/keycloak/",
		"KC_REALM": "shasta", "KC_CLIENT_ID": "my-test-client", "KC_CLIENT_SECRET": "x", "KC_CACHE_DIR": t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != "https://gw.example/keycloak" || c.Client == nil || c.Client.Realm != "shasta" || c.Mode() != keycloak.ModeClientOnly {
		t.Fatalf("config = %+v", c)
	}
}

// KC_TIMEOUT beyond what a duration holds is refused, not wrapped around
// to a negative deadline.
func TestDurationsDoNotOverflow(t *testing.T) {
	_, err := server(env(map[string]string{"KC_TARGET": "process", "KC_TIMEOUT": "9223372037", "KC_CACHE_DIR": t.TempDir()}))
	if err == nil || !strings.HasPrefix(err.Error(), "KC_TIMEOUT:") {
		t.Fatalf("err = %v", err)
	}
	c, err := server(env(map[string]string{"KC_TARGET": "process", "KC_TIMEOUT": "90", "KC_BOOT_TIMEOUT": "5m", "KC_CACHE_DIR": t.TempDir()}))
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
		_, err := server(env(m))
		if err == nil || !strings.HasPrefix(err.Error(), "KC_URL:") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want one naming KC_URL and %q", url, err, want)
		}
	}
	for _, url := range []string{"http://127.0.0.1:8080", "http://localhost:8080/keycloak", "http://[::1]:8080"} {
		m := map[string]string{"KC_URL": url, "KC_CACHE_DIR": t.TempDir()}
		for k, v := range admin {
			m[k] = v
		}
		if _, err := server(env(m)); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}
	m := map[string]string{"KC_URL": "http://kc.example.invalid", "KC_ALLOW_PLAIN_HTTP": "true", "KC_CACHE_DIR": t.TempDir()}
	for k, v := range admin {
		m[k] = v
	}
	if c, err := server(env(m)); err != nil || c.Mode() != keycloak.ModeProvisioned {
		t.Fatalf("allowed plain http: %v", err)
	}
}

func TestAuditModeNeedsNoSecret(t *testing.T) {
	c, err := server(env(map[string]string{"KC_TARGET": "external", "KC_URL": "https://gw/keycloak", "KC_ADMIN_USER": "admin",
		"KC_ADMIN_PASSWORD": "pw", "KC_REALM": "shasta", "KC_CLIENT_ID": "my-test-client", "KC_CACHE_DIR": t.TempDir()}))
	if err != nil || c.Mode() != keycloak.ModeAudit {
		t.Fatalf("mode %q, err %v", c.Mode(), err)
	}
}

func TestDocumentedIsTheProcedure(t *testing.T) {
	p, err := parseProfile(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if p.ExpiresIn != 31536000 || p.RefreshExpiresIn != 0 || p.TokenType != "bearer" || p.ScopeContains[0] != "offline_access" {
		t.Fatalf("documented profile = %+v", p)
	}
}

func TestOverrides(t *testing.T) {
	p, err := parseProfile(env(map[string]string{"KC_EXPECT_EXPIRES_IN": "300", "KC_EXPECT_REFRESH_EXPIRES_IN": "2592000", "KC_EXPECT_SCOPE": "offline_access,email"}))
	if err != nil {
		t.Fatal(err)
	}
	if p.ExpiresIn != 300 || p.RefreshExpiresIn != 2592000 || len(p.ScopeContains) != 2 {
		t.Fatalf("overrides not applied: %+v", p)
	}
}

func TestBadSettingsNameTheField(t *testing.T) {
	cases := map[string]map[string]string{
		"KC_PROFILE":                 {"KC_PROFILE": "nope"},
		"KC_EXPECT_EXPIRES_IN":       {"KC_EXPECT_EXPIRES_IN": "one year"},
		"KC_EXPECT_TOKEN_TYPE_EXACT": {"KC_EXPECT_TOKEN_TYPE_EXACT": "maybe"},
	}
	for field, m := range cases {
		_, err := parseProfile(env(m))
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: err = %v, want one naming the field", field, err)
		}
	}
}

// KC_CLUSTER_URLS names an external cluster's nodes: at least two, each a
// base URL checked as KC_URL is, and only for the external target.
func TestClusterURLs(t *testing.T) {
	base := map[string]string{"KC_TARGET": "external", "KC_URL": "https://gw/keycloak", "KC_ADMIN_USER": "admin", "KC_ADMIN_PASSWORD": "pw"}
	with := func(v string) map[string]string {
		m := map[string]string{"KC_CLUSTER_URLS": v, "KC_CACHE_DIR": t.TempDir()}
		for k, x := range base {
			m[k] = x
		}
		return m
	}
	c, err := server(env(with("https://n1:8443/, https://n2:8443")))
	if err != nil || len(c.ClusterURLs) != 2 || c.ClusterURLs[0] != "https://n1:8443" {
		t.Fatalf("nodes %v, %v", c.ClusterURLs, err)
	}
	for v, want := range map[string]string{"https://n1:8443": "at least 2 nodes", "https://n1,http://n2.example": "KC_ALLOW_PLAIN_HTTP"} {
		if _, err := server(env(with(v))); err == nil || !strings.HasPrefix(err.Error(), "KC_CLUSTER_URLS:") || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v", v, err)
		}
	}
	if _, err := server(env(map[string]string{"KC_TARGET": "process", "KC_CLUSTER_URLS": "https://a,https://b", "KC_CACHE_DIR": t.TempDir()})); err == nil || !strings.HasPrefix(err.Error(), "KC_CLUSTER_URLS: only for KC_TARGET=external") {
		t.Errorf("process target: %v", err)
	}
}

// The cluster suite's rate and upgrade version are checked, naming the
// variable.
func TestClusterLoadAndUpgrade(t *testing.T) {
	base := map[string]string{"KC_TARGET": "process", "KC_CACHE_DIR": t.TempDir()}
	with := func(k, v string) Lookup {
		m := map[string]string{k: v}
		for x, y := range base {
			m[x] = y
		}
		return func(key string) string { return m[key] }
	}
	s, err := Parse(with("KC_CLUSTER_UPGRADE_TO", "26.7.3"))
	if err != nil || s.ClusterUpgradeTo != "26.7.3" || s.ClusterRate != 10 {
		t.Fatalf("%+v %v", s.ClusterUpgradeTo, err)
	}
	for k, v := range map[string]string{"KC_CLUSTER_RATE": "0", "KC_CLUSTER_UPGRADE_TO": "latest"} {
		if _, err := Parse(with(k, v)); err == nil || !strings.HasPrefix(err.Error(), k+": expected") {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
	base["KC_TARGET"] = "container"
	if _, err := Parse(with("KC_CLUSTER_UPGRADE_TO", "26.7.3")); err == nil || !strings.Contains(err.Error(), "needs KC_TARGET=process") {
		t.Errorf("container target: %v", err)
	}
}

// KC_UPGRADE_VIA is a path between FROM and TO, ascending.
func TestUpgradeVia(t *testing.T) {
	lookup := func(via string) Lookup {
		m := map[string]string{"KC_TARGET": "process", "KC_CACHE_DIR": t.TempDir(), "KC_UPGRADE_FROM": "24.0.5", "KC_UPGRADE_TO": "26.7.3", "KC_UPGRADE_VIA": via}
		return func(k string) string { return m[k] }
	}
	s, err := Parse(lookup("25.0.6, 26.0.8"))
	if err != nil || strings.Join(s.UpgradeVia, " ") != "25.0.6 26.0.8" {
		t.Fatalf("%v %v", s.UpgradeVia, err)
	}
	for _, bad := range []string{"26.0.8,25.0.6", "24.0.5", "26.7.3", "later"} {
		if _, err := Parse(lookup(bad)); err == nil || !strings.HasPrefix(err.Error(), "KC_UPGRADE_VIA: expected") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// docs/settings.md is generated from Table: it must not drift.
func TestSettingsDocIsTheTable(t *testing.T) {
	b, err := os.ReadFile("../../docs/settings.md")
	if err != nil {
		t.Fatalf("docs/settings.md: %v (make docs writes it)", err)
	}
	if string(b) != Markdown() {
		t.Fatal("docs/settings.md differs from pkg/settings's table: run make docs")
	}
	for _, s := range Table {
		if !strings.Contains(string(b), "`"+s.Env+"`") {
			t.Errorf("docs/settings.md lacks %s", s.Env)
		}
	}
}

// Reading settings links no launcher or container stack: package target is
// a leaf, and so is what the leak scan builds on.
func TestSettingsLinkNoContainerStack(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".", "../../scripts/leakscan").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.Contains(p, "docker") || strings.Contains(p, "moby") || strings.Contains(p, "testcontainers") || p == "kcconform/pkg/keycloak" {
			t.Errorf("pkg/settings or the leak scan links %s", p)
		}
	}
}
