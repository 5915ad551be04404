// Package process is the process target: the official server
// distribution (fetched and verified by package dist), built once per
// version and database and run on loopback with a JDK of the machine, its
// JVM supervised. Fast boots come from database templates and a
// class-data-sharing archive (fastboot.go); a cluster's update-compatibility
// check runs the distribution's kc.sh (compat.go).
package process

import (
	"context"
	"errors"
	"fmt"
	"kcconform/pkg/keycloak"
	"os"
	"path/filepath"
	"time"

	"kcconform/pkg/admin"
	"kcconform/pkg/dist"
	"kcconform/pkg/ports"
	"kcconform/pkg/postgres"
	"kcconform/pkg/reaper"
	"kcconform/pkg/redact"
	"kcconform/pkg/release"
)

// Process is the official server distribution run as a local process on
// loopback, built once per version and database (`kc.sh build`, cached) and
// started with `kc.sh start --optimized`. Its run directory (the dev-file
// database with it) and its ports live from the first Up to Remove, so
// that Up after Stop or Kill is a restart.
type Process struct {
	cfg   keycloak.Config
	opts  keycloak.Options
	red   *redact.Redactor
	db    *postgres.Server // nil: the dev-file H2 database
	https *keycloak.TLSFiles
	node  *keycloak.ClusterNode
	// follows is the server this one takes over from (Successor).
	follows *Process
	// savedLog is the name its log is kept under in the report folder,
	// chosen at its first stop.
	savedLog string

	runDir string
	// dirGuard removes the run directory should the harness die while no
	// JVM runs in it (the JVM's own watchdog removes it after the JVM).
	dirGuard                 *reaper.Guard
	httpPort, managementPort int

	running *processRun
	info    keycloak.Info
}

// runDirPattern names the run directories, for reaper.Sweep.
const runDirPattern = "kcconform-kc-*"

// Options are what only the process target offers.
type Options struct {
	// Database is a local PostgreSQL server (nil: the dev-file H2).
	Database *postgres.Server
	// HTTPS serves HTTPS only, with this certificate and key (PEM files).
	HTTPS *keycloak.TLSFiles
	// Node makes the server a node of a cluster (Cluster makes them).
	Node *keycloak.ClusterNode
}

// NewProcess returns a Keycloak of the process target, not yet started.
func New(cfg keycloak.Config, opts keycloak.Options, po Options) *Process {
	cfg, opts = opts.Apply(cfg)
	return &Process{cfg: cfg, opts: opts, red: opts.Redactor, db: po.Database, https: po.HTTPS, node: po.Node}
}

// Successor returns a Keycloak of another version that takes over this
// one's place once it is stopped: its database, its ports (tokens carry the
// issuer URL) and its administrator (kept in the database).
func (p *Process) Successor(version string) (keycloak.Server, error) {
	return p.successor(version), nil
}

// Info describes the server.
func (p *Process) Info() keycloak.Info { return p.info }

// ProcessGroup is the process group of the running server (kc.sh and its
// JVM), for measuring its CPU time and memory; 0 when it does not run.
func (p *Process) ProcessGroup() int {
	if p.running == nil || p.running.cmd.Process == nil {
		return 0
	}
	select {
	case <-p.running.exited:
		return 0
	default:
		return p.running.cmd.Process.Pid
	}
}

// buildArgs are the build-time options of this server's build.
func (p *Process) buildArgs() []string {
	var args []string
	if p.db != nil {
		// Metrics on: a cluster node's /metrics tells the cluster size it
		// sees (vendor_cluster_size); one build serves single servers too.
		args = append(args, "--db=postgres", "--metrics-enabled=true")
	}
	if r, _ := release.LineOf(p.cfg.Version); !r.CacheAtStart {
		args = append(args, keycloak.LocalCache...)
	}
	return args
}

