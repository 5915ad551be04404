// Package transport builds the HTTP clients kcconform talks to Keycloak with:
// TLS verification on by default, an optional extra CA, a deadline on every
// call, bodies read up to a bound, and no redirect ever followed, so that a
// credential only reaches the server it was meant for.
package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultTimeout bounds every call when KC_TIMEOUT is not set.
const DefaultTimeout = 30 * time.Second

// MaxBody is the most kcconform reads of any response body. Token responses
// are a few KiB; anything larger is a broken or hostile server.
const MaxBody = 1 << 20

// Options configure New.
type Options struct {
	// CAFile is a PEM file of CA certificates trusted in addition to the
	// system's.
	CAFile string
	// InsecureSkipVerify turns TLS verification off. Reports mark it loudly.
	InsecureSkipVerify bool
	// Timeout bounds each request, from dial to the last byte of the body.
	Timeout time.Duration
}

// New returns an HTTP client for opts. It never follows a redirect: a 3xx
// answer comes back as it is, and Redirect turns it into an error.
func New(opts Options) (*http.Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.InsecureSkipVerify} //nolint:gosec // only on explicit request
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("KC_CA_FILE: read %s: %w", opts.CAFile, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("KC_CA_FILE: %s: expected PEM-encoded certificates, found none", opts.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: opts.Timeout, CheckRedirect: NoRedirect}, nil
}

// NoRedirect is the CheckRedirect of every kcconform client: the redirect is
// not followed, so a form body with a client secret or a token is never sent
// on to another URL.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Redirect returns an error for a 3xx answer (nil for any other), naming
// where the server wanted the request to go.
func Redirect(resp *http.Response) error {
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return nil
	}
	to := resp.Header.Get("Location")
	if to == "" {
		to = "(no Location header)"
	} else if resp.Request == nil || resp.Request.URL == nil {
		to = strings.SplitN(to, "?", 2)[0]
	} else if u, err := resp.Request.URL.Parse(to); err == nil {
		u.User = nil
		to = u.Redacted()
	}
	return fmt.Errorf("HTTP %d: redirected to %s; credentials not re-sent (kcconform follows no redirect: set KC_URL to the server's own address)", resp.StatusCode, to)
}

// Get sends a GET with hc and returns the answer of any status but 3xx: a
// redirect (Redirect) and a transport error (Describe) come back as errors
// naming the URL. The caller closes the body.
func Get(ctx context.Context, hc *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %s", u, Describe(err))
	}
	if rerr := Redirect(resp); rerr != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %w", u, rerr)
	}
	return resp, nil
}

// ErrBodyTooLarge is returned by ReadBody for a body over MaxBody.
var ErrBodyTooLarge = errors.New("response body larger than the 1 MiB kcconform reads")

// ReadBody reads at most MaxBody bytes of r. A larger body gives what was read
// and ErrBodyTooLarge.
func ReadBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return b, err
	}
	if len(b) > MaxBody {
		return b[:MaxBody], ErrBodyTooLarge
	}
	return b, nil
}

// Describe turns a transport error into a one-line cause.
func Describe(err error) string {
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var opErr *net.OpError
	switch {
	case err == nil:
		return "no error"
	case errors.As(err, &certErr), errors.As(err, &unknownAuth):
		return "TLS verification failed: the server's certificate is not signed by a trusted CA (set KC_CA_FILE to the CA's PEM file): " + err.Error()
	case errors.As(err, &hostErr):
		return "TLS verification failed: the certificate does not name this host: " + err.Error()
	case errors.As(err, &netErr) && netErr.Timeout():
		return "no answer within the deadline (raise KC_TIMEOUT if the server is just slow): " + err.Error()
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return "server unreachable: " + err.Error()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated response body: " + err.Error()
	}
	return err.Error()
}

// IsLoopback reports whether a URL's host is a loopback address or
// localhost, where plain http carries no credential over a network.
func IsLoopback(u *url.URL) bool {
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckBaseURL checks a server's base URL before any request: http or https
// with a host, no user info, query or fragment, and plain http only to a
// loopback host unless allowPlain. name is the setting it came from.
func CheckBaseURL(name, raw string, allowPlain bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: expected an http or https URL such as https://host/keycloak, got %q", name, raw)
	}
	switch {
	case u.User != nil:
		return nil, fmt.Errorf("%s: expected no user info in the URL (credentials go in KC_ADMIN_* or KC_CLIENT_*), got %q", name, u.Redacted())
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("%s: expected no query (?…) in the base URL, got %q", name, raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, fmt.Errorf("%s: expected no fragment (#…) in the base URL, got %q", name, raw)
	case u.Scheme == "http" && !IsLoopback(u) && !allowPlain:
		return nil, fmt.Errorf("%s: %s is plain http to a host that is not loopback: credentials would cross the network unencrypted; use https, or set KC_ALLOW_PLAIN_HTTP=true to send them anyway", name, raw)
	}
	return u, nil
}
