// Package upgrade checks what a release engineer validating a Keycloak
// upgrade needs to know: an offline token issued by version FROM still
// refreshes, under the same contract, after the server is upgraded to
// version TO on the same PostgreSQL database (TO migrates the schema), and
// TO issues new ones; 200 offline sessions made by real grants all survive
// a restart of FROM and the upgrade. KC_UPGRADE_FROM and KC_UPGRADE_TO name
// the versions.
package upgrade

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/run"
	"kcconform/pkg/seed"
	"kcconform/pkg/tokenflow"
)

// Suite is the upgrade suite.
var Suite = framework.Suite{Name: "upgrade", Description: "kcconform: upgrade", Register: register}

// clientsPerUpgrade is how many clients take offline tokens before the
// upgrade: the fixture's and two more. One more client's offline session is
// deleted from the database during the upgrade: its refusal after the
// upgrade proves that the check can fail.
const clientsPerUpgrade = 3

// manySessions offline sessions, made by real grants over the kept
// clients, must all survive a restart of FROM and the upgrade (the code
// path of make bench-scale, at a size make test affords); revokedSessions
// more, of a client whose consent an administrator revokes before the
// restart, must all be lost: the count can fail.
const (
	manySessions    = 200
	revokedSessions = 5
)

// taken is a stored offline token and its client.
type taken struct {
	c       *framework.Client
	refresh string
}

// takeMany takes n offline tokens by real grants, spread over clients.
func takeMany(ctx context.Context, s *framework.Session, clients []*framework.Client, n int) []taken {
	GinkgoHelper()
	toks, errs := seed.Take(ctx, n, 8, 4*s.Server.Timeout, GinkgoWriter, func(ctx context.Context, i int) (*tokenflow.Response, error) {
		return clients[i%len(clients)].Flow.ClientCredentials(ctx, "offline_access")
	})
	out := make([]taken, n)
	for i := range toks {
		Expect(errs[i]).NotTo(HaveOccurred(), "offline token %d of %d", i+1, n)
		out[i] = taken{clients[i%len(clients)], toks[i]}
	}
	return out
}

// expectAllRefresh refreshes every stored token (8 at a time) and fails,
// through Gomega so that a self-check can intercept it, unless all of them
// refresh, counting those lost and their answers.
func expectAllRefresh(ctx context.Context, s *framework.Session, id contract.ID, when string, toks []taken) {
	GinkgoHelper()
	errs := make([]error, len(toks))
	seed.ForEach(ctx, len(toks), 8, func(i int) {
		_, errs[i] = toks[i].c.Flow.Refresh(ctx, toks[i].refresh)
	})
	answers := map[string]int{}
	lost := 0
	for _, err := range errs {
		if err != nil {
			lost++
			answers[contract.SentOf(err)]++
		}
	}
	var why []string
	for a, n := range answers {
		why = append(why, fmt.Sprintf("%d× %s", n, a))
	}
	slices.Sort(why)
	sent := fmt.Sprintf("%d of %d refreshed", len(toks)-lost, len(toks))
	if lost > 0 {
		sent += "; refused: " + strings.Join(why, ", ")
	}
	framework.Record(fmt.Sprintf("%d stored offline tokens %s", len(toks), when), []contract.Check{
		id.Check(s.Subject(toks[0].c), fmt.Sprintf("all %d refresh", len(toks)), sent, lost == 0)})
	Expect(lost).To(BeZero(), "%d of %d stored offline tokens lost %s (%s)", lost, len(toks), when, strings.Join(why, ", "))
}

// refreshAfter refreshes a token issued by from on to, failing (through
// Gomega, so that a self-check can intercept it) with a message naming both
// versions.
func refreshAfter(ctx context.Context, s *framework.Session, c *framework.Client, tok *tokenflow.Response, from, to string) *tokenflow.Response {
	GinkgoHelper()
	step := fmt.Sprintf("issued by %s, refreshed by %s (%s)", from, to, c.ClientID)
	resp, err := c.Flow.Refresh(ctx, tok.RefreshToken)
	framework.Record(step, []contract.Check{contract.TokenAnswer(contract.SurvivesUpgrade, s.Subject(c), err)})
	if err != nil {
		e, _ := tokenflow.AsError(err)
		if e == nil {
			e = &tokenflow.Error{Cause: s.ErrString(err)}
		}
		Expect(err).NotTo(HaveOccurred(), "offline token issued by %s was refused after upgrade to %s: %s %q", from, to, e.Code, e.Description)
	}
	s.RevokeAtEnd(c, resp)
	framework.ExpectKept(step, resp, contract.Offline(s.Profile, s.Subject(c), resp))
	return resp
}

