package process

import (
	"context"
	"errors"
	"fmt"
	"kcconform/pkg/keycloak"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"kcconform/pkg/admin"
	"kcconform/pkg/dist"
	"kcconform/pkg/ports"
	"kcconform/pkg/reaper"
	"kcconform/pkg/redact"
	"kcconform/pkg/release"
	"kcconform/pkg/report"
)

// jvmStart is one start of a server from a run directory: every way the
// process target starts a JVM (a run's server, a training start) goes
// through startJVM with one.
type jvmStart struct {
	runDir string
	jdk    dist.JDK
	// version decides the administrator's bootstrap variables.
	version string
	// httpPort and managementPort are on 127.0.0.1; https serves HTTPS only.
	httpPort, managementPort int
	https                    *keycloak.TLSFiles
	// adminPassword is the bootstrap administrator's (used only on a fresh
	// database).
	adminPassword string
	// javaOptions go to JAVA_OPTS_APPEND; env is added to the environment.
	javaOptions []string
	env         []string
	// node makes the server a node of a cluster (nil: a single server).
	node *keycloak.ClusterNode
}

// args are kc.sh's arguments: an optimized start on loopback.
func (s jvmStart) args() []string {
	args := []string{"start", "--optimized", "--http-host=127.0.0.1"}
	if r, _ := release.LineOf(s.version); r.ManagementPort {
		args = append(args, fmt.Sprintf("--http-management-port=%d", s.managementPort))
	}
	if s.node != nil && s.node.Hostname != "" {
		args = append(args, "--hostname="+s.node.Hostname)
	} else {
		args = append(args, "--hostname-strict=false")
	}
	if s.https != nil {
		args = append(args, "--http-enabled=false", fmt.Sprintf("--https-port=%d", s.httpPort),
			"--https-certificate-file="+s.https.Cert, "--https-certificate-key-file="+s.https.Key)
	} else {
		args = append(args, "--http-enabled=true", fmt.Sprintf("--http-port=%d", s.httpPort))
	}
	if r, _ := release.LineOf(s.version); !r.CacheAtStart {
		return args // the build's (buildArgs)
	}
	if s.node != nil && s.node.Cache == "ispn" {
		return append(args, "--cache=ispn", "--cache-embedded-network-bind-address=127.0.0.1",
			fmt.Sprintf("--cache-embedded-network-bind-port=%d", s.node.BindPort))
	}
	return append(args, keycloak.LocalCache...)
}

// javaOptions are the node's JVM options.
func nodeJavaOptions(n *keycloak.ClusterNode) []string {
	if n == nil || n.Cache != "ispn" {
		return nil
	}
	return []string{fmt.Sprintf("-Djgroups.fd.port-offset=%d", n.FDOffset)}
}

func (s jvmStart) scheme() string {
	if s.https != nil {
		return "https"
	}
	return "http"
}

// baseURL and healthURL are where the started server answers.
func (s jvmStart) baseURL() string {
	return fmt.Sprintf("%s://127.0.0.1:%d", s.scheme(), s.httpPort)
}

func (s jvmStart) healthURL() string {
	return fmt.Sprintf("%s://127.0.0.1:%d/health/ready", s.scheme(), keycloak.HealthPort(s.version, s.httpPort, s.managementPort))
}

// processRun is one running JVM, supervised: its exit is noticed at once,
// and a watchdog kills it (and removes its run directory) should the
// harness die.
type processRun struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // set before exited is closed
	guard  *reaper.Guard
	log    string
	// logStart is the log's size when this run began: a server started
	// again appends to the log of its earlier runs.
	logStart int64
}

// startJVM starts kc.sh in its own process group, its output appended to
// server.log in the run directory.
func startJVM(s jvmStart) (*processRun, error) {
	logPath := filepath.Join(s.runDir, "server.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	var logStart int64
	if st, err := logFile.Stat(); err == nil {
		logStart = st.Size()
	}
	cmd := exec.Command(filepath.Join(s.runDir, "bin", "kc.sh"), s.args()...)
	cmd.Dir = s.runDir
	cmd.Env = append(append(os.Environ(), "JAVA_HOME="+s.jdk.Home), keycloak.BootstrapAdminEnv(s.version, keycloak.AdminUser, s.adminPassword)...)
	cmd.Env = append(append(cmd.Env, "JAVA_OPTS_APPEND="+strings.Join(s.javaOptions, " ")), s.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own process group: kc.sh forks java, and both must get the signal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	r := &processRun{cmd: cmd, exited: make(chan struct{}), log: logPath, logStart: logStart}
	go func() { r.err = cmd.Wait(); logFile.Close(); close(r.exited) }()
	if r.guard, err = reaper.Watch(reaper.KillGroup(cmd.Process.Pid) + reaper.RemoveDir(s.runDir)); err != nil {
		_ = r.terminate(time.Second)
		return nil, err
	}
	return r, nil
}

// failed stops a start that did not become ready and explains why, with
// the log's last lines; a port another program took is a portInUseError.
func (r *processRun) failed(err error, red *redact.Redactor) error {
	_ = r.terminate(20 * time.Second)
	r.guard.Release()
	logTail := report.TailFile(r.log, 30)
	err = fmt.Errorf("%w\nserver log (last lines):\n%s", err, red.String(logTail))
	if ports.InUse(logTail) {
		return &portInUseError{err}
	}
	return err
}

// portInUseError is a start that failed because a port was already bound.
type portInUseError struct{ err error }

func (e *portInUseError) Error() string { return e.err.Error() }
func (e *portInUseError) Unwrap() error { return e.err }

// errExited is waitReady's answer when the server exited first.
var errExited = errors.New("server exited before it was ready")

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
		return fmt.Errorf("did not stop within %s of SIGTERM; killed", grace)
	case <-time.After(10 * time.Second):
		return errors.New("did not exit even after SIGKILL")
	}
}

// kill stops the process group at once with SIGKILL.
func (r *processRun) kill() {
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	<-r.exited
}

// waitReady polls the readiness endpoint until it answers 200, then checks
// that an admin token can be obtained: /health/ready has been seen to answer
// before the bootstrap admin existed.
func waitReady(ctx context.Context, info keycloak.Info, healthURL string, timeout time.Duration, r *processRun, red *redact.Redactor, ph *keycloak.Phases) error {
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
					ph.Done("start")
				}
			} else {
				last = err.Error()
			}
		}
		if ready {
			if _, err = ac.Token(ctx); err == nil {
				ph.Done("admin ready")
				return nil
			}
			last = err.Error()
		}
		select {
		case <-r.exited:
			return fmt.Errorf("%w: %v", errExited, r.err)
		case <-ctx.Done():
			return fmt.Errorf("not ready within %s (raise KC_BOOT_TIMEOUT) at %s: last answer: %s", timeout, healthURL, red.String(last))
		case <-time.After(250 * time.Millisecond):
		}
	}
}
