package keycloak

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
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
	"kcconform/pkg/redact"
)

// AdminUser is the bootstrap administrator the harness creates.
const AdminUser = "kcconform-admin"

// ProcessLauncher runs the official server distribution as a local process on
// loopback.
type ProcessLauncher struct {
	Config
	// BuildArgs are extra build-time options (e.g. --db=postgres); they key
	// the cached build.
	BuildArgs []string
	// Args and Env are extra runtime options and environment.
	Args []string
	Env  []string
	// Persistent keeps the run directory (with the dev-file database) and the
	// ports across Stop, so that Start runs the same server again: a restart.
	// Remove deletes the directory at the end.
	Persistent bool
	// DataDir is the run directory; set by the first Start when empty.
	DataDir string
	// HTTPPort and ManagementPort are chosen free at the first Start when 0.
	// They stay the same on a restart, and an upgrade passes them on: tokens
	// carry the issuer URL, port included.
	HTTPPort, ManagementPort int
	// Scheme is "http" (default) or "https"; for https, Args must name the
	// certificate and key.
	Scheme string
	// AdminPassword is the bootstrap administrator's password, generated
	// when empty. A server started on an existing database keeps the
	// administrator it stored, so a restart or upgrade passes it on.
	AdminPassword string
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

// Start fetches, builds (once per version and build options) and starts
// Keycloak, and returns when /health/ready answers UP and an admin token can
// be obtained.
func (l *ProcessLauncher) Start(ctx context.Context) (*Server, error) {
	jdk, err := FindJDK(l.Version, l.JavaHome)
	if err != nil {
		return nil, err
	}
	dist, err := FetchDist(ctx, l.Version, l.CacheDir, os.Getenv)
	if err != nil {
		return nil, err
	}
	home, runtimeArgs, err := l.ensureBuild(ctx, dist, jdk)
	if err != nil {
		return nil, err
	}
	runDir := l.DataDir
	if runDir == "" {
		if runDir, err = os.MkdirTemp("", "kcconform-kc-"); err != nil {
			return nil, fmt.Errorf("keycloak: run dir: %w", err)
		}
		if l.Persistent {
			l.DataDir = runDir
		}
	}
	chosen := l.HTTPPort == 0 && l.ManagementPort == 0
	for attempt := 1; ; attempt++ {
		// (A failed start removes a run directory that is not to persist.)
		if _, err := os.Stat(filepath.Join(runDir, "bin", "kc.sh")); err != nil {
			if err := linkTree(home, runDir); err != nil {
				l.removeRun(runDir)
				return nil, fmt.Errorf("keycloak: prepare run dir: %w", err)
			}
		}
		for _, p := range []*int{&l.HTTPPort, &l.ManagementPort} {
			if *p == 0 {
				if *p, err = ports.Free(); err != nil {
					l.removeRun(runDir)
					return nil, err
				}
			}
		}
		srv, err := l.run(ctx, runDir, jdk, runtimeArgs)
		if err == nil {
			return srv, nil
		}
		l.removeRun(runDir)
		// Ports the launcher chose may be taken by another program between
		// the choice and the bind: choose again, a few times. Ports the
		// caller set are kept (a restart must keep its issuer URL).
		var inUse *portInUseError
		if !chosen || !errors.As(err, &inUse) || attempt == 3 || ctx.Err() != nil {
			return nil, err
		}
		l.HTTPPort, l.ManagementPort = 0, 0
	}
}

// portInUseError is a start that failed because a port was already bound.
type portInUseError struct{ err error }

func (e *portInUseError) Error() string { return e.err.Error() }
func (e *portInUseError) Unwrap() error { return e.err }

// removeRun deletes a run directory unless it is to persist.
func (l *ProcessLauncher) removeRun(dir string) {
	if !l.Persistent {
		os.RemoveAll(dir)
	}
}

// Remove deletes a persistent run directory (its database included).
func (l *ProcessLauncher) Remove() error {
	if l.DataDir == "" {
		return nil
	}
	err := os.RemoveAll(l.DataDir)
	l.DataDir = ""
	return err
}

// ensureBuild unpacks the distribution and runs kc.sh build once per version
// and build options, keeping the result in the cache. It returns the build
// and the runtime options that belong with it.
func (l *ProcessLauncher) ensureBuild(ctx context.Context, dist *Dist, jdk JDK) (string, []string, error) {
	args := append([]string{"--health-enabled=true"}, l.BuildArgs...)
	if !hasPrefixArg(args, "--db=") {
		args = append(args, "--db=dev-file")
	}
	home := filepath.Join(l.CacheDir, "builds", dist.Version+"-"+buildKey(l.BuildArgs)+fmt.Sprintf("-java%d", jdk.Major))
	marker := filepath.Join(home, ".kcconform-built")
	if _, err := os.Stat(marker); err == nil {
		return home, localCache, nil
	}
	if err := os.MkdirAll(filepath.Dir(home), 0o755); err != nil {
		return "", nil, fmt.Errorf("keycloak: cache dir: %w", err)
	}
	unlock, err := lockFile(home + ".lock")
	if err != nil {
		return "", nil, err
	}
	defer unlock()
	if _, err := os.Stat(marker); err == nil {
		return home, localCache, nil
	}
	tmp := home + ".tmp"
	os.RemoveAll(tmp)
	if err := verifySHA1(dist.Archive); err != nil {
		return "", nil, err
	}
	if err := extract(dist.Archive, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
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
		return "", nil, fmt.Errorf("keycloak: kc.sh build %s with Java %d: %w\n%s", strings.Join(built, " "), jdk.Major, err, tail(out, 30))
	}
	os.RemoveAll(filepath.Join(tmp, "data"))
	record := strings.Join(built, " ") + "\n"
	if err := os.WriteFile(filepath.Join(tmp, ".kcconform-built"), []byte(record), 0o644); err != nil {
		return "", nil, err
	}
	os.RemoveAll(home)
	if err := os.Rename(tmp, home); err != nil {
		return "", nil, fmt.Errorf("keycloak: cache build: %w", err)
	}
	return home, localCache, nil
}

// localCache is given at every start: a single node needs no cluster
// discovery, and 26.7 ignores the build-time value.
var localCache = []string{"--cache=local"}

func kcBuild(ctx context.Context, home string, jdk JDK, args []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
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
// copy), leaving out data/ so that each run has its own database.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if rel == "data" || strings.HasPrefix(rel, "data"+string(os.PathSeparator)) {
			return fs.SkipDir
		}
		target := filepath.Join(dst, rel)
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

// GeneratePassword returns a random password and registers it for redaction.
func GeneratePassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	p := base64.RawURLEncoding.EncodeToString(b)
	redact.Default.AddSecret(p)
	return p
}