func register(r *run.Run) {
	base := framework.NewSession(r)
	Describe("the upgrade path on PostgreSQL", Label(framework.LabelUpgrade), func() {
		It("keeps offline tokens issued before the upgrade refreshing after it (200 more through a restart first), and issues new ones; tokens revoked or deleted from the database are refused, naming both versions", func(ctx SpecContext) {
			from, to, via := r.Settings.UpgradeFrom, r.Settings.UpgradeTo, r.Settings.UpgradeVia
			cfg := base.RequireLifecycleTarget()
			path := strings.Join(append(append([]string{from}, via...), to), " -> ")
			AddReportEntry("upgrade", fmt.Sprintf("%s on PostgreSQL (%s target)", path, cfg.Target))
			db := base.StartDatabase(ctx, cfg)
			cfgFrom, cfgTo := cfg, cfg
			cfgFrom.Version, cfgTo.Version = from, to
			old := base.NewServer(cfgFrom, db, keycloak.Options{})
			// Prepared now, so that its removal runs after the realm's
			// deletion (clean-ups run last in, first out). It takes over
			// old's place: the same ports (tokens carry the issuer URL) and
			// the administrator FROM stored in the database.
			// The releases between, each started on the database (its
			// migration) and stopped in turn, as an upgrade path runs.
			prev := old
			var mids []keycloak.Server
			for _, v := range via {
				prev = base.Successor(prev, cfg, v)
				mids = append(mids, prev)
			}
			next := base.Successor(prev, cfg, to)
			base.StartServer(ctx, old, fmt.Sprintf("Keycloak %s on %s", from, db.Describe()))
			s := base.ForServer(old, cfgFrom)
			s.Realm = s.ProvisionRealm(ctx, "upgrade")
			clients := []*framework.Client{s.Realm.Client}
			for i := 2; i <= clientsPerUpgrade+1; i++ {
				clients = append(clients, s.CreateClient(ctx, fmt.Sprintf("%supgrade-%s-%d", framework.ResourcePrefix, s.Run.ID(), i)))
			}
			kept, lost := clients[:clientsPerUpgrade], clients[clientsPerUpgrade]
			toks := make([]*tokenflow.Response, len(clients))
			for i, c := range clients {
				toks[i] = s.GetOffline(ctx, c)
				framework.ExpectKept(fmt.Sprintf("issued by %s (%s)", from, c.ClientID), toks[i], contract.Offline(s.Profile, s.Subject(c), toks[i]))
			}

			By(fmt.Sprintf("taking %d more offline tokens by real grants over %d clients, and %d of a client whose consent is then revoked", manySessions, len(kept), revokedSessions))
			revoked := s.CreateClient(ctx, fmt.Sprintf("%supgrade-%s-revoked", framework.ResourcePrefix, s.Run.ID()))
			many := takeMany(ctx, s, kept, manySessions)
			gone := takeMany(ctx, s, []*framework.Client{revoked}, revokedSessions)
			count, err := s.Admin.OfflineSessionCount(ctx, s.Realm.Name)
			Expect(err).NotTo(HaveOccurred())
			Expect(count).To(BeNumerically(">=", manySessions+revokedSessions+len(clients)), "the realm's offline sessions, counted through the admin API")
			AddReportEntry("offline sessions", fmt.Sprintf("%d in realm %s on %s, counted through the admin API", count, s.Realm.Name, from))
			Expect(s.Admin.DeleteConsent(ctx, s.Realm.Name, revoked.ServiceAccountID, revoked.ClientID)).To(Succeed())

			By("restarting Keycloak " + from + " on the same database")
			s.ExpectNoError(old.Stop(ctx), "stop Keycloak "+from)
			s.StartServer(ctx, old, fmt.Sprintf("Keycloak %s again on the same database", from))
			expectAllRefresh(ctx, s, contract.SurvivesRestart, "after a restart of "+from, many)

			By("stopping Keycloak " + from)
			s.ExpectNoError(old.Stop(ctx), "stop Keycloak "+from)
			n, err := db.SQL(ctx, "select count(*) from offline_user_session")
			Expect(err).NotTo(HaveOccurred())
			Expect(strconv.Atoi(n)).To(BeNumerically(">=", len(clients)), "offline sessions stored in PostgreSQL by %s", from)
			By("deleting the offline session of " + lost.ClientID + " from PostgreSQL")
			_, err = db.SQL(ctx, fmt.Sprintf(`delete from offline_user_session where user_session_id in
				(select user_session_id from offline_client_session where client_id = '%[1]s');
				delete from offline_client_session where client_id = '%[1]s'`, lost.UUID))
			Expect(err).NotTo(HaveOccurred())

			for i, mid := range mids {
				s.StartServer(ctx, mid, fmt.Sprintf("Keycloak %s on the same database (on the path to %s)", via[i], to))
				s.ExpectNoError(mid.Stop(ctx), "stop Keycloak "+via[i])
			}
			s.StartServer(ctx, next, fmt.Sprintf("Keycloak %s on the same database", to))
			s = s.ForServer(next, cfgTo)
			Expect(s.Server.Version).To(Equal(to))
			for i, c := range kept {
				refreshAfter(ctx, s, c, toks[i], from, to)
			}
			expectAllRefresh(ctx, s, contract.SurvivesUpgrade, fmt.Sprintf("issued by %s, after the upgrade to %s", from, to), many)
			By("the tokens whose consent an administrator revoked: the count can fail")
			msg := InterceptGomegaFailure(func() {
				expectAllRefresh(ctx, s, contract.SurvivesUpgrade, fmt.Sprintf("revoked on %s, after the upgrade to %s", from, to), gone)
			})
			Expect(msg).To(MatchError(ContainSubstring(fmt.Sprintf("%d of %d stored offline tokens lost", revokedSessions, revokedSessions))))
			AddReportEntry("the self-check's failure, as intended", s.Run.Redactor.String(msg.Error()))

			By("the token whose offline session was deleted: the check can fail")
			msg = InterceptGomegaFailure(func() { refreshAfter(ctx, s, lost, toks[clientsPerUpgrade], from, to) })
			Expect(msg).To(MatchError(ContainSubstring(fmt.Sprintf("offline token issued by %s was refused after upgrade to %s: invalid_grant", from, to))))
			AddReportEntry("the self-check's failure, as intended", s.Run.Redactor.String(msg.Error()))

			By("new offline tokens on " + to)
			for _, c := range clients {
				fresh := s.GetOffline(ctx, c)
				framework.ExpectKept(fmt.Sprintf("issued by %s (%s)", to, c.ClientID), fresh, contract.Offline(s.Profile, s.Subject(c), fresh))
			}
		}, SpecTimeout(15*time.Minute))
	})
}
