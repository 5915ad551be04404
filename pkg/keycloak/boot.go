package keycloak

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kcconform/pkg/admin"
	"kcconform/pkg/postgres"
	"kcconform/pkg/random"
	"kcconform/pkg/redact"
)

// A fresh start spends half its time creating a database that is the same
// every time, and loading classes from jars. Both are done once per build
// (version, database, JDK), in a training start that kcconform makes before
// the first real one:
//   - templateDir holds the dev-file H2 database right after Keycloak created
//     it (schema and master realm, with a template administrator whose
//     random password is kept next to it, readable by this user only); each
//     run starts on a copy and gives the administrator the run's password;
//   - archive is a class-data-sharing archive of the classes the start
//     loads (-XX:ArchiveClassesAtExit, written at the JVM's graceful exit);
//   - a postgres build's template-pgN holds a dump (pg_dump) of the
//     database the first start on a local PostgreSQL N created, taken once
//     it was ready, with the administrator's password set to the template's
//     for the dump only; a later first start on an empty database restores
//     it (a second or two instead of creating the schema and master realm).
//
// Runs link lib/ to the build (a symbolic link), so that the archive's
// class path is the same for every run.
const (
	templateDir  = "template"
	archive      = "kc.jsa"
	templateUser = AdminUser
)

// jvmOptions are the JVM options kcconform adds (JAVA_OPTS_APPEND): the
// build's archive when it exists, and the C1 compiler only unless fullJIT (a
// conformance run gains more from a quick start than from C2's code).
func jvmOptions(home string, fullJIT bool) []string {
	var opts []string
	if _, err := os.Stat(filepath.Join(home, archive)); err == nil {
		opts = append(opts, "-XX:SharedArchiveFile="+filepath.Join(home, archive))
	}
	if !fullJIT {
		opts = append(opts, "-XX:TieredStopAtLevel=1")
	}
	return opts
}

// template is a build's database template: the H2 files or the PostgreSQL
// dump, and the password of its administrator.
type template struct {
	h2       string
	dump     string
	password string
}

// loadTemplate returns the template in dir (templateDir or pgTemplateDir of
// a build), if it is complete.
func loadTemplate(dir string) (*template, bool) {
	if _, err := os.Stat(filepath.Join(dir, "ready")); err != nil {
		return nil, false
	}
	pw, err := os.ReadFile(filepath.Join(dir, "admin-password"))
	if err != nil || len(pw) == 0 {
		return nil, false
	}
	return &template{h2: filepath.Join(dir, "h2"), dump: filepath.Join(dir, pgDump), password: strings.TrimSpace(string(pw))}, true
}

// pgDump is the dump's file name in a PostgreSQL template.
const pgDump = "keycloak.dump"

// pgTemplateDir is a postgres build's template for a PostgreSQL major
// version (a dump restores only into the version that made it).
func pgTemplateDir(home string, major int) string {
	return filepath.Join(home, fmt.Sprintf("template-pg%d", major))
}

// savePGTemplate dumps the database of a server that has just become ready
// on an empty database, with its administrator's password changed to a
// template password for the dump and back afterwards. Concurrent runs may
// both save; the first rename wins.
func savePGTemplate(ctx context.Context, info Info, db *postgres.Server, dir, password string, red *redact.Redactor) error {
	tpl := random.Secret()
	red.AddSecret(tpl)
	if err := takeOverAdmin(ctx, info, password, tpl, red); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-*")
	if err == nil {
		defer os.RemoveAll(tmp)
		err = db.Dump(ctx, filepath.Join(tmp, pgDump))
	}
	if back := takeOverAdmin(ctx, info, tpl, password, red); back != nil {
		return back // the run cannot go on without its administrator
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "admin-password"), []byte(tpl), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "ready"), nil, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, ok := loadTemplate(dir); ok {
			return nil // another run saved it first
		}
		return err
	}
	return nil
}