// BootstrapAdminEnv is the environment that creates the first administrator:
// KC_BOOTSTRAP_ADMIN_* from 26.0, KEYCLOAK_ADMIN* before.
func BootstrapAdminEnv(version, user, password string) []string {
	if compareVersions(version, "26.0.0") >= 0 {
		return []string{"KC_BOOTSTRAP_ADMIN_USERNAME=" + user, "KC_BOOTSTRAP_ADMIN_PASSWORD=" + password}
	}
	return []string{"KEYCLOAK_ADMIN=" + user, "KEYCLOAK_ADMIN_PASSWORD=" + password}
}

func (l *ProcessLauncher) run(ctx context.Context, runDir string, jdk JDK, runtimeArgs []string) (*Server, error) {
	httpPort, mgmtPort := l.HTTPPort, l.ManagementPort
	scheme := l.Scheme
	if scheme == "" {
		scheme = "http"
	}
	if l.AdminPassword == "" {
		l.AdminPassword = GeneratePassword()
	}
	password := l.AdminPassword
	args := []string{"start", "--optimized", "--http-host=127.0.0.1", "--hostname-strict=false",
		fmt.Sprintf("--http-management-port=%d", mgmtPort)}
	if scheme == "https" {
		args = append(args, "--http-enabled=false", fmt.Sprintf("--https-port=%d", httpPort))
	} else {
		args = append(args, "--http-enabled=true", fmt.Sprintf("--http-port=%d", httpPort))
	}
	args = append(append(args, runtimeArgs...), l.Args...)
	logPath := filepath.Join(runDir, "server.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keycloak: server log: %w", err)
	}
	cmd := exec.Command(filepath.Join(runDir, "bin", "kc.sh"), args...)
	cmd.Dir = runDir
	cmd.Env = append(append(os.Environ(), "JAVA_HOME="+jdk.Home), BootstrapAdminEnv(l.Version, AdminUser, password)...)
	cmd.Env = append(cmd.Env, l.Env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own process group: kc.sh forks java, and both must get the signal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("keycloak: start %s: %w", cmd.Path, err)
	}
	// exited is closed when the server has exited, with exitErr set: every
	// waiter sees it, however many there are.
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); logFile.Close(); close(exited) }()

	info := Info{
		Target:  TargetProcess,
		Version: l.Version,
		BaseURL: fmt.Sprintf("%s://127.0.0.1:%d", scheme, httpPort),
		Admin:   admin.Credentials{Username: AdminUser, Password: password},
		CAFile:  l.CAFile,
		LogFile: logPath,
		Timeout: l.Timeout,
	}
	// halt stops the server and keeps its log; stop also removes the run.
	halt := func() error {
		err := terminate(cmd, exited, 20*time.Second)
		saveLog(logPath, l.LogDir, fmt.Sprintf("keycloak-%s-process-%d.log", l.Version, httpPort))
		return err
	}
	stopped := false
	stop := func(ctx context.Context) error {
		if stopped {
			return nil
		}
		stopped = true
		err := halt()
		l.removeRun(runDir)
		return err
	}
	health := fmt.Sprintf("%s://127.0.0.1:%d/health/ready", scheme, mgmtPort)
	if err := waitReady(ctx, info, health, l.BootTimeout, exited); err != nil {
		if errors.Is(err, errExited) {
			err = fmt.Errorf("%w: %v", err, exitErr)
		}
		// The caller removes the run's directory, the log in it.
		_ = halt()
		logTail := TailFile(logPath, 30)
		err = fmt.Errorf("%w\nserver log (last lines):\n%s", err, redact.String(logTail))
		if ports.InUse(logTail) {
			err = &portInUseError{err}
		}
		return nil, err
	}
	info.BootTime = time.Since(began)
	kill := func() error {
		if stopped {
			return nil
		}
		stopped = true
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		saveLog(logPath, l.LogDir, fmt.Sprintf("keycloak-%s-process-%d.log", l.Version, httpPort))
		l.removeRun(runDir)
		return nil
	}
	return &Server{Info: info, stop: stop, kill: kill}, nil
}

