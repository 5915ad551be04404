// Package postgres runs throw-away PostgreSQL servers for Keycloak's
// database in the restart and upgrade suites: a local server from the
// machine's packages (Debian's postgresql) for the process target, and a
// container through testcontainers-go's postgres module for the container
// target. Both are removed again on Remove, and a local one also when the
// harness dies (pkg/reaper).
package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"kcconform/pkg/ports"
	"kcconform/pkg/random"
	"kcconform/pkg/reaper"
	"kcconform/pkg/redact"
	"kcconform/pkg/report"
)

// Server is a running local PostgreSQL server with one database for
// Keycloak.
type Server struct {
	Port     int
	Database string
	User     string
	Password string

	bin     string
	dataDir string
	sockDir string
	runAs   *user.User
	cmd     *exec.Cmd
	exited  chan struct{}
	guard   *reaper.Guard
	red     *redact.Redactor
}

// JDBCURL is the URL Keycloak's --db-url takes.
func (s *Server) JDBCURL() string {
	return fmt.Sprintf("jdbc:postgresql://127.0.0.1:%d/%s", s.Port, s.Database)
}

// KeycloakEnv is Keycloak's runtime configuration for this database, as
// environment (a password on the command line would show in ps).
func (s *Server) KeycloakEnv() []string {
	return []string{"KC_DB_URL=" + s.JDBCURL(), "KC_DB_USERNAME=" + s.User, "KC_DB_PASSWORD=" + s.Password}
}

// Describe names the server for reports.
func (s *Server) Describe() string { return fmt.Sprintf("PostgreSQL (127.0.0.1:%d)", s.Port) }

// FindBin returns the PostgreSQL server's bin directory: b (PG_BIN) when
// given, else the newest under /usr/lib/postgresql.
func FindBin(b string) (string, error) {
	if b != "" {
		if _, err := os.Stat(filepath.Join(b, "initdb")); err != nil {
			return "", fmt.Errorf("PG_BIN: %s: expected PostgreSQL's bin directory with initdb: %w", b, err)
		}
		return b, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(dirs) == 0 {
		return "", errors.New("PG_BIN: no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)")
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	return filepath.Dir(dirs[0]), nil
}

func version(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// dirPattern names the data folders of local servers, for reaper.Sweep.
const dirPattern = "kcconform-pg-*"

// Start initialises and starts a local server, within timeout. PostgreSQL
// refuses to run as root, so as root it runs as the "postgres" user (or
// "nobody"). The server runs in the foreground as this process's child, in
// a process group a watchdog kills should the harness die.
func Start(ctx context.Context, pgBin string, timeout time.Duration, red *redact.Redactor) (*Server, error) {
	bin, err := FindBin(pgBin)
	if err != nil {
		return nil, err
	}
	reaper.Sweep(filepath.Join(os.TempDir(), dirPattern))
	s := &Server{bin: bin, Database: "keycloak", User: "keycloak", Password: random.Secret(), red: red}
	red.AddSecret(s.Password)
	if os.Geteuid() == 0 {
		for _, name := range []string{"postgres", "nobody"} {
			if u, err := user.Lookup(name); err == nil {
				s.runAs = u
				break
			}
		}
		if s.runAs == nil {
			return nil, errors.New("running as root and no unprivileged user (postgres, nobody) to run the server as")
		}
	}
	if s.dataDir, err = os.MkdirTemp("", dirPattern); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := reaper.MarkOwned(s.dataDir); err != nil {
		return nil, s.fail(err)
	}
	s.sockDir = filepath.Join(s.dataDir, "sock")
	pgdata := filepath.Join(s.dataDir, "data")
	if err := os.MkdirAll(s.sockDir, 0o700); err != nil {
		return nil, s.fail(err)
	}
	if err := s.chown(s.dataDir); err != nil {
		return nil, s.fail(err)
	}
	pwFile := filepath.Join(s.dataDir, "pw")
	if err := os.WriteFile(pwFile, []byte(s.Password+"\n"), 0o600); err != nil {
		return nil, s.fail(err)
	}
	if err := s.chown(pwFile); err != nil {
		return nil, s.fail(err)
	}
	if out, err := s.run(ctx, timeout, "initdb", "-D", pgdata, "-U", s.User, "--pwfile="+pwFile, "-A", "scram-sha-256",
		"--auth-local=trust", "-E", "UTF8", "--no-sync"); err != nil {
		return nil, s.fail(fmt.Errorf("initdb: %w\n%s", err, out))
	}
	if s.Port, err = ports.Free(); err != nil {
		return nil, s.fail(err)
	}
	logPath := filepath.Join(s.dataDir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, s.fail(err)
	}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", pgdata, "-p", strconv.Itoa(s.Port), "-k", s.sockDir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off")
	s.cmd.Dir = s.dataDir
	s.cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.credential()}
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, s.fail(fmt.Errorf("start postgres: %w", err))
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); logFile.Close(); close(s.exited) }()
	if s.guard, err = reaper.Watch(reaper.KillGroup(s.cmd.Process.Pid) + reaper.RemoveDir(s.dataDir)); err != nil {
		_ = s.Remove(context.Background())
		return nil, err
	}
	if err := s.waitReady(ctx, timeout); err != nil {
		tail, _ := os.ReadFile(logPath)
		_ = s.Remove(context.Background())
		return nil, fmt.Errorf("%w\nserver log:\n%s", err, red.String(report.LastLines(string(tail), 20)))
	}
	if out, err := s.run(ctx, timeout, "createdb", "-h", s.sockDir, "-p", strconv.Itoa(s.Port), "-U", s.User, s.Database); err != nil {
		_ = s.Remove(context.Background())
		return nil, fmt.Errorf("createdb: %w\n%s", err, out)
	}
	return s, nil
}

