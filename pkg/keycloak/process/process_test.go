package process

import (
	"context"
	"errors"
	"kcconform/pkg/keycloak"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kcconform/pkg/dist"
	"kcconform/pkg/redact"
)

// fakeRunDir holds a kc.sh that prints what a server printed and exits 1:
// what the launcher does with a server that fails to start, which a real
// Keycloak cannot be made to do on demand.
func fakeRunDir(t *testing.T, output string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\ncat <<'EOF'\n" + output + "\nEOF\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "bin", "kc.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunThatExitsSaysWhyAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name, output string
		inUse        bool
	}{
		{"port taken", "ERROR: Port already bound: 41037: Address already in use", true},
		{"bad option", "ERROR: Unknown option: '--bogus'", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Process{cfg: keycloak.Config{Version: "26.7.3", BootTimeout: time.Minute, Timeout: time.Second}, red: redact.New(),
				opts: keycloak.Options{AdminPassword: "pw-0123456789"}, httpPort: 1, managementPort: 2, runDir: fakeRunDir(t, tc.output)}
			began := time.Now()
			err := p.startOnce(context.Background(), t.TempDir(), dist.JDK{Home: "/nonexistent"}, "", keycloak.StartPhases())
			if err == nil {
				t.Fatal("a server that exited started")
			}
			if took := time.Since(began); took > 5*time.Second {
				t.Errorf("took %s to notice the server exited", took)
			}
			for _, want := range []string{"server exited before it was ready: exit status 1", "server log (last lines):", tc.output} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			var inUse *portInUseError
			if errors.As(err, &inUse) != tc.inUse {
				t.Errorf("port in use = %v, want %v", !tc.inUse, tc.inUse)
			}
		})
	}
}

// A run directory links the build but none of its database templates (the
// template administrator's password stays in the cache), nor one another
// run is saving.
func TestLinkTreeLeavesTemplatesOut(t *testing.T) {
	home, run := t.TempDir(), t.TempDir()
	for _, f := range []string{"bin/kc.sh", "lib/lib/main/x.jar", "conf/keycloak.conf", "data/h2/x.mv.db",
		"template/admin-password", "template/h2/keycloakdb.mv.db", "template-pg15/admin-password",
		"template-pg15/keycloak.dump", "template-pg15.tmp-123/keycloak.dump"} {
		p := filepath.Join(home, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := linkTree(home, run); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"bin/kc.sh", "lib/lib/main/x.jar", "conf/keycloak.conf"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Errorf("%s not in the run directory: %v", f, err)
		}
	}
	entries, err := os.ReadDir(run)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "template") || e.Name() == "data" {
			t.Errorf("%s is in the run directory", e.Name())
		}
	}
}
