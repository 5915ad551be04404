package process

import (
	"context"
	"encoding/json"
	"errors"
	"kcconform/pkg/keycloak"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kcconform/pkg/admin"
	"kcconform/pkg/dist"
	"kcconform/pkg/redact"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A template counts only once it is complete: marked ready, with its
// administrator's password.
func TestLoadTemplateNeedsReadyAndPassword(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no ready mark": {"admin-password": "pw", "h2/keycloakdb.mv.db": "db"},
		"no password":   {"ready": "", "h2/keycloakdb.mv.db": "db"},
		"empty":         {"ready": "", "admin-password": ""},
	} {
		dir := t.TempDir()
		writeFiles(t, dir, files)
		if _, ok := loadTemplate(dir); ok {
			t.Errorf("%s: loaded an incomplete template", name)
		}
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ready": "", "admin-password": "pw-template\n"})
	tpl, ok := loadTemplate(dir)
	if !ok || tpl.password != "pw-template" || tpl.dump != filepath.Join(dir, pgDump) || tpl.h2 != filepath.Join(dir, "h2") {
		t.Fatalf("template = %+v, %v", tpl, ok)
	}
}

// A run starts on a copy of the template's H2 files, without H2's lock and
// trace files.
func TestUseTemplateCopiesTheDatabase(t *testing.T) {
	dir, run := t.TempDir(), t.TempDir()
	writeFiles(t, dir, map[string]string{"h2/keycloakdb.mv.db": "db", "h2/keycloakdb.lock.db": "lock", "h2/keycloakdb.trace.db": "trace"})
	if err := useTemplate(&template{h2: filepath.Join(dir, "h2")}, run); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(run, "data", "h2", "keycloakdb.mv.db")); err != nil || string(b) != "db" {
		t.Fatalf("database not copied: %q, %v", b, err)
	}
	for _, f := range []string{"keycloakdb.lock.db", "keycloakdb.trace.db"} {
		if _, err := os.Stat(filepath.Join(run, "data", "h2", f)); err == nil {
			t.Errorf("%s copied", f)
		}
	}
}

// fakePG is what the PostgreSQL template needs of a database.
type fakePG struct {
	empty      bool
	restoreErr error
	restored   string
	dumped     string
}

func (f *fakePG) Empty(context.Context) (bool, error) { return f.empty, nil }
func (f *fakePG) Restore(_ context.Context, src string) error {
	f.restored = src
	return f.restoreErr
}
func (f *fakePG) Dump(_ context.Context, dst string) error {
	f.dumped = dst
	return os.WriteFile(dst, []byte("dump"), 0o600)
}

// The PostgreSQL template's paths: restored into an empty database, saved
// where there is none, saved again where it does not restore, and left
// alone where the database is not empty (an upgrade's successor).
func TestFromPGTemplate(t *testing.T) {
	ctx := context.Background()
	t.Run("no template: save one", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "template-pg15")
		boot, err := fromPGTemplate(ctx, &fakePG{empty: true}, dir, redact.New())
		if err != nil || boot.savePG != dir || boot.password != "" {
			t.Fatalf("boot = %+v, %v", boot, err)
		}
	})
	t.Run("template: restore it", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"ready": "", "admin-password": "pw-template", pgDump: "dump"})
		db, red := &fakePG{empty: true}, redact.New()
		boot, err := fromPGTemplate(ctx, db, dir, red)
		if err != nil || boot.savePG != "" || boot.password != "pw-template" || db.restored != filepath.Join(dir, pgDump) {
			t.Fatalf("boot = %+v, restored %q, %v", boot, db.restored, err)
		}
		if red.String("pw-template") == "pw-template" {
			t.Error("the template's password is not redacted")
		}
	})
	t.Run("broken template: start empty and save a new one", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"ready": "", "admin-password": "pw-template", pgDump: "garbage"})
		boot, err := fromPGTemplate(ctx, &fakePG{empty: true, restoreErr: errors.New("pg_restore: bad dump")}, dir, redact.New())
		if err != nil || boot.savePG != dir || boot.password != "" {
			t.Fatalf("boot = %+v, %v", boot, err)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Error("the broken template is still there")
		}
	})
	t.Run("database not empty: as it is", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"ready": "", "admin-password": "pw-template", pgDump: "dump"})
		db := &fakePG{empty: false}
		boot, err := fromPGTemplate(ctx, db, dir, redact.New())
		if err != nil || boot.savePG != "" || boot.password != "" || db.restored != "" {
			t.Fatalf("boot = %+v, restored %q, %v", boot, db.restored, err)
		}
	})
}

