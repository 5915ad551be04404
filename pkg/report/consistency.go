package report

import (
	"fmt"
	"strings"
)

// askedFor is a set-up a hint can ask for, how a hint asks for it, and how
// a settings line shows it in place.
type askedFor struct {
	what     string
	asks     []string
	inPlace  func(line string) bool
	lineHead string
}

var setups = []askedFor{
	{what: "the client scope offline_access assigned", asks: []string{"must be assigned to the client", "is not assigned to client"},
		lineHead: "client scopes:", inPlace: func(l string) bool { return strings.Contains(l, "offline_access") }},
	{what: "the realm role offline_access held", asks: []string{"must hold the realm role offline_access", "does not hold the realm role offline_access"},
		lineHead: "service account realm roles:", inPlace: func(l string) bool {
			roles, _, _ := strings.Cut(l, " (offline_access:")
			return strings.Contains(roles, "offline_access")
		}},
	{what: "Include in token scope on", asks: []string{`include.in.token.scope "false"`},
		lineHead: "client scope offline_access:", inPlace: func(l string) bool { return strings.Contains(l, "include.in.token.scope true") }},
	{what: "client_credentials.use_refresh_token on", asks: []string{`client_credentials.use_refresh_token must be "true"`, `client_credentials.use_refresh_token is "false"`},
		lineHead: "client ", inPlace: func(l string) bool { return strings.Contains(l, "client_credentials.use_refresh_token true") }},
	{what: "use.refresh.tokens on", asks: []string{`use.refresh.tokens is "false"`},
		lineHead: "client ", inPlace: func(l string) bool { return strings.Contains(l, "use.refresh.tokens true") }},
	{what: "lightweight access tokens off", asks: []string{"has lightweight access tokens on"},
		lineHead: "client ", inPlace: func(l string) bool { return strings.Contains(l, "lightweight access tokens false") }},
	{what: "the client enabled", asks: []string{" is disabled ("},
		lineHead: "client ", inPlace: func(l string) bool { return strings.Contains(l, ": enabled true,") }},
}

// HintContradictions lists each hint of the verdict that asks, for a client
// whose settings the run printed, for a set-up those settings show in place
// (a hint must follow what was read). A self-check's deliberate failure
// (AsIntended) is left out: it changes the settings after they were read.
func (r *Run) HintContradictions() []string {
	var out []string
	for _, st := range r.Settings {
		mentions := []string{"client " + st.ClientID + " ", "client " + st.ClientID + ":", "Clients → " + st.ClientID + " →", "of " + st.ClientID + " "}
		for _, row := range r.Rows {
			if row.AsIntended || row.Hint == "" {
				continue
			}
			// What a hint asks for comes before the values it read.
			ask, _, _ := strings.Cut(row.Hint, "; read:")
			if !containsAny(ask, mentions) {
				continue
			}
			for _, s := range setups {
				if !containsAny(ask, s.asks) {
					continue
				}
				for _, l := range st.Lines {
					if strings.HasPrefix(l, s.lineHead) && s.inPlace(l) {
						out = append(out, fmt.Sprintf("%s (%s): the hint asks for %s, which the settings read show in place (%q): %s", row.Promise, row.Step, s.what, l, row.Hint))
						break
					}
				}
			}
		}
	}
	return out
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
