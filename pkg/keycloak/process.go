package keycloak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"kcconform/pkg/admin"
	"kcconform/pkg/ports"
	"kcconform/pkg/postgres"
	"kcconform/pkg/reaper"
	"kcconform/pkg/redact"
)

// Process is the official server distribution run as a local process on
// loopback, built once per version and database (`kc.sh build`, cached) and
// started with `kc.sh start --optimized`. Its run directory (the dev-file
// database with it) and its ports live from the first Start to Remove, so
// that Start after Stop or Kill is a restart.
type Process struct {
	cfg  Config
	opts Options
	red  *redact.Redactor

	runDir                   string
	httpPort, managementPort int
	portsChosen              bool

	running *processRun
	info    Info

	// home is the build the server runs; training marks the start that
	// makes its template and archive; templatePassword is the template
	// administrator's password until the first start gave it the run's.
	home             string
	training         bool
	templatePassword string
	// savePGTemplate is where this start, the first on an empty
	// PostgreSQL database with no template, saves one once ready.
	savePGTemplate string
}

// processRun is one running JVM.
type processRun struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // set before exited is closed
	guard  *reaper.Guard
	log    string
}

// runDirPattern names the run directories, for reaper.Sweep.
const runDirPattern = "kcconform-kc-*"

func newProcess(cfg Config, opts Options) (*Process, error) {
	p := &Process{cfg: cfg, opts: opts, red: opts.Redactor}
	if err := sameKind[*postgres.Server, *Process](opts, "a local PostgreSQL server", "a process"); err != nil {
		return nil, err
	}
	return p, nil
}

// follow takes over the place of the server this one replaces: its ports
// (tokens carry the issuer URL) and its administrator (kept in the
// database). That server must be stopped.
func (p *Process) follow() error {
	prev, _ := p.opts.Follow.(*Process)
	if prev == nil || p.httpPort != 0 {
		return nil
	}
	if prev.running != nil {
		return errors.New("keycloak: stop the server being replaced first")
	}
	p.httpPort, p.managementPort = prev.httpPort, prev.managementPort
	p.opts.AdminPassword = prev.opts.AdminPassword
	p.red.AddSecret(p.opts.AdminPassword)
	return nil
}

// Info describes the server.
func (p *Process) Info() Info { return p.info }

func (p *Process) scheme() string {
	if p.opts.HTTPS != nil {
		return "https"
	}
	return "http"
}

// buildArgs are the build-time options of this server's build.
func (p *Process) buildArgs() []string {
	if p.opts.Database != nil {
		return []string{"--db=postgres"}
	}
	return nil
}

// Start fetches, builds (once per version and database) and starts Keycloak,
// and returns when /health/ready answers UP and an admin token can be
// obtained.
func (p *Process) Start(ctx context.Context) error {
	if p.running != nil {
		return errors.New("keycloak: already running")
	}
	if err := p.follow(); err != nil {
		return err
	}
	ph := startPhases()
	jdk, err := FindJDK(p.cfg.Version, p.cfg.JavaHome)
	if err != nil {
		return err
	}
	dist, err := FetchDist(ctx, p.cfg.Version, p.cfg.CacheDir, os.Getenv)
	if err != nil {
		return err
	}
	ph.done("fetch")
	home, err := ensureBuild(ctx, p.cfg, dist, jdk, p.buildArgs())
	if err != nil {
		return err
	}
	ph.done("build")
	p.home = home
	if p.runDir == "" {
		devFile := p.opts.Database == nil && !p.opts.NoFastBoot
		if devFile {
			ensureTemplate(ctx, p.cfg, home, jdk, p.red)
			ph.done("template")
		}
		if err := p.prepareRunDir(home); err != nil {
			return err
		}
		if t, ok := loadTemplate(filepath.Join(home, templateDir)); ok && devFile {
			if err := useTemplate(t, p.runDir); err != nil {
				p.removeDir()
				return fmt.Errorf("keycloak: copy the database template: %w", err)
			}
			p.red.AddSecret(t.password)
			p.templatePassword = t.password
		}
	}
	ph.done("prepare")
	if db, ok := p.opts.Database.(*postgres.Server); ok && !p.opts.NoFastBoot {
		if err := p.fromPGTemplate(ctx, db); err != nil {
			return err
		}
		if p.templatePassword != "" || p.savePGTemplate != "" {
			ph.done("template")
		}
	}
	first := p.httpPort == 0 && p.managementPort == 0
	if first {
		p.portsChosen = true
	}
	for attempt := 1; ; attempt++ {
		for _, port := range []*int{&p.httpPort, &p.managementPort} {
			if *port == 0 {
				if *port, err = ports.Free(); err != nil {
					return err
				}
			}
		}
		err = p.run(ctx, jdk, ph)
		if err == nil {
			return nil
		}
		// Ports the launcher chose may be taken by another program between
		// the choice and the bind: choose again, a few times, on a first
		// start only (a restart must keep its issuer URL).
		var inUse *portInUseError
		if !first || !p.portsChosen || !errors.As(err, &inUse) || attempt == 3 || ctx.Err() != nil {
			if first {
				p.removeDir()
			}
			return err
		}
		p.httpPort, p.managementPort = 0, 0
	}
}

