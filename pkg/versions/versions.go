// Package versions holds the Keycloak versions kcconform names and the
// pinned SHA-512 checksums of their server distributions, in one place that
// Go and the shell scripts both read: versions.env (sourced by the scripts)
// and dist.sha512 (in sha512sum's format).
package versions

import (
	_ "embed"
	"fmt"
	"strings"
)

//go:embed versions.env
var envFile string

//go:embed dist.sha512
var sumsFile string

var (
	// Default is the Keycloak version the process and container targets run
	// unless KC_VERSION says otherwise.
	Default = mustGet("KC_DEFAULT_VERSION")
	// UpgradeFrom is the older version of the default upgrade path.
	UpgradeFrom = mustGet("KC_DEFAULT_UPGRADE_FROM")
	// PostgresImage is the official PostgreSQL image of the container target.
	PostgresImage = mustGet("KC_DEFAULT_POSTGRES_IMAGE")
	// LocalPostgresImage is the PostgreSQL image scripts/build-image.sh
	// builds where no registry can be reached.
	LocalPostgresImage = mustGet("KC_LOCAL_POSTGRES_IMAGE")
)

// values parses KEY=VALUE lines, skipping blanks and comments.
func values(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

func mustGet(key string) string {
	v := values(envFile)[key]
	if v == "" {
		panic(fmt.Sprintf("versions: versions.env has no %s", key))
	}
	return v
}

// DistArchive is the file name of a version's server distribution.
func DistArchive(version string) string {
	return "keycloak-quarkus-dist-" + version + ".tar.gz"
}

// PinnedSHA512 returns the SHA-512 (hex) recorded in the repository for a
// version's distribution, and whether there is one.
func PinnedSHA512(version string) (string, bool) {
	want := DistArchive(version)
	for _, line := range strings.Split(sumsFile, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && strings.TrimPrefix(f[1], "*") == want {
			return strings.ToLower(f[0]), true
		}
	}
	return "", false
}

// Compare compares dotted numeric versions ("26.4.7" < "26.10.0").
func Compare(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = leadingInt(pa[i])
		}
		if i < len(pb) {
			y = leadingInt(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// leadingInt reads the digits a version part starts with ("7-SNAPSHOT" is 7).
func leadingInt(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// IsRelease reports whether v is a release's version: three dotted numbers
// (no snapshot or candidate).
func IsRelease(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}
