// Package kccontainer is a testcontainers-go module for Keycloak, in the
// style of testcontainers-go's own modules: Run starts the official image
// quay.io/keycloak/keycloak:VERSION (or an image of the same layout), waits
// until it is ready, and returns a Container whose endpoints are methods.
package kccontainer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"kcconform/pkg/admin"
	"kcconform/pkg/redact"
	"kcconform/pkg/transport"
)

const (
	httpPort       = "8080/tcp"
	managementPort = "9000/tcp"
	importDir      = "/opt/keycloak/data/import/"
	// OptimizedLabel marks an image whose server was built with `kc.sh build`
	// (scripts/build-image.sh sets it); such images start with --optimized.
	OptimizedLabel = "io.kcconform.keycloak.optimized"
)

// Container is a running Keycloak container.
type Container struct {
	*testcontainers.DockerContainer
	settings options
}

type options struct {
	adminUser      string
	adminPassword  string
	realmFiles     []string
	optimized      *bool
	args           []string
	logFile        string
	startupTimeout time.Duration
}

// Option configures what is not part of the container request. It
// satisfies testcontainers.ContainerCustomizer.
type Option func(*options) error

// Customize does nothing: Run applies Options to its own settings.
func (Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

// WithAdminCredentials sets the bootstrap administrator (default "admin" and
// a generated password).
func WithAdminCredentials(user, password string) Option {
	return func(o *options) error {
		if user == "" || password == "" {
			return errors.New("kccontainer: WithAdminCredentials: expected a user name and a password, got an empty one")
		}
		o.adminUser, o.adminPassword = user, password
		return nil
	}
}

// WithRealmImportFile imports a realm representation at boot
// (--import-realm). The file must exist and end in .json.
func WithRealmImportFile(path string) Option {
	return func(o *options) error {
		if !strings.HasSuffix(path, ".json") {
			return fmt.Errorf("kccontainer: WithRealmImportFile: expected a .json realm file, got %q", path)
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("kccontainer: WithRealmImportFile: %w", err)
		}
		o.realmFiles = append(o.realmFiles, path)
		return nil
	}
}

// WithOptimized forces `start --optimized` (true) or `start-dev` (false)
// instead of deciding from the image's OptimizedLabel.
func WithOptimized(optimized bool) Option {
	return func(o *options) error {
		o.optimized = &optimized
		return nil
	}
}

// WithExtraArgs appends server options to the start command.
func WithExtraArgs(args ...string) Option {
	return func(o *options) error {
		for _, a := range args {
			if !strings.HasPrefix(a, "--") {
				return fmt.Errorf("kccontainer: WithExtraArgs: expected options of the form --name=value, got %q", a)
			}
		}
		o.args = append(o.args, args...)
		return nil
	}
}

// WithLogFile writes the server log to path (redacted), for attaching to a
// failed spec's report.
func WithLogFile(path string) Option {
	return func(o *options) error {
		if path == "" {
			return errors.New("kccontainer: WithLogFile: expected a file path, got an empty one")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("kccontainer: WithLogFile: %w", err)
		}
		o.logFile = path
		return nil
	}
}

// WithStartupTimeout bounds the wait for readiness (default 3 minutes).
func WithStartupTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("kccontainer: WithStartupTimeout: expected a positive duration, got %s", d)
		}
		o.startupTimeout = d
		return nil
	}
}

var tagVersion = regexp.MustCompile(`:(\d+)\.\d+\.\d+`)

