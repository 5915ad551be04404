package process

import (
	"kcconform/pkg/keycloak"
	"strings"
	"testing"
)

// Before 25 there is no management port (no such option, health on the
// HTTP port), and the cache is chosen at build.
func TestArgumentsBefore25(t *testing.T) {
	old := jvmStart{version: "24.0.5", httpPort: 18080, managementPort: 19000}
	if args := strings.Join(old.args(), " "); strings.Contains(args, "--http-management-port") || strings.Contains(args, "--cache") {
		t.Errorf("24.0.5 args: %s", args)
	}
	if u := old.healthURL(); u != "http://127.0.0.1:18080/health/ready" {
		t.Errorf("24.0.5 health %s", u)
	}
	cur := jvmStart{version: "26.7.3", httpPort: 18080, managementPort: 19000}
	if args := strings.Join(cur.args(), " "); !strings.Contains(args, "--http-management-port=19000") || !strings.Contains(args, "--cache=local") || cur.healthURL() != "http://127.0.0.1:19000/health/ready" {
		t.Errorf("26.7.3: %s %s", args, cur.healthURL())
	}
}

func TestCacheIsABuildOptionBefore25(t *testing.T) {
	if got := strings.Join((&Process{cfg: keycloak.Config{Version: "24.0.5"}}).buildArgs(), " "); got != "--cache=local" {
		t.Errorf("24.0.5 build args %q", got)
	}
	if got := (&Process{cfg: keycloak.Config{Version: "26.7.3"}}).buildArgs(); len(got) != 0 {
		t.Errorf("26.7.3 build args %q", got)
	}
}
