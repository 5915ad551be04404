package keycloak

import (
	"strings"
	"testing"
)

func TestAdminActionsPerRelease(t *testing.T) {
	del := Action(ActionSessionDelete)
	if ok, why := del.Performs("22.0.5"); ok || !strings.HasPrefix(why, "n/a on 22.0.5: an offline session delete arrived in 23.0") || !strings.Contains(why, "204") {
		t.Errorf("22.0.5: %v %q", ok, why)
	}
	for _, v := range []string{"23.0.0", "24.0.5", "26.7.3", "unknown (no admin credentials)"} {
		if ok, why := del.Performs(v); !ok || why != "" {
			t.Errorf("%s: %v %q", v, ok, why)
		}
	}
	if ok, _ := Action(ActionConsentRevoke).Performs("22.0.5"); !ok {
		t.Error("22.0.5 revokes a consent")
	}
	backported := AdminAction{Title: "x", Since: "26.5.0", Backports: []string{"26.2.11", "26.4.4"}}
	for v, want := range map[string]bool{"26.4.3": false, "26.4.4": true, "26.2.11": true, "26.3.5": false, "26.5.0": true, "25.0.6": false} {
		if ok, _ := backported.Performs(v); ok != want {
			t.Errorf("backported %s: %v, want %v", v, ok, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("an undeclared action did not panic")
		}
	}()
	Action("nope")
}
