// Package target is what selects and configures where Keycloak comes from
// (process, container or external) and how a run uses it (its mode): a
// leaf, so that reading settings links no launcher or container stack.
package target

import (
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"kcconform/pkg/admin"
	"kcconform/pkg/transport"
)

// Targets.
const (
	Process   = "process"
	Container = "container"
	External  = "external"
)

// Modes: how a run uses the server.
const (
	// ModeProvisioned: admin rights, and the run works in realms of its own.
	ModeProvisioned = "provisioned realm"
	// ModeAudit: admin rights and an existing client to audit; nothing in
	// its realm is changed, its settings explain the results.
	ModeAudit = "audit of an existing client"
	// ModeClientOnly: only an existing client's credentials, as a reader of
	// the procedure holds them.
	ModeClientOnly = "client-only"
)

// Config selects and configures a target. Package settings reads it from
// the KC_* settings (docs/settings.md), and checks every one it can before
// any request.
type Config struct {
	Target   string
	Version  string
	CacheDir string
	JavaHome string
	Image    string
	// PostgresImage is the container target's PostgreSQL image.
	PostgresImage string
	// PGBin is the bin directory of the process target's PostgreSQL (empty:
	// the newest installed).
	PGBin string
	// MavenRepoURL is a Maven repository to fetch the distribution from
	// where mvn is not installed.
	MavenRepoURL string
	// ReportDir is where server logs are saved (redacted).
	ReportDir   string
	Timeout     time.Duration
	BootTimeout time.Duration

	// External target.
	URL                string
	CAFile             string
	InsecureSkipVerify bool
	AllowPlainHTTP     bool
	Admin              admin.Credentials
	// ClusterURLs are the nodes of an external cluster (KC_CLUSTER_URLS):
	// their own base URLs, beside URL, the gateway's.
	ClusterURLs []string
	// Client is an existing client to test (KC_REALM, KC_CLIENT_ID and,
	// without admin rights, KC_CLIENT_SECRET).
	Client *ExistingClient
}

// ExistingClient is a client set up by hand on an external server.
type ExistingClient struct {
	Realm    string `json:"realm"`
	ClientID string `json:"clientId"`
	// Secret is empty in audit mode when admin rights can read it.
	Secret string `json:"-"`
}

// Mode is how the run uses the server.
func (c Config) Mode() string {
	switch {
	case c.Client != nil && c.Admin.Empty():
		return ModeClientOnly
	case c.Client != nil:
		return ModeAudit
	}
	return ModeProvisioned
}

// Default is container where a Docker API answers, else process.
func Default(getenv func(string) string) string {
	if DockerAvailable(getenv) {
		return Container
	}
	return Process
}

// DockerAvailable reports whether a Docker API answers /_ping within two
// seconds, at DOCKER_HOST or the default socket.
func DockerAvailable(getenv func(string) string) bool {
	host := getenv("DOCKER_HOST")
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	var dial func(ctx context.Context, _, _ string) (net.Conn, error)
	base := "http://docker"
	switch {
	case strings.HasPrefix(host, "unix://"):
		path := strings.TrimPrefix(host, "unix://")
		if _, err := os.Stat(path); err != nil {
			return false
		}
		dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}
	case strings.HasPrefix(host, "tcp://"):
		base = "http://" + strings.TrimPrefix(host, "tcp://")
	default:
		return false
	}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: dial}, CheckRedirect: transport.NoRedirect}
	resp, err := hc.Get(base + "/_ping")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
