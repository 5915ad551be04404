package process

import (
	"context"
	"errors"
	"fmt"
	"kcconform/pkg/keycloak"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kcconform/pkg/admin"
	"kcconform/pkg/dist"
	"kcconform/pkg/ports"
	"kcconform/pkg/random"
	"kcconform/pkg/redact"
)

// A fresh start spends half its time creating a database that is the same
// every time, and loading classes from jars. Both are done once per build
// (version, database, dist.JDK), in a training start that kcconform makes before
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
	templateUser = keycloak.AdminUser
)

// jvmOptions are a run's JVM options from home: the build's archive when
// it exists, then opts' (C1 only unless FullJIT, the caller's).
func jvmOptions(home string, opts keycloak.Options) []string {
	var archived []string
	if _, err := os.Stat(filepath.Join(home, archive)); err == nil {
		archived = append(archived, "-XX:SharedArchiveFile="+filepath.Join(home, archive))
	}
	return opts.JVMOptions(archived...)
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

// trainingOptions are the JVM options of the start that makes a build's
// class-data-sharing archive (written at the JVM's graceful exit).
func trainingOptions(home string) []string {
	return []string{"-XX:ArchiveClassesAtExit=" + filepath.Join(home, archive+".tmp"), "--add-modules=jdk.jfr", "-XX:TieredStopAtLevel=1"}
}

// pgTemplateDB is what the PostgreSQL template needs of a database
// (*postgres.Server).
type pgTemplateDB interface {
	Empty(ctx context.Context) (bool, error)
	Restore(ctx context.Context, src string) error
	Dump(ctx context.Context, dst string) error
}

// fastBoot is what the fast boot does around a first start: the password
// the template's administrator has until finish gives it the run's, and
// the PostgreSQL template to save once the server is ready.
type fastBoot struct {
	password string
	savePG   string
	db       pgTemplateDB
}

// fromPGTemplate restores the PostgreSQL template in dir into the database
// of a first start when that database is empty, or marks the start to save
// the template. A server that follows another (an upgrade) finds the
// database full and starts on it as it is.
func fromPGTemplate(ctx context.Context, db pgTemplateDB, dir string, red *redact.Redactor) (fastBoot, error) {
	boot := fastBoot{db: db}
	empty, err := db.Empty(ctx)
	if err != nil || !empty {
		return boot, err
	}
	t, ok := loadTemplate(dir)
	if !ok {
		boot.savePG = dir
		return boot, nil
	}
	if err := db.Restore(ctx, t.dump); err != nil {
		// A broken template must not fail runs: start on the empty
		// database (the restore is one transaction) and save a new one.
		dist.Progress("the PostgreSQL template in %s did not restore (%v); starting on an empty database", dir, err)
		os.RemoveAll(dir)
		boot.savePG = dir
		return boot, nil
	}
	red.AddSecret(t.password)
	boot.password = t.password
	return boot, nil
}

// finish completes the fast boot of a server that has just become ready:
// it saves the PostgreSQL template where one is due, and gives the
// administrator the run's password in place of the template's.
func (b fastBoot) finish(ctx context.Context, p *Process, ph *keycloak.Phases) error {
	if b.savePG != "" {
		if err := savePGTemplate(ctx, p.info, b.db, b.savePG, p.opts.AdminPassword, p.red); err != nil {
			dist.Progress("no PostgreSQL template for Keycloak %s (later runs create the database again): %v", p.cfg.Version, err)
		}
		ph.Done("template save")
	}
	if b.password != "" {
		if err := takeOverAdmin(ctx, p.info, b.password, p.opts.AdminPassword, p.red); err != nil {
			return err
		}
		p.info.Admin.Password = p.opts.AdminPassword
		ph.Done("administrator")
	}
	return nil
}

// savePGTemplate dumps the database of a server that has just become ready
// on an empty database, with its administrator's password changed to a
// template password for the dump and back afterwards. Concurrent runs may
// both save; the first rename wins.
func savePGTemplate(ctx context.Context, info keycloak.Info, db pgTemplateDB, dir, password string, red *redact.Redactor) error {
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
	return commitTemplate(tmp, dir, tpl)
}

// commitTemplate marks the template in tmp complete, with its
// administrator's password, and moves it to dir; where another run saved
// one first, that one stays.
func commitTemplate(tmp, dir, password string) error {
	if err := os.WriteFile(filepath.Join(tmp, "admin-password"), []byte(password), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "ready"), nil, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, ok := loadTemplate(dir); ok {
			return nil
		}
		return err
	}
	return nil
}

