package framework

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/network"

	"kcconform/pkg/kccontainer"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/ports"
)

// DefaultPostgresImage is the official image; KC_POSTGRES_IMAGE overrides it
// (on machines without a registry: localhost/postgres:15 from
// scripts/build-image.sh --postgres).
const DefaultPostgresImage = "postgres:16"

// pgAlias is the PostgreSQL container's name on the spec's network.
const pgAlias = "postgres"

// pgContainer is PostgreSQL in a container, through testcontainers-go's
// postgres module, on a network of its own that Keycloak joins.
type pgContainer struct {
	ctr                *tcpostgres.PostgresContainer
	nw                 *testcontainers.DockerNetwork
	image              string
	user, password, db string
}

func startPostgresContainer(ctx context.Context) (*pgContainer, error) {
	img := os.Getenv("KC_POSTGRES_IMAGE")
	if img == "" {
		img = DefaultPostgresImage
	}
	nw, err := network.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("container network: %w", err)
	}
	d := &pgContainer{nw: nw, image: img, user: "keycloak", db: "keycloak", password: keycloak.GeneratePassword()}
	d.ctr, err = tcpostgres.Run(ctx, img,
		tcpostgres.WithDatabase(d.db), tcpostgres.WithUsername(d.user), tcpostgres.WithPassword(d.password),
		tcpostgres.BasicWaitStrategies(),
		network.WithNetwork([]string{pgAlias}, nw),
		testcontainers.WithLabels(map[string]string{"io.kcconform": "postgres"}),
	)
	if err != nil {
		return d, fmt.Errorf("postgres image %s (KC_POSTGRES_IMAGE): %w", img, err)
	}
	return d, nil
}

func (d *pgContainer) keycloakEnv() map[string]string {
	return map[string]string{
		"KC_DB":          "postgres",
		"KC_DB_URL":      fmt.Sprintf("jdbc:postgresql://%s:5432/%s", pgAlias, d.db),
		"KC_DB_USERNAME": d.user,
		"KC_DB_PASSWORD": d.password,
	}
}

