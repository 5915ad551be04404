package keycloak

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"kcconform/pkg/admin"
	"kcconform/pkg/transport"
)

// Config selects and configures a target. FromEnv reads it from the KC_*
// settings the README lists.
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
	Admin              admin.Credentials
	Client             *ExistingClient
}

var versionPattern = regexp.MustCompile(`^\d+\.\d+\.\d+([.-][A-Za-z0-9.-]+)?$`)

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
	if v := getenv("KC_INSECURE_SKIP_VERIFY"); v != "" {
		if c.InsecureSkipVerify, err = strconv.ParseBool(v); err != nil {
			return c, fmt.Errorf("KC_INSECURE_SKIP_VERIFY: expected true or false, got %q", v)
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
	if c.Target == "" {
		c.Target = DefaultTarget(getenv)
	}
	switch c.Target {
	case TargetProcess, TargetContainer:
	case TargetExternal:
		if err := c.readExternal(getenv); err != nil {
			return c, err
		}
	default:
		return c, fmt.Errorf("KC_TARGET: expected process, container or external, got %q", c.Target)
	}
	return c, nil
}

func (c *Config) readExternal(getenv func(string) string) error {
	if c.URL == "" {
		return fmt.Errorf("KC_URL: expected the Keycloak base URL (e.g. https://api-gw-service-nmn.local/keycloak) for KC_TARGET=external, got nothing")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("KC_URL: expected an http or https URL such as https://host/keycloak, got %q", c.URL)
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if !c.Admin.Empty() {
		return c.Admin.Validate()
	}
	cl := &ExistingClient{Realm: getenv("KC_REALM"), ClientID: getenv("KC_CLIENT_ID"), Secret: getenv("KC_CLIENT_SECRET")}
	switch {
	case cl.Realm == "":
		return fmt.Errorf("KC_REALM: expected the realm of the existing client (e.g. shasta) when no admin credentials are set")
	case cl.ClientID == "":
		return fmt.Errorf("KC_CLIENT_ID: expected the id of the existing client (e.g. my-test-client) when no admin credentials are set")
	case cl.Secret == "":
		return fmt.Errorf("KC_CLIENT_SECRET: expected the secret of client %q when no admin credentials are set", cl.ClientID)
	}
	c.Client = cl
	return nil
}

func durationSetting(getenv func(string) string, key string, def time.Duration) (time.Duration, error) {
	v := getenv(key)
	if v == "" {
		return def, nil
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: expected a duration such as 30s or a number of seconds, got %q", key, v)
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
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: dial}}
	resp, err := hc.Get(base + "/_ping")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Launcher returns the launcher for c.Target.
func (c Config) Launcher() (Launcher, error) {
	switch c.Target {
	case TargetProcess:
		return &ProcessLauncher{Config: c}, nil
	case TargetExternal:
		return &ExternalLauncher{Config: c}, nil
	case TargetContainer:
		return newContainerLauncher(c)
	}
	return nil, fmt.Errorf("KC_TARGET: expected process, container or external, got %q", c.Target)
}
