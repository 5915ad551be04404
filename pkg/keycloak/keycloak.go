// Package keycloak is what every target shares: the Server interface, the
// Info a suite needs to talk to a server, the Options every server the
// harness starts takes, a Database's and a cluster Member's interfaces, and
// the external target (a server kcconform only connects to). The targets
// the harness starts live beside it: process (the official distribution on
// loopback), container (testcontainers-go), launch (the one constructor per
// target), cluster (nodes behind a gateway, rolling upgrades).
//
// The servers the harness starts can be stopped, killed and started again
// on the same ports and database (a restart), and replaced by another
// version in the same place (an upgrade).
package keycloak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"kcconform/pkg/admin"
	"kcconform/pkg/random"
	"kcconform/pkg/redact"
	"kcconform/pkg/report"
	"kcconform/pkg/transport"
)

// AdminUser is the bootstrap administrator the harness creates.
const AdminUser = "kcconform-admin"

// Server is a Keycloak the harness starts or connects to.
type Server interface {
	// Up brings the server up and returns when it is ready (health UP and
	// an admin token): it starts it, or starts it again after Stop or Kill
	// on the same ports and database. An external server, which kcconform
	// neither starts nor stops, is only checked to answer.
	Up(ctx context.Context) error
	// Stop stops the server gracefully (SIGTERM), keeping its data.
	Stop(ctx context.Context) error
	// Kill stops the server at once (SIGKILL), as a crash would, keeping
	// its data.
	Kill(ctx context.Context) error
	// Remove stops the server if it runs and deletes what the harness
	// created for it. It is safe to call more than once.
	Remove(ctx context.Context) error
	// Successor returns a server of another version, of the same target,
	// that takes over this one's place once it is stopped (an upgrade): its
	// database, its ports (tokens carry the issuer URL) and its
	// administrator.
	Successor(version string) (Server, error)
	// Info describes the server, credentials included.
	Info() Info
}

// ErrNotControlled is what Stop and Kill answer for an external server.
var ErrNotControlled = errors.New("an external server is not stopped or started by kcconform (needs KC_TARGET=process or container)")

// Options are what every server the harness starts takes; what only one
// target offers is that target's (ProcessOptions, a Database's NewServer).
type Options struct {
	// Version overrides the configuration's version.
	Version string
	// AdminPassword is the bootstrap administrator's password (generated
	// when empty). A server started on an existing database keeps the
	// administrator it stored, so a successor takes it over.
	AdminPassword string
	// Redactor learns the server's secrets and redacts its log.
	Redactor *redact.Redactor
	// Labels mark a container (or a container network) for clean-up.
	Labels map[string]string
	// FullJIT runs the JVM with its optimising compiler (C2): slower to
	// start, faster under load (the load suite). Otherwise C1 only.
	FullJIT bool
	// NoFastBoot starts the process target the plain way: a fresh database
	// and no class-data-sharing archive (make bench compares the two).
	NoFastBoot bool
	// JavaOptions are added to the JVM's options after kcconform's own (a
	// later -Xmx wins over the release's default heap: pre-25 releases hold
	// every offline session in memory).
	JavaOptions []string
}

// Apply fills in the defaults of opts (a redactor, a generated
// administrator's password, which it learns) and the version it overrides.
func (opts Options) Apply(cfg Config) (Config, Options) {
	if opts.Version != "" {
		cfg.Version = opts.Version
	}
	if opts.Redactor == nil {
		opts.Redactor = redact.New()
	}
	if opts.AdminPassword == "" {
		opts.AdminPassword = random.Secret()
	}
	opts.Redactor.AddSecret(opts.AdminPassword)
	return cfg, opts
}

// JVMOptions are the JVM options of a run of opts (JAVA_OPTS_APPEND): the
// target's own first, then the C1 compiler only unless FullJIT (a
// conformance run gains more from a quick start than from C2's code), then
// JavaOptions (the JVM takes the last of a repeated option).
func (opts Options) JVMOptions(first ...string) []string {
	out := append([]string(nil), first...)
	if !opts.FullJIT {
		out = append(out, "-XX:TieredStopAtLevel=1")
	}
	return append(out, opts.JavaOptions...)
}

// TLSFiles are a server's certificate and key.
type TLSFiles struct{ Cert, Key string }

