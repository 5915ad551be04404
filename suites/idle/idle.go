// Package idle proves, on a real server, what "the refresh token never
// expires by itself" leaves out: an offline session that is not used for
// the realm's offlineSessionIdleTimeout ends, and its token is refused; one
// that is used keeps working. In a realm of its own with a short idle
// timeout, it finds out how long Keycloak really waits past the timeout
// before it refuses (Keycloak adds a window to every idle timeout), within a
// bounded time. It needs admin rights and takes a few minutes: its own label
// (idle), in make test, not in the default conformance run.
package idle

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/run"
	"kcconform/pkg/tokenflow"
)

// Suite is the idle-expiry suite.
var Suite = framework.Suite{Name: "idle", Description: "kcconform: idle expiry", Register: register}

const (
	// idleTimeout is the realm's offlineSessionIdleTimeout here.
	idleTimeout = 10 * time.Second
	// lastProbe is past the timeout and the 2-minute window Keycloak's
	// documentation says it adds to idle timeouts, with a margin: the token
	// probed then must be refused.
	lastProbe = idleTimeout + 150*time.Second
	// keepAlive is how often the used token is refreshed.
	keepAlive = 4 * time.Second
)

// probes are when (after the tokens were taken) an unused token is
// presented for the first time: each token is presented once, since a
// refresh that works resets its idle time. The first must work; from the
// timeout on, the probes come at doubling delays, and the first refusal
// ends the search (Keycloak 26.7 refuses within seconds of the timeout).
var probes = []time.Duration{idleTimeout / 2, idleTimeout + time.Second, idleTimeout + 2*time.Second, idleTimeout + 4*time.Second,
	idleTimeout + 8*time.Second, idleTimeout + 16*time.Second, idleTimeout + 32*time.Second, idleTimeout + 64*time.Second,
	idleTimeout + 128*time.Second, lastProbe}

func register(r *run.Run) {
	s := framework.Bootstrap(r, "idle", framework.NeedServer, framework.ServerOptions{})

	Describe("an offline session's idle timeout", Label(framework.LabelIdle, framework.LabelAdmin, framework.LabelOwnRealm), func() {
		It(fmt.Sprintf("refuses a token left unused past the realm's offlineSessionIdleTimeout (%s), and keeps one that is used every %s working", idleTimeout, keepAlive), func(ctx SpecContext) {
			s.RequireAdmin()
			if s.Config.Client != nil {
				Skip("creates a realm with a short idle timeout: needs admin rights without KC_REALM")
			}
			name := s.RealmName("idle")
			rep, err := s.RealmFixture(name, func(realm map[string]any) {
				realm["offlineSessionIdleTimeout"] = int(idleTimeout.Seconds())
			})
			s.ExpectNoError(err, "realm fixture")
			s.Realm = s.CreateRealm(ctx, name, rep)
			c := s.Realm.Client

			By(fmt.Sprintf("taking %d offline tokens to leave unused, and one to keep using", len(probes)))
			idle := make([]*tokenflow.Response, len(probes))
			for i := range probes {
				idle[i] = s.GetOffline(ctx, c)
			}
			used := s.GetOffline(ctx, c)
			t0 := time.Now()

			results := map[time.Duration]error{}
			lastKeep := t0
			for i, at := range probes {
				for {
					if time.Since(lastKeep) >= keepAlive {
						_, err := c.Flow.Refresh(ctx, used.RefreshToken)
						s.ExpectToken(contract.IdleExpiry, fmt.Sprintf("a used token, refreshed %s after the start", time.Since(t0).Round(time.Second)), s.Subject(c), err)
						lastKeep = time.Now()
					}
					wait := time.Until(t0.Add(at))
					if wait <= 0 {
						break
					}
					select {
					case <-ctx.Done():
						return
					case <-time.After(min(wait, time.Until(lastKeep.Add(keepAlive)))):
					}
				}
				By(fmt.Sprintf("presenting a token unused for %s", at))
				_, err := c.Flow.Refresh(ctx, idle[i].RefreshToken)
				results[at] = err
				if err != nil {
					e, ok := tokenflow.AsError(err)
					Expect(ok && e.Status == http.StatusBadRequest && e.Code == "invalid_grant").To(BeTrue(),
						"a token unused for %s: expected 400 invalid_grant or a token, got %v", at, s.ErrString(err))
					if at > idleTimeout {
						break // the first refusal past the timeout: the search is over
					}
				}
			}
			By("the token in use still refreshes")
			_, err = c.Flow.Refresh(ctx, used.RefreshToken)
			usedErr := err

			refusedAfter := time.Duration(0)
			var lines []string
			keys := make([]time.Duration, 0, len(results))
			for at := range results {
				keys = append(keys, at)
			}
			sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
			for _, at := range keys {
				state := "refreshed"
				if results[at] != nil {
					state = "refused (" + s.ErrString(results[at]) + ")"
					if refusedAfter == 0 {
						refusedAfter = at
					}
				}
				lines = append(lines, fmt.Sprintf("unused for %s: %s", at, state))
			}
			AddReportEntry("idle expiry on Keycloak "+s.Server.Version, strings.Join(lines, "\n"))
			observed := fmt.Sprintf("first refused unused for %s", refusedAfter)
			if refusedAfter == 0 {
				observed = fmt.Sprintf("still refreshed unused for %s", lastProbe)
			}
			checks := []contract.Check{
				check("used within the idle timeout", fmt.Sprintf("refreshes when unused for %s", probes[0]), okText(s, results[probes[0]]), results[probes[0]] == nil),
				check("unused past the idle timeout", fmt.Sprintf("refused (400 invalid_grant) by the time it is unused for %s: offlineSessionIdleTimeout %s plus any window Keycloak adds", lastProbe, idleTimeout),
					observed, refusedAfter > idleTimeout),
				check("used regularly", fmt.Sprintf("refreshes every %s, and at the end", keepAlive), okText(s, usedErr), usedErr == nil),
			}
			framework.ExpectKept("idle expiry", nil, checks)
			AddReportEntry("idle window", fmt.Sprintf("Keycloak %s refused an offline token first when it had been unused for %s, with offlineSessionIdleTimeout %s: a window of about %s past the timeout",
				s.Server.Version, refusedAfter, idleTimeout, (refusedAfter-idleTimeout).Round(time.Second)))
		}, SpecTimeout(lastProbe+2*time.Minute))
	})
}

// check is one way the idle expiry is checked.
func check(how, expected, sent string, pass bool) contract.Check {
	return contract.Qualified(contract.IdleExpiry.Check(contract.Subject{}, expected, sent, pass), how)
}

func okText(s *framework.Session, err error) string {
	if err == nil {
		return "refreshed"
	}
	return s.ErrString(err)
}
