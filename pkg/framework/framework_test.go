package framework

import (
	"regexp"
	"testing"
)

func TestBogusIsMadeAtRunTime(t *testing.T) {
	a, b := Bogus("wrong-secret"), Bogus("wrong-secret")
	if a == b {
		t.Fatalf("two bogus credentials are the same: %s", a)
	}
	if !regexp.MustCompile(`^kcconform-wrong-secret-[0-9a-f]{16}$`).MatchString(a) {
		t.Fatalf("Bogus = %q, want kcconform-wrong-secret-<16 hex digits>", a)
	}
}
