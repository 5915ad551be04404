package keycloak

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"kcconform/pkg/redact"
	"kcconform/pkg/transport"
)

// External is an already running Keycloak, such as a release engineer's
// staging server. kcconform starts nothing and stops nothing there.
type External struct {
	cfg  Config
	red  *redact.Redactor
	info Info
}

// NewExternal returns the external server cfg names; red learns its
// credentials.
func NewExternal(cfg Config, red *redact.Redactor) *External {
	if red == nil {
		red = redact.New()
	}
	return &External{cfg: cfg, red: red}
}

// Up checks that the server answers: the realm's OIDC discovery document
// (the existing client's realm, or the administrator's), and an admin token
// where admin credentials are given.
func (e *External) Up(ctx context.Context) error {
	p := StartPhases()
	u, err := transport.CheckBaseURL("KC_URL", e.cfg.URL, e.cfg.AllowPlainHTTP)
	if err != nil {
		return err
	}
	e.info = Info{
		Target:             TargetExternal,
		Version:            "unknown (no admin credentials)",
		BaseURL:            e.cfg.URL,
		Admin:              e.cfg.Admin,
		Client:             e.cfg.Client,
		CAFile:             e.cfg.CAFile,
		InsecureSkipVerify: e.cfg.InsecureSkipVerify,
		PlainHTTP:          u.Scheme == "http" && !transport.IsLoopback(u),
		Timeout:            e.cfg.Timeout,
	}
	if e.cfg.Client != nil {
		e.red.AddSecret(e.cfg.Client.Secret)
	}
	e.red.AddSecret(e.cfg.Admin.Password)
	e.red.AddSecret(e.cfg.Admin.ClientSecret)
	hc, err := e.info.HTTPClient()
	if err != nil {
		return err
	}
	realm := "master"
	if e.cfg.Client != nil {
		realm = e.cfg.Client.Realm
	} else if e.cfg.Admin.Realm != "" {
		realm = e.cfg.Admin.Realm
	}
	const disco = "/.well-known/openid-configuration"
	issuer, err := discoveryIssuer(ctx, hc, e.cfg.URL+"/realms/"+url.PathEscape(realm)+disco)
	if err != nil {
		return err
	}
	// Each node of an external cluster serves the realm itself, under the
	// gateway's issuer (else a token of one node is refused by another).
	for _, node := range e.cfg.ClusterURLs {
		iss, err := discoveryIssuer(ctx, hc, node+"/realms/"+url.PathEscape(realm)+disco)
		if err != nil {
			return fmt.Errorf("KC_CLUSTER_URLS: node %s: %w", node, err)
		}
		if iss != issuer {
			return fmt.Errorf("KC_CLUSTER_URLS: node %s names its issuer %q, the gateway %q: every node needs the gateway's URL as its hostname (--hostname)", node, iss, issuer)
		}
	}
	e.info.Nodes = e.cfg.ClusterURLs
	if e.info.HasAdmin() {
		ac, err := e.info.AdminClient(e.red)
		if err != nil {
			return err
		}
		v, err := ac.ServerVersion(ctx)
		if err != nil {
			return fmt.Errorf("external server %s: %w", e.cfg.URL, err)
		}
		e.info.Version = v
	}
	p.Done("connect")
	e.info.BootTime, e.info.Boot = p.Total(), p.List()
	return nil
}

// Stop is not possible on an external server.
func (e *External) Stop(context.Context) error { return ErrNotControlled }

// Kill is not possible on an external server.
func (e *External) Kill(context.Context) error { return ErrNotControlled }

// Successor is not possible on an external server.
func (e *External) Successor(string) (Server, error) { return nil, ErrNotControlled }

// Remove does nothing: kcconform removed what it created on the server with
// the specs that created it.
func (e *External) Remove(context.Context) error { return nil }

// Info describes the server.
func (e *External) Info() Info { return e.info }

// discoveryIssuer reads a realm's OIDC discovery document and returns its
// issuer; anything else than such a document is an error naming the URL.
func discoveryIssuer(ctx context.Context, hc *http.Client, u string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, hc.Timeout)
	defer cancel()
	resp, err := transport.Get(ctx, hc, u)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return "", fmt.Errorf("GET %s: HTTP 404: expected the realm's OIDC discovery document (realm missing, or KC_URL lacks a path prefix such as /keycloak?)", u)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: HTTP %d, expected 200 with the realm's OIDC discovery document", u, resp.StatusCode)
	}
	body, err := transport.ReadBody(resp.Body)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", u, err)
	}
	var doc struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if json.Unmarshal(body, &doc) != nil || doc.Issuer == "" || doc.TokenEndpoint == "" {
		return "", fmt.Errorf("GET %s: expected the realm's OIDC discovery document (JSON with issuer and token_endpoint): not a Keycloak", u)
	}
	return doc.Issuer, nil
}