// fromPGTemplate restores the build's PostgreSQL template into the
// database of a first start when that database is empty, or marks the start
// to save the template. A server that follows another (an upgrade) finds
// the database full and starts on it as it is.
func (p *Process) fromPGTemplate(ctx context.Context, db *postgres.Server) error {
	empty, err := db.Empty(ctx)
	if err != nil || !empty {
		return err
	}
	dir := pgTemplateDir(p.home, db.Major())
	t, ok := loadTemplate(dir)
	if !ok {
		p.savePGTemplate = dir
		return nil
	}
	if err := db.Restore(ctx, t.dump); err != nil {
		// A broken template must not fail runs: start on the empty
		// database (the restore is one transaction) and save a new one.
		Progress("the PostgreSQL template of Keycloak %s did not restore (%v); starting on an empty database", p.cfg.Version, err)
		os.RemoveAll(dir)
		p.savePGTemplate = dir
		return nil
	}
	p.red.AddSecret(t.password)
	p.templatePassword = t.password
	return nil
}

// prepareRunDir makes the server's run directory: the build, linked.
func (p *Process) prepareRunDir(home string) error {
	reaper.Sweep(filepath.Join(os.TempDir(), runDirPattern))
	var err error
	if p.runDir, err = os.MkdirTemp("", runDirPattern); err != nil {
		return fmt.Errorf("keycloak: run dir: %w", err)
	}
	if err := reaper.MarkOwned(p.runDir); err != nil {
		return err
	}
	if err := linkTree(home, p.runDir); err != nil {
		p.removeDir()
		return fmt.Errorf("keycloak: prepare run dir: %w", err)
	}
	return nil
}

var freePort = ports.Free

// portInUseError is a start that failed because a port was already bound.
type portInUseError struct{ err error }

func (e *portInUseError) Error() string { return e.err.Error() }
func (e *portInUseError) Unwrap() error { return e.err }

// localCache is given at every start: a single node needs no cluster
// discovery, and 26.7 ignores the build-time value.
var localCache = []string{"--cache=local"}

