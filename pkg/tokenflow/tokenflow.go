// Package tokenflow runs the documented procedure's two requests against a
// Keycloak token endpoint, with golang.org/x/oauth2: the client-credentials
// grant with a scope, and the refresh-token grant. It returns what the server
// actually sent, field by field and header by header, plus the decoded claims
// of both tokens. It also speaks to the realm's other endpoints the harness
// needs: discovery, JWKS, introspection and revocation.
package tokenflow

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

// Endpoints are a realm's OIDC endpoints.
type Endpoints struct {
	// RealmName is the realm's name.
	RealmName string
	// Issuer is the realm URL, e.g. https://gw.example/keycloak/realms/shasta.
	Issuer     string
	Token      string
	JWKS       string
	Introspect string
	Revoke     string
	Discovery  string
}

// RealmEndpoints derives a realm's endpoints from Keycloak's base URL, which
// may carry a path prefix such as /keycloak.
func RealmEndpoints(baseURL, realm string) Endpoints {
	iss := strings.TrimRight(baseURL, "/") + "/realms/" + url.PathEscape(realm)
	oidc := iss + "/protocol/openid-connect"
	return Endpoints{RealmName: realm, Issuer: iss, Token: oidc + "/token", JWKS: oidc + "/certs", Introspect: oidc + "/token/introspect",
		Revoke: oidc + "/revoke", Discovery: iss + "/.well-known/openid-configuration"}
}

// Realm is the realm's name.
func (e Endpoints) Realm() string { return e.RealmName }

// AuthStyle is how the client authenticates at the token endpoint.
type AuthStyle int

const (
	// AuthPost sends client_id and client_secret in the form body
	// (client_secret_post), as the procedure's curl commands do.
	AuthPost AuthStyle = iota
	// AuthBasic sends them as HTTP Basic authentication (client_secret_basic,
	// RFC 6749 §2.3.1), which every server must accept.
	AuthBasic
)

// String names the style as OIDC's token_endpoint_auth_method does.
func (s AuthStyle) String() string {
	if s == AuthBasic {
		return "client_secret_basic"
	}
	return "client_secret_post"
}

// Client runs the flows for one OAuth client.
type Client struct {
	Endpoints    Endpoints
	ClientID     string
	ClientSecret string
	// Auth is how the client authenticates (default client_secret_post).
	Auth AuthStyle
	// HTTP is the client every request goes through; its Timeout is the
	// per-request deadline. It must not follow redirects (transport.New).
	HTTP *http.Client
	// CAFile, when set, is named in replay commands (curl --cacert).
	CAFile string
	// Redactor learns every credential the client sends or receives, before
	// anything parses or shows it.
	Redactor *redact.Redactor

	jwksMu sync.Mutex
	jwks   *keySet
}

// NewClient returns a Client and registers its secret with red.
func NewClient(ep Endpoints, clientID, secret string, hc *http.Client, red *redact.Redactor) *Client {
	red.AddSecret(secret)
	return &Client{Endpoints: ep, ClientID: clientID, ClientSecret: secret, HTTP: hc, Redactor: red}
}

// WithAuth returns a copy of c that authenticates with style.
func (c *Client) WithAuth(style AuthStyle) *Client {
	return &Client{Endpoints: c.Endpoints, ClientID: c.ClientID, ClientSecret: c.ClientSecret, Auth: style,
		HTTP: c.HTTP, CAFile: c.CAFile, Redactor: c.Redactor}
}

func (c *Client) oauthStyle() oauth2.AuthStyle {
	if c.Auth == AuthBasic {
		return oauth2.AuthStyleInHeader
	}
	return oauth2.AuthStyleInParams // auto-detect retries and hides the first error
}

