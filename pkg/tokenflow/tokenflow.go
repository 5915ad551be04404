// Package tokenflow runs the documented procedure's two requests against a
// Keycloak token endpoint, with golang.org/x/oauth2: the client-credentials
// grant with a scope, and the refresh-token grant. It returns what the server
// actually sent, field by field, plus the decoded claims of both tokens.
package tokenflow

import (
	"bytes"
	"context"
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
	// Issuer is the realm URL, e.g. https://gw.example/keycloak/realms/shasta.
	Issuer     string
	Token      string
	JWKS       string
	Introspect string
}

// RealmEndpoints derives a realm's endpoints from Keycloak's base URL, which
// may carry a path prefix such as /keycloak.
func RealmEndpoints(baseURL, realm string) Endpoints {
	iss := strings.TrimRight(baseURL, "/") + "/realms/" + url.PathEscape(realm)
	oidc := iss + "/protocol/openid-connect"
	return Endpoints{Issuer: iss, Token: oidc + "/token", JWKS: oidc + "/certs", Introspect: oidc + "/token/introspect"}
}

// Client runs the flows for one OAuth client.
type Client struct {
	Endpoints    Endpoints
	ClientID     string
	ClientSecret string
	// HTTP is the client every request goes through; its Timeout is the
	// per-request deadline.
	HTTP *http.Client
	// CAFile, when set, is named in replay commands (curl --cacert).
	CAFile string

	jwksMu sync.Mutex
	jwks   *keySet
}

// NewClient returns a Client and registers its secret with the redactor.
func NewClient(ep Endpoints, clientID, secret string, hc *http.Client) *Client {
	redact.Default.AddSecret(secret)
	return &Client{Endpoints: ep, ClientID: clientID, ClientSecret: secret, HTTP: hc}
}

// ClientCredentials runs grant_type=client_credentials with scope (which may
// be empty: an "online" token).
func (c *Client) ClientCredentials(ctx context.Context, scope string) (*Response, error) {
	cfg := clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		TokenURL:     c.Endpoints.Token,
		AuthStyle:    oauth2.AuthStyleInParams, // auto-detect retries and hides the first error
	}
	if scope != "" {
		cfg.EndpointParams = url.Values{"scope": {scope}}
	}
	req := Request{Grant: "client_credentials", Scope: scope}
	return c.exchange(ctx, req, func(ctx context.Context) (*oauth2.Token, error) { return cfg.Token(ctx) })
}

// Refresh runs grant_type=refresh_token with refreshToken.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*Response, error) {
	redact.Default.AddToken(refreshToken)
	cfg := oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Endpoint:     oauth2.Endpoint{TokenURL: c.Endpoints.Token, AuthStyle: oauth2.AuthStyleInParams},
	}
	req := Request{Grant: "refresh_token", RefreshToken: refreshToken}
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
}

func (c *Client) exchange(ctx context.Context, req Request, do func(context.Context) (*oauth2.Token, error)) (*Response, error) {
	rec := &recorder{base: c.HTTP}
	hc := &http.Client{Transport: rec, Timeout: c.HTTP.Timeout}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	if c.HTTP.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.HTTP.Timeout)
		defer cancel()
	}
	replay := c.Replay(req)
	_, err := do(ctx)
	ex := rec.last()
	if ex == nil {
		// Nothing came back: unreachable, TLS refused, no answer in time.
		return nil, &Error{Endpoint: c.Endpoints.Token, Cause: transport.Describe(err), Replay: replay, err: err}
	}
	if ex.readErr != nil {
		return nil, &Error{Endpoint: c.Endpoints.Token, Status: ex.status, Body: redact.String(string(ex.body)),
			Cause: transport.Describe(ex.readErr), Replay: replay, err: ex.readErr}
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) || ex.status != http.StatusOK {
		code, desc := oauthError(ex.body)
		// Not wrapped: a RetrieveError holds the response and so the request,
		// whose body carries the client secret and the refresh token.
		return nil, &Error{Endpoint: c.Endpoints.Token, Status: ex.status, Code: code, Description: desc,
			Body: redact.JSON(ex.body), Replay: replay}
	}
	resp, perr := Parse(ex.body)
	if perr != nil {
		return nil, &Error{Endpoint: c.Endpoints.Token, Status: ex.status, Body: redact.String(string(ex.body)),
			Cause: perr.Error(), Replay: replay, err: perr}
	}
	if err != nil {
		// x/oauth2 refused a body our parser accepted: it reads the body as a
		// form unless the Content-Type says JSON.
		return nil, &Error{Endpoint: c.Endpoints.Token, Status: ex.status, Body: redact.JSON(ex.body),
			Cause: fmt.Sprintf("%v (Content-Type %q, expected application/json)", err, ex.contentType), Replay: replay}
	}
	resp.Status = ex.status
	resp.Replay = replay
	resp.Request = req
	return resp, nil
}

