// Package container is the container target: Keycloak's image (or a
// locally built one of the same layout) through package kccontainer, the
// testcontainers-go module, with fixed host ports so that a restarted or
// upgraded container keeps the issuer URL.
package container

import (
	"context"
	"errors"
	"fmt"
	"kcconform/pkg/keycloak"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"

	"kcconform/pkg/admin"
	"kcconform/pkg/dist"
	"kcconform/pkg/kccontainer"
	"kcconform/pkg/ports"
	"kcconform/pkg/postgres"
	"kcconform/pkg/reaper"
	"kcconform/pkg/release"
	"kcconform/pkg/report"
)

// DefaultImage is the official image of a version.
func DefaultImage(version string) string { return "quay.io/keycloak/keycloak:" + version }

// ImageFor is the image of a version: KC_IMAGE with its tag replaced, or the
// official image.
func ImageFor(kcImage, version string) string {
	if kcImage == "" {
		return DefaultImage(version)
	}
	if i := strings.LastIndex(kcImage, ":"); i > strings.LastIndex(kcImage, "/") {
		return kcImage[:i+1] + version
	}
	return kcImage + ":" + version
}

// ImageForDatabase is the image to run with a database: the image's
// "-<database>" tag where such an image is present (scripts/build-image.sh
// builds one per database, so that no start re-builds Keycloak), else the
// image itself, which then starts with start-dev.
func ImageForDatabase(ctx context.Context, img, database string) string {
	if database == "" || database == kccontainer.DevFile {
		return img
	}
	variant := img + "-" + database
	if labels, err := kccontainer.ImageLabels(ctx, variant); err == nil && labels[kccontainer.DatabaseLabel] == database {
		return variant
	}
	return img
}

// Container is Keycloak in a container, through kccontainer. Its host
// ports are fixed at the first Up, so that a restarted container, or the
// container of an upgrade, keeps the issuer URL tokens carry.
type Container struct {
	cfg  keycloak.Config
	opts keycloak.Options
	db   *postgres.Container // nil: the dev-file H2 database
	// follows is the container this one takes over from (Successor).
	follows *Container
	// node makes the container a node of a cluster (nil: a single server).
	node *keycloak.ClusterNode
	// up: started and not stopped since.
	up bool

	image              string
	httpPort, mgmtPort int
	ctr                *kccontainer.Container
	guard              *reaper.Guard
	logFile            string
	info               keycloak.Info
}

// NewContainer returns a Keycloak of the container target, not yet
// started, on db (nil: its dev-file H2 database).
func New(cfg keycloak.Config, opts keycloak.Options, db *postgres.Container) *Container {
	cfg, opts = opts.Apply(cfg)
	return &Container{cfg: cfg, opts: opts, db: db, image: ImageFor(cfg.Image, cfg.Version)}
}

// Successor returns a container of another version that takes over this
// one's place once it is stopped: its database, its ports and its
// administrator.
func (c *Container) Successor(version string) (keycloak.Server, error) {
	opts := c.opts
	opts.Version = version
	n := New(c.cfg, opts, c.db)
	n.follows = c
	return n, nil
}

// Info describes the server.
func (c *Container) Info() keycloak.Info { return c.info }

// Up runs the container, or starts a stopped one again (data and ports
// kept), and returns when it is ready (kccontainer's readiness: health, an
// admin token).
func (c *Container) Up(ctx context.Context) error {
	ph := keycloak.StartPhases()
	if c.ctr != nil {
		if err := c.ctr.Start(ctx); err != nil {
			return fmt.Errorf("restart container: %w\nserver log (last lines):\n%s", err, report.TailFile(c.logFile, 30))
		}
		ph.Done("restart")
		return c.ready(ctx, ph)
	}
	if prev := c.follows; prev != nil && c.httpPort == 0 {
		// Take over its place: its ports (tokens carry the issuer URL). It
		// is stopped; remove it so that its ports are free.
		c.httpPort, c.mgmtPort = prev.httpPort, prev.mgmtPort
		if err := prev.Remove(ctx); err != nil {
			return err
		}
	}
	var err error
	for _, p := range []*int{&c.httpPort, &c.mgmtPort} {
		if *p == 0 {
			if *p, err = ports.Free(); err != nil {
				return err
			}
		}
	}
	release, note := release.LineOf(c.cfg.Version)
	if note != "" {
		dist.Progress("%s", note)
	}
	logDir := c.cfg.ReportDir
	if logDir == "" {
		logDir = os.TempDir()
	}
	c.logFile = filepath.Join(logDir, keycloak.FreeName(logDir, fmt.Sprintf("keycloak-%s-container-%d", c.cfg.Version, c.httpPort)))
	opts := []testcontainers.ContainerCustomizer{
		kccontainer.WithAdminCredentials(keycloak.AdminUser, c.opts.AdminPassword),
		kccontainer.WithLogFile(c.logFile),
		kccontainer.WithRedactor(c.opts.Redactor),
		kccontainer.WithStartupTimeout(c.cfg.BootTimeout),
		kccontainer.WithManagementInterface(release.ManagementPort),
		kccontainer.WithExtraArgs(nodeArgs(c.node, release)...),
		testcontainers.WithLabels(c.labels()),
		testcontainers.WithEnv(map[string]string{"JAVA_OPTS_APPEND": strings.Join(c.opts.JVMOptions(), " ")}),
		testcontainers.WithHostConfigModifier(func(hc *ctypes.HostConfig) {
			loopback := netip.MustParseAddr("127.0.0.1")
			hc.PortBindings = mobynet.PortMap{
				mobynet.MustParsePort("8080/tcp"): {{HostIP: loopback, HostPort: strconv.Itoa(c.httpPort)}},
				mobynet.MustParsePort("9000/tcp"): {{HostIP: loopback, HostPort: strconv.Itoa(c.mgmtPort)}},
			}
		}),
	}
	img := c.image
	if c.db != nil {
		img = ImageForDatabase(ctx, c.image, "postgres")
		opts = append(opts, kccontainer.WithDatabase("postgres", c.db.KeycloakEnv()), network.WithNetwork([]string{"keycloak"}, c.db.Network()))
	}
	c.ctr, err = kccontainer.Run(ctx, img, opts...)
	if c.ctr != nil {
		c.guardContainer()
	}
	if err != nil {
		_ = c.Remove(context.Background())
		return fmt.Errorf("container target, image %s: %w\nserver log (last lines):\n%s", img, err, report.TailFile(c.logFile, 30))
	}
	c.image = img
	if c.ctr.Optimized {
		ph.Done("start --optimized and ready")
	} else {
		ph.Done("start-dev (builds Keycloak at start) and ready")
	}
	return c.ready(ctx, ph)
}

