package keycloak

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
			p := &Process{cfg: Config{Version: "26.7.3", BootTimeout: time.Minute, Timeout: time.Second}, red: redact.New(),
				opts: Options{AdminPassword: "pw-0123456789"}, httpPort: 1, managementPort: 2, runDir: fakeRunDir(t, tc.output)}
			began := time.Now()
			err := p.run(context.Background(), JDK{Home: "/nonexistent"}, startPhases())
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