// ClientCredentials runs grant_type=client_credentials with scope (which may
// be empty: an "online" token).
func (c *Client) ClientCredentials(ctx context.Context, scope string) (*Response, error) {
	cfg := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: c.Endpoints.Token, AuthStyle: c.oauthStyle()}
	if scope != "" {
		cfg.EndpointParams = url.Values{"scope": {scope}}
	}
	req := Request{Grant: "client_credentials", Scope: scope, Auth: c.Auth}
	return c.exchange(ctx, req, func(ctx context.Context) (*oauth2.Token, error) { return cfg.Token(ctx) })
}

// Refresh runs grant_type=refresh_token with refreshToken.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*Response, error) {
	c.Redactor.AddToken(refreshToken)
	cfg := oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		Endpoint: oauth2.Endpoint{TokenURL: c.Endpoints.Token, AuthStyle: c.oauthStyle()}}
	req := Request{Grant: "refresh_token", RefreshToken: refreshToken, Auth: c.Auth}
	return c.exchange(ctx, req, func(ctx context.Context) (*oauth2.Token, error) {
		// An empty access token makes the source refresh at once.
		return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	})
}

// Request describes one token request, for reports and replay commands.
type Request struct {
	Grant        string
	Scope        string
	RefreshToken string
	Auth         AuthStyle
}

func (c *Client) exchange(ctx context.Context, req Request, do func(context.Context) (*oauth2.Token, error)) (*Response, error) {
	rec := &recorder{base: c.HTTP, red: c.Redactor}
	hc := &http.Client{Transport: rec, Timeout: c.HTTP.Timeout, CheckRedirect: transport.NoRedirect}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	ctx, cancel := context.WithTimeout(ctx, timeoutOf(c.HTTP))
	defer cancel()
	replay := c.Replay(req)
	_, err := do(ctx)
	ex := rec.last()
	fail := func(e *Error) (*Response, error) {
		e.Method, e.Endpoint, e.Replay = http.MethodPost, c.Endpoints.Token, replay
		if ex != nil {
			e.Status, e.Body, e.Size = ex.status, c.Redactor.Body(ex.body), len(ex.body)
		}
		return nil, e
	}
	switch {
	case ex == nil:
		// Nothing came back: unreachable, TLS refused, no answer in time.
		return fail(&Error{Cause: c.Redactor.String(transport.Describe(err)), err: err})
	case ex.readErr != nil:
		return fail(&Error{Cause: transport.Describe(ex.readErr), err: ex.readErr})
	case ex.redirect != nil:
		return fail(&Error{Cause: c.Redactor.String(ex.redirect.Error())})
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) || ex.status != http.StatusOK {
		code, desc := oauthError(ex.body)
		// Not wrapped: a RetrieveError holds the response and so the request,
		// whose body carries the client secret and the refresh token.
		e := &Error{Code: c.Redactor.String(code), Description: c.Redactor.String(desc)}
		if code == "" {
			e.Cause = fmt.Sprintf("expected 200 with a token response, got %s", describeStatus(ex))
		}
		return fail(e)
	}
	resp, perr := Parse(ex.body)
	if perr != nil {
		return fail(&Error{Cause: c.Redactor.String(perr.Error()), err: perr})
	}
	if err != nil {
		// x/oauth2 refused a body our parser accepted: it reads the body as a
		// form unless the Content-Type says JSON.
		return fail(&Error{Cause: c.Redactor.String(fmt.Sprintf("%v (Content-Type %q, expected application/json)", err, ex.header.Get("Content-Type")))})
	}
	resp.Status = ex.status
	resp.Header = ex.header
	resp.Shown = c.Redactor.Body(ex.body)
	resp.Replay = replay
	resp.Request = req
	return resp, nil
}

func describeStatus(ex *exchangeRecord) string {
	ct := ex.header.Get("Content-Type")
	if ct == "" {
		ct = "no Content-Type"
	}
	return fmt.Sprintf("HTTP %d (%s, %d bytes)", ex.status, ct, len(ex.body))
}

