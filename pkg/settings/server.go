package settings

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"kcconform/pkg/admin"
	"kcconform/pkg/target"
	"kcconform/pkg/transport"
	"kcconform/pkg/versions"
)

var (
	versionPattern = regexp.MustCompile(`^\d+\.\d+\.\d+([.-][A-Za-z0-9.-]+)?$`)
	// namePattern is what a realm or client id may hold here: no path or
	// query characters.
	namePattern = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)
)

// parseServer reads the target's configuration.
func parseServer(get Lookup) (target.Config, error) {
	c := target.Config{
		Target:        get("KC_TARGET"),
		Version:       get("KC_VERSION"),
		CacheDir:      get("KC_CACHE_DIR"),
		JavaHome:      get("JAVA_HOME"),
		Image:         get("KC_IMAGE"),
		PostgresImage: get("KC_POSTGRES_IMAGE"),
		MavenRepoURL:  get("KC_MAVEN_REPO_URL"),
		PGBin:         get("PG_BIN"),
		URL:           get("KC_URL"),
		CAFile:        get("KC_CA_FILE"),
		Admin: admin.Credentials{
			Realm:        get("KC_ADMIN_REALM"),
			Username:     get("KC_ADMIN_USER"),
			Password:     get("KC_ADMIN_PASSWORD"),
			ClientID:     get("KC_ADMIN_CLIENT_ID"),
			ClientSecret: get("KC_ADMIN_CLIENT_SECRET"),
		},
	}
	var err error
	if c.Timeout, err = duration(get, "KC_TIMEOUT", transport.DefaultTimeout); err != nil {
		return c, err
	}
	if c.BootTimeout, err = duration(get, "KC_BOOT_TIMEOUT", 3*time.Minute); err != nil {
		return c, err
	}
	if c.InsecureSkipVerify, err = boolean(get, "KC_INSECURE_SKIP_VERIFY"); err != nil {
		return c, err
	}
	if c.AllowPlainHTTP, err = boolean(get, "KC_ALLOW_PLAIN_HTTP"); err != nil {
		return c, err
	}
	if c.Version == "" {
		c.Version = versions.Default
	}
	if !versionPattern.MatchString(c.Version) {
		return c, fmt.Errorf("KC_VERSION: expected a Keycloak version such as %s, got %q", versions.Default, c.Version)
	}
	if c.PostgresImage == "" {
		c.PostgresImage = versions.PostgresImage
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
	if c.Target == "" {
		c.Target = target.Default(os.Getenv)
	}
	switch c.Target {
	case target.Process, target.Container:
		for _, key := range []string{"KC_URL", "KC_REALM", "KC_CLIENT_ID", "KC_CLIENT_SECRET", "KC_CLUSTER_URLS"} {
			if get(key) != "" {
				return c, fmt.Errorf("%s: only for KC_TARGET=external; the %s target starts a Keycloak of its own", key, c.Target)
			}
		}
	case target.External:
		if err := parseExternal(&c, get); err != nil {
			return c, err
		}
	default:
		return c, fmt.Errorf("KC_TARGET: expected process, container or external, got %q", c.Target)
	}
	return c, nil
}

// parseExternal reads what the external target needs: the URL, and an
// existing client, admin credentials, or both.
func parseExternal(c *target.Config, get Lookup) error {
	if c.URL == "" {
		return errors.New("KC_URL: expected the Keycloak base URL (e.g. https://api-gw-service-nmn.local/keycloak) for KC_TARGET=external, got nothing")
	}
	// Credentials always go to an external server: an admin's, or the
	// client's secret.
	if _, err := transport.CheckBaseURL("KC_URL", c.URL, c.AllowPlainHTTP); err != nil {
		return err
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if v := get("KC_CLUSTER_URLS"); v != "" {
		for _, u := range strings.Split(v, ",") {
			u = strings.TrimRight(strings.TrimSpace(u), "/")
			if _, err := transport.CheckBaseURL("KC_CLUSTER_URLS", u, c.AllowPlainHTTP); err != nil {
				return err
			}
			c.ClusterURLs = append(c.ClusterURLs, u)
		}
		if len(c.ClusterURLs) < 2 {
			return fmt.Errorf("KC_CLUSTER_URLS: expected the base URLs of at least 2 nodes, comma-separated, got %q", v)
		}
	}
	realm, clientID, secret := get("KC_REALM"), get("KC_CLIENT_ID"), get("KC_CLIENT_SECRET")
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
		c.Client = &target.ExistingClient{Realm: realm, ClientID: clientID, Secret: secret}
	}
	if !c.Admin.Empty() {
		return c.Admin.Validate()
	}
	if c.Client == nil {
		return errors.New("KC_REALM: expected the realm of an existing client (with KC_CLIENT_ID, KC_CLIENT_SECRET), or admin credentials (KC_ADMIN_USER, KC_ADMIN_PASSWORD)")
	}
	return nil
}