// ensureTemplate makes a dev-file build's template and archive once: a
// start on a fresh database, stopped gracefully as soon as it is ready. A
// failure is reported and leaves the build without them (runs then start
// the slow way).
func ensureTemplate(ctx context.Context, cfg keycloak.Config, home string, jdk dist.JDK, red *redact.Redactor) {
	if _, ok := loadTemplate(filepath.Join(home, templateDir)); ok {
		return
	}
	unlock, err := dist.LockFile(home + ".template.lock")
	if err != nil {
		return
	}
	defer unlock()
	if _, ok := loadTemplate(filepath.Join(home, templateDir)); ok {
		return
	}
	began := time.Now()
	dist.Progress("preparing Keycloak %s's database template and class-data-sharing archive (once for this build)", cfg.Version)
	if err := makeTemplate(ctx, cfg, home, jdk, red); err != nil {
		dist.Progress("no database template for Keycloak %s (runs start on a fresh database): %v", cfg.Version, err)
		return
	}
	dist.Progress("prepared the database template and archive in %.1fs", time.Since(began).Seconds())
}

// makeTemplate is the training start: on a fresh database in a run
// directory of its own, stopped gracefully once ready, so that the JVM
// writes its archive; the database it created becomes the template.
func makeTemplate(ctx context.Context, cfg keycloak.Config, home string, jdk dist.JDK, red *redact.Redactor) error {
	password := random.Secret()
	red.AddSecret(password)
	dir, guard, err := newRunDir(home)
	if err != nil {
		return err
	}
	defer func() { os.RemoveAll(dir); guard.Release() }()
	s := jvmStart{runDir: dir, jdk: jdk, version: cfg.Version, adminPassword: password, javaOptions: trainingOptions(home)}
	for _, port := range []*int{&s.httpPort, &s.managementPort} {
		if *port, err = ports.Free(); err != nil {
			return err
		}
	}
	r, err := startJVM(s)
	if err != nil {
		return err
	}
	info := keycloak.Info{BaseURL: s.baseURL(), Admin: admin.Credentials{Username: keycloak.AdminUser, Password: password}, Timeout: cfg.Timeout}
	if err := waitReady(ctx, info, s.healthURL(), cfg.BootTimeout, r, red, keycloak.StartPhases()); err != nil {
		return r.failed(err, red)
	}
	err = r.terminate(20 * time.Second)
	r.guard.Release()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(home, archive+".tmp")); err == nil {
		_ = os.Rename(filepath.Join(home, archive+".tmp"), filepath.Join(home, archive))
	}
	tpl := filepath.Join(home, templateDir)
	tmp := tpl + ".tmp"
	os.RemoveAll(tmp)
	if err := copyTree(filepath.Join(dir, "data", "h2"), filepath.Join(tmp, "h2")); err != nil {
		return err
	}
	os.RemoveAll(tpl)
	return commitTemplate(tmp, tpl, password)
}

// useTemplate copies the template's database into a run directory.
func useTemplate(t *template, runDir string) error {
	return copyTree(t.h2, filepath.Join(runDir, "data", "h2"))
}

// takeOverAdmin gives the administrator the password to, logging in with
// from: the run's password in place of the template's once the server is
// ready (or the other way round, for savePGTemplate).
func takeOverAdmin(ctx context.Context, info keycloak.Info, from, to string, red *redact.Redactor) error {
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
		return fmt.Errorf("the template's administrator: %w", err)
	}
	if len(users) != 1 {
		return errors.New("the template's administrator is not in the master realm")
	}
	cred := map[string]any{"type": "password", "value": to, "temporary": false}
	if err := ac.Do(ctx, "PUT", "/realms/master/users/"+users[0].ID+"/reset-password", cred, nil); err != nil {
		return fmt.Errorf("give the administrator the run's password: %w", err)
	}
	return nil
}
