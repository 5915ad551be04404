package release

import (
	"kcconform/pkg/versions"
	"strings"
	"testing"
)

// What differs between release lines comes from the table: a version of a
// line takes its settings, one kcconform has not run says whose it takes.
func TestReleaseOf(t *testing.T) {
	r, note := LineOf("24.0.5")
	if note != "" || r.ManagementPort || r.AdminUserEnv != "KEYCLOAK_ADMIN" || r.JDBCPing {
		t.Errorf("24.0.5: %+v %q", r, note)
	}
	if r, note := LineOf("26.7.3"); note != "" || !r.ManagementPort || r.AdminUserEnv != "KC_BOOTSTRAP_ADMIN_USERNAME" || r.Java[0] != 21 {
		t.Errorf("26.7.3: %+v %q", r, note)
	}
	if r, note := LineOf("27.0.0"); r.Since != "26.6.0" || !strings.Contains(note, "Keycloak 27.0.0 is not a version kcconform has run") || !strings.Contains(note, "tried with the settings of 26.6.0 and later") {
		t.Errorf("27.0.0: %+v %q", r, note)
	}
	if r, note := LineOf("21.1.2"); r.Since != "22.0.0" || !strings.Contains(note, "older than any line kcconform knows") {
		t.Errorf("21.1.2: %+v %q", r, note)
	}
	// Lines in order, each with the versions run.
	for i, x := range releases {
		if len(x.Run) == 0 || len(x.Java) == 0 || (i > 0 && versions.Compare(releases[i-1].Since, x.Since) >= 0) {
			t.Errorf("line %s: %+v", x.Since, x)
		}
	}
}
