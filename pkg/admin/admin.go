// Package admin is a small client of Keycloak's Admin REST API: what the
// harness needs to provision a realm, look up its client and service account,
// grant roles, revoke consents and remove it all again.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"kcconform/pkg/redact"
	"kcconform/pkg/transport"
)

// Credentials authenticate the harness as an administrator: a user and
// password (through the admin-cli client), or a confidential admin client.
type Credentials struct {
	// Realm is where the administrator lives; default "master".
	Realm        string `json:"realm,omitempty"`
	Username     string `json:"username,omitempty"`
	Password     string `json:"password,omitempty"`
	ClientID     string `json:"clientId,omitempty"`
	ClientSecret string `json:"clientSecret,omitempty"`
}

// Empty reports whether no credentials were given.
func (c Credentials) Empty() bool {
	return c.Username == "" && c.ClientSecret == ""
}

// Validate names the first missing field.
func (c Credentials) Validate() error {
	switch {
	case c.Username != "" && c.Password == "":
		return errors.New("KC_ADMIN_PASSWORD: expected the password of KC_ADMIN_USER, got nothing")
	case c.Username == "" && c.ClientSecret != "" && c.ClientID == "":
		return errors.New("KC_ADMIN_CLIENT_ID: expected the admin client's id to go with KC_ADMIN_CLIENT_SECRET")
	case c.Empty():
		return errors.New("KC_ADMIN_USER/KC_ADMIN_PASSWORD or KC_ADMIN_CLIENT_ID/KC_ADMIN_CLIENT_SECRET: expected admin credentials, got none")
	}
	return nil
}

// Client calls the Admin REST API of one Keycloak.
type Client struct {
	base  string // Keycloak base URL, with any path prefix, no trailing slash
	creds Credentials
	http  *http.Client

	mu  sync.Mutex
	tok *oauth2.Token
}

// New returns an admin client for the Keycloak at baseURL. No request is made
// until the first call.
func New(baseURL string, creds Credentials, hc *http.Client) (*Client, error) {
	if err := creds.Validate(); err != nil {
		return nil, err
	}
	if _, err := url.ParseRequestURI(baseURL); err != nil {
		return nil, fmt.Errorf("KC_URL: expected an absolute URL such as https://host/keycloak, got %q", baseURL)
	}
	if creds.Realm == "" {
		creds.Realm = "master"
	}
	if creds.ClientID == "" {
		creds.ClientID = "admin-cli"
	}
	redact.Default.AddSecret(creds.Password)
	redact.Default.AddSecret(creds.ClientSecret)
	return &Client{base: strings.TrimRight(baseURL, "/"), creds: creds, http: hc}, nil
}

// Error is a failed Admin REST call. The body is redacted.
type Error struct {
	Method string
	Path   string
	Status int
	Body   string
	Cause  string // set when no usable response arrived
}

// Error is the one-line cause.
func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("keycloak admin: %s %s: %s", e.Method, e.Path, e.Cause)
	}
	if e.Cause != "" {
		return fmt.Sprintf("keycloak admin: %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Cause)
	}
	return fmt.Sprintf("keycloak admin: %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// GomegaString is what Gomega prints for the error: its redacted one-line
// cause, never its structure.
func (e *Error) GomegaString() string { return redact.String(e.Error()) }

// IsNotFound reports whether err is an admin call answered with 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// Token returns a valid admin access token, fetching one when needed.
// Admin tokens of the master realm live 60 s by default.
func (c *Client) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != nil && c.tok.Expiry.After(time.Now().Add(10*time.Second)) {
		return c.tok.AccessToken, nil
	}
	tokenURL := c.base + "/realms/" + url.PathEscape(c.creds.Realm) + "/protocol/openid-connect/token"
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, c.http), c.timeout())
	defer cancel()
	var tok *oauth2.Token
	var err error
	if c.creds.Username != "" {
		cfg := oauth2.Config{ClientID: c.creds.ClientID, ClientSecret: c.creds.ClientSecret,
			Endpoint: oauth2.Endpoint{TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams}}
		tok, err = cfg.PasswordCredentialsToken(ctx, c.creds.Username, c.creds.Password)
	} else {
		cfg := clientcredentials.Config{ClientID: c.creds.ClientID, ClientSecret: c.creds.ClientSecret,
			TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams}
		tok, err = cfg.Token(ctx)
	}
	if err != nil {
		return "", tokenError(tokenURL, err)
	}
	redact.Default.AddToken(tok.AccessToken)
	redact.Default.AddToken(tok.RefreshToken)
	c.tok = tok
	return tok.AccessToken, nil
}

func tokenError(tokenURL string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		hint := ""
		if status == http.StatusUnauthorized || re.ErrorCode == "invalid_grant" || re.ErrorCode == "unauthorized_client" {
			hint = " (wrong admin credentials?)"
		}
		return &Error{Method: "POST", Path: tokenURL, Status: status,
			Cause: fmt.Sprintf("admin token refused: %s %q%s", re.ErrorCode, re.ErrorDescription, hint)}
	}
	return &Error{Method: "POST", Path: tokenURL, Cause: "admin token: " + transport.Describe(err)}
}

func (c *Client) timeout() time.Duration {
	if c.http.Timeout > 0 {
		return c.http.Timeout
	}
	return transport.DefaultTimeout
}

// Do sends one admin call. path is below /admin (e.g. "/realms/x"); in, when
// not nil, is sent as JSON; out, when not nil, receives the JSON answer.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	_, err := c.do(ctx, method, path, in, out)
	return err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) (http.Header, error) {
	h, err := c.doOnce(ctx, method, path, in, out)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusUnauthorized && e.Cause == "" {
		// A cached admin token can outlive its server (a restart, an
		// upgrade): fetch a new one and try once more.
		c.mu.Lock()
		c.tok = nil
		c.mu.Unlock()
		return c.doOnce(ctx, method, path, in, out)
	}
	return h, err
}

func (c *Client) doOnce(ctx context.Context, method, path string, in, out any) (http.Header, error) {
	tok, err := c.Token(ctx)
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if in != nil {
		b, ok := in.([]byte)
		if !ok {
			if b, err = json.Marshal(in); err != nil {
				return nil, fmt.Errorf("keycloak admin: %s %s: encode request: %w", method, path, err)
			}
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/admin"+path, body)
	if err != nil {
		return nil, fmt.Errorf("keycloak admin: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &Error{Method: method, Path: path, Cause: transport.Describe(err)}
	}
	defer resp.Body.Close()
	b, err := transport.ReadBody(resp.Body)
	if err != nil {
		return nil, &Error{Method: method, Path: path, Status: resp.StatusCode, Cause: transport.Describe(err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := redact.JSON(b)
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		return nil, &Error{Method: method, Path: path, Status: resp.StatusCode, Body: msg}
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, &Error{Method: method, Path: path, Status: resp.StatusCode,
				Cause: fmt.Sprintf("expected JSON for %T: %v", out, err)}
		}
	}
	return resp.Header, nil
}

func realmPath(realm string, parts ...string) string {
	p := "/realms/" + url.PathEscape(realm)
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}
