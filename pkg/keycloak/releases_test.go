package keycloak

import (
	"kcconform/pkg/versions"
	"strings"
	"testing"
)

// What differs between release lines comes from the table: a version of a
// line takes its settings, one kcconform has not run says whose it takes.
func TestReleaseOf(t *testing.T) {
	r, note := ReleaseOf("24.0.5")
	if note != "" || r.ManagementPort || r.AdminUserEnv != "KEYCLOAK_ADMIN" || r.JDBCPing {
		t.Errorf("24.0.5: %+v %q", r, note)
	}
	if r, note := ReleaseOf("26.7.3"); note != "" || !r.ManagementPort || r.AdminUserEnv != "KC_BOOTSTRAP_ADMIN_USERNAME" || r.Java[0] != 21 {
		t.Errorf("26.7.3: %+v %q", r, note)
	}
	if r, note := ReleaseOf("27.0.0"); r.Since != "26.6.0" || !strings.Contains(note, "Keycloak 27.0.0 is not a version kcconform has run") || !strings.Contains(note, "tried with the settings of 26.6.0 and later") {
		t.Errorf("27.0.0: %+v %q", r, note)
	}
	if r, note := ReleaseOf("21.1.2"); r.Since != "22.0.0" || !strings.Contains(note, "older than any line kcconform knows") {
		t.Errorf("21.1.2: %+v %q", r, note)
	}
	// Lines in order, each with the versions run.
	for i, x := range releases {
		if len(x.Run) == 0 || len(x.Java) == 0 || (i > 0 && versions.Compare(releases[i-1].Since, x.Since) >= 0) {
			t.Errorf("line %s: %+v", x.Since, x)
		}
	}
}

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
	if got := strings.Join((&Process{cfg: Config{Version: "24.0.5"}}).buildArgs(), " "); got != "--cache=local" {
		t.Errorf("24.0.5 build args %q", got)
	}
	if got := (&Process{cfg: Config{Version: "26.7.3"}}).buildArgs(); len(got) != 0 {
		t.Errorf("26.7.3 build args %q", got)
	}
}
