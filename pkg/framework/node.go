package framework

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

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

// Database is a PostgreSQL server for Keycloak: a local server from the
// machine's packages (process target) or a container (container target).
type Database interface {
	// SQL runs statements against Keycloak's database and returns the output.
	SQL(ctx context.Context, statements string) (string, error)
	// Describe names the server for reports.
	Describe() string
}

// Node is a Keycloak a spec starts, stops and starts again itself, for the
// restart and upgrade suites, on its dev-file H2 database or on PostgreSQL:
// a process (process target) or a container (container target).
type Node struct {
	Version string
	Server  *keycloak.Server // nil while stopped
	DB      Database         // nil on dev-file
	backend nodeBackend
}

// nodeBackend is what differs between the targets.
type nodeBackend interface {
	start(ctx context.Context) (*keycloak.Server, error)
	stop(ctx context.Context) error // gracefully, keeping the data
	kill(ctx context.Context) error // SIGKILL, as a crash would, keeping the data
	remove(ctx context.Context) error
	// follow takes over the address and administrator of the node this one
	// replaces (an upgrade): tokens carry the issuer URL, and the database
	// keeps the administrator the first version created.
	follow(ctx context.Context, prev nodeBackend) error
}

// RequireLifecycleTarget returns the settings where the harness can stop and
// start the server on its database itself (process and container targets),
// and skips, with the reason, on an external server.
func RequireLifecycleTarget() keycloak.Config {
	ginkgo.GinkgoHelper()
	cfg, err := keycloak.FromEnv(os.Getenv)
	ExpectNoError(err, "kcconform settings")
	if cfg.Target == keycloak.TargetExternal {
		ginkgo.Skip("stops and restarts the server on its database: needs KC_TARGET=process or container, not external")
	}
	if cfg.LogDir == "" {
		cfg.LogDir = ReportDir()
	}
	return cfg
}

// StartDatabase starts a PostgreSQL server for this spec, of the kind the
// target uses, and registers its removal.
func StartDatabase(ctx context.Context, cfg keycloak.Config) Database {
	ginkgo.GinkgoHelper()
	ginkgo.By("starting PostgreSQL")
	if cfg.Target == keycloak.TargetContainer {
		db, err := startPostgresContainer(ctx)
		if db != nil {
			ginkgo.DeferCleanup(func(ctx ginkgo.SpecContext) { gomega.Expect(db.terminate(ctx)).To(gomega.Succeed()) }, ginkgo.NodeTimeout(time.Minute))
		}
		ExpectNoError(err, "start PostgreSQL container")
		return db
	}
	pg, err := postgres.Start(ctx)
	ExpectNoError(err, "start PostgreSQL")
	ginkgo.DeferCleanup(func(ctx ginkgo.SpecContext) { gomega.Expect(pg.Stop(ctx)).To(gomega.Succeed()) }, ginkgo.NodeTimeout(time.Minute))
	return localDB{pg}
}

type localDB struct{ *postgres.Server }

func (d localDB) Describe() string { return fmt.Sprintf("PostgreSQL (127.0.0.1:%d)", d.Port) }

// NewNode prepares a Keycloak of version, on db (nil: dev-file), with the
// settings of cfg. Its stopping and the removal of its data are registered
// with DeferCleanup.
func NewNode(cfg keycloak.Config, version string, db Database) *Node {
	ginkgo.GinkgoHelper()
	cfg.Version = version
	n := &Node{Version: version, DB: db}
	switch cfg.Target {
	case keycloak.TargetContainer:
		n.backend = newContainerBackend(cfg, db)
	default:
		l := &keycloak.ProcessLauncher{Config: cfg, Persistent: true}
		if db != nil {
			pg := db.(localDB)
			l.BuildArgs = []string{"--db=postgres"}
			l.Env = pg.KeycloakEnv()
		}
		n.backend = &processBackend{l: l}
	}
	ginkgo.DeferCleanup(func(ctx ginkgo.SpecContext) {
		gomega.Expect(n.backend.remove(ctx)).To(gomega.Succeed())
	}, ginkgo.NodeTimeout(time.Minute))
	return n
}

