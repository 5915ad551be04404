package main

import (
	"encoding/json"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"kcconform/pkg/release"
	"kcconform/pkg/report"
)

func TestColumnsAreTheNewestPatchOfEveryServedMinor(t *testing.T) {
	served := []string{"21.1.2", "22.0.0", "22.0.5", "23.0.7", "26.5.0", "26.5.6", "26.7.0", "26.7.3", "26.10.1"}
	got, err := columns(served, nil, []string{"26.7.0"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"22.0.5", "23.0.7", "26.5.6", "26.7.0", "26.7.3", "26.10.1"}
	if !slices.Equal(got, want) {
		t.Fatalf("columns %v, want %v", got, want)
	}
	if _, err := columns(served, []string{"26.6.0"}, nil); err == nil || !strings.Contains(err.Error(), "release 26.6.0: expected one the Maven repository serves") {
		t.Fatalf("an unserved release: %v", err)
	}
}

// run is a release's answers, as the suites would give them.
func run(states ...string) *report.Run {
	r := &report.Run{}
	for i, s := range states {
		r.Rows = append(r.Rows, report.Row{Check: report.Check{Promise: []string{"a", "b"}[i], Class: report.Procedure, Result: report.Result(s), Sent: "sent by 127.0.0.1:40111 in kcconform-ab12cd at 1796531200"}})
	}
	return r
}

// Every change between two columns is bisected among the releases served
// between them; each release runs once however many rows change.
func TestEveryChangeIsBisectedToItsFirstRelease(t *testing.T) {
	served := []string{"22.0.5", "23.0.0", "23.0.3", "23.0.7", "24.0.0", "24.0.5"}
	runs := map[string]*report.Run{
		"22.0.5": run("n/a", "pass"), "23.0.0": run("n/a", "pass"), "23.0.3": run("pass", "pass"),
		"23.0.7": run("pass", "pass"), "24.0.0": run("pass", "FAIL"), "24.0.5": run("pass", "FAIL"),
	}
	r := &runner{runs: map[string]*report.Run{}, errs: map[string]string{}, times: map[string]time.Duration{}, log: io.Discard}
	r.exec = func(v string) { r.runs[v] = runs[v] }
	tb := r.table([]string{"22.0.5", "23.0.7", "24.0.5"}, served)
	if len(tb.Changes) != 2 {
		t.Fatalf("changes %+v", tb.Changes)
	}
	a, b := tb.Changes[0], tb.Changes[1]
	if a.Promise != "a" || a.Before != "23.0.0" || a.First != "23.0.3" || a.Was.State != "n/a" || a.Is.State != "pass" {
		t.Errorf("row a: %+v", a)
	}
	if b.Promise != "b" || b.Before != "23.0.7" || b.First != "24.0.0" || b.Is.State != "FAIL" {
		t.Errorf("row b: %+v", b)
	}
	if !strings.Contains(a.Is.Sent, "127.0.0.1:PORT in kcconform-… at TIME") {
		t.Errorf("what differs from run to run is kept: %q", a.Is.Sent)
	}
	ran := slices.Clone(tb.Ran)
	slices.Sort(ran)
	if !slices.Equal(ran, slices.Compact(slices.Clone(ran))) {
		t.Errorf("a release ran twice: %v", tb.Ran)
	}
}

// The table of admin actions (package keycloak) says which releases perform
// each action; the measured table must agree: pass where it performs it,
// n/a where it does not.
func TestAdminActionsAgreeWithTheMeasuredTable(t *testing.T) {
	b, err := os.ReadFile("../../docs/behaviour-by-release.json")
	if err != nil {
		t.Fatalf("make behaviour writes docs/behaviour-by-release.json: %v", err)
	}
	var tb Table
	if err := json.Unmarshal(b, &tb); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, key := range []string{release.ActionSessionDelete, release.ActionScopeRemoved, release.ActionConsentRevoke} {
		a := release.Action(key)
		for _, row := range tb.Rows {
			if !strings.HasPrefix(row.Promise, "administrative revocation: after "+a.Title) {
				continue
			}
			for i, c := range row.Cells {
				v := tb.Columns[i].Version
				ok, _ := a.Performs(v)
				want := map[bool]string{true: "pass", false: "n/a"}[ok]
				if c.State != want {
					t.Errorf("%s on %s: measured %s, the table of admin actions says %s", a.Title, v, c.State, want)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("no revocation row in the measured table")
	}
}
