// Package restart_test checks that an offline token survives a server
// restart: taken, the server stopped (gracefully, or killed), started again
// on the same database, and the token refreshed under the same contract. On
// the dev-file H2 database and on PostgreSQL.
package restart_test

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
)

func TestRestart(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "kcconform: restart")
}

var node *framework.Node

// h2WriteDelay is more than H2's MVStore commit delay (WRITE_DELAY, 500 ms,
// and the 1 s auto-commit of its background writer).
const h2WriteDelay = 2 * time.Second

var _ = AfterEach(func() {
	if CurrentSpecReport().Failed() && node != nil && node.Server != nil {
		(&framework.Framework{Server: node.Server.Info}).AttachServerLog()
	}
})

var _ = Describe("an offline token across a server restart", Label("restart"), func() {
	for _, db := range []string{framework.DBDevFile, framework.DBPostgres} {
		for _, crash := range []bool{false, true} {
			how := "a graceful stop (SIGTERM)"
			if crash {
				how = "a crash (SIGKILL)"
			}
			It(fmt.Sprintf("still refreshes under the contract after %s and a start on the same %s database", how, db), func(ctx SpecContext) {
				cfg := framework.RequireLifecycleTarget()
				var pg framework.Database
				if db == framework.DBPostgres {
					pg = framework.StartDatabase(ctx, cfg)
				}
				node = framework.NewNode(cfg, cfg.Version, pg)
				f := node.Start(ctx)
				realm := f.ProvisionRealm(ctx, "restart")
				tok := f.GetOffline(ctx, realm.Client)
				framework.ExpectKept("before restart", tok, contract.Offline(f.Profile, realm.Client.ClientID, tok))

				if crash && db == framework.DBDevFile {
					// H2 (dev-file) commits to disk after a write delay: a
					// crash loses what was written in the last moments,
					// realms included. Let it pass; PostgreSQL needs no wait.
					By(fmt.Sprintf("letting H2's write delay (%s) pass", h2WriteDelay))
					time.Sleep(h2WriteDelay)
				}
				if crash {
					node.Kill(ctx)
				} else {
					node.Stop(ctx)
				}
				f = node.Start(ctx)

				resp, err := realm.Client.Flow.Refresh(ctx, tok.RefreshToken)
				framework.ExpectToken(err)
				framework.ExpectKept(fmt.Sprintf("refresh after %s (%s)", how, db), resp, contract.Offline(f.Profile, realm.Client.ClientID, resp))

				By("a new offline token on the restarted server")
				fresh := f.GetOffline(ctx, realm.Client)
				framework.ExpectKept("new token after restart", fresh, contract.Offline(f.Profile, realm.Client.ClientID, fresh))
			}, SpecTimeout(8*time.Minute))
		}
	}
})