// Run starts a Keycloak container from img. Module defaults come first and
// the caller's options after, so the caller can override any of them. The
// container is returned even with an error, so that the caller can always
// terminate it.
func Run(ctx context.Context, img string, opts ...testcontainers.ContainerCustomizer) (*Container, error) {
	s := options{adminUser: "admin", startupTimeout: 3 * time.Minute}
	for _, opt := range opts {
		if o, ok := opt.(Option); ok {
			if err := o(&s); err != nil {
				return nil, err
			}
		}
	}
	if s.adminPassword == "" {
		s.adminPassword = generatePassword()
	}
	redact.Default.AddSecret(s.adminPassword)

	optimized := false
	if s.optimized != nil {
		optimized = *s.optimized
	} else {
		optimized = imageOptimized(ctx, img)
	}
	// --http-host: in start-dev, 26.7 listens on localhost only, which a
	// mapped port cannot reach.
	cmd := []string{"start-dev", "--health-enabled=true", "--http-host=0.0.0.0"}
	if optimized {
		cmd = []string{"start", "--optimized", "--http-enabled=true", "--http-host=0.0.0.0", "--hostname-strict=false"}
	}
	env := map[string]string{
		"KC_BOOTSTRAP_ADMIN_USERNAME": s.adminUser,
		"KC_BOOTSTRAP_ADMIN_PASSWORD": s.adminPassword,
	}
	if m := tagVersion.FindStringSubmatch(img); m == nil || m[1] < "26" {
		// Before 26.0 (or an untagged image): the older variables too.
		env["KEYCLOAK_ADMIN"], env["KEYCLOAK_ADMIN_PASSWORD"] = s.adminUser, s.adminPassword
	}
	var files []testcontainers.ContainerFile
	for _, f := range s.realmFiles {
		files = append(files, testcontainers.ContainerFile{HostFilePath: f, ContainerFilePath: importDir + filepath.Base(f), FileMode: 0o644})
	}
	if len(files) > 0 {
		cmd = append(cmd, "--import-realm")
	}
	cmd = append(cmd, s.args...)

	moduleOpts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(httpPort, managementPort),
		testcontainers.WithEnv(env),
		testcontainers.WithCmd(cmd...),
		testcontainers.WithLabels(map[string]string{"io.kcconform": "keycloak"}),
		testcontainers.WithWaitStrategyAndDeadline(s.startupTimeout,
			wait.ForHTTP("/health/ready").WithPort(managementPort).WithPollInterval(250*time.Millisecond)),
	}
	if len(files) > 0 {
		moduleOpts = append(moduleOpts, testcontainers.WithFiles(files...))
	}
	if s.logFile != "" {
		lw, err := newLogWriter(s.logFile)
		if err != nil {
			return nil, err
		}
		moduleOpts = append(moduleOpts, testcontainers.WithLogConsumers(lw))
	}
	moduleOpts = append(moduleOpts, opts...)

	ctr, err := testcontainers.Run(ctx, img, moduleOpts...)
	var c *Container
	if ctr != nil {
		c = &Container{DockerContainer: ctr, settings: s}
	}
	if err != nil {
		return c, fmt.Errorf("kccontainer: run %s: %w", img, err)
	}
	// /health/ready has been seen to answer before the bootstrap admin
	// existed: ready means an admin token can be obtained.
	if err := c.WaitReady(ctx); err != nil {
		return c, err
	}
	// An import Keycloak skipped (wrong folder, a file it did not like) is
	// silent: check that every imported realm exists.
	for _, f := range s.realmFiles {
		if err := c.checkImported(ctx, f); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (c *Container) checkImported(ctx context.Context, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("kccontainer: realm file: %w", err)
	}
	var rep struct {
		Realm string `json:"realm"`
	}
	if err := json.Unmarshal(b, &rep); err != nil || rep.Realm == "" {
		return fmt.Errorf("kccontainer: %s: expected a realm representation with a \"realm\" name", file)
	}
	ac, err := c.adminClient(ctx, 10*time.Second)
	if err != nil {
		return err
	}
	ok, err := ac.RealmExists(ctx, rep.Realm)
	if err != nil {
		return fmt.Errorf("kccontainer: check imported realm %q: %w", rep.Realm, err)
	}
	if !ok {
		return fmt.Errorf("kccontainer: realm %q of %s was not imported at boot (see the server log)", rep.Realm, filepath.Base(file))
	}
	return nil
}