// Error is a token request that did not give a usable token response. Its
// text is one line naming the endpoint, what came back and why.
type Error struct {
	Endpoint    string
	Status      int    // 0 when no response arrived
	Code        string // OAuth "error"
	Description string // OAuth "error_description"
	Body        string // redacted
	Cause       string // set when the failure is not an OAuth error response
	Replay      string // curl command that sends the same request
	err         error
}

// Error is the one-line cause.
func (e *Error) Error() string {
	switch {
	case e.Status == 0:
		return fmt.Sprintf("POST %s: %s", e.Endpoint, e.Cause)
	case e.Cause != "":
		return fmt.Sprintf("POST %s: HTTP %d: %s", e.Endpoint, e.Status, e.Cause)
	case e.Code != "":
		return fmt.Sprintf("POST %s: HTTP %d %s %q", e.Endpoint, e.Status, e.Code, e.Description)
	default:
		return fmt.Sprintf("POST %s: HTTP %d, expected 200 with a token response; body: %s", e.Endpoint, e.Status, truncate(e.Body, 300))
	}
}

// Unwrap returns the underlying error (a transport or parse error; never
// one that holds the request).
func (e *Error) Unwrap() error { return e.err }

// GomegaString is what Gomega prints for the error: its redacted one-line
// cause, never its structure.
func (e *Error) GomegaString() string { return redact.String(e.Error()) }

// AsError returns err as *Error, if it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// recorder is a RoundTripper that keeps the status and (bounded) body of the
// last response, so callers see exactly what the server sent even where
// x/oauth2 hides or normalises it.
type recorder struct {
	base *http.Client
	mu   sync.Mutex
	ex   *exchangeRecord
}

type exchangeRecord struct {
	status      int
	contentType string
	body        []byte
	readErr     error
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
	r.mu.Lock()
	r.ex = &exchangeRecord{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: body, readErr: rerr}
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
	fmt.Fprintf(&b, " -d grant_type=%s -d client_id=%s -d client_secret=\"${CLIENT_SECRET}\"", req.Grant, shellQuote(c.ClientID))
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
	form := url.Values{"token": {tok}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret}}
	ctx, cancel := context.WithTimeout(ctx, timeoutOf(c.HTTP))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoints.Introspect, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("introspect: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %s", c.Endpoints.Introspect, transport.Describe(err))
	}
	defer resp.Body.Close()
	body, err := transport.ReadBody(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %s", c.Endpoints.Introspect, transport.Describe(err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: HTTP %d, expected 200; body: %s", c.Endpoints.Introspect, resp.StatusCode, truncate(redact.JSON(body), 300))
	}
	cl, err := decodeClaims(body)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", c.Endpoints.Introspect, err)
	}
	return cl, nil
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

// Revoke revokes a refresh token at the realm's RFC 7009 endpoint; for an
// offline token this ends its offline session. It needs no admin rights, so
// the harness cleans up after itself on servers where it has none.
func (c *Client) Revoke(ctx context.Context, refreshToken string) error {
	endpoint := strings.TrimSuffix(c.Endpoints.Token, "/token") + "/revoke"
	form := url.Values{"token": {refreshToken}, "token_type_hint": {"refresh_token"},
		"client_id": {c.ClientID}, "client_secret": {c.ClientSecret}}
	ctx, cancel := context.WithTimeout(ctx, timeoutOf(c.HTTP))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %s", endpoint, transport.Describe(err))
	}
	defer resp.Body.Close()
	body, _ := transport.ReadBody(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: HTTP %d, expected 200; body: %s", endpoint, resp.StatusCode, truncate(redact.JSON(body), 300))
	}
	return nil
}
