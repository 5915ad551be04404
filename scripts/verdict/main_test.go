package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
)

func spec(text string, state types.SpecState, checks ...contract.Check) types.SpecReport {
	s := types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: text, State: state}
	if len(checks) > 0 {
		s.ReportEntries = types.ReportEntries{{
			Name:  framework.VerdictEntry,
			Value: types.WrapEntryValue(framework.Verdict{Step: "get", Checks: checks}),
		}}
	}
	if state.Is(types.SpecStateFailureStates) {
		s.Failure.Message = text + " failed"
	}
	return s
}

// verdictOf writes the reports as Ginkgo does and runs the command's code on them.
func verdictOf(t *testing.T, specs ...types.SpecReport) (string, bool) {
	t.Helper()
	b, err := json.Marshal([]types.Report{{SuiteDescription: "kcconform: offline tokens", SpecReports: specs}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	ok, err := run(&out, p, false)
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), ok
}

var (
	kept   = contract.Check{Promise: "refresh_expires_in", Expected: "0", Sent: "0", Pass: true}
	broken = contract.Check{Promise: "expires_in", Expected: "31536000", Sent: "300"}
)

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		name    string
		specs   []types.SpecReport
		ok      bool
		verdict string
		row     string // a row of the table, as a regular expression
	}{
		{"all kept", []types.SpecReport{spec("get", types.SpecStatePassed, kept)}, true,
			"verdict: PASS", `refresh_expires_in\s+0\s+0\s+pass`},
		{"a promise broken", []types.SpecReport{spec("get", types.SpecStateFailed, kept, broken)}, false,
			"verdict: FAIL: the server breaks a promise", `expires_in\s+31536000\s+300\s+FAIL`},
		{"interrupted", []types.SpecReport{spec("get", types.SpecStatePassed, kept), spec("refresh", types.SpecStateInterrupted, broken)}, false,
			"verdict: FAIL: the run was interrupted (1 spec(s) cut short)", `expires_in\s+31536000\s+300\s+cut short`},
		{"nothing ran", []types.SpecReport{spec("get", types.SpecStateSkipped)}, false,
			"verdict: FAIL: no spec ran", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, ok := verdictOf(t, tc.specs...)
			if ok != tc.ok {
				t.Errorf("passed = %v, want %v:\n%s", ok, tc.ok, out)
			}
			if !strings.Contains(out, tc.verdict) {
				t.Errorf("want %q in:\n%s", tc.verdict, out)
			}
			if !regexp.MustCompile(tc.row).MatchString(out) {
				t.Errorf("want a row matching %q in:\n%s", tc.row, out)
			}
		})
	}
}

func TestVerdictRefusesWhatIsNotAReport(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(p, []byte(`{"not": "a report"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := run(new(strings.Builder), p, false)
	if err == nil || !strings.Contains(err.Error(), "expected a Ginkgo JSON report") {
		t.Fatalf("err = %v, want one naming the expected Ginkgo JSON report", err)
	}
}