// ensureTemplate makes a dev-file build's template and archive once: a
// start on a fresh database, stopped gracefully as soon as it is ready. A
// failure is reported and leaves the build without them (runs then start
// the slow way).
func ensureTemplate(ctx context.Context, cfg Config, home string, jdk JDK, red *redact.Redactor) {
	if _, ok := loadTemplate(filepath.Join(home, templateDir)); ok {
		return
	}
	unlock, err := lockFile(home + ".template.lock")
	if err != nil {
		return
	}
	defer unlock()
	if _, ok := loadTemplate(filepath.Join(home, templateDir)); ok {
		return
	}
	began := time.Now()
	Progress("preparing Keycloak %s's database template and class-data-sharing archive (once for this build)", cfg.Version)
	if err := makeTemplate(ctx, cfg, home, jdk, red); err != nil {
		Progress("no database template for Keycloak %s (runs start on a fresh database): %v", cfg.Version, err)
		return
	}
	Progress("prepared the database template and archive in %.1fs", time.Since(began).Seconds())
}

func makeTemplate(ctx context.Context, cfg Config, home string, jdk JDK, red *redact.Redactor) error {
	password := random.Secret()
	red.AddSecret(password)
	p := &Process{cfg: cfg, red: red, home: home, opts: Options{AdminPassword: password, Redactor: red}, training: true}
	p.cfg.LogDir = "" // the training run's log is no report
	defer p.removeDir()
	if err := p.prepareRunDir(home); err != nil {
		return err
	}
	var err error
	for _, port := range []*int{&p.httpPort, &p.managementPort} {
		if *port, err = freePort(); err != nil {
			return err
		}
	}
	if err := p.run(ctx, jdk, startPhases()); err != nil {
		return err
	}
	if err := p.Stop(ctx); err != nil {
		return err
	}
	dir := filepath.Join(home, templateDir)
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := copyTree(filepath.Join(p.runDir, "data", "h2"), filepath.Join(tmp, "h2")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "admin-password"), []byte(password), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "ready"), nil, 0o644); err != nil {
		return err
	}
	os.RemoveAll(dir)
	return os.Rename(tmp, dir)
}

// useTemplate copies the template's database into a run directory.
func useTemplate(t *template, runDir string) error {
	return copyTree(t.h2, filepath.Join(runDir, "data", "h2"))
}

// takeOverAdmin gives the administrator the password to, logging in with
// from: the run's password in place of the template's once the server is
// ready (or the other way round, for savePGTemplate).
func takeOverAdmin(ctx context.Context, info Info, from, to string, red *redact.Redactor) error {
	hc, err := info.HTTPClient()
	if err != nil {
		return err
	}
	ac, err := admin.New(info.BaseURL, admin.Credentials{Username: templateUser, Password: from}, hc, red)
	if err != nil {
		return err
	}
	var users []admin.User
	if err := ac.Do(ctx, "GET", "/realms/master/users?exact=true&username="+templateUser, nil, &users); err != nil {
		return fmt.Errorf("keycloak: the template's administrator: %w", err)
	}
	if len(users) != 1 {
		return errors.New("keycloak: the template's administrator is not in the master realm")
	}
	cred := map[string]any{"type": "password", "value": to, "temporary": false}
	if err := ac.Do(ctx, "PUT", "/realms/master/users/"+users[0].ID+"/reset-password", cred, nil); err != nil {
		return fmt.Errorf("keycloak: give the administrator the run's password: %w", err)
	}
	return nil
}

// copyTree copies a folder of regular files (an H2 database without its
// lock and trace files).
func copyTree(src, dst string) error {
	return walkTree(src, dst, func(path, _, target string, d fs.DirEntry) error {
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case strings.HasSuffix(path, ".lock.db"), strings.HasSuffix(path, ".trace.db"):
			return nil
		}
		return copyFile(path, target)
	})
}

// walkTree calls fn for each entry under src with its path relative to src
// and the path it maps to under dst.
func walkTree(src, dst string, fn func(path, rel, target string, d fs.DirEntry) error) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		return fn(path, rel, filepath.Join(dst, rel), d)
	})
}