// Up fetches, builds (once per version and database) and starts Keycloak,
// and returns when /health/ready answers UP and an admin token can be
// obtained.
func (p *Process) Up(ctx context.Context) error {
	if p.running != nil {
		return errors.New("already running")
	}
	if prev := p.follows; prev != nil && p.httpPort == 0 {
		if prev.running != nil {
			return errors.New("stop the server being replaced first")
		}
		p.httpPort, p.managementPort = prev.httpPort, prev.managementPort
	}
	ph := keycloak.StartPhases()
	if _, note := release.LineOf(p.cfg.Version); note != "" && p.running == nil && p.runDir == "" {
		dist.Progress("%s", note)
	}
	home, jdk, err := p.build(ctx, ph)
	if err != nil {
		return err
	}
	first := p.runDir == ""
	var boot fastBoot
	if first {
		if boot, err = p.prepare(ctx, home, jdk, ph); err != nil {
			return err
		}
	}
	// Ports the launcher chose may be taken by another program between the
	// choice and the bind: choose again, a few times, on a first start only
	// (a restart, or a successor, must keep its issuer URL).
	chosen := p.httpPort == 0
	for attempt := 1; ; attempt++ {
		if err = p.choosePorts(); err == nil {
			err = p.startOnce(ctx, home, jdk, boot.password, ph)
		}
		var inUse *portInUseError
		if err == nil || !chosen || !errors.As(err, &inUse) || attempt == 3 || ctx.Err() != nil {
			break
		}
		p.httpPort, p.managementPort = 0, 0
	}
	if err == nil {
		err = boot.finish(ctx, p, ph)
	}
	if err != nil {
		if p.running != nil {
			_ = p.Stop(context.Background())
		}
		if first {
			p.removeDir()
		}
		return err
	}
	p.info.BootTime, p.info.Boot = ph.Total(), ph.List()
	return nil
}

// build finds the dist.JDK, fetches the distribution and builds it (each once
// per version and database, then cached), and returns the build.
func (p *Process) build(ctx context.Context, ph *keycloak.Phases) (string, dist.JDK, error) {
	jdk, err := dist.FindJDK(p.cfg.Version, p.cfg.JavaHome)
	if err != nil {
		return "", jdk, err
	}
	dist, err := dist.Fetch(ctx, p.cfg.Version, p.cfg.CacheDir, p.cfg.MavenRepoURL)
	if err != nil {
		return "", jdk, err
	}
	ph.Done("fetch")
	home, err := ensureBuild(ctx, p.cfg, dist, jdk, p.buildArgs())
	if err != nil {
		return "", jdk, err
	}
	ph.Done("build")
	return home, jdk, nil
}

// choosePorts gives the server free ports where it has none yet.
func (p *Process) choosePorts() error {
	var err error
	for _, port := range []*int{&p.httpPort, &p.managementPort} {
		if *port == 0 {
			if *port, err = ports.Free(); err != nil {
				return err
			}
		}
	}
	return nil
}

// prepare makes the run directory of a first start, with the build's
// database template in it where there is one (fastboot.go).
func (p *Process) prepare(ctx context.Context, home string, jdk dist.JDK, ph *keycloak.Phases) (fastBoot, error) {
	var boot fastBoot
	devFile := p.db == nil && !p.opts.NoFastBoot
	if devFile {
		ensureTemplate(ctx, p.cfg, home, jdk, p.red)
		ph.Done("template")
	}
	if err := p.prepareRunDir(home); err != nil {
		return boot, err
	}
	if devFile {
		if t, ok := loadTemplate(filepath.Join(home, templateDir)); ok {
			if err := useTemplate(t, p.runDir); err != nil {
				p.removeDir()
				return boot, fmt.Errorf("copy the database template: %w", err)
			}
			p.red.AddSecret(t.password)
			boot.password = t.password
		}
	}
	ph.Done("prepare")
	if p.db != nil && !p.opts.NoFastBoot {
		var err error
		if boot, err = fromPGTemplate(ctx, p.db, pgTemplateDir(home, p.db.Major()), p.red); err != nil {
			p.removeDir()
			return boot, err
		}
		if boot.password != "" || boot.savePG != "" {
			ph.Done("template")
		}
	}
	return boot, nil
}

// prepareRunDir makes the server's run directory: the build, linked.
func (p *Process) prepareRunDir(home string) error {
	dir, guard, err := newRunDir(home)
	p.runDir, p.dirGuard = dir, guard
	return err
}

