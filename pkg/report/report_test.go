package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// spec builds a spec report as Ginkgo writes it, with checks recorded.
func spec(text string, state types.SpecState, checks ...Check) types.SpecReport {
	s := types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: text, State: state}
	if len(checks) > 0 {
		s.ReportEntries = types.ReportEntries{{Name: EntryVerdict, Value: types.WrapEntryValue(Step{Step: "get", Checks: checks})}}
	}
	if state.Is(types.SpecStateFailureStates) {
		s.Failure.Message = text + " failed"
	}
	if state == types.SpecStateSkipped {
		s.Failure.Message = "needs admin rights"
	}
	return s
}

// load writes the reports as Ginkgo does and reads them back.
func load(t *testing.T, specs ...types.SpecReport) *Run {
	t.Helper()
	b, err := json.Marshal([]types.Report{{SuiteDescription: "kcconform: offline tokens", SpecReports: specs}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	suites, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return Summarize(suites)
}

var (
	kept      = Check{Promise: "refresh_expires_in", Class: Procedure, Expected: "0", Sent: "0", Result: Pass}
	broken    = Check{Promise: "expires_in", Class: Procedure, Expected: "31536000", Sent: "300", Result: Fail, Hint: "client attribute access.token.lifespan"}
	extra     = Check{Promise: "introspection", Class: Extra, Expected: "active", Sent: "active false", Result: Fail}
	notApplic = Check{Promise: "introspection", Class: Extra, Expected: "active", Sent: "active false", Result: NotApplicable, Hint: "add an audience mapper"}
)

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		name     string
		specs    []types.SpecReport
		status   Status
		headline string
		row      string // a row of the table, as a regular expression
	}{
		{"all kept", []types.SpecReport{spec("get", types.SpecStatePassed, kept)}, StatusPass,
			"verdict: PASS", `procedure\s+refresh_expires_in\s+pass\s+0`},
		{"a promise broken", []types.SpecReport{spec("get", types.SpecStateFailed, kept, broken)}, StatusFail,
			"verdict: FAIL: the server breaks 1 promise(s): expires_in", `expires_in\s+FAIL\s+31536000\s+300`},
		{"an extra does not apply", []types.SpecReport{spec("refresh", types.SpecStatePassed, kept, notApplic)}, StatusPass,
			"verdict: PASS", `harness extra\s+introspection\s+n/a\s+active\s+active false`},
		{"an extra that applied failed", []types.SpecReport{spec("refresh", types.SpecStateFailed, kept, extra)}, StatusFail,
			"verdict: FAIL: 1 spec(s) failed; harness extras that applied and failed: introspection", ``},
		{"a self-check failed as intended", []types.SpecReport{spec("can fail", types.SpecStatePassed, broken)}, StatusPass,
			"verdict: PASS", `FAIL \(as intended\)`},
		{"interrupted", []types.SpecReport{spec("get", types.SpecStatePassed, kept), spec("refresh", types.SpecStateInterrupted, broken)}, StatusCutShort,
			"verdict: INTERRUPTED: the run was interrupted (1 spec(s) cut short)", `expires_in\s+cut short\s+31536000\s+300`},
		{"only harness self-checks", []types.SpecReport{spec("passes a client set up by hand", types.SpecStatePassed)}, StatusPass,
			"verdict: PASS: 1 spec(s) passed; none of them checks a promise of the server", `\n\nno promise was checked by the specs that ran\n`},
		{"nothing ran", []types.SpecReport{spec("get", types.SpecStateSkipped)}, StatusCouldNot,
			"verdict: COULD NOT RUN: no spec ran", `skipped 1 spec\(s\): needs admin rights`},
		{"set-up failed", []types.SpecReport{{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStateFailed,
			Failure: types.Failure{Message: "start Keycloak: KC_URL: expected an http or https URL"}}}, StatusCouldNot,
			"verdict: COULD NOT RUN: start Keycloak: KC_URL: expected an http or https URL", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := load(t, tc.specs...)
			var out bytes.Buffer
			r.WriteText(&out, false)
			if st, _ := r.Verdict(); st != tc.status {
				t.Errorf("status %s, want %s:\n%s", st, tc.status, out.String())
			}
			if first := strings.SplitN(out.String(), "\n", 2)[0]; !strings.HasPrefix(first, tc.headline) {
				t.Errorf("first line %q, want %q", first, tc.headline)
			}
			if !regexp.MustCompile(tc.row).MatchString(out.String()) {
				t.Errorf("want a row matching %q in:\n%s", tc.row, out.String())
			}
		})
	}
}

func TestHintOfAFailIsShown(t *testing.T) {
	r := load(t, spec("get", types.SpecStateFailed, broken))
	var out bytes.Buffer
	r.WriteText(&out, false)
	if !strings.Contains(out.String(), "hint for expires_in: client attribute access.token.lifespan") {
		t.Fatalf("no hint in:\n%s", out.String())
	}
}

