package framework

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   any               `yaml:"depends_on"`
	} `yaml:"services"`
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// The compose file parses, runs the official image on PostgreSQL, and mounts
// for import exactly the realm fixture the suites use.
func TestComposeMountsTheSuitesFixture(t *testing.T) {
	t.Setenv("KC_FIXTURE", "") // the suites' default fixture
	path := filepath.Join(moduleRoot(), "docker-compose.yml")
	if docker, err := exec.LookPath("docker"); err == nil {
		// Where Compose is installed, its own parser must accept the file.
		cmd := exec.Command(docker, "compose", "-f", path, "config", "--quiet")
		cmd.Env = append(os.Environ(), "KC_ADMIN_PASSWORD=x")
		if out, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(out), "is not a docker command") && !strings.Contains(string(out), "unknown") {
			t.Fatalf("docker compose config: %v\n%s", err, out)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	kc, ok := c.Services["keycloak"]
	if !ok {
		t.Fatal("no keycloak service")
	}
	if !strings.HasPrefix(kc.Image, "quay.io/keycloak/keycloak:") {
		t.Errorf("keycloak image %q, want the official image", kc.Image)
	}
	if deps, _ := kc.DependsOn.(map[string]any); kc.Environment["KC_DB"] != "postgres" || deps["postgres"] == nil {
		t.Errorf("keycloak does not run on the postgres service: %+v", kc.Environment)
	}
	if !contains(kc.Command, "--import-realm") {
		t.Errorf("command %v lacks --import-realm", kc.Command)
	}
	var mounted string
	for _, v := range kc.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && strings.HasPrefix(parts[1], "/opt/keycloak/data/import/") {
			mounted = filepath.Join(moduleRoot(), parts[0])
		}
	}
	if mounted == "" {
		t.Fatal("no realm file mounted into /opt/keycloak/data/import/")
	}
	want, err := filepath.Abs(filepath.Join(moduleRoot(), "fixtures", "realms", "offline.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := filepath.Abs(mounted)
	if got != want {
		t.Fatalf("compose mounts %s, the suites use %s", got, want)
	}
	if _, err := os.Stat(got); err != nil {
		t.Fatal(err)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
