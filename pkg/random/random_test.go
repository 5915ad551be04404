package random

import (
	"regexp"
	"testing"
)

func TestHexAndSecret(t *testing.T) {
	if h := Hex(3); !regexp.MustCompile(`^[0-9a-f]{6}$`).MatchString(h) {
		t.Errorf("Hex(3) = %q, want 6 lower-case hex digits", h)
	}
	a, b := Secret(), Secret()
	if len(a) < 22 || a == b {
		t.Errorf("Secret() gave %q and %q: want two different strings of 128 bits", a, b)
	}
}
