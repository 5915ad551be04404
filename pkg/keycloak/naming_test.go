package keycloak

import "testing"

func TestOfRunMatchesTheRunIDExactly(t *testing.T) {
	for realm, want := range map[string]bool{
		"kcconform-offline-ab12-p1":       true,
		"kcconform-handmade-sigint-ab12":  true,
		"kcconform-offline-ab123-p1":      false,
		"kcconform-offline-xab12-p2":      false,
		"kcconform-offline-ab12-p1-extra": false,
		"shasta":                          false,
		"kcconform-offline-sigintab12-p1": false,
	} {
		if got := OfRun(realm, "ab12"); got != want {
			t.Errorf("OfRun(%q, ab12) = %v, want %v", realm, got, want)
		}
	}
	if !OfRun("kcconform-anything", "") || OfRun("master", "") {
		t.Error("without a run id, every kcconform- realm and nothing else")
	}
}