// labels mark the container with the run and its owner, for clean-up.
func (c *Container) labels() map[string]string {
	l := map[string]string{"io.kcconform.owner-pid": strconv.Itoa(os.Getpid())}
	for k, v := range c.opts.Labels {
		l[k] = v
	}
	return l
}

// guardContainer starts a watchdog that removes the container through the
// Docker API should the harness die.
func (c *Container) guardContainer() {
	c.guard.Release()
	c.guard = nil
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	u, err := url.Parse(host)
	if err != nil {
		return
	}
	path := "/containers/" + c.ctr.GetContainerID() + "?force=true&v=true"
	var curl string
	switch u.Scheme {
	case "unix":
		curl = "curl -s -m 20 -X DELETE --unix-socket " + reaper.Quote(u.Path) + " " + reaper.Quote("http://d"+path)
	case "tcp":
		curl = "curl -s -m 20 -X DELETE " + reaper.Quote("http://"+u.Host+path)
	default:
		return
	}
	c.guard, _ = reaper.Watch(curl + " >/dev/null 2>&1;")
}

func (c *Container) ready(ctx context.Context, ph *keycloak.Phases) error {
	base, err := c.ctr.BaseURL(ctx)
	if err != nil {
		return err
	}
	user, password := c.ctr.AdminCredentials()
	c.info = keycloak.Info{
		Target: keycloak.TargetContainer, Version: c.cfg.Version, Image: c.image, BaseURL: base,
		Admin: admin.Credentials{Username: user, Password: password}, LogFile: c.logFile, Timeout: c.cfg.Timeout,
	}
	c.info.BootTime, c.info.Boot = ph.Total(), ph.List()
	c.up = true
	return nil
}

// Stop stops the container gracefully, keeping it (and its data).
func (c *Container) Stop(ctx context.Context) error {
	if c.ctr == nil {
		return errors.New("not running")
	}
	c.up = false
	grace := 20 * time.Second
	err := c.ctr.Stop(ctx, &grace)
	c.saveLog(ctx)
	return err
}

// saveLog writes the container's whole log, read from the engine, to its
// log file (best effort: it runs on the way down).
func (c *Container) saveLog(ctx context.Context) {
	if c.ctr == nil || c.logFile == "" {
		return
	}
	_ = c.ctr.SaveLog(ctx)
}

// Kill stops the container with SIGKILL, as a crash would, keeping it.
func (c *Container) Kill(ctx context.Context) error {
	if c.ctr == nil {
		return errors.New("not running")
	}
	c.up = false
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := cli.ContainerKill(ctx, c.ctr.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("kill container: %w", err)
	}
	defer c.saveLog(ctx)
	// Wait until the engine has seen it exit, as after a crash.
	for i := 0; i < 100; i++ {
		st, err := c.ctr.State(ctx)
		if err == nil && !st.Running {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("kill container: still running 10 s after SIGKILL")
}

// Remove removes the container.
func (c *Container) Remove(ctx context.Context) error {
	if c.ctr == nil {
		return nil
	}
	if c.up {
		c.saveLog(ctx)
	}
	err := c.ctr.Terminate(ctx)
	c.ctr, c.up = nil, false
	c.guard.Release()
	c.guard = nil
	return err
}