func (p *Process) run(ctx context.Context, jdk JDK, ph *phases) error {
	scheme := p.scheme()
	args := []string{"start", "--optimized", "--http-host=127.0.0.1", "--hostname-strict=false",
		fmt.Sprintf("--http-management-port=%d", p.managementPort)}
	if p.opts.HTTPS != nil {
		args = append(args, "--http-enabled=false", fmt.Sprintf("--https-port=%d", p.httpPort),
			"--https-certificate-file="+p.opts.HTTPS.Cert, "--https-certificate-key-file="+p.opts.HTTPS.Key)
	} else {
		args = append(args, "--http-enabled=true", fmt.Sprintf("--http-port=%d", p.httpPort))
	}
	args = append(args, localCache...)
	logPath := filepath.Join(p.runDir, "server.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("keycloak: server log: %w", err)
	}
	cmd := exec.Command(filepath.Join(p.runDir, "bin", "kc.sh"), args...)
	cmd.Dir = p.runDir
	cmd.Env = append(append(os.Environ(), "JAVA_HOME="+jdk.Home), BootstrapAdminEnv(p.cfg.Version, AdminUser, p.opts.AdminPassword)...)
	jvm := jvmOptions(p.home, p.opts.FullJIT)
	if p.opts.NoFastBoot {
		jvm = nil
	}
	if p.training {
		jvm = []string{"-XX:ArchiveClassesAtExit=" + filepath.Join(p.home, archive+".tmp"), "--add-modules=jdk.jfr", "-XX:TieredStopAtLevel=1"}
	}
	cmd.Env = append(cmd.Env, "JAVA_OPTS_APPEND="+strings.Join(jvm, " "))
	if db, ok := p.opts.Database.(*postgres.Server); ok {
		cmd.Env = append(cmd.Env, db.KeycloakEnv()...)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own process group: kc.sh forks java, and both must get the signal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("keycloak: start %s: %w", cmd.Path, err)
	}
	r := &processRun{cmd: cmd, exited: make(chan struct{}), log: logPath}
	go func() { r.err = cmd.Wait(); logFile.Close(); close(r.exited) }()
	// Should the harness die (SIGKILL included), the watchdog kills the
	// server and removes its directory.
	if r.guard, err = reaper.Watch(reaper.KillGroup(cmd.Process.Pid) + reaper.RemoveDir(p.runDir)); err != nil {
		_ = r.terminate(time.Second)
		return err
	}

	password := p.opts.AdminPassword
	if p.templatePassword != "" {
		password = p.templatePassword
	}
	p.info = Info{
		Target:  TargetProcess,
		Version: p.cfg.Version,
		BaseURL: fmt.Sprintf("%s://127.0.0.1:%d", scheme, p.httpPort),
		Admin:   admin.Credentials{Username: AdminUser, Password: password},
		CAFile:  p.cfg.CAFile,
		LogFile: logPath,
		Timeout: p.cfg.Timeout,
		// kc.sh leads the group; the JVM is its child.
		ProcessGroup: cmd.Process.Pid,
	}
	health := fmt.Sprintf("%s://127.0.0.1:%d/health/ready", scheme, p.managementPort)
	if err := waitReady(ctx, p.info, health, p.cfg.BootTimeout, r, p.red, ph); err != nil {
		_ = r.terminate(20 * time.Second)
		r.guard.Release()
		logTail := TailFile(logPath, 30)
		err = fmt.Errorf("%w\nserver log (last lines):\n%s", err, p.red.String(logTail))
		if ports.InUse(logTail) {
			err = &portInUseError{err}
		}
		return err
	}
	p.running = r
	if p.savePGTemplate != "" {
		db := p.opts.Database.(*postgres.Server)
		if err := savePGTemplate(ctx, p.info, db, p.savePGTemplate, p.opts.AdminPassword, p.red); err != nil {
			Progress("no PostgreSQL template for Keycloak %s (later runs create the database again): %v", p.cfg.Version, err)
		}
		p.savePGTemplate = ""
		ph.done("template save")
	}
	if p.templatePassword != "" {
		if err := takeOverAdmin(ctx, p.info, p.templatePassword, p.opts.AdminPassword, p.red); err != nil {
			_ = p.Stop(context.Background())
			return err
		}
		p.templatePassword = ""
		p.info.Admin.Password = p.opts.AdminPassword
		ph.done("administrator")
	}
	p.info.BootTime, p.info.Boot = ph.total(), ph.list
	return nil
}

