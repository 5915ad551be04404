// Package release is what differs between Keycloak's release lines, and
// which releases perform each administrative action the suites revoke
// with, as data: the launcher and the suites read it here and branch
// nowhere else on a version.
package release

import (
	"fmt"
	"kcconform/pkg/versions"
	"slices"
	"strings"
)

// Line is what differs between the Keycloak release lines kcconform
// runs, as data: the launcher reads it here and branches nowhere else on a
// version.
type Line struct {
	// Since is the first version the entry describes; it holds until the
	// next entry's.
	Since string
	// Java lists the JDK majors the line runs on, preferred first.
	Java []int
	// ManagementPort: the line has --http-management-port (25 on), and
	// health and metrics are served there; before, on the HTTP port.
	ManagementPort bool
	// AdminUserEnv and AdminPasswordEnv create the first administrator.
	AdminUserEnv, AdminPasswordEnv string
	// CacheAtStart: --cache is given at start (25 on); before, it is a
	// build option.
	CacheAtStart bool
	// JDBCPing: --cache=ispn's default transport discovers the nodes
	// through the database (26 on), as the cluster suite needs.
	JDBCPing bool
	// Run are the versions of the line kcconform has run on this
	// project's machines.
	Run []string
}

// releases are the lines, oldest first.
var releases = []Line{
	{Since: "22.0.0", Java: []int{17, 21, 11}, AdminUserEnv: "KEYCLOAK_ADMIN", AdminPasswordEnv: "KEYCLOAK_ADMIN_PASSWORD",
		Run: []string{"22.0.5", "23.0.7", "24.0.0", "24.0.2", "24.0.5"}},
	{Since: "25.0.0", Java: []int{17, 21}, ManagementPort: true, CacheAtStart: true, AdminUserEnv: "KEYCLOAK_ADMIN", AdminPasswordEnv: "KEYCLOAK_ADMIN_PASSWORD",
		Run: []string{"25.0.6"}},
	{Since: "26.0.0", Java: []int{21, 17}, ManagementPort: true, CacheAtStart: true, AdminUserEnv: "KC_BOOTSTRAP_ADMIN_USERNAME", AdminPasswordEnv: "KC_BOOTSTRAP_ADMIN_PASSWORD",
		JDBCPing: true, Run: []string{"26.0.8", "26.1.4", "26.2.5", "26.3.5", "26.4.0", "26.4.5", "26.4.7", "26.5.5", "26.5.6"}},
	// 25 is supported from 26.6.0.
	{Since: "26.6.0", Java: []int{21, 25, 17}, ManagementPort: true, CacheAtStart: true, AdminUserEnv: "KC_BOOTSTRAP_ADMIN_USERNAME", AdminPasswordEnv: "KC_BOOTSTRAP_ADMIN_PASSWORD",
		JDBCPing: true, Run: []string{"26.7.0", "26.7.3"}},
}

// ReleaseOf is the line a version belongs to (the oldest line for a version
// before it). note is empty for a version kcconform has run; else it says
// whose settings the version is tried with.
func LineOf(version string) (r Line, note string) {
	r = releases[0]
	for _, x := range releases {
		if versions.Compare(version, x.Since) >= 0 {
			r = x
		}
	}
	if slices.Contains(r.Run, version) {
		return r, ""
	}
	var run []string
	for _, x := range releases {
		run = append(run, x.Run...)
	}
	if versions.Compare(version, releases[0].Since) < 0 {
		return r, fmt.Sprintf("Keycloak %s is older than any line kcconform knows (from %s): tried with the settings of %s (run on %s)", version, releases[0].Since, r.Since, strings.Join(r.Run, ", "))
	}
	return r, fmt.Sprintf("Keycloak %s is not a version kcconform has run (%s): tried with the settings of %s and later (run on %s)", version, strings.Join(run, ", "), r.Since, strings.Join(r.Run, ", "))
}
