package bisect

import (
	"strings"
	"testing"

	"kcconform/pkg/load"
	"kcconform/pkg/report"
)

// The search ends on the two neighbours where the answer changes, after
// about log2(n) tries.
func TestSearch(t *testing.T) {
	span := []string{"24.0.5", "25.0.6", "26.0.8", "26.4.7", "26.5.6", "26.7.0", "26.7.3"}
	tried := 0
	lo, hi := search(span, func(v string) bool { tried++; return v < "26.7.0" })
	if span[lo] != "26.5.6" || span[hi] != "26.7.0" || tried > 3 {
		t.Fatalf("lo %s hi %s after %d tries", span[lo], span[hi], tried)
	}
	lo, hi = search(span[:2], func(string) bool { t.Fatal("two releases need no try"); return true })
	if lo != 0 || hi != 1 {
		t.Fatalf("%d %d", lo, hi)
	}
}

// A promise is named by key or title; anything else lists the keys.
func TestTitle(t *testing.T) {
	if got, err := title("introspection"); err != nil || got != "introspection" {
		t.Errorf("%q %v", got, err)
	}
	if got, err := title("refresh-expires-in"); err != nil || got != "refresh_expires_in" {
		t.Errorf("%q %v", got, err)
	}
	if _, err := title("speed"); err == nil || !strings.Contains(err.Error(), "expected a promise's key or title") || !strings.Contains(err.Error(), "stored-token") {
		t.Errorf("%v", err)
	}
}

// The latency of a grant and rate is picked from a load report: the first
// grant and its lowest rate unless named; a name the report lacks is an
// error listing what it has.
func TestPick(t *testing.T) {
	rep := load.Report{Results: []load.Result{
		{Grant: "client_credentials+offline_access", Rate: 50, LatenciesMS: []float64{2}},
		{Grant: "client_credentials+offline_access", Rate: 25, LatenciesMS: []float64{1}},
		{Grant: "refresh_token", Rate: 25, LatenciesMS: []float64{3}},
	}}
	m := &metricBisection{}
	if lat, err := m.pick(rep); err != nil || lat[0] != 1 || m.rate != 25 {
		t.Fatalf("%v %v rate %d", lat, err, m.rate)
	}
	m = &metricBisection{grant: "refresh", rate: 50}
	if _, err := m.pick(rep); err == nil || !strings.Contains(err.Error(), "refresh_token at 25/s") {
		t.Fatalf("%v", err)
	}
	if _, err := (&metricBisection{metric: "p42"}).quantile(); err == nil || !strings.Contains(err.Error(), "expected p50 or p95") {
		t.Fatalf("%v", err)
	}
}

// Without -promise the first promise whose result differs is bisected: a
// value that differs from run to run with the same result (an issuer URL's
// port) is not a difference.
func TestFirstDifferingComparesResults(t *testing.T) {
	run := func(iss string, intro report.Result) *report.Run {
		return &report.Run{Rows: []report.Row{
			{Check: report.Check{Promise: "access token iss", Rank: 1, Class: report.OIDC, Sent: iss, Result: report.Pass}},
			{Check: report.Check{Promise: "introspection", Rank: 2, Class: report.Extra, Sent: "active", Result: intro}},
		}}
	}
	a := run(`"http://127.0.0.1:20001/realms/r"`, report.Pass)
	b := run(`"http://127.0.0.1:20002/realms/r"`, report.NotApplicable)
	if got := firstDiffering(a, b); got != "introspection" {
		t.Fatalf("firstDiffering = %q, want introspection", got)
	}
	if got := firstDiffering(a, run(`"http://127.0.0.1:20003/realms/r"`, report.Pass)); got != "" {
		t.Fatalf("firstDiffering = %q for runs with the same results", got)
	}
}