// Follow makes n take over prev's address and administrator: the upgrade
// starts the new version where the old one ran.
func (n *Node) Follow(ctx context.Context, prev *Node) {
	ginkgo.GinkgoHelper()
	gomega.Expect(prev.Server).To(gomega.BeNil(), "stop the node being replaced first")
	ExpectNoError(n.backend.follow(ctx, prev.backend), "take over the address of Keycloak "+prev.Version)
}

// Start starts the node and returns a Framework for it.
func (n *Node) Start(ctx context.Context) *Framework {
	ginkgo.GinkgoHelper()
	gomega.Expect(n.Server).To(gomega.BeNil(), "node already running")
	ginkgo.By(fmt.Sprintf("starting Keycloak %s on %s", n.Version, n.dbName()))
	srv, err := n.backend.start(ctx)
	ExpectNoError(err, fmt.Sprintf("start Keycloak %s", n.Version))
	n.Server = srv
	redact.Default.AddSecret(srv.Admin.Password)
	p, err := profile.FromEnv(os.Getenv)
	ExpectNoError(err, "kcconform profile")
	ac, err := srv.AdminClient()
	ExpectNoError(err, "admin client")
	ginkgo.AddReportEntry(ServerEntry, ServerReport{Target: srv.Target, Version: srv.Version, Image: srv.Image, URL: srv.BaseURL,
		BootSeconds: srv.BootTime.Seconds(), Profile: p, Admin: true, RunID: RunID})
	return &Framework{Server: srv.Info, Profile: p, Admin: ac}
}

// Stop stops the node gracefully (SIGTERM), keeping its data.
func (n *Node) Stop(ctx context.Context) {
	ginkgo.GinkgoHelper()
	ginkgo.By(fmt.Sprintf("stopping Keycloak %s gracefully", n.Version))
	gomega.Expect(n.Server).NotTo(gomega.BeNil(), "node not running")
	ExpectNoError(n.backend.stop(ctx), "stop Keycloak")
	n.Server = nil
}

// Kill stops the node with SIGKILL, as a crash would, keeping its data.
func (n *Node) Kill(ctx context.Context) {
	ginkgo.GinkgoHelper()
	ginkgo.By(fmt.Sprintf("killing Keycloak %s (SIGKILL)", n.Version))
	gomega.Expect(n.Server).NotTo(gomega.BeNil(), "node not running")
	ExpectNoError(n.backend.kill(ctx), "kill Keycloak")
	n.Server = nil
}

func (n *Node) dbName() string {
	if n.DB != nil {
		return n.DB.Describe()
	}
	return "the dev-file H2 database"
}

// processBackend runs the node as a local process (ProcessLauncher).
type processBackend struct {
	l   *keycloak.ProcessLauncher
	srv *keycloak.Server
}

func (b *processBackend) start(ctx context.Context) (*keycloak.Server, error) {
	srv, err := b.l.Start(ctx)
	b.srv = srv
	return srv, err
}

func (b *processBackend) stop(ctx context.Context) error {
	err := b.srv.Stop(ctx)
	b.srv = nil
	return err
}

func (b *processBackend) kill(context.Context) error {
	err := b.srv.Kill()
	b.srv = nil
	return err
}

func (b *processBackend) remove(ctx context.Context) error {
	if b.srv != nil {
		if err := b.srv.Stop(ctx); err != nil {
			return err
		}
		b.srv = nil
	}
	return b.l.Remove()
}

func (b *processBackend) follow(_ context.Context, prev nodeBackend) error {
	p, ok := prev.(*processBackend)
	if !ok {
		return fmt.Errorf("cannot follow a %T", prev)
	}
	b.l.HTTPPort, b.l.ManagementPort, b.l.AdminPassword = p.l.HTTPPort, p.l.ManagementPort, p.l.AdminPassword
	return nil
}

// RequireProcessTarget returns the settings where the harness runs Keycloak
// as a local process it configures itself (HTTPS with a test-made
// certificate), and skips, with the reason, elsewhere.
func RequireProcessTarget() keycloak.Config {
	ginkgo.GinkgoHelper()
	cfg := RequireLifecycleTarget()
	if cfg.Target != keycloak.TargetProcess {
		ginkgo.Skip(fmt.Sprintf("configures the server's TLS itself: needs KC_TARGET=process, not %s", cfg.Target))
	}
	return cfg
}
