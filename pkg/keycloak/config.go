package keycloak

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"kcconform/pkg/admin"
	"kcconform/pkg/profile"
	"kcconform/pkg/transport"
	"kcconform/pkg/versions"
)

// Targets.
const (
	TargetProcess   = "process"
	TargetContainer = "container"
	TargetExternal  = "external"
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

// DefaultVersion is the Keycloak version of the process and container
// targets unless KC_VERSION says otherwise.
var DefaultVersion = versions.Default

// Config selects and configures a target. FromEnv reads it from the KC_*
// settings the README lists, and checks every one it can before any
// request.
type Config struct {
	Target      string
	Version     string
	CacheDir    string
	JavaHome    string
	Image       string
	LogDir      string
	Timeout     time.Duration
	BootTimeout time.Duration

	// External target.
	URL                string
	CAFile             string
	InsecureSkipVerify bool
	AllowPlainHTTP     bool
	Admin              admin.Credentials
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

var (
	versionPattern = regexp.MustCompile(`^\d+\.\d+\.\d+([.-][A-Za-z0-9.-]+)?$`)
	// realmPattern is what a realm or client id may hold here: no path or
	// query characters.
	namePattern = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)
)

// FromEnv reads a Config. getenv is usually os.Getenv.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Target:   getenv("KC_TARGET"),
		Version:  getenv("KC_VERSION"),
		CacheDir: getenv("KC_CACHE_DIR"),
		JavaHome: getenv("JAVA_HOME"),
		Image:    getenv("KC_IMAGE"),
		LogDir:   getenv("KC_REPORT_DIR"),
		URL:      getenv("KC_URL"),
		CAFile:   getenv("KC_CA_FILE"),
		Admin: admin.Credentials{
			Realm:        getenv("KC_ADMIN_REALM"),
			Username:     getenv("KC_ADMIN_USER"),
			Password:     getenv("KC_ADMIN_PASSWORD"),
			ClientID:     getenv("KC_ADMIN_CLIENT_ID"),
			ClientSecret: getenv("KC_ADMIN_CLIENT_SECRET"),
		},
	}
	var err error
	if c.Timeout, err = durationSetting(getenv, "KC_TIMEOUT", transport.DefaultTimeout); err != nil {
		return c, err
	}
	if c.BootTimeout, err = durationSetting(getenv, "KC_BOOT_TIMEOUT", 3*time.Minute); err != nil {
		return c, err
	}
	for key, dst := range map[string]*bool{"KC_INSECURE_SKIP_VERIFY": &c.InsecureSkipVerify, "KC_ALLOW_PLAIN_HTTP": &c.AllowPlainHTTP} {
		if v := getenv(key); v != "" {
			if *dst, err = strconv.ParseBool(v); err != nil {
				return c, fmt.Errorf("%s: expected true or false, got %q", key, v)
			}
		}
	}
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	if !versionPattern.MatchString(c.Version) {
		return c, fmt.Errorf("KC_VERSION: expected a Keycloak version such as %s, got %q", DefaultVersion, c.Version)
	}
	if c.CacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return c, fmt.Errorf("KC_CACHE_DIR: not set and no user cache directory: %w", err)
		}
		c.CacheDir = filepath.Join(base, "kcconform")
	}
	if c.CAFile != "" {
		if _, err := transport.New(transport.Options{CAFile: c.CAFile}); err != nil {
			return c, err
		}
	}
	if v := getenv("KC_RUN_ID"); v != "" && !runIDPattern.MatchString(v) {
		return c, fmt.Errorf("KC_RUN_ID: expected 1 to 32 lower-case letters, digits or dashes, got %q", v)
	}
	if _, err := profile.FromEnv(getenv); err != nil {
		return c, err
	}
	if c.Target == "" {
		c.Target = DefaultTarget(getenv)
	}
	switch c.Target {
	case TargetProcess, TargetContainer:
		for _, key := range []string{"KC_URL", "KC_REALM", "KC_CLIENT_ID", "KC_CLIENT_SECRET"} {
			if getenv(key) != "" {
				return c, fmt.Errorf("%s: only for KC_TARGET=external; the %s target starts a Keycloak of its own", key, c.Target)
			}
		}
	case TargetExternal:
		if err := c.readExternal(getenv); err != nil {
			return c, err
		}
	default:
		return c, fmt.Errorf("KC_TARGET: expected process, container or external, got %q", c.Target)
	}
	return c, nil
}

// runIDPattern keeps run ids usable in realm and container names.
var runIDPattern = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

func (c *Config) readExternal(getenv func(string) string) error {
	if c.URL == "" {
		return errors.New("KC_URL: expected the Keycloak base URL (e.g. https://api-gw-service-nmn.local/keycloak) for KC_TARGET=external, got nothing")
	}
	// Credentials always go to an external server: an admin's, or the
	// client's secret.
	if _, err := transport.CheckBaseURL("KC_URL", c.URL, c.AllowPlainHTTP); err != nil {
		return err
	}
	c.URL = strings.TrimRight(c.URL, "/")
	realm, clientID, secret := getenv("KC_REALM"), getenv("KC_CLIENT_ID"), getenv("KC_CLIENT_SECRET")
	// KC_CLIENT_SECRET alone (exported for docker-compose.yml, say) selects
	// no client: KC_REALM or KC_CLIENT_ID does.
	if realm != "" || clientID != "" {
		switch {
		case realm == "":
			return errors.New("KC_REALM: expected the realm of the existing client (e.g. shasta) to go with KC_CLIENT_ID")
		case !namePattern.MatchString(realm):
			return fmt.Errorf("KC_REALM: expected a realm name (letters, digits, . _ ~ -), got %q", realm)
		case clientID == "":
			return errors.New("KC_CLIENT_ID: expected the id of the existing client (e.g. my-test-client) to go with KC_REALM")
		case !namePattern.MatchString(clientID):
			return fmt.Errorf("KC_CLIENT_ID: expected a client id (letters, digits, . _ ~ -), got %q", clientID)
		case secret == "" && c.Admin.Empty():
			return fmt.Errorf("KC_CLIENT_SECRET: expected the secret of client %q when no admin credentials are set", clientID)
		}
		c.Client = &ExistingClient{Realm: realm, ClientID: clientID, Secret: secret}
	}
	if !c.Admin.Empty() {
		return c.Admin.Validate()
	}
	if c.Client == nil {
		return errors.New("KC_REALM: expected the realm of an existing client (with KC_CLIENT_ID, KC_CLIENT_SECRET), or admin credentials (KC_ADMIN_USER, KC_ADMIN_PASSWORD)")
	}
	return nil
}

// durationSetting reads a duration setting, refusing one that would
// overflow or is not positive, naming the variable.
func durationSetting(getenv func(string) string, key string, def time.Duration) (time.Duration, error) {
	v := getenv(key)
	if v == "" {
		return def, nil
	}
	d, err := profile.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return d, nil
}

// DefaultTarget is container where a Docker API answers, else process.
func DefaultTarget(getenv func(string) string) string {
	if DockerAvailable(getenv) {
		return TargetContainer
	}
	return TargetProcess
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
