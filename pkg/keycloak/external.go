package keycloak

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"kcconform/pkg/redact"
	"kcconform/pkg/transport"
)

// ExternalLauncher connects to an already running Keycloak, such as a
// release engineer's staging server. It starts nothing and stops nothing.
type ExternalLauncher struct {
	Config
}

// Start checks that the server answers (the realm's OIDC discovery document,
// and an admin token where admin credentials are given) and returns it.
func (l *ExternalLauncher) Start(ctx context.Context) (*Server, error) {
	info := Info{
		Target:             TargetExternal,
		Version:            "unknown (no admin credentials)",
		BaseURL:            l.URL,
		Admin:              l.Admin,
		Client:             l.Client,
		CAFile:             l.CAFile,
		InsecureSkipVerify: l.InsecureSkipVerify,
		Timeout:            l.Timeout,
	}
	if l.Client != nil {
		redact.Default.AddSecret(l.Client.Secret)
	}
	began := time.Now()
	hc, err := info.HTTPClient()
	if err != nil {
		return nil, err
	}
	realm := "master"
	if l.Client != nil {
		realm = l.Client.Realm
	} else if l.Admin.Realm != "" {
		realm = l.Admin.Realm
	}
	disco := l.URL + "/realms/" + url.PathEscape(realm) + "/.well-known/openid-configuration"
	if err := getOK(ctx, hc, disco); err != nil {
		return nil, err
	}
	if info.HasAdmin() {
		ac, err := info.AdminClient()
		if err != nil {
			return nil, err
		}
		v, err := ac.ServerVersion(ctx)
		if err != nil {
			return nil, fmt.Errorf("keycloak: external server %s: %w", l.URL, err)
		}
		info.Version = v
	}
	info.BootTime = time.Since(began)
	return &Server{Info: info}, nil
}

func getOK(ctx context.Context, hc *http.Client, u string) error {
	ctx, cancel := context.WithTimeout(ctx, hc.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("keycloak: GET %s: %w", u, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("keycloak: GET %s: %s", u, transport.Describe(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("keycloak: GET %s: HTTP 404: expected the realm's OIDC discovery document (realm missing, or KC_URL lacks a path prefix such as /keycloak?)", u)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("keycloak: GET %s: HTTP %d, expected 200 with the realm's OIDC discovery document", u, resp.StatusCode)
	}
	return nil
}