// newRunDir makes a run directory of a build, watched from the start so
// that a harness killed at any moment leaves none behind (removed again on
// error).
func newRunDir(home string) (string, *reaper.Guard, error) {
	dir, guard, err := newGuardedDir()
	if err != nil {
		return "", nil, err
	}
	if err := linkTree(home, dir); err != nil {
		os.RemoveAll(dir)
		guard.Release()
		return "", nil, fmt.Errorf("prepare run dir: %w", err)
	}
	return dir, guard, nil
}

// newGuardedDir makes an empty folder of the run that a watchdog removes
// should the harness die.
func newGuardedDir() (string, *reaper.Guard, error) {
	reaper.Sweep(filepath.Join(os.TempDir(), runDirPattern))
	dir, err := os.MkdirTemp("", runDirPattern)
	if err != nil {
		return "", nil, fmt.Errorf("run dir: %w", err)
	}
	guard, err := reaper.Watch(reaper.RemoveDir(dir))
	if err == nil {
		err = reaper.MarkOwned(dir)
	}
	if err != nil {
		os.RemoveAll(dir)
		guard.Release()
		return "", nil, err
	}
	return dir, guard, nil
}

// startOnce starts the JVM and waits until it is ready. The administrator
// logs in with the template's password until the fast boot gives it the
// run's (fastBoot.finish).
func (p *Process) startOnce(ctx context.Context, home string, jdk dist.JDK, templatePassword string, ph *keycloak.Phases) error {
	s := jvmStart{runDir: p.runDir, jdk: jdk, version: p.cfg.Version, httpPort: p.httpPort, managementPort: p.managementPort,
		https: p.https, adminPassword: p.opts.AdminPassword, javaOptions: jvmOptions(home, p.opts), node: p.node}
	if p.opts.NoFastBoot {
		s.javaOptions = nil
	}
	s.javaOptions = append(s.javaOptions, nodeJavaOptions(p.node)...)
	if p.db != nil {
		s.env = p.db.KeycloakEnv()
	}
	r, err := startJVM(s)
	if err != nil {
		return err
	}
	password := p.opts.AdminPassword
	if templatePassword != "" {
		password = templatePassword
	}
	p.info = keycloak.Info{
		Target:  keycloak.TargetProcess,
		Version: p.cfg.Version,
		BaseURL: s.baseURL(),
		Admin:   admin.Credentials{Username: keycloak.AdminUser, Password: password},
		CAFile:  p.cfg.CAFile,
		LogFile: r.log,
		Timeout: p.cfg.Timeout,
		// kc.sh leads the group; the JVM is its child.
		ProcessGroup: r.cmd.Process.Pid,
	}
	if err := waitReady(ctx, p.info, s.healthURL(), p.cfg.BootTimeout, r, p.red, ph); err != nil {
		return r.failed(err, p.red)
	}
	p.running = r
	return nil
}

// Stop stops the server gracefully (SIGTERM, then SIGKILL after 20 s),
// keeping its run directory.
func (p *Process) Stop(context.Context) error {
	return p.halt(func(r *processRun) error { return r.terminate(20 * time.Second) })
}

// Kill stops the server at once with SIGKILL, as a crash would.
func (p *Process) Kill(context.Context) error {
	return p.halt(func(r *processRun) error { r.kill(); return nil })
}

func (p *Process) halt(stop func(*processRun) error) error {
	r := p.running
	if r == nil {
		return errors.New("not running")
	}
	p.running = nil
	err := stop(r)
	r.guard.Release()
	if p.savedLog == "" {
		p.savedLog = keycloak.FreeName(p.cfg.ReportDir, fmt.Sprintf("keycloak-%s-process-%d", p.cfg.Version, p.httpPort))
	}
	keycloak.SaveLog(r.log, p.cfg.ReportDir, p.savedLog, p.red)
	return err
}

// Remove stops the server if it runs and deletes its run directory.
func (p *Process) Remove(ctx context.Context) error {
	var err error
	if p.running != nil {
		err = p.Stop(ctx)
	}
	p.removeDir()
	return err
}

func (p *Process) removeDir() {
	if p.runDir != "" {
		os.RemoveAll(p.runDir)
		p.runDir = ""
	}
	p.dirGuard.Release()
	p.dirGuard = nil
}
