// Package matchers holds Gomega matchers for the offline-token contract.
// Their failure messages say what the procedure promises, what the server
// sent and which setting is most likely responsible; everything they show
// is already redacted (checks carry no credential, answers are shown
// redacted).
package matchers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onsi/gomega/types"

	"kcconform/pkg/contract"
	"kcconform/pkg/profile"
	"kcconform/pkg/tokenflow"
)

// KeepOfflinePromises succeeds when a token response keeps every promise of
// the procedure under profile p, for the client that asked.
func KeepOfflinePromises(p profile.Profile, sub contract.Subject) types.GomegaMatcher {
	return &checksMatcher{what: "the offline-token contract", checks: func(r *tokenflow.Response) []contract.Check {
		return contract.Offline(p, sub, r)
	}}
}

// KeepPromises succeeds when no check failed. Use it on checks computed
// elsewhere (and recorded for the verdict table).
func KeepPromises() types.GomegaMatcher {
	return &checksMatcher{what: "the contract"}
}

type checksMatcher struct {
	what   string
	checks func(*tokenflow.Response) []contract.Check
	failed []contract.Check
	resp   *tokenflow.Response
}

func (m *checksMatcher) Match(actual any) (bool, error) {
	var cs []contract.Check
	switch a := actual.(type) {
	case *tokenflow.Response:
		if m.checks == nil {
			return false, fmt.Errorf("KeepPromises expects []contract.Check, got a response")
		}
		if a == nil {
			return false, fmt.Errorf("expected a token response, got nil")
		}
		m.resp = a
		cs = m.checks(a)
	case []contract.Check:
		cs = a
	default:
		return false, fmt.Errorf("expected *tokenflow.Response or []contract.Check, got %T", actual)
	}
	m.failed = contract.Failed(cs)
	return len(m.failed) == 0, nil
}

func (m *checksMatcher) FailureMessage(any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "the server broke %d promise(s) of %s:\n", len(m.failed), m.what)
	for _, c := range m.failed {
		fmt.Fprintf(&b, "  [%s] %s\n", c.Class, c.Message())
	}
	if m.resp != nil {
		fmt.Fprintf(&b, "server sent (redacted): %s\nreplay: %s", m.resp.Redacted(), m.resp.Replay)
	}
	return b.String()
}

func (m *checksMatcher) NegatedFailureMessage(any) string {
	return fmt.Sprintf("expected the server to break %s, but it kept every promise", m.what)
}

// FailWithOAuthError succeeds when err is a token endpoint's OAuth error
// with the given HTTP status and one of the given error codes.
func FailWithOAuthError(status int, codes ...string) types.GomegaMatcher {
	return &oauthErrorMatcher{status: status, codes: codes}
}

type oauthErrorMatcher struct {
	status int
	codes  []string
}

func (m *oauthErrorMatcher) Match(actual any) (bool, error) {
	if actual == nil {
		return false, nil
	}
	err, ok := actual.(error)
	if !ok {
		return false, fmt.Errorf("expected an error, got %T", actual)
	}
	e, ok := tokenflow.AsError(err)
	if !ok {
		return false, nil
	}
	return e.Status == m.status && slices.Contains(m.codes, e.Code), nil
}

func (m *oauthErrorMatcher) want() string {
	return fmt.Sprintf("HTTP %d with error %s", m.status, strings.Join(m.codes, " or "))
}

func (m *oauthErrorMatcher) FailureMessage(actual any) string {
	if actual == nil {
		return fmt.Sprintf("expected the server to refuse with %s, server sent a token (HTTP 200)", m.want())
	}
	err, _ := actual.(error)
	if e, ok := tokenflow.AsError(err); ok {
		return fmt.Sprintf("expected %s, server sent %s\nbody (redacted): %s\nreplay: %s", m.want(), e.Sent(), e.Body, e.Replay)
	}
	return fmt.Sprintf("expected %s, got no OAuth answer: %v", m.want(), err)
}

func (m *oauthErrorMatcher) NegatedFailureMessage(any) string {
	return fmt.Sprintf("expected anything but %s, and that is what the server sent", m.want())
}
