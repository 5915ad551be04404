// Package upgrade_test checks what a release engineer validating a Keycloak
// upgrade needs to know: an offline token issued by version FROM still
// refreshes, under the same contract, after the server is upgraded to
// version TO on the same PostgreSQL database (TO migrates the schema), and
// TO issues new ones. KC_UPGRADE_FROM and KC_UPGRADE_TO name the versions.
package upgrade_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/redact"
	"kcconform/pkg/tokenflow"
)

// DefaultFrom is the older version of the default pair; the newer one is
// keycloak.DefaultVersion. Both are served by Maven Central here.
const DefaultFrom = "26.4.7"

func TestUpgrade(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "kcconform: upgrade")
}

func versions() (from, to string) {
	from, to = os.Getenv("KC_UPGRADE_FROM"), os.Getenv("KC_UPGRADE_TO")
	if from == "" {
		from = DefaultFrom
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
func upgradeAndRefresh(ctx context.Context, from, to string, between func(context.Context, framework.Database)) {
	GinkgoHelper()
	cfg := framework.RequireLifecycleTarget()
	AddReportEntry("upgrade", fmt.Sprintf("from %s to %s on PostgreSQL (%s target)", from, to, cfg.Target))
	pg := framework.StartDatabase(ctx, cfg)
	old := framework.NewNode(cfg, from, pg)
	next := framework.NewNode(cfg, to, pg) // registered now: its stop runs after the realm's deletion

	f := old.Start(ctx)
	realm := f.ProvisionRealm(ctx, "upgrade")
	clients := []*framework.TestClient{realm.Client}
	for i := 2; i <= clientsPerUpgrade; i++ {
		clients = append(clients, f.CreateClient(ctx, realm.Name, fmt.Sprintf("%supgrade-%s-%d", framework.ResourcePrefix, framework.RunID, i)))
	}
	toks := make([]*tokenflow.Response, len(clients))
	for i, c := range clients {
		toks[i] = f.GetOffline(ctx, c)
		framework.ExpectKept(fmt.Sprintf("issued by %s (%s)", from, c.ClientID), toks[i], contract.Offline(f.Profile, c.ClientID, toks[i]))
	}
	old.Stop(ctx)
	n, err := pg.SQL(ctx, "select count(*) from offline_user_session")
	Expect(err).NotTo(HaveOccurred())
	Expect(strconv.Atoi(n)).To(BeNumerically(">=", clientsPerUpgrade), "offline sessions stored in PostgreSQL by %s", from)
	if between != nil {
		between(ctx, pg)
	}

	next.Follow(ctx, old) // same issuer URL, and the administrator FROM stored
	f = next.Start(ctx)
	Expect(f.Server.Version).To(Equal(to))
	for i, c := range clients {
		resp, err := c.Flow.Refresh(ctx, toks[i].RefreshToken)
		if e, ok := tokenflow.AsError(err); ok {
			AddReportEntry("replay", framework.ReplayEntry(e.Replay, e.Body), ReportEntryVisibilityFailureOrVerbose)
			Expect(err).NotTo(HaveOccurred(), "offline token issued by %s was refused after upgrade to %s: %s %q", from, to, e.Code, e.Description)
		}
		Expect(err).NotTo(HaveOccurred(), "offline token issued by %s: refresh after upgrade to %s", from, to)
		framework.ExpectKept(fmt.Sprintf("issued by %s, refreshed by %s (%s)", from, to, c.ClientID), resp, contract.Offline(f.Profile, c.ClientID, resp))
	}
	By("new offline tokens on " + to)
	for _, c := range clients {
		fresh := f.GetOffline(ctx, c)
		framework.ExpectKept(fmt.Sprintf("issued by %s (%s)", to, c.ClientID), fresh, contract.Offline(f.Profile, c.ClientID, fresh))
	}
}

var _ = Describe("the upgrade path", Label("upgrade"), func() {
	It("keeps offline tokens issued before the upgrade refreshing after it, and issues new ones", func(ctx SpecContext) {
		from, to := versions()
		upgradeAndRefresh(ctx, from, to, nil)
	}, SpecTimeout(15*time.Minute))

	It("can fail: with the offline sessions deleted from the database during the upgrade, it fails naming both versions", Label("selfcheck"), func(ctx SpecContext) {
		from, to := versions()
		msg := InterceptGomegaFailure(func() {
			upgradeAndRefresh(ctx, from, to, func(ctx context.Context, pg framework.Database) {
				By("deleting the offline sessions from PostgreSQL")
				_, err := pg.SQL(ctx, "delete from offline_client_session; delete from offline_user_session")
				Expect(err).NotTo(HaveOccurred())
			})
		})
		if msg != nil {
			AddReportEntry("the upgrade spec's failure", redact.String(msg.Error()))
		}
		Expect(msg).To(MatchError(ContainSubstring(fmt.Sprintf("offline token issued by %s was refused after upgrade to %s: invalid_grant", from, to))))
	}, SpecTimeout(15*time.Minute))
})
