// Package report is what a conformance run records and how it is shown: the
// verdict rows (each promise, its class, what was expected, what the server
// sent, the result and the hint), the server under test, leftovers of failed
// clean-ups, and their rendering as a text table, Markdown and a
// self-contained HTML page. It reads Ginkgo's JSON report itself and imports
// neither Ginkgo nor any container package, so the small commands that print
// a verdict stay small.
package report

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Names of the report entries the suites add (ginkgo.AddReportEntry).
const (
	EntryVerdict  = "kcconform.verdict"
	EntryServer   = "kcconform.server"
	EntrySettings = "kcconform.settings"
	EntryLeftover = "kcconform.leftover"
	EntryReplay   = "replay"
)

// Class says whose promise a check is.
type Class string

// Classes. Only promises (procedure, RFC 6749, OIDC) can break the verdict on
// their own; a harness extra checks what needs more than the procedure
// configures, and is not applicable where that is missing.
const (
	Procedure Class = "procedure"
	RFC6749   Class = "RFC 6749"
	OIDC      Class = "OIDC"
	Extra     Class = "harness extra"
)

// IsPromise reports whether a class is a promise rather than a harness extra.
func (c Class) IsPromise() bool { return c != Extra }

// Result is a check's outcome.
type Result string

// Results.
const (
	Pass          Result = "pass"
	Fail          Result = "FAIL"
	NotApplicable Result = "n/a"
	// NotReached is a check that a refusal of the procedure's get (its root
	// cause) kept from being made: shown, not counted.
	NotReached Result = "not reached"
)

// Check is one promise held against one server answer.
type Check struct {
	// Promise names what is checked, e.g. "refresh_expires_in": the title of
	// a promise of the catalogue (package contract), qualified where one
	// promise is checked several ways.
	Promise string `json:"promise"`
	// ID is the catalogue's identity of the promise, and Rank its place
	// there: verdicts list promises in that order.
	ID    string `json:"id,omitempty"`
	Rank  int    `json:"rank,omitempty"`
	Class Class  `json:"class"`
	// Expected is the promised value with the reason, e.g.
	// "0 (offline refresh tokens do not expire)".
	Expected string `json:"expected"`
	// Sent is what the server sent, redacted.
	Sent   string `json:"sent"`
	Result Result `json:"result"`
	// Root marks a refusal of the procedure's get: every other check that
	// failed with the same answer was not reached, not broken.
	Root bool `json:"root,omitempty"`
	// Hint is, for a FAIL, the Keycloak setting most likely responsible
	// (admin console path and representation field), with the value read
	// where admin rights allowed; for n/a, the reason and the fix.
	Hint string `json:"hint,omitempty"`
}

// Failed reports whether the check failed.
func (c Check) Failed() bool { return c.Result == Fail }

// Message is the one-line failure text of a check.
func (c Check) Message() string {
	msg := fmt.Sprintf("expected %s %s, server sent %s", c.Promise, c.Expected, c.Sent)
	if c.Hint != "" {
		msg += "; " + c.Hint
	}
	return msg
}

// Step is one step's checks, as a suite records them.
type Step struct {
	Step   string  `json:"step"`
	Checks []Check `json:"checks"`
}

// String is how Ginkgo shows the entry.
func (s Step) String() string {
	var b strings.Builder
	for _, c := range s.Checks {
		fmt.Fprintf(&b, "%s: [%s] %s expected %s, sent %s [%s]\n", s.Step, c.Class, c.Promise, c.Expected, c.Sent, c.Result)
	}
	return b.String()
}

// Failed returns the checks that failed.
func Failed(cs []Check) []Check {
	var out []Check
	for _, c := range cs {
		if c.Failed() {
			out = append(out, c)
		}
	}
	return out
}

// Server is what the report records of the server under test.
type Server struct {
	Target      string  `json:"target"`
	Version     string  `json:"version"`
	Image       string  `json:"image,omitempty"`
	URL         string  `json:"url"`
	BootSeconds float64 `json:"bootSeconds"`
	// Boot is the boot's parts (fetch, build, database, start, ready), in
	// seconds, where the harness started the server.
	Boot []Phase `json:"boot,omitempty"`
	// Mode is how the run used the server: provisioned (its own realm),
	// audit (an existing client, with admin rights) or client-only.
	Mode               string         `json:"mode"`
	Profile            map[string]any `json:"profile,omitempty"`
	Admin              bool           `json:"admin"`
	InsecureSkipVerify bool           `json:"insecureSkipVerify"`
	PlainHTTP          bool           `json:"plainHTTP,omitempty"`
	RunID              string         `json:"runID"`
}

// Phase is a named part of a long step and its duration.
type Phase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// String is how Ginkgo shows the entry.
func (s Server) String() string { return Describe(s) }

// Describe is the one-line description of a server in a verdict.
func Describe(s Server) string {
	out := fmt.Sprintf("Keycloak %s, %s target, %s", s.Version, s.Target, s.URL)
	if s.Mode != "" {
		out += ", " + s.Mode
	}
	if s.BootSeconds > 0 {
		out += fmt.Sprintf(", boot %.1fs", s.BootSeconds)
		if len(s.Boot) > 0 {
			var parts []string
			for _, p := range s.Boot {
				parts = append(parts, fmt.Sprintf("%s %.1fs", p.Name, p.Seconds))
			}
			out += " (" + strings.Join(parts, ", ") + ")"
		}
	}
	if s.Image != "" {
		out += ", image " + s.Image
	}
	if s.InsecureSkipVerify {
		out += ", TLS VERIFICATION OFF"
	}
	if s.PlainHTTP {
		out += ", PLAIN HTTP TO A NON-LOOPBACK HOST (KC_ALLOW_PLAIN_HTTP)"
	}
	return out
}

// Settings are the realm's and client's settings read with admin rights, as
// lines for the report.
type Settings struct {
	Realm    string   `json:"realm"`
	ClientID string   `json:"clientId"`
	Lines    []string `json:"lines"`
}

// String is how Ginkgo shows the entry.
func (s Settings) String() string {
	return fmt.Sprintf("realm %s, client %s:\n  %s", s.Realm, s.ClientID, strings.Join(s.Lines, "\n  "))
}

// Leftover is something a run created on the server and could not remove.
type Leftover struct {
	What   string `json:"what"`
	Why    string `json:"why"`
	Remove string `json:"remove"`
}

// String is how Ginkgo shows the entry.
func (l Leftover) String() string {
	return fmt.Sprintf("LEFT ON THE SERVER: %s (%s); to remove it: %s", l.What, l.Why, l.Remove)
}

// decodeEntry decodes a report entry's JSON value.
func decodeEntry[T any](js string) (T, bool) {
	var v T
	err := json.Unmarshal([]byte(js), &v)
	return v, err == nil
}
