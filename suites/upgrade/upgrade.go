// Package upgrade checks what a release engineer validating a Keycloak
// upgrade needs to know: an offline token issued by version FROM still
// refreshes, under the same contract, after the server is upgraded to
// version TO on the same PostgreSQL database (TO migrates the schema), and
// TO issues new ones. KC_UPGRADE_FROM and KC_UPGRADE_TO name the versions.
package upgrade

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/tokenflow"
	"kcconform/pkg/versions"
)

// Suite is the upgrade suite.
var Suite = framework.Suite{Name: "upgrade", Description: "kcconform: upgrade", Register: register}

// Versions are the upgrade path: KC_UPGRADE_FROM and KC_UPGRADE_TO, by
// default the versions pkg/versions names.
func Versions() (from, to string) {
	from, to = os.Getenv("KC_UPGRADE_FROM"), os.Getenv("KC_UPGRADE_TO")
	if from == "" {
		from = versions.UpgradeFrom
	}
	if to == "" {
		to = keycloak.DefaultVersion
	}
	return from, to
}

// clientsPerUpgrade is how many clients take offline tokens before the
// upgrade: the fixture's and two more.
const clientsPerUpgrade = 3

// upgradeAndRefresh runs the upgrade path; between runs after FROM stopped
// and before TO starts.
func upgradeAndRefresh(ctx context.Context, from, to string, between func(context.Context, keycloak.Database)) {
	GinkgoHelper()
	cfg := framework.RequireLifecycleTarget()
	AddReportEntry("upgrade", fmt.Sprintf("from %s to %s on PostgreSQL (%s target)", from, to, cfg.Target))
	db := framework.StartDatabase(ctx, cfg)
	cfgFrom, cfgTo := cfg, cfg
	cfgFrom.Version, cfgTo.Version = from, to
	old := framework.NewServer(cfgFrom, keycloak.Options{Database: db})
	// Prepared now, so that its removal runs after the realm's deletion
	// (clean-ups run last in, first out). It takes over old's place: the
	// same ports (tokens carry the issuer URL) and the administrator FROM
	// stored in the database.
	next := framework.NewServer(cfgTo, keycloak.Options{Database: db, Follow: old})
	framework.StartServer(ctx, old, fmt.Sprintf("Keycloak %s on %s", from, db.Describe()))
	s := framework.ForServer(old, cfgFrom)
	realm := s.ProvisionRealm(ctx, "upgrade")
	s.Realm = realm
	clients := []*framework.Client{realm.Client}
	for i := 2; i <= clientsPerUpgrade; i++ {
		clients = append(clients, s.CreateClient(ctx, fmt.Sprintf("%supgrade-%s-%d", framework.ResourcePrefix, framework.RunID(), i)))
	}
	toks := make([]*tokenflow.Response, len(clients))
	for i, c := range clients {
		toks[i] = s.GetOffline(ctx, c)
		framework.ExpectKept(fmt.Sprintf("issued by %s (%s)", from, c.ClientID), toks[i], contract.Offline(s.Profile, s.Context(c), toks[i]))
	}
	By("stopping Keycloak " + from)
	framework.ExpectNoError(old.Stop(ctx), "stop Keycloak "+from)
	n, err := db.SQL(ctx, "select count(*) from offline_user_session")
	Expect(err).NotTo(HaveOccurred())
	Expect(strconv.Atoi(n)).To(BeNumerically(">=", clientsPerUpgrade), "offline sessions stored in PostgreSQL by %s", from)
	if between != nil {
		between(ctx, db)
	}

	framework.StartServer(ctx, next, fmt.Sprintf("Keycloak %s on the same database", to))
	s = framework.ForServer(next, cfgTo)
	Expect(s.Server.Version).To(Equal(to))
	for i, c := range clients {
		step := fmt.Sprintf("issued by %s, refreshed by %s (%s)", from, to, c.ClientID)
		resp, err := c.Flow.Refresh(ctx, toks[i].RefreshToken)
		if err != nil {
			// Gomega, not ginkgo.Fail: the self-check intercepts this failure.
			framework.Record(step, []contract.Check{contract.TokenAnswer(step, s.Context(c), err)})
			e, _ := tokenflow.AsError(err)
			if e == nil {
				e = &tokenflow.Error{Cause: framework.ErrString(err)}
			}
			Expect(err).NotTo(HaveOccurred(), "offline token issued by %s was refused after upgrade to %s: %s %q", from, to, e.Code, e.Description)
		}
		s.RevokeAtEnd(c, resp)
		framework.ExpectKept(step, resp, contract.Offline(s.Profile, s.Context(c), resp))
	}
	By("new offline tokens on " + to)
	for _, c := range clients {
		fresh := s.GetOffline(ctx, c)
		framework.ExpectKept(fmt.Sprintf("issued by %s (%s)", to, c.ClientID), fresh, contract.Offline(s.Profile, s.Context(c), fresh))
	}
}

func register() {
	Describe("the upgrade path on PostgreSQL", Label(framework.LabelUpgrade), func() {
		It("keeps offline tokens issued before the upgrade refreshing after it, and issues new ones", func(ctx SpecContext) {
			from, to := Versions()
			upgradeAndRefresh(ctx, from, to, nil)
		}, SpecTimeout(15*time.Minute))

		It("can fail: with the offline sessions deleted from the database during the upgrade, it fails naming both versions", Label(framework.LabelSelf), func(ctx SpecContext) {
			from, to := Versions()
			msg := InterceptGomegaFailure(func() {
				upgradeAndRefresh(ctx, from, to, func(ctx context.Context, db keycloak.Database) {
					By("deleting the offline sessions from PostgreSQL")
					_, err := db.SQL(ctx, "delete from offline_client_session; delete from offline_user_session")
					Expect(err).NotTo(HaveOccurred())
				})
			})
			if msg != nil {
				AddReportEntry("the upgrade spec's failure", framework.Redactor.String(msg.Error()))
			}
			Expect(msg).To(MatchError(ContainSubstring(fmt.Sprintf("offline token issued by %s was refused after upgrade to %s: invalid_grant", from, to))))
		}, SpecTimeout(15*time.Minute))
	})
}
