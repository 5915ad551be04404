package release

import (
	"strings"
	"testing"
)

func TestAdminActionsPerRelease(t *testing.T) {
	del := Action(ActionSessionDelete)
	for _, v := range []string{"22.0.5", "23.0.7", "24.0.0"} {
		if ok, why := del.Performs(v); ok || !strings.HasPrefix(why, "n/a on "+v+": an offline session delete ends offline tokens from 24.0.2 on") || !strings.Contains(why, "204") {
			t.Errorf("%s: %v %q", v, ok, why)
		}
	}
	for _, v := range []string{"24.0.2", "24.0.5", "26.7.3", "unknown (no admin credentials)"} {
		if ok, why := del.Performs(v); !ok || why != "" {
			t.Errorf("%s: %v %q", v, ok, why)
		}
	}
	if ok, _ := Action(ActionConsentRevoke).Performs("22.0.5"); !ok {
		t.Error("22.0.5 revokes a consent")
	}
	backported := Action(ActionScopeRemoved)
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