// waitReady waits until the server accepts TCP connections on its port.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			if _, err := s.run(ctx, 10*time.Second, "pg_isready", "-h", s.sockDir, "-p", strconv.Itoa(s.Port), "-U", s.User, "-d", "postgres"); err == nil {
				return nil
			}
		}
		select {
		case <-s.exited:
			return errors.New("the server exited while starting")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s (KC_BOOT_TIMEOUT) on %s", timeout, addr)
		}
	}
}

// SQL runs statements with psql against Keycloak's database and returns the
// output. The restart and upgrade suites use it to inspect and, in the
// negative test, damage what Keycloak stored.
func (s *Server) SQL(ctx context.Context, statements string) (string, error) {
	out, err := s.run(ctx, time.Minute, "psql", "-h", s.sockDir, "-p", strconv.Itoa(s.Port), "-U", s.User, "-d", s.Database,
		"-v", "ON_ERROR_STOP=1", "-At", "-c", statements)
	if err != nil {
		return out, fmt.Errorf("psql %q: %w\n%s", statements, err, out)
	}
	return strings.TrimSpace(out), nil
}

// Major is the server's major version, e.g. 15: a dump is restored only
// into the version that made it.
func (s *Server) Major() int { return version(filepath.Join(s.bin, "initdb")) }

// Empty reports whether Keycloak's database has no table yet.
func (s *Server) Empty(ctx context.Context) (bool, error) {
	out, err := s.SQL(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
	return out == "0", err
}

// Dump writes Keycloak's database to dst (pg_dump's custom format, without
// owners or privileges, so that it restores into any run's database). The
// dump comes through a pipe: the server's user need not reach dst.
func (s *Server) Dump(ctx context.Context, dst string) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("dump the database: %w", err)
	}
	out, err := s.pipe(ctx, time.Minute, nil, f, "pg_dump", "-h", s.sockDir, "-p", strconv.Itoa(s.Port), "-U", s.User,
		"-Fc", "--no-owner", "--no-privileges", s.Database)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("pg_dump: %w\n%s", err, out)
	}
	return nil
}

// Restore loads a dump made by Dump into Keycloak's (empty) database, in one
// transaction: a restore that fails leaves the database as it was.
func (s *Server) Restore(ctx context.Context, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("restore the database: %w", err)
	}
	defer f.Close()
	if out, err := s.pipe(ctx, time.Minute, f, nil, "pg_restore", "-h", s.sockDir, "-p", strconv.Itoa(s.Port), "-U", s.User,
		"--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "-d", s.Database); err != nil {
		return fmt.Errorf("pg_restore: %w\n%s", err, out)
	}
	return nil
}

// Remove stops the server (fast shutdown) and removes its data directory.
// It is safe to call more than once.
func (s *Server) Remove(context.Context) error {
	var err error
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGINT) // fast shutdown
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exited
			err = errors.New("did not stop within 30 s of SIGINT; killed")
		}
		s.cmd = nil
	}
	if s.dataDir != "" {
		if rerr := os.RemoveAll(s.dataDir); rerr != nil && err == nil {
			err = fmt.Errorf("remove data dir: %w", rerr)
		}
		s.dataDir = ""
	}
	s.guard.Release()
	return err
}

func (s *Server) fail(err error) error {
	os.RemoveAll(s.dataDir)
	return fmt.Errorf("start the local PostgreSQL: %w", err)
}

func (s *Server) credential() *syscall.Credential {
	if s.runAs == nil {
		return nil
	}
	uid, _ := strconv.Atoi(s.runAs.Uid)
	gid, _ := strconv.Atoi(s.runAs.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func (s *Server) run(ctx context.Context, timeout time.Duration, tool string, args ...string) (string, error) {
	return s.pipe(ctx, timeout, nil, nil, tool, args...)
}

// pipe is run with the tool's input from stdin and its output to stdout
// (when not nil); what it returns is then its error output alone.
func (s *Server) pipe(ctx context.Context, timeout time.Duration, stdin io.Reader, stdout io.Writer, tool string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, tool), args...)
	cmd.Dir = s.dataDir
	cmd.Env = append(os.Environ(), "PGPASSWORD="+s.Password, "LC_ALL=C.UTF-8")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.credential()}
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &out
	if stdout != nil {
		cmd.Stdout = stdout
	}
	err := cmd.Run()
	return s.red.String(out.String()), err
}

func (s *Server) chown(path string) error {
	c := s.credential()
	if c == nil {
		return nil
	}
	return filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(c.Uid), int(c.Gid))
	})
}
