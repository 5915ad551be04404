// Package random makes the run's random names and secrets, all from
// crypto/rand.
package random

import (
	"crypto/rand"
	"encoding/hex"
)

// Hex returns n random bytes as lower-case hex: names and run ids that must
// fit Keycloak's and PostgreSQL's identifiers.
func Hex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b)
}

// Secret returns a password or client secret with 128 bits of randomness.
func Secret() string { return rand.Text() }
