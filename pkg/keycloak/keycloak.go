// Package keycloak starts Keycloak for the conformance suites, or connects to
// one that is already running. One Launcher interface covers the three
// targets: a process from the official distribution, a container through
// testcontainers-go, and an external server.
package keycloak

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"kcconform/pkg/admin"
	"kcconform/pkg/transport"
)

// Targets.
const (
	TargetProcess   = "process"
	TargetContainer = "container"
	TargetExternal  = "external"
)

// DefaultVersion is the newest Keycloak 26.x that Maven Central served to
// this project's machines when it was last checked (26.7.4 was not served).
const DefaultVersion = "26.7.3"

// Launcher starts (or, for an external server, checks) a Keycloak and
// returns it once it is ready to serve admin and token requests.
type Launcher interface {
	Start(ctx context.Context) (*Server, error)
}

// Info is everything a suite needs to talk to a running Keycloak. It is
// serialised from the process that started the server to the other parallel
// Ginkgo processes, so it holds no functions.
type Info struct {
	Target  string `json:"target"`
	Version string `json:"version"`
	// Image is the container image, for the container target.
	Image string `json:"image,omitempty"`
	// BaseURL is Keycloak's base URL, with any path prefix (e.g. /keycloak).
	BaseURL string `json:"baseURL"`
	// Admin is empty where only a client's credentials are known.
	Admin admin.Credentials `json:"admin"`
	// Client is the pre-provisioned client of an external server without
	// admin credentials (the procedure's reader's view).
	Client *ExistingClient `json:"client,omitempty"`
	// CAFile and InsecureSkipVerify configure TLS to the server.
	CAFile             string `json:"caFile,omitempty"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
	// LogFile is the server's log, attached (redacted) to failed specs.
	LogFile string `json:"logFile,omitempty"`
	// BootTime is from launch to ready (admin token obtainable).
	BootTime time.Duration `json:"bootTime"`
	// Timeout bounds every call to the server.
	Timeout time.Duration `json:"timeout"`
}

// ExistingClient is a client set up by hand on an external server.
type ExistingClient struct {
	Realm    string `json:"realm"`
	ClientID string `json:"clientId"`
	Secret   string `json:"secret"`
}

// HasAdmin reports whether admin calls can be made.
func (i Info) HasAdmin() bool { return !i.Admin.Empty() }

// HTTPClient returns an HTTP client configured for this server's TLS and
// deadline.
func (i Info) HTTPClient() (*http.Client, error) {
	return transport.New(transport.Options{CAFile: i.CAFile, InsecureSkipVerify: i.InsecureSkipVerify, Timeout: i.Timeout})
}

// AdminClient returns an admin client for this server.
func (i Info) AdminClient() (*admin.Client, error) {
	hc, err := i.HTTPClient()
	if err != nil {
		return nil, err
	}
	return admin.New(i.BaseURL, i.Admin, hc)
}

// Marshal encodes i for SynchronizedBeforeSuite.
func (i Info) Marshal() []byte {
	b, err := json.Marshal(i)
	if err != nil {
		panic(fmt.Sprintf("keycloak: Info cannot fail to encode: %v", err))
	}
	return b
}

// UnmarshalInfo decodes what Marshal encoded.
func UnmarshalInfo(b []byte) (Info, error) {
	var i Info
	if err := json.Unmarshal(b, &i); err != nil {
		return Info{}, fmt.Errorf("keycloak: decode server info: %w", err)
	}
	return i, nil
}

// Server is a ready Keycloak.
type Server struct {
	Info
	stop func(context.Context) error
	kill func() error
}

// Stop stops a server the launcher started and removes its data; for an
// external server it does nothing. It is safe to call more than once.
func (s *Server) Stop(ctx context.Context) error {
	if s == nil || s.stop == nil {
		return nil
	}
	stop := s.stop
	s.stop = nil
	return stop(ctx)
}

// NewServer returns a Server for info, stopped by stop (nil: nothing to
// stop). Launchers outside this package use it.
func NewServer(info Info, stop func(context.Context) error) *Server {
	return &Server{Info: info, stop: stop}
}