// Info is everything a suite needs to talk to a running Keycloak.
type Info struct {
	Target  string `json:"target"`
	Version string `json:"version"`
	// Image is the container image, for the container target.
	Image string `json:"image,omitempty"`
	// BaseURL is Keycloak's base URL, with any path prefix (e.g. /keycloak):
	// a cluster's gateway.
	BaseURL string `json:"baseURL"`
	// Nodes are a cluster's nodes' own base URLs, where a spec sends a
	// request to choose the node that serves it.
	Nodes []string `json:"nodes,omitempty"`
	// NodeManagement are the nodes' management base URLs, in the order of
	// Nodes, where kcconform started them (their /metrics tell the cluster
	// size each sees, where metrics are on).
	NodeManagement []string `json:"nodeManagement,omitempty"`
	// Admin is empty where only a client's credentials are known.
	Admin admin.Credentials `json:"admin"`
	// Client is the existing client of an external server (client-only and
	// audit modes).
	Client *ExistingClient `json:"client,omitempty"`
	// CAFile and InsecureSkipVerify configure TLS to the server.
	CAFile             string `json:"caFile,omitempty"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
	// PlainHTTP marks plain http to a host that is not loopback
	// (KC_ALLOW_PLAIN_HTTP).
	PlainHTTP bool `json:"plainHTTP,omitempty"`
	// LogFile is the server's log, attached (redacted) to failed specs.
	LogFile string `json:"logFile,omitempty"`
	// BootTime is from launch to ready (admin token obtainable), and Boot
	// its parts.
	BootTime time.Duration  `json:"bootTime"`
	Boot     []report.Phase `json:"boot,omitempty"`
	// Timeout bounds every call to the server.
	Timeout time.Duration `json:"timeout"`
	// ProcessGroup is the server's process group on this machine (process
	// target), for its CPU time.
	ProcessGroup int `json:"processGroup,omitempty"`
}

// HasAdmin reports whether admin calls can be made.
func (i Info) HasAdmin() bool { return !i.Admin.Empty() }

// HTTPClient returns an HTTP client configured for this server's TLS and
// deadline; it follows no redirect.
func (i Info) HTTPClient() (*http.Client, error) {
	return transport.New(transport.Options{CAFile: i.CAFile, InsecureSkipVerify: i.InsecureSkipVerify, Timeout: i.Timeout})
}

// AdminClient returns an admin client for this server.
func (i Info) AdminClient(red *redact.Redactor) (*admin.Client, error) {
	hc, err := i.HTTPClient()
	if err != nil {
		return nil, err
	}
	return admin.New(i.BaseURL, i.Admin, hc, red)
}

// Public is i without any secret: what may cross a process boundary (the
// channel between Ginkgo's parallel processes can be read by other local
// processes). Each process fills the secrets in from its own environment.
func (i Info) Public() Info {
	i.Admin.Password, i.Admin.ClientSecret = "", ""
	if i.Client != nil {
		c := *i.Client
		c.Secret = ""
		i.Client = &c
	}
	return i
}

// Marshal encodes the public part of i.
func (i Info) Marshal() []byte {
	b, err := json.Marshal(i.Public())
	if err != nil {
		panic(fmt.Sprintf("keycloak: Info cannot fail to encode: %v", err))
	}
	return b
}

// UnmarshalInfo decodes what Marshal encoded.
func UnmarshalInfo(b []byte) (Info, error) {
	var i Info
	if err := json.Unmarshal(b, &i); err != nil {
		return Info{}, fmt.Errorf("decode server info: %w", err)
	}
	return i, nil
}

// Phases records a boot's parts, for Info.Boot.
type Phases struct {
	list  []report.Phase
	began time.Time
}

// StartPhases begins the first phase now.
func StartPhases() *Phases { return &Phases{began: time.Now()} }

// Done ends the phase that began at the last call (or at the start).
func (p *Phases) Done(name string) {
	now := time.Now()
	p.list = append(p.list, report.Phase{Name: name, Seconds: now.Sub(p.began).Seconds()})
	p.began = now
}

// List is the phases done.
func (p *Phases) List() []report.Phase { return p.list }

// Total is the phases' sum.
func (p *Phases) Total() time.Duration {
	var d float64
	for _, ph := range p.list {
		d += ph.Seconds
	}
	return time.Duration(d * float64(time.Second))
}
