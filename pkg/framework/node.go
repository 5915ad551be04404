package framework

import (
	"context"
	"fmt"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // Ginkgo's DSL
	. "github.com/onsi/gomega"    //nolint:revive // Gomega's DSL

	"kcconform/pkg/keycloak"
	"kcconform/pkg/postgres"
	"kcconform/pkg/profile"
	"kcconform/pkg/redact"
)

// Databases a Node runs on.
const (
	DBDevFile  = "dev-file"
	DBPostgres = "postgres"
)

// Node is a Keycloak a spec starts, stops and starts again itself, for the
// restart and upgrade suites: the process target, on its dev-file H2
// database or on a real PostgreSQL server.
type Node struct {
	Launcher *keycloak.ProcessLauncher
	Server   *keycloak.Server // nil while stopped
	DB       *postgres.Server // nil on dev-file
}

// RequireProcessTarget skips, with the reason, where KC_TARGET names a
// server the harness cannot stop and start on its own database.
func RequireProcessTarget() keycloak.Config {
	GinkgoHelper()
	cfg, err := keycloak.FromEnv(os.Getenv)
	ExpectNoError(err, "kcconform settings")
	if cfg.Target != keycloak.TargetProcess {
		Skip(fmt.Sprintf("stops and restarts the server on its database: needs KC_TARGET=process, not %s", cfg.Target))
	}
	if cfg.LogDir == "" {
		cfg.LogDir = ReportDir()
	}
	return cfg
}

// StartPostgres starts a PostgreSQL server for this spec and registers its
// removal.
func StartPostgres(ctx context.Context) *postgres.Server {
	GinkgoHelper()
	By("starting PostgreSQL")
	pg, err := postgres.Start(ctx)
	ExpectNoError(err, "start PostgreSQL")
	DeferCleanup(func(ctx SpecContext) { Expect(pg.Stop(ctx)).To(Succeed()) }, NodeTimeout(time.Minute))
	return pg
}

// NewNode prepares a Keycloak of version on db (pg for DBPostgres) with the
// settings of cfg. Its stopping and the removal of its data are registered
// with DeferCleanup.
func NewNode(cfg keycloak.Config, version string, pg *postgres.Server) *Node {
	cfg.Version = version
	l := &keycloak.ProcessLauncher{Config: cfg, Persistent: true}
	if pg != nil {
		l.BuildArgs = []string{"--db=postgres"}
		l.Env = pg.KeycloakEnv()
	}
	n := &Node{Launcher: l, DB: pg}
	DeferCleanup(func(ctx SpecContext) {
		if n.Server != nil {
			Expect(n.Server.Stop(ctx)).To(Succeed())
		}
		Expect(l.Remove()).To(Succeed())
	}, NodeTimeout(time.Minute))
	return n
}

// Start starts the node and returns a Framework for it.
func (n *Node) Start(ctx context.Context) *Framework {
	GinkgoHelper()
	Expect(n.Server).To(BeNil(), "node already running")
	By(fmt.Sprintf("starting Keycloak %s on %s", n.Launcher.Version, n.dbName()))
	srv, err := n.Launcher.Start(ctx)
	ExpectNoError(err, fmt.Sprintf("start Keycloak %s", n.Launcher.Version))
	n.Server = srv
	redact.Default.AddSecret(srv.Admin.Password)
	p, err := profile.FromEnv(os.Getenv)
	ExpectNoError(err, "kcconform profile")
	ac, err := srv.AdminClient()
	ExpectNoError(err, "admin client")
	AddReportEntry(ServerEntry, ServerReport{Target: srv.Target, Version: srv.Version, URL: srv.BaseURL,
		BootSeconds: srv.BootTime.Seconds(), Profile: p, Admin: true, RunID: RunID})
	return &Framework{Server: srv.Info, Profile: p, Admin: ac}
}

// Stop stops the node gracefully (SIGTERM), keeping its data.
func (n *Node) Stop(ctx context.Context) {
	GinkgoHelper()
	By(fmt.Sprintf("stopping Keycloak %s gracefully", n.Launcher.Version))
	Expect(n.Server).NotTo(BeNil(), "node not running")
	ExpectNoError(n.Server.Stop(ctx), "stop Keycloak")
	n.Server = nil
}

// Kill stops the node with SIGKILL, as a crash would, keeping its data.
func (n *Node) Kill() {
	GinkgoHelper()
	By(fmt.Sprintf("killing Keycloak %s (SIGKILL)", n.Launcher.Version))
	Expect(n.Server).NotTo(BeNil(), "node not running")
	ExpectNoError(n.Server.Kill(), "kill Keycloak")
	n.Server = nil
}

func (n *Node) dbName() string {
	if n.DB != nil {
		return fmt.Sprintf("PostgreSQL (127.0.0.1:%d)", n.DB.Port)
	}
	return "the dev-file H2 database"
}
