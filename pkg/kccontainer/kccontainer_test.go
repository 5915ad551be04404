package kccontainer_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"kcconform/pkg/kccontainer"
)

// TestRunImportsRealm needs a container engine: make e2e-container runs it
// (with ExampleRun) and make unit leaves it out. It imports the suites'
// fixture at boot, with an extra argument, an environment variable and a
// log file, and reaches the imported realm's token endpoint.
func TestRunImportsRealm(t *testing.T) {
	img := os.Getenv("KC_IMAGE")
	if img == "" {
		img = "quay.io/keycloak/keycloak:26.7.3"
	}
	_, file, _, _ := runtime.Caller(0)
	fixture := filepath.Join(filepath.Dir(file), "..", "..", "fixtures", "realms", "offline.json")
	logFile := filepath.Join(t.TempDir(), "server.log")
	ctx := context.Background()
	ctr, err := kccontainer.Run(ctx, img,
		kccontainer.WithRealmImportFile(fixture),
		kccontainer.WithExtraArgs("--log-level=INFO"),
		kccontainer.WithLogFile(logFile),
		testcontainers.WithEnv(map[string]string{"KC_LOG_CONSOLE_COLOR": "false"}),
	)
	testcontainers.CleanupContainer(t, ctr, testcontainers.StopTimeout(0))
	if err != nil {
		t.Fatal(err)
	}
	tokenURL, err := ctr.TokenEndpoint(ctx, "shasta")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Post(tokenURL, "application/x-www-form-urlencoded",
		strings.NewReader("grant_type=client_credentials&client_id=my-test-client&client_secret=wrong"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token endpoint of the imported realm answered %d, want 401 for a wrong secret", resp.StatusCode)
	}
	// The file follows the log asynchronously: SaveLog makes it whole.
	if err := ctr.SaveLog(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(logFile)
	if err != nil || !strings.Contains(string(b), "shasta") {
		t.Fatalf("server log %s does not mention the imported realm: %v", logFile, err)
	}
}