// errExited is waitReady's answer when the server exited first.
var errExited = errors.New("keycloak: server exited before it was ready")

// terminate sends SIGTERM to the process group, then SIGKILL after grace.
func terminate(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) error {
	pgid := -cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	select {
	case <-exited:
		return fmt.Errorf("keycloak: did not stop within %s of SIGTERM; killed", grace)
	case <-time.After(10 * time.Second):
		return errors.New("keycloak: did not exit even after SIGKILL")
	}
}

// Kill stops a process-target server at once with SIGKILL, as a crash would,
// keeping its data directory when the launcher was given one.
func (s *Server) Kill() error {
	if s.kill == nil {
		return errors.New("keycloak: Kill is only for the process target")
	}
	return s.kill()
}

// waitReady polls the readiness endpoint until it answers 200, then checks
// that an admin token can be obtained: /health/ready has been seen to answer
// before the bootstrap admin existed.
func waitReady(ctx context.Context, info Info, healthURL string, timeout time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc, err := info.HTTPClient()
	if err != nil {
		return err
	}
	hc.Timeout = 5 * time.Second
	ready := false
	var last string
	for {
		if !ready {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, healthURL, nil)
			if resp, err := hc.Do(req); err == nil {
				resp.Body.Close()
				ready = resp.StatusCode == http.StatusOK
				last = fmt.Sprintf("HTTP %d", resp.StatusCode)
			} else {
				last = err.Error()
			}
		}
		if ready {
			ac, err := info.AdminClient()
			if err != nil {
				return err
			}
			if _, err = ac.Token(ctx); err == nil {
				return nil
			}
			last = err.Error()
		}
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("keycloak: not ready within %s (KC_BOOT_TIMEOUT) at %s: last answer: %s", timeout, healthURL, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// TailFile returns the last lines of a file ("" if unreadable).
func TailFile(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return tail(string(b), lines)
}

// saveLog copies a server log, redacted, into dir (the reports folder).
func saveLog(path, dir, name string) {
	if dir == "" {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	_ = os.MkdirAll(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, name), []byte(redact.String(string(b))), 0o644)
}