// fakeAdmin is the part of Keycloak's admin API that gives the template's
// administrator a password; it records the passwords set.
func fakeAdmin(t *testing.T) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var set []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/realms/master/protocol/openid-connect/token":
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "admin-token-0123456789", "expires_in": 60})
		case r.Method == http.MethodGet && r.URL.Path == "/admin/realms/master/users":
			_ = json.NewEncoder(w).Encode([]map[string]any{{"id": "u1", "username": templateUser}})
		case r.Method == http.MethodPut && r.URL.Path == "/admin/realms/master/users/u1/reset-password":
			var cred map[string]any
			_ = json.NewDecoder(r.Body).Decode(&cred)
			mu.Lock()
			set = append(set, cred["value"].(string))
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &set
}

// Saving the PostgreSQL template dumps the database with the template's
// administrator password, gives the run its own back, and leaves a
// complete template whose password is the one the dump holds.
func TestSavePGTemplate(t *testing.T) {
	srv, set := fakeAdmin(t)
	info := keycloak.Info{BaseURL: srv.URL, Admin: admin.Credentials{Username: keycloak.AdminUser, Password: "pw-run-0123456789"}, Timeout: 5 * time.Second}
	dir := filepath.Join(t.TempDir(), "template-pg15")
	db := &fakePG{}
	if err := savePGTemplate(context.Background(), info, db, dir, "pw-run-0123456789", redact.New()); err != nil {
		t.Fatal(err)
	}
	tpl, ok := loadTemplate(dir)
	if !ok {
		t.Fatal("no complete template saved")
	}
	if b, err := os.ReadFile(tpl.dump); err != nil || string(b) != "dump" {
		t.Fatalf("dump: %q, %v", b, err)
	}
	if len(*set) != 2 || (*set)[0] != tpl.password || (*set)[1] != "pw-run-0123456789" {
		t.Fatalf("passwords set %v, want the template's (%s) for the dump, then the run's", *set, tpl.password)
	}
}

// The training start, the one way a build's archive is made, asks the JVM
// to write it at exit; a training start that fails leaves no template and
// no run directory.
func TestTrainingStart(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	home := t.TempDir()
	writeFiles(t, home, map[string]string{"lib/lib/main/x.jar": "jar"})
	script := "#!/bin/sh\necho \"JAVA_OPTS_APPEND=$JAVA_OPTS_APPEND\"\nexit 1\n"
	if err := os.MkdirAll(filepath.Join(home, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "bin", "kc.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := keycloak.Config{Version: "26.7.3", BootTimeout: time.Minute, Timeout: time.Second}
	err := makeTemplate(context.Background(), cfg, home, dist.JDK{Home: "/nonexistent"}, redact.New())
	if err == nil || !errors.Is(err, errExited) {
		t.Fatalf("err = %v, want the server's exit", err)
	}
	if !strings.Contains(err.Error(), "-XX:ArchiveClassesAtExit="+filepath.Join(home, archive+".tmp")) {
		t.Errorf("the training start did not ask for the archive:\n%v", err)
	}
	if _, ok := loadTemplate(filepath.Join(home, templateDir)); ok {
		t.Error("a failed training start left a template")
	}
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), runDirPattern)); len(left) > 0 {
		t.Errorf("run directories left: %v", left)
	}
}

// Runs use the build's archive once it exists, and C1 only unless the full
// compiler is asked for.
func TestJVMOptions(t *testing.T) {
	home := t.TempDir()
	if got := jvmOptions(home, keycloak.Options{}); len(got) != 1 || got[0] != "-XX:TieredStopAtLevel=1" {
		t.Fatalf("without archive: %v", got)
	}
	writeFiles(t, home, map[string]string{archive: "cds"})
	got := jvmOptions(home, keycloak.Options{FullJIT: true})
	if len(got) != 1 || got[0] != "-XX:SharedArchiveFile="+filepath.Join(home, archive) {
		t.Fatalf("with archive, full JIT: %v", got)
	}
	got = jvmOptions(home, keycloak.Options{JavaOptions: []string{"-Xmx2g"}})
	if len(got) != 3 || got[2] != "-Xmx2g" {
		t.Fatalf("the caller's options are not last: %v", got)
	}
}
