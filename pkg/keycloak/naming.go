package keycloak

import (
	"regexp"
	"strings"
)

// ResourcePrefix starts the name of everything a run creates on a server.
const ResourcePrefix = "kcconform-"

// runSuffix is the end of a run's realm names: "-<run id>", and for a
// realm per parallel process "-p<N>".
var runSuffix = regexp.MustCompile(`-p[0-9]+$`)

// OfRun reports whether a realm was created by the run with that id: its
// name starts with ResourcePrefix and ends with "-<run id>" or
// "-<run id>-p<N>" (an exact match, not a substring).
func OfRun(realm, runID string) bool {
	if !strings.HasPrefix(realm, ResourcePrefix) {
		return false
	}
	if runID == "" {
		return true
	}
	return strings.HasSuffix(runSuffix.ReplaceAllString(realm, ""), "-"+runID)
}