// adminClient is an admin client of this container whose calls each have
// the given deadline.
func (c *Container) adminClient(ctx context.Context, timeout time.Duration) (*admin.Client, error) {
	base, err := c.BaseURL(ctx)
	if err != nil {
		return nil, err
	}
	hc, err := transport.New(transport.Options{Timeout: timeout})
	if err != nil {
		return nil, err
	}
	return admin.New(base, c.AdminCredentials(), hc)
}

// WaitReady waits, within the startup timeout, until an admin token can be
// obtained: after Run, and after a stopped container is started again.
// (testcontainers' Start already waited for /health/ready.)
func (c *Container) WaitReady(ctx context.Context) error {
	timeout := c.settings.startupTimeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ac, err := c.adminClient(ctx, 5*time.Second)
	if err != nil {
		return err
	}
	for {
		_, err := ac.Token(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kccontainer: no admin token within %s: %w", timeout, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// imageOptimized reads the image's OptimizedLabel. Any failure (an image
// that is not there yet, say) means start-dev, which works on every image.
func imageOptimized(ctx context.Context, img string) bool {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return false
	}
	defer cli.Close()
	res, err := cli.ImageInspect(ctx, img)
	if err != nil || res.Config == nil {
		return false
	}
	return res.Config.Labels[OptimizedLabel] == "true"
}

// AdminCredentials returns the bootstrap administrator's credentials.
func (c *Container) AdminCredentials() admin.Credentials {
	return admin.Credentials{Username: c.settings.adminUser, Password: c.settings.adminPassword}
}

// BaseURL returns Keycloak's base URL on the host, e.g. http://localhost:32771.
func (c *Container) BaseURL(ctx context.Context) (string, error) {
	ep, err := c.PortEndpoint(ctx, httpPort, "http")
	if err != nil {
		return "", fmt.Errorf("kccontainer: endpoint of %s: %w", httpPort, err)
	}
	return ep, nil
}

// ManagementURL returns the management interface's base URL (health).
func (c *Container) ManagementURL(ctx context.Context) (string, error) {
	ep, err := c.PortEndpoint(ctx, managementPort, "http")
	if err != nil {
		return "", fmt.Errorf("kccontainer: endpoint of %s: %w", managementPort, err)
	}
	return ep, nil
}

// IssuerURL returns a realm's issuer URL.
func (c *Container) IssuerURL(ctx context.Context, realm string) (string, error) {
	base, err := c.BaseURL(ctx)
	if err != nil {
		return "", err
	}
	return base + "/realms/" + realm, nil
}

// TokenEndpoint returns a realm's token endpoint.
func (c *Container) TokenEndpoint(ctx context.Context, realm string) (string, error) {
	iss, err := c.IssuerURL(ctx, realm)
	if err != nil {
		return "", err
	}
	return iss + "/protocol/openid-connect/token", nil
}

// AdminURL returns the Admin REST API's base URL.
func (c *Container) AdminURL(ctx context.Context) (string, error) {
	base, err := c.BaseURL(ctx)
	if err != nil {
		return "", err
	}
	return base + "/admin", nil
}

// LogFile is the file the server log goes to ("" without WithLogFile).
func (c *Container) LogFile() string { return c.settings.logFile }

// Terminate stops and removes the container at once: tests need no graceful
// shutdown, and the default 10 s stop wait adds up over a suite. Options
// given by the caller (testcontainers.StopTimeout, say) take precedence.
func (c *Container) Terminate(ctx context.Context, opts ...testcontainers.TerminateOption) error {
	if c == nil || c.DockerContainer == nil {
		return nil
	}
	return c.DockerContainer.Terminate(ctx, append([]testcontainers.TerminateOption{testcontainers.StopTimeout(0)}, opts...)...)
}

// logWriter is a LogConsumer writing redacted lines to a file.
type logWriter struct {
	mu sync.Mutex
	f  *os.File
}

func newLogWriter(path string) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("kccontainer: log file: %w", err)
	}
	return &logWriter{f: f}, nil
}

// Accept implements testcontainers.LogConsumer.
func (w *logWriter) Accept(l testcontainers.Log) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = w.f.WriteString(redact.String(string(l.Content)))
}

func generatePassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
