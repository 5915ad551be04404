// Package admin is a small client of Keycloak's Admin REST API: what the
// harness needs to provision a realm, look up its client and service account,
// read the settings that explain a verdict, revoke consents and sessions, and
// remove it all again.
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
	red   *redact.Redactor

	mu     sync.Mutex
	tok    string
	expiry time.Time
}

// New returns an admin client for the Keycloak at baseURL. Its credentials,
// and every token it is given, are registered with red. No request is made
// until the first call.
func New(baseURL string, creds Credentials, hc *http.Client, red *redact.Redactor) (*Client, error) {
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
	red.AddSecret(creds.Password)
	red.AddSecret(creds.ClientSecret)
	return &Client{base: strings.TrimRight(baseURL, "/"), creds: creds, http: hc, red: red}, nil
}

// Error is a failed Admin REST call. Every field is redacted.
type Error struct {
	Method string
	Path   string
	Status int    // 0 when no response arrived
	Body   string // redacted and cut
	Cause  string // set when no usable response arrived
}

// Error is the one-line cause.
func (e *Error) Error() string {
	switch {
	case e.Status == 0:
		return fmt.Sprintf("keycloak admin: %s %s: %s", e.Method, e.Path, e.Cause)
	case e.Cause != "":
		return fmt.Sprintf("keycloak admin: %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Cause)
	}
	return fmt.Sprintf("keycloak admin: %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// GomegaString is what Gomega prints for the error: its one-line cause,
// never its structure.
func (e *Error) GomegaString() string { return e.Error() }

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
	if c.tok != "" && c.expiry.After(time.Now().Add(10*time.Second)) {
		return c.tok, nil
	}
	tokenURL := c.base + "/realms/" + url.PathEscape(c.creds.Realm) + "/protocol/openid-connect/token"
	form := url.Values{"client_id": {c.creds.ClientID}}
	if c.creds.ClientSecret != "" {
		form.Set("client_secret", c.creds.ClientSecret)
	}
	if c.creds.Username != "" {
		form.Set("grant_type", "password")
		form.Set("username", c.creds.Username)
		form.Set("password", c.creds.Password)
	} else {
		form.Set("grant_type", "client_credentials")
	}
	fail := func(status int, cause string) (string, error) {
		return "", &Error{Method: "POST", Path: tokenURL, Status: status, Cause: c.red.String(cause)}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fail(0, err.Error())
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return fail(0, "admin token: "+transport.Describe(err))
	}
	defer resp.Body.Close()
	body, err := transport.ReadBody(resp.Body)
	c.red.Harvest(body)
	if err != nil {
		return fail(resp.StatusCode, "admin token: "+transport.Describe(err))
	}
	if rerr := transport.Redirect(resp); rerr != nil {
		return fail(resp.StatusCode, "admin token: "+rerr.Error())
	}
	var ans struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	jerr := json.Unmarshal(body, &ans)
	switch {
	case resp.StatusCode != http.StatusOK && jerr == nil && ans.Error != "":
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized || ans.Error == "invalid_grant" || ans.Error == "unauthorized_client" || ans.Error == "invalid_client" {
			hint = " (wrong admin credentials? KC_ADMIN_USER/KC_ADMIN_PASSWORD, KC_ADMIN_REALM)"
		}
		return fail(resp.StatusCode, fmt.Sprintf("admin token refused: %s %q%s", ans.Error, ans.Description, hint))
	case resp.StatusCode != http.StatusOK || jerr != nil || ans.AccessToken == "":
		return fail(resp.StatusCode, fmt.Sprintf("admin token: expected 200 with a JSON token response, got %s", describe(resp, body, c.red)))
	}
	c.red.AddToken(ans.AccessToken)
	c.tok, c.expiry = ans.AccessToken, time.Now().Add(time.Duration(ans.ExpiresIn)*time.Second)
	return c.tok, nil
}

// describe names an answer that is not what was expected: status, type,
// size and the start of the body, redacted.
func describe(resp *http.Response, body []byte, red *redact.Redactor) string {
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = "no Content-Type"
	}
	shown := strings.Join(strings.Fields(red.Body(body)), " ")
	if len(shown) > 200 {
		shown = shown[:200] + "…"
	}
	if shown == "" {
		shown = "an empty body"
	}
	return fmt.Sprintf("HTTP %d (%s, %d bytes): %s", resp.StatusCode, ct, len(body), shown)
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
	err := c.doOnce(ctx, method, path, in, out)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusUnauthorized && e.Path == path {
		// A cached admin token can outlive its server (a restart, an
		// upgrade): fetch a new one and try once more.
		c.mu.Lock()
		c.tok = ""
		c.mu.Unlock()
		return c.doOnce(ctx, method, path, in, out)
	}
	return err
}

func (c *Client) doOnce(ctx context.Context, method, path string, in, out any) error {
	tok, err := c.Token(ctx)
	if err != nil {
		return err
	}
	var body io.Reader
	if in != nil {
		b, ok := in.([]byte)
		if !ok {
			if b, err = json.Marshal(in); err != nil {
				return fmt.Errorf("keycloak admin: %s %s: encode request: %w", method, path, err)
			}
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/admin"+path, body)
	if err != nil {
		return fmt.Errorf("keycloak admin: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &Error{Method: method, Path: path, Cause: c.red.String(transport.Describe(err))}
	}
	defer resp.Body.Close()
	b, err := transport.ReadBody(resp.Body)
	switch {
	case err != nil:
		return &Error{Method: method, Path: path, Status: resp.StatusCode, Cause: transport.Describe(err)}
	case transport.Redirect(resp) != nil:
		return &Error{Method: method, Path: path, Status: resp.StatusCode, Cause: c.red.String(transport.Redirect(resp).Error())}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		shown := c.red.Body(b)
		if len(shown) > 500 {
			shown = shown[:500] + "…"
		}
		if !json.Valid(b) {
			return &Error{Method: method, Path: path, Status: resp.StatusCode, Cause: describe(resp, b, c.red)}
		}
		return &Error{Method: method, Path: path, Status: resp.StatusCode, Body: shown}
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return &Error{Method: method, Path: path, Status: resp.StatusCode,
				Cause: fmt.Sprintf("expected JSON for %T, got %s: %v", out, describe(resp, b, c.red), err)}
		}
	}
	return nil
}

func realmPath(realm string, parts ...string) string {
	p := "/realms/" + url.PathEscape(realm)
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}
