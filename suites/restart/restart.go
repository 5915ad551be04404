// Package restart checks that an offline token survives a server restart:
// taken, the server stopped (gracefully, or killed), started again on the
// same database, and the token refreshed under the same contract. On the
// dev-file H2 database and on PostgreSQL, on the process and container
// targets (the harness starts and stops the server itself).
package restart

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/run"
)

// Suite is the restart suite.
var Suite = framework.Suite{Name: "restart", Description: "kcconform: restart", Register: register}

// h2WriteDelay is more than H2's MVStore commit delay (WRITE_DELAY, 500 ms,
// and the 1 s auto-commit of its background writer).
const h2WriteDelay = 2 * time.Second

// how a server is stopped.
type how struct {
	name  string
	crash bool
}

var (
	graceful = how{"a graceful stop (SIGTERM)", false}
	crash    = how{"a crash (SIGKILL)", true}
)

func register(r *run.Run) {
	base := framework.NewSession(r)
	var srv keycloak.Server
	AfterEach(func() {
		if CurrentSpecReport().Failed() && srv != nil {
			base.AttachServerLog(srv.Info())
		}
	})

	DescribeTable("an offline token across a server restart still refreshes under the contract",
		Label(framework.LabelRestart),
		func(ctx SpecContext, h how, postgres bool) {
			cfg := base.RequireLifecycleTarget()
			var database keycloak.Database
			db := "the dev-file H2 database"
			if postgres {
				database = base.StartDatabase(ctx, cfg)
				db = database.Describe()
			}
			srv = base.NewServer(cfg, database, keycloak.Options{})
			base.StartServer(ctx, srv, fmt.Sprintf("Keycloak %s on %s", cfg.Version, db))
			s := base.ForServer(srv, cfg)
			realm := s.ProvisionRealm(ctx, "restart")
			tok := s.GetOffline(ctx, realm.Client)
			framework.ExpectKept("before restart", tok, contract.Offline(s.Profile, s.Subject(realm.Client), tok))

			if h.crash && !postgres {
				// H2 (dev-file) commits to disk after a write delay: a crash
				// loses what was written in the last moments, realms
				// included. Let it pass; PostgreSQL needs no wait.
				By(fmt.Sprintf("letting H2's write delay (%s) pass", h2WriteDelay))
				time.Sleep(h2WriteDelay)
			}
			By("stopping Keycloak with " + h.name)
			if h.crash {
				s.ExpectNoError(srv.Kill(ctx), "kill Keycloak")
			} else {
				s.ExpectNoError(srv.Stop(ctx), "stop Keycloak")
			}
			s.StartServer(ctx, srv, "Keycloak again on the same database")
			s = s.ForServer(srv, cfg)

			step := fmt.Sprintf("refresh after %s (%s)", h.name, db)
			resp, err := realm.Client.Flow.Refresh(ctx, tok.RefreshToken)
			s.ExpectToken(contract.SurvivesRestart, step, s.Subject(realm.Client), err)
			s.RevokeAtEnd(realm.Client, resp)
			framework.ExpectKept(step, resp, contract.Offline(s.Profile, s.Subject(realm.Client), resp))

			By("a new offline token on the restarted server")
			fresh := s.GetOffline(ctx, realm.Client)
			framework.ExpectKept("new token after restart", fresh, contract.Offline(s.Profile, s.Subject(realm.Client), fresh))
		},
		func(h how, postgres bool) string {
			db := "dev-file H2"
			if postgres {
				db = "PostgreSQL"
			}
			return fmt.Sprintf("after %s and a start on the same %s database", h.name, db)
		},
		Entry(nil, graceful, false, SpecTimeout(8*time.Minute)),
		Entry(nil, crash, false, SpecTimeout(8*time.Minute)),
		Entry(nil, graceful, true, SpecTimeout(8*time.Minute)),
		Entry(nil, crash, true, SpecTimeout(8*time.Minute)),
	)
}