func TestLoadRefusesWhatIsNotAReport(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(p, []byte(`{"not": "a report"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "expected a Ginkgo JSON report") {
		t.Fatalf("err = %v", err)
	}
}

func TestMatrixCells(t *testing.T) {
	a := load(t, spec("get", types.SpecStatePassed, kept, notApplic))
	b := load(t, spec("get", types.SpecStateFailed, kept, broken))
	m := Matrix{Columns: []Column{{Name: "26.5.6", Run: a}, {Name: "26.7.3", Run: b}, {Name: "26.4.7->26.7.3", Err: "no report"}}}
	rows := map[string][]string{}
	for _, r := range m.Rows() {
		for _, c := range r.Cells {
			rows[r.Promise] = append(rows[r.Promise], c.State)
		}
	}
	want := map[string][]string{
		"refresh_expires_in": {"pass", "pass", "-"},
		"expires_in":         {"-", "FAIL", "-"},
		"introspection":      {"n/a", "-", "-"},
	}
	for p, w := range want {
		if strings.Join(rows[p], " ") != strings.Join(w, " ") {
			t.Errorf("%s: %v, want %v", p, rows[p], w)
		}
	}
	if m.OK() {
		t.Error("a matrix with a FAIL passed")
	}
	var md bytes.Buffer
	m.WriteMarkdown(&md)
	if !strings.Contains(md.String(), "| procedure | expires_in | - | **FAIL**: sent 300 (client attribute access.token.lifespan) | - |") {
		t.Errorf("markdown:\n%s", md.String())
	}
	var html bytes.Buffer
	if err := m.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`data-promise="expires_in"`, `data-state="FAIL"`, `<th data-column="26.4.7-&gt;26.7.3">`} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML lacks %s", want)
		}
	}
}

// A refused get is the one cause: every other check that failed with the
// same answer is not reached (shown, not counted), whatever order the specs
// ran in; broken promises are listed in the catalogue's order.
func TestRootCauseAndStableOrder(t *testing.T) {
	refusal := `HTTP 400 invalid_scope "Invalid scopes: offline_access"`
	get := Check{Promise: "get", Rank: 1, Class: Procedure, Expected: "HTTP 200", Sent: refusal, Result: Fail, Root: true, Hint: "assign offline_access"}
	basic := Check{Promise: "HTTP Basic client authentication", Rank: 24, Class: RFC6749, Expected: "HTTP 200", Sent: refusal, Result: Fail, Hint: "a gateway"}
	online := Check{Promise: "online get", Rank: 33, Class: Extra, Expected: "HTTP 200", Sent: `HTTP 200`, Result: Pass}
	ttl := Check{Promise: "expires_in", Rank: 7, Class: Procedure, Expected: "31536000", Sent: "300", Result: Fail}
	orders := [][]types.SpecReport{
		{spec("basic", types.SpecStateFailed, basic), spec("get", types.SpecStateFailed, get), spec("online", types.SpecStatePassed, online), spec("ttl", types.SpecStateFailed, ttl)},
		{spec("ttl", types.SpecStateFailed, ttl), spec("online", types.SpecStatePassed, online), spec("get", types.SpecStateFailed, get), spec("basic", types.SpecStateFailed, basic)},
	}
	var headlines []string
	for _, specs := range orders {
		r := load(t, specs...)
		headlines = append(headlines, r.Headline())
		var out bytes.Buffer
		r.WriteText(&out, false)
		if !regexp.MustCompile(`RFC 6749\s+HTTP Basic client authentication\s+not reached`).MatchString(out.String()) {
			t.Errorf("the check the refusal kept from running is not shown as not reached:\n%s", out.String())
		}
		if strings.Contains(out.String(), "hint for HTTP Basic") {
			t.Errorf("a check not reached has a hint:\n%s", out.String())
		}
	}
	if headlines[0] != "FAIL: the server breaks 2 promise(s): get, expires_in" || headlines[1] != headlines[0] {
		t.Fatalf("headlines %q", headlines)
	}
}

// A promise the server kept in one spec and a self-check failed as intended
// in another (the cluster suite's negative control) reads pass: the failure
// proves the check can fail, the pass is the server's answer. Alone, the
// self-check's failure reads as intended.
func TestCellPassOverAsIntended(t *testing.T) {
	kept := Row{Check: Check{Class: Procedure, Promise: "revocation on every node", Result: Pass, Sent: "HTTP 400"}}
	control := Row{Check: Check{Class: Procedure, Promise: "revocation on every node", Result: Fail, Sent: "a token"}, AsIntended: true}
	both := Column{Name: "c", Run: &Run{Rows: []Row{control, kept}}}
	if c := cellOf(both, Procedure, "revocation on every node"); c.State != string(Pass) || c.Sent != "HTTP 400" {
		t.Errorf("pass and as intended: %+v", c)
	}
	alone := Column{Name: "c", Run: &Run{Rows: []Row{control}}}
	if c := cellOf(alone, Procedure, "revocation on every node"); c.State != CellAsIntended {
		t.Errorf("as intended alone: %+v", c)
	}
}
