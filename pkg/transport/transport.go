// Package transport builds the HTTP clients kcconform talks to Keycloak with:
// TLS verification on by default, an optional extra CA, a deadline on every
// call, and bodies read up to a bound.
package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
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

// New returns an HTTP client for opts.
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
	return &http.Client{Transport: tr, Timeout: opts.Timeout}, nil
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
	case errors.As(err, &certErr), errors.As(err, &unknownAuth):
		return "TLS verification failed: the server's certificate is not signed by a trusted CA (set KC_CA_FILE to the CA's PEM file): " + err.Error()
	case errors.As(err, &hostErr):
		return "TLS verification failed: the certificate does not name this host: " + err.Error()
	case errors.As(err, &netErr) && netErr.Timeout():
		return "no answer within the deadline (KC_TIMEOUT): " + err.Error()
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return "server unreachable: " + err.Error()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated response body: " + err.Error()
	}
	return err.Error()
}
