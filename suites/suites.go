// Package suites lists every suite kcconform holds, for the kcconform
// command; each suite's own test package runs it under go test and ginkgo.
package suites

import (
	"kcconform/pkg/framework"
	"kcconform/suites/cluster"
	"kcconform/suites/deployment"
	"kcconform/suites/idle"
	"kcconform/suites/load"
	"kcconform/suites/offline"
	"kcconform/suites/restart"
	"kcconform/suites/revocation"
	"kcconform/suites/selftest"
	"kcconform/suites/tls"
	"kcconform/suites/upgrade"
)

// All are the suites, the default one (offline, the procedure) first.
var All = []framework.Suite{offline.Suite, revocation.Suite, restart.Suite, upgrade.Suite, idle.Suite, tls.Suite, selftest.Suite, load.Suite, cluster.Suite, deployment.Suite}

// Find returns the suite of that name.
func Find(name string) (framework.Suite, bool) {
	for _, s := range All {
		if s.Name == name {
			return s, true
		}
	}
	return framework.Suite{}, false
}

// Names lists the suites' names.
func Names() []string {
	out := make([]string, len(All))
	for i, s := range All {
		out[i] = s.Name
	}
	return out
}