// Stop stops the server gracefully (SIGTERM, then SIGKILL after 20 s),
// keeping its run directory.
func (p *Process) Stop(context.Context) error {
	return p.halt(func(r *processRun) error { return r.terminate(20 * time.Second) })
}

// Kill stops the server at once with SIGKILL, as a crash would.
func (p *Process) Kill(context.Context) error {
	return p.halt(func(r *processRun) error {
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.exited
		return nil
	})
}

func (p *Process) halt(stop func(*processRun) error) error {
	r := p.running
	if r == nil {
		return errors.New("keycloak: not running")
	}
	p.running = nil
	err := stop(r)
	r.guard.Release()
	if p.training {
		// The JVM wrote its archive at its graceful exit.
		if _, serr := os.Stat(filepath.Join(p.home, archive+".tmp")); serr == nil {
			_ = os.Rename(filepath.Join(p.home, archive+".tmp"), filepath.Join(p.home, archive))
		}
	}
	saveLog(r.log, p.cfg.LogDir, fmt.Sprintf("keycloak-%s-process-%d.log", p.cfg.Version, p.httpPort), p.red)
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
}

// errExited is waitReady's answer when the server exited first.
var errExited = errors.New("keycloak: server exited before it was ready")

// terminate sends SIGTERM to the process group, then SIGKILL after grace.
func (r *processRun) terminate(grace time.Duration) error {
	pgid := -r.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-r.exited:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	select {
	case <-r.exited:
		return fmt.Errorf("keycloak: did not stop within %s of SIGTERM; killed", grace)
	case <-time.After(10 * time.Second):
		return errors.New("keycloak: did not exit even after SIGKILL")
	}
}

