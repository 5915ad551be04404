// Package postgres runs a throw-away PostgreSQL server from the machine's
// packages (Debian's postgresql), for Keycloak's database in the restart and
// upgrade suites: initdb into a fresh data directory, pg_ctl on a free
// loopback port, and everything removed again on Stop.
package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
	"kcconform/pkg/redact"
)

// Server is a running PostgreSQL server with one database for Keycloak.
type Server struct {
	Port     int
	Database string
	User     string
	Password string

	bin     string
	dataDir string
	sockDir string
	runAs   *user.User
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

// FindBin returns the newest PostgreSQL server's bin directory under
// /usr/lib/postgresql (PG_BIN overrides).
func FindBin() (string, error) {
	if b := os.Getenv("PG_BIN"); b != "" {
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

// Start initialises and starts a server. PostgreSQL refuses to run as root,
// so as root it runs as the "postgres" user (or "nobody").
func Start(ctx context.Context) (*Server, error) {
	bin, err := FindBin()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, Database: "keycloak", User: "keycloak", Password: randomHex(12)}
	redact.Default.AddSecret(s.Password)
	if os.Geteuid() == 0 {
		for _, name := range []string{"postgres", "nobody"} {
			if u, err := user.Lookup(name); err == nil {
				s.runAs = u
				break
			}
		}
		if s.runAs == nil {
			return nil, errors.New("postgres: running as root and no unprivileged user (postgres, nobody) to run the server as")
		}
	}
	if s.dataDir, err = os.MkdirTemp("", "kcconform-pg-"); err != nil {
		return nil, fmt.Errorf("postgres: data dir: %w", err)
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
	if out, err := s.run(ctx, "initdb", "-D", pgdata, "-U", s.User, "--pwfile="+pwFile, "-A", "scram-sha-256",
		"--auth-local=trust", "-E", "UTF8", "--no-sync"); err != nil {
		return nil, s.fail(fmt.Errorf("initdb: %w\n%s", err, out))
	}
	if s.Port, err = ports.Free(); err != nil {
		return nil, s.fail(err)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", s.Port, s.sockDir)
	if out, err := s.run(ctx, "pg_ctl", "-D", pgdata, "-o", opts, "-l", filepath.Join(s.dataDir, "server.log"), "-w", "-t", "60", "start"); err != nil {
		return nil, s.fail(fmt.Errorf("pg_ctl start: %w\n%s", err, out))
	}
	if out, err := s.run(ctx, "createdb", "-h", s.sockDir, "-p", strconv.Itoa(s.Port), "-U", s.User, s.Database); err != nil {
		_ = s.Stop(context.Background())
		return nil, fmt.Errorf("postgres: createdb: %w\n%s", err, out)
	}
	return s, nil
}

// SQL runs statements with psql against Keycloak's database and returns the
// output. The restart and upgrade suites use it to inspect and, in the
// negative test, damage what Keycloak stored.
func (s *Server) SQL(ctx context.Context, statements string) (string, error) {
	out, err := s.run(ctx, "psql", "-h", s.sockDir, "-p", strconv.Itoa(s.Port), "-U", s.User, "-d", s.Database,
		"-v", "ON_ERROR_STOP=1", "-At", "-c", statements)
	if err != nil {
		return out, fmt.Errorf("postgres: psql %q: %w\n%s", statements, err, out)
	}
	return strings.TrimSpace(out), nil
}

// Stop stops the server and removes its data directory.
func (s *Server) Stop(ctx context.Context) error {
	var err error
	if _, statErr := os.Stat(filepath.Join(s.dataDir, "data", "postmaster.pid")); statErr == nil {
		if out, e := s.run(ctx, "pg_ctl", "-D", filepath.Join(s.dataDir, "data"), "-m", "fast", "-w", "-t", "30", "stop"); e != nil {
			err = fmt.Errorf("postgres: pg_ctl stop: %w\n%s", e, out)
		}
	}
	if rerr := os.RemoveAll(s.dataDir); rerr != nil && err == nil {
		err = fmt.Errorf("postgres: remove data dir: %w", rerr)
	}
	return err
}

func (s *Server) fail(err error) error {
	os.RemoveAll(s.dataDir)
	return fmt.Errorf("postgres: %w", err)
}

func (s *Server) run(ctx context.Context, tool string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, tool), args...)
	cmd.Dir = s.dataDir
	cmd.Env = append(os.Environ(), "PGPASSWORD="+s.Password, "LC_ALL=C.UTF-8")
	if s.runAs != nil {
		uid, _ := strconv.Atoi(s.runAs.Uid)
		gid, _ := strconv.Atoi(s.runAs.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return redact.String(out.String()), err
}

func (s *Server) chown(path string) error {
	if s.runAs == nil {
		return nil
	}
	uid, _ := strconv.Atoi(s.runAs.Uid)
	gid, _ := strconv.Atoi(s.runAs.Gid)
	return filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