// Error is a request that did not give a usable answer. Its text is one line
// naming the endpoint, what came back and why; every field is redacted.
type Error struct {
	// Method and Endpoint are the request's (a token request is a POST;
	// discovery and JWKS are GETs).
	Method      string
	Endpoint    string
	Status      int    // 0 when no response arrived
	Code        string // OAuth "error"
	Description string // OAuth "error_description"
	Body        string // redacted and cut to a few KiB
	Size        int    // the body's size as received
	Cause       string // set when the failure is not an OAuth error response
	Replay      string // curl command that sends the same request
	err         error
}

// Error is the one-line cause.
func (e *Error) Error() string {
	method := e.Method
	if method == "" {
		method = http.MethodPost
	}
	switch {
	case e.Status == 0:
		return fmt.Sprintf("%s %s: %s", method, e.Endpoint, e.Cause)
	case e.Code != "":
		return fmt.Sprintf("%s %s: HTTP %d %s %q", method, e.Endpoint, e.Status, e.Code, e.Description)
	default:
		return fmt.Sprintf("%s %s: HTTP %d: %s", method, e.Endpoint, e.Status, e.Cause)
	}
}

// Sent is what the server sent, in a few words, for a verdict row.
func (e *Error) Sent() string {
	if e.Status == 0 {
		return "no answer: " + e.Cause
	}
	if e.Code != "" {
		return fmt.Sprintf("HTTP %d %s %q", e.Status, e.Code, e.Description)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Cause)
}

// Unwrap returns the underlying error (a transport or parse error; never
// one that holds the request).
func (e *Error) Unwrap() error { return e.err }

// GomegaString is what Gomega prints for the error: its one-line cause,
// never its structure.
func (e *Error) GomegaString() string { return e.Error() }

// AsError returns err as *Error, if it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// recorder is a RoundTripper that keeps the status, headers and (bounded)
// body of the last response, so callers see exactly what the server sent even
// where x/oauth2 hides or normalises it. It registers every credential of the
// answer with the redactor before anything else reads the body.
type recorder struct {
	base *http.Client
	red  *redact.Redactor
	mu   sync.Mutex
	ex   *exchangeRecord
}

type exchangeRecord struct {
	status   int
	header   http.Header
	body     []byte
	readErr  error
	redirect error
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	rt := r.base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, rerr := transport.ReadBody(resp.Body)
	resp.Body.Close()
	r.red.Harvest(body)
	r.mu.Lock()
	r.ex = &exchangeRecord{status: resp.StatusCode, header: resp.Header, body: body, readErr: rerr, redirect: transport.Redirect(resp)}
	r.mu.Unlock()
	if rerr != nil {
		return nil, rerr
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func (r *recorder) last() *exchangeRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ex
}

// Replay returns the curl command, in the form of the operators' procedure,
// that sends req again. Secrets and tokens are shell variables.
func (c *Client) Replay(req Request) string {
	var b strings.Builder
	b.WriteString("curl -s")
	if c.CAFile != "" {
		b.WriteString(` --cacert "${KC_CA_FILE}"`)
	}
	if req.Auth == AuthBasic {
		fmt.Fprintf(&b, ` -u %s:"${CLIENT_SECRET}" -d grant_type=%s`, shellQuote(c.ClientID), req.Grant)
	} else {
		fmt.Fprintf(&b, " -d grant_type=%s -d client_id=%s -d client_secret=\"${CLIENT_SECRET}\"", req.Grant, shellQuote(c.ClientID))
	}
	if req.Scope != "" {
		fmt.Fprintf(&b, " -d scope=%s", shellQuote(req.Scope))
	}
	if req.Grant == "refresh_token" {
		b.WriteString(` -d refresh_token="${REFRESH_TOKEN}"`)
	}
	fmt.Fprintf(&b, " %s | jq", shellQuote(c.Endpoints.Token))
	return b.String()
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Introspect asks the realm's introspection endpoint whether tok is active,
// authenticating as this client. It returns the endpoint's claims.
func (c *Client) Introspect(ctx context.Context, tok string) (Claims, error) {
	body, err := c.postForm(ctx, c.Endpoints.Introspect, url.Values{"token": {tok}})
	if err != nil {
		return nil, err
	}
	cl, err := decodeClaims(body)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", c.Endpoints.Introspect, err)
	}
	return cl, nil
}

// Revoke revokes a refresh token at the realm's RFC 7009 endpoint; for an
// offline token this ends its offline session. It needs no admin rights, so
// the harness cleans up after itself on servers where it has none.
func (c *Client) Revoke(ctx context.Context, refreshToken string) error {
	c.Redactor.AddToken(refreshToken)
	_, err := c.postForm(ctx, c.Endpoints.Revoke, url.Values{"token": {refreshToken}, "token_type_hint": {"refresh_token"}})
	return err
}

// postForm sends a form authenticated as this client (client_secret_post)
// and returns the body of a 200 answer; anything else is an *Error.
func (c *Client) postForm(ctx context.Context, endpoint string, form url.Values) ([]byte, error) {
	form.Set("client_id", c.ClientID)
	form.Set("client_secret", c.ClientSecret)
	ctx, cancel := context.WithTimeout(ctx, timeoutOf(c.HTTP))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &Error{Method: http.MethodPost, Endpoint: endpoint, Cause: err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// getJSON GETs a public endpoint of the realm (discovery, JWKS).
func (c *Client) getJSON(ctx context.Context, endpoint string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeoutOf(c.HTTP))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", endpoint, err)
	}
	body, err := c.do(req)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: expected JSON: %w", endpoint, err)
	}
	return nil
}