// waitReady polls the readiness endpoint until it answers 200, then checks
// that an admin token can be obtained: /health/ready has been seen to answer
// before the bootstrap admin existed.
func waitReady(ctx context.Context, info Info, healthURL string, timeout time.Duration, r *processRun, red *redact.Redactor, ph *phases) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc, err := info.HTTPClient()
	if err != nil {
		return err
	}
	hc.Timeout = 5 * time.Second
	ac, err := admin.New(info.BaseURL, info.Admin, hc, red)
	if err != nil {
		return err
	}
	ready := false
	var last string
	for {
		if !ready {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, healthURL, nil)
			if resp, err := hc.Do(req); err == nil {
				resp.Body.Close()
				ready = resp.StatusCode == http.StatusOK
				last = fmt.Sprintf("HTTP %d", resp.StatusCode)
				if ready {
					ph.done("start")
				}
			} else {
				last = err.Error()
			}
		}
		if ready {
			if _, err = ac.Token(ctx); err == nil {
				ph.done("admin ready")
				return nil
			}
			last = err.Error()
		}
		select {
		case <-r.exited:
			return fmt.Errorf("%w: %v", errExited, r.err)
		case <-ctx.Done():
			return fmt.Errorf("keycloak: not ready within %s (raise KC_BOOT_TIMEOUT) at %s: last answer: %s", timeout, healthURL, red.String(last))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ensureBuild unpacks the distribution and runs kc.sh build once per version
// and build options, keeping the result in the cache.
func ensureBuild(ctx context.Context, cfg Config, dist *Dist, jdk JDK, buildArgs []string) (string, error) {
	args := append([]string{"--health-enabled=true"}, buildArgs...)
	if !hasPrefixArg(args, "--db=") {
		args = append(args, "--db=dev-file")
	}
	home := filepath.Join(cfg.CacheDir, "builds", dist.Version+"-"+buildKey(buildArgs)+fmt.Sprintf("-java%d", jdk.Major))
	marker := filepath.Join(home, ".kcconform-built")
	if _, err := os.Stat(marker); err == nil {
		return home, nil
	}
	if err := os.MkdirAll(filepath.Dir(home), 0o755); err != nil {
		return "", fmt.Errorf("keycloak: cache dir: %w", err)
	}
	unlock, err := lockFile(home + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(marker); err == nil {
		return home, nil
	}
	tmp := home + ".tmp"
	os.RemoveAll(tmp)
	if err := dist.Verify(); err != nil {
		return "", err
	}
	if err := extract(dist.Archive, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	Progress("building Keycloak %s (%s) with Java %d: kc.sh build", dist.Version, buildKey(buildArgs), jdk.Major)
	began := time.Now()
	// A local cache (no cluster discovery) starts faster. Some versions take
	// --cache at build time, others refuse it there: ask the distribution.
	// It is given at start too (localCache), where every version takes it.
	built := append(append([]string(nil), localCache...), args...)
	out, err := kcBuild(ctx, tmp, jdk, built)
	if err != nil && strings.Contains(out, "not usable with build") {
		built = args
		out, err = kcBuild(ctx, tmp, jdk, built)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("keycloak: kc.sh build %s with Java %d: %w\n%s", strings.Join(built, " "), jdk.Major, err, tail(out, 30))
	}
	Progress("built Keycloak %s (%s) in %.1fs", dist.Version, buildKey(buildArgs), time.Since(began).Seconds())
	os.RemoveAll(filepath.Join(tmp, "data"))
	record := strings.Join(built, " ") + "\n"
	if err := os.WriteFile(filepath.Join(tmp, ".kcconform-built"), []byte(record), 0o644); err != nil {
		return "", err
	}
	os.RemoveAll(home)
	if err := os.Rename(tmp, home); err != nil {
		return "", fmt.Errorf("keycloak: cache build: %w", err)
	}
	return home, nil
}

// buildKey names a cached build by its build-time options.
func buildKey(args []string) string {
	if len(args) == 0 {
		return "dev-file"
	}
	s := strings.Join(args, "_")
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, strings.ToLower(s))
}

func kcBuild(ctx context.Context, home string, jdk JDK, args []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(home, "bin", "kc.sh"), append([]string{"build"}, args...)...)
	cmd.Env = append(os.Environ(), "JAVA_HOME="+jdk.Home)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func hasPrefixArg(args []string, prefix string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}

// linkTree recreates the build tree under dst with hard links (fast, no
// copy) and lib/ as a symbolic link, leaving out data/ so that each run has
// its own database.
func linkTree(src, dst string) error {
	return walkTree(src, dst, func(path, rel, target string, d fs.DirEntry) error {
		if rel == "data" || strings.HasPrefix(rel, "data"+string(os.PathSeparator)) {
			return fs.SkipDir
		}
		// Database templates (template, template-pgN and their temporary
		// folders, which another run may be renaming) are no part of a run.
		if d.IsDir() && strings.HasPrefix(rel, templateDir) && !strings.ContainsRune(rel, os.PathSeparator) {
			return fs.SkipDir
		}
		if rel == "lib" {
			// The same class path in every run: the archive needs it.
			if err := os.Symlink(path, target); err != nil {
				return err
			}
			return fs.SkipDir
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		default:
			if err := os.Link(path, target); err != nil {
				return copyFile(path, target)
			}
			return nil
		}
	})
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, fi.Mode())
}

// BootstrapAdminEnv is the environment that creates the first administrator:
// KC_BOOTSTRAP_ADMIN_* from 26.0, KEYCLOAK_ADMIN* before.
func BootstrapAdminEnv(version, user, password string) []string {
	if CompareVersions(version, "26.0.0") >= 0 {
		return []string{"KC_BOOTSTRAP_ADMIN_USERNAME=" + user, "KC_BOOTSTRAP_ADMIN_PASSWORD=" + password}
	}
	return []string{"KEYCLOAK_ADMIN=" + user, "KEYCLOAK_ADMIN_PASSWORD=" + password}
}

// saveLog copies a server log, redacted, into dir (the reports folder).
func saveLog(path, dir, name string, red *redact.Redactor) {
	if dir == "" {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	_ = os.MkdirAll(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, name), []byte(red.String(string(b))), 0o644)
}