func (d *pgContainer) SQL(ctx context.Context, statements string) (string, error) {
	code, r, err := d.ctr.Exec(ctx, []string{"psql", "-U", d.user, "-d", d.db, "-v", "ON_ERROR_STOP=1", "-At", "-c", statements}, tcexec.Multiplexed())
	if err != nil {
		return "", fmt.Errorf("postgres container: psql: %w", err)
	}
	out, _ := io.ReadAll(r)
	if code != 0 {
		return string(out), fmt.Errorf("postgres container: psql %q: exit %d: %s", statements, code, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func (d *pgContainer) Describe() string { return "PostgreSQL in a container (" + d.image + ")" }

func (d *pgContainer) terminate(ctx context.Context) error {
	var err error
	if d.ctr != nil {
		err = d.ctr.Terminate(ctx, testcontainers.StopTimeout(0))
	}
	if rerr := d.nw.Remove(ctx); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// containerBackend runs the node through kccontainer. Its host ports are
// fixed, so that a restarted container keeps the issuer URL tokens carry.
type containerBackend struct {
	cfg                keycloak.Config
	image              string
	db                 *pgContainer
	httpPort, mgmtPort int
	adminPassword      string
	ctr                *kccontainer.Container
	logFile            string
}

func newContainerBackend(cfg keycloak.Config, db Database) *containerBackend {
	b := &containerBackend{cfg: cfg, image: ImageFor(cfg.Image, cfg.Version)}
	if db != nil {
		b.db = db.(*pgContainer)
	}
	return b
}

// ImageFor is the image of version: KC_IMAGE with its tag replaced, or the
// official image.
func ImageFor(kcImage, version string) string {
	if kcImage == "" {
		return keycloak.DefaultImage(version)
	}
	if i := strings.LastIndex(kcImage, ":"); i > strings.LastIndex(kcImage, "/") {
		return kcImage[:i+1] + version
	}
	return kcImage + ":" + version
}

func (b *containerBackend) start(ctx context.Context) (*keycloak.Server, error) {
	began := time.Now()
	if b.ctr != nil { // a stopped container: start it again, data and ports kept
		if err := b.ctr.Start(ctx); err != nil {
			return nil, fmt.Errorf("restart container: %w", err)
		}
		if err := b.ctr.WaitReady(ctx); err != nil {
			return nil, err
		}
		return b.server(ctx, began)
	}
	var err error
	for _, p := range []*int{&b.httpPort, &b.mgmtPort} {
		if *p == 0 {
			if *p, err = ports.Free(); err != nil {
				return nil, err
			}
		}
	}
	if b.adminPassword == "" {
		b.adminPassword = keycloak.GeneratePassword()
	}
	logDir := b.cfg.LogDir
	if logDir == "" {
		logDir = os.TempDir()
	}
	b.logFile = filepath.Join(logDir, fmt.Sprintf("keycloak-%s-container-%d.log", b.cfg.Version, b.httpPort))
	opts := []testcontainers.ContainerCustomizer{
		kccontainer.WithAdminCredentials(keycloak.AdminUser, b.adminPassword),
		kccontainer.WithLogFile(b.logFile),
		kccontainer.WithStartupTimeout(b.cfg.BootTimeout),
		kccontainer.WithExtraArgs("--cache=local"),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			loopback := netip.MustParseAddr("127.0.0.1")
			hc.PortBindings = mobynet.PortMap{
				mobynet.MustParsePort("8080/tcp"): {{HostIP: loopback, HostPort: strconv.Itoa(b.httpPort)}},
				mobynet.MustParsePort("9000/tcp"): {{HostIP: loopback, HostPort: strconv.Itoa(b.mgmtPort)}},
			}
		}),
	}
	if b.db != nil {
		// The image was built for dev-file: start-dev builds for PostgreSQL.
		opts = append(opts, kccontainer.WithOptimized(false), testcontainers.WithEnv(b.db.keycloakEnv()),
			network.WithNetwork([]string{"keycloak"}, b.db.nw))
	}
	b.ctr, err = kccontainer.Run(ctx, b.image, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w\nserver log (last lines):\n%s", err, keycloak.TailFile(b.logFile, 30))
	}
	return b.server(ctx, began)
}

func (b *containerBackend) server(ctx context.Context, began time.Time) (*keycloak.Server, error) {
	base, err := b.ctr.BaseURL(ctx)
	if err != nil {
		return nil, err
	}
	return keycloak.NewServer(keycloak.Info{
		Target: keycloak.TargetContainer, Version: b.cfg.Version, Image: b.image, BaseURL: base,
		Admin: b.ctr.AdminCredentials(), LogFile: b.logFile, Timeout: b.cfg.Timeout, BootTime: time.Since(began),
	}, nil), nil
}

func (b *containerBackend) stop(ctx context.Context) error {
	grace := 20 * time.Second
	return b.ctr.Stop(ctx, &grace)
}

func (b *containerBackend) kill(ctx context.Context) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := cli.ContainerKill(ctx, b.ctr.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("kill container: %w", err)
	}
	// Wait until the engine has seen it exit, as after a crash.
	for i := 0; i < 100; i++ {
		st, err := b.ctr.State(ctx)
		if err == nil && !st.Running {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("kill container: still running 10 s after SIGKILL")
}

func (b *containerBackend) remove(ctx context.Context) error {
	if b.ctr == nil {
		return nil
	}
	err := b.ctr.Terminate(ctx)
	b.ctr = nil
	return err
}

func (b *containerBackend) follow(ctx context.Context, prev nodeBackend) error {
	p, ok := prev.(*containerBackend)
	if !ok {
		return fmt.Errorf("cannot follow a %T", prev)
	}
	// The old container is stopped; remove it so that its ports are free.
	if err := p.remove(ctx); err != nil {
		return err
	}
	b.httpPort, b.mgmtPort, b.adminPassword = p.httpPort, p.mgmtPort, p.adminPassword
	return nil
}