func (c *Client) do(req *http.Request) ([]byte, error) {
	fail := func(e *Error) ([]byte, error) {
		e.Method, e.Endpoint = req.Method, req.URL.String()
		return nil, e
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fail(&Error{Cause: c.Redactor.String(transport.Describe(err)), err: err})
	}
	defer resp.Body.Close()
	body, err := transport.ReadBody(resp.Body)
	c.Redactor.Harvest(body)
	e := &Error{Status: resp.StatusCode, Body: c.Redactor.Body(body), Size: len(body)}
	switch {
	case err != nil:
		e.Cause, e.err = transport.Describe(err), err
		return fail(e)
	case transport.Redirect(resp) != nil:
		e.Cause = c.Redactor.String(transport.Redirect(resp).Error())
		return fail(e)
	case resp.StatusCode != http.StatusOK:
		e.Code, e.Description = oauthError(body)
		e.Code, e.Description = c.Redactor.String(e.Code), c.Redactor.String(e.Description)
		if e.Code == "" {
			e.Cause = fmt.Sprintf("expected 200, got %d (%d bytes): %s", resp.StatusCode, len(body), truncate(e.Body, 200))
		}
		return fail(e)
	}
	return body, nil
}

func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func timeoutOf(hc *http.Client) time.Duration {
	if hc.Timeout > 0 {
		return hc.Timeout
	}
	return transport.DefaultTimeout
}

func oauthError(body []byte) (code, desc string) {
	var e struct {
		Error       any `json:"error"`
		Description any `json:"error_description"`
	}
	if jsonUnmarshal(body, &e) != nil {
		return "", ""
	}
	code, _ = e.Error.(string)
	desc, _ = e.Description.(string)
	return code, desc
}

// Discovery is the part of a realm's OIDC discovery document the harness
// reads.
type Discovery struct {
	Issuer        string   `json:"issuer"`
	TokenEndpoint string   `json:"token_endpoint"`
	JWKSURI       string   `json:"jwks_uri"`
	AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
}

// Discover reads the realm's OIDC discovery document.
func (c *Client) Discover(ctx context.Context) (*Discovery, error) {
	var d Discovery
	if err := c.getJSON(ctx, c.Endpoints.Discovery, &d); err != nil {
		return nil, err
	}
	if d.Issuer == "" {
		return nil, fmt.Errorf("GET %s: field issuer: expected the realm's issuer URL, got none", c.Endpoints.Discovery)
	}
	return &d, nil
}
