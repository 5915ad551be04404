// Package kccontainer is a testcontainers-go module for Keycloak, in the
// style of testcontainers-go's own modules: Run starts the official image
// quay.io/keycloak/keycloak:VERSION (or an image of the same layout), waits
// until it is ready, and returns a Container whose endpoints are methods.
//
// Readiness is a wait.Strategy of its own (health on the management port,
// then an admin token, then every realm imported at boot), bounded by
// WithStartupTimeout alone: it runs again when a stopped container is
// started, and no inner default of testcontainers cuts it short.
package kccontainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"kcconform/pkg/random"
	"kcconform/pkg/redact"
)

const (
	httpPort       = "8080/tcp"
	managementPort = "9000/tcp"
	importDir      = "/opt/keycloak/data/import/"
	// OptimizedLabel marks an image whose server was built with `kc.sh build`
	// (scripts/build-image.sh sets it); such an image starts with
	// --optimized when it was built for the database asked for.
	OptimizedLabel = "io.kcconform.keycloak.optimized"
	// DatabaseLabel names the database an optimized image was built for
	// (dev-file when absent).
	DatabaseLabel = "io.kcconform.keycloak.db"
	// DevFile is Keycloak's default database, an H2 file in the container.
	DevFile = "dev-file"
	// DefaultStartupTimeout bounds readiness unless WithStartupTimeout says
	// otherwise.
	DefaultStartupTimeout = 3 * time.Minute
)

// Container is a running Keycloak container.
type Container struct {
	*testcontainers.DockerContainer
	settings options
	// Optimized reports whether it was started with --optimized (no build
	// step at start).
	Optimized bool
}

type options struct {
	adminUser      string
	adminPassword  string
	realmFiles     []string
	realms         []string
	optimized      *bool
	database       string
	dbEnv          map[string]string
	args           []string
	logFile        string
	log            *logWriter
	redactor       *redact.Redactor
	startupTimeout time.Duration
	// healthOnHTTP: health is served on the HTTP port (releases before
	// 25, which have no management interface).
	healthOnHTTP bool
}

// Option configures what is not part of the container request. It
// satisfies testcontainers.ContainerCustomizer.
type Option func(*options) error

// Every Option is a container customizer, as testcontainers' modules have it.
var _ testcontainers.ContainerCustomizer = Option(nil)

// Customize does nothing: Run applies Options to its own settings.
func (Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

// WithAdminCredentials sets the bootstrap administrator (default "admin" and
// a generated password).
func WithAdminCredentials(user, password string) Option {
	return func(o *options) error {
		if user == "" || password == "" {
			return errors.New("WithAdminCredentials: expected a user name and a password, got an empty one")
		}
		o.adminUser, o.adminPassword = user, password
		return nil
	}
}

// WithRealmImportFile imports a realm representation at boot
// (--import-realm). The file must exist, end in .json and name its realm;
// readiness checks that the realm exists, since an import Keycloak skips is
// otherwise silent.
func WithRealmImportFile(path string) Option {
	return func(o *options) error {
		if !strings.HasSuffix(path, ".json") {
			return fmt.Errorf("WithRealmImportFile: expected a .json realm file, got %q", path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("WithRealmImportFile: %w", err)
		}
		var rep struct {
			Realm string `json:"realm"`
		}
		if err := json.Unmarshal(b, &rep); err != nil || rep.Realm == "" {
			return fmt.Errorf("WithRealmImportFile: %s: expected a realm representation with a \"realm\" name", path)
		}
		o.realmFiles = append(o.realmFiles, path)
		o.realms = append(o.realms, rep.Realm)
		return nil
	}
}

// WithOptimized forces `start --optimized` (true) or `start-dev` (false)
// instead of deciding from the image's labels.
func WithOptimized(optimized bool) Option {
	return func(o *options) error {
		o.optimized = &optimized
		return nil
	}
}

// WithDatabase runs Keycloak on a database other than its dev-file default:
// vendor is Keycloak's --db value (e.g. postgres) and env its connection
// settings (KC_DB_URL, KC_DB_USERNAME, KC_DB_PASSWORD). An image built for
// that database starts --optimized; any other starts with start-dev, which
// builds for it at every start.
func WithDatabase(vendor string, env map[string]string) Option {
	return func(o *options) error {
		if vendor == "" {
			return errors.New("WithDatabase: expected a database vendor such as postgres, got an empty one")
		}
		o.database, o.dbEnv = vendor, env
		return nil
	}
}

// WithExtraArgs appends server options to the start command.
func WithExtraArgs(args ...string) Option {
	return func(o *options) error {
		for _, a := range args {
			if !strings.HasPrefix(a, "--") {
				return fmt.Errorf("WithExtraArgs: expected options of the form --name=value, got %q", a)
			}
		}
		o.args = append(o.args, args...)
		return nil
	}
}

// WithLogFile writes the server log to path, redacted, for attaching to a
// failed spec's report.
func WithLogFile(path string) Option {
	return func(o *options) error {
		if path == "" {
			return errors.New("WithLogFile: expected a file path, got an empty one")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("WithLogFile: %w", err)
		}
		o.logFile = path
		return nil
	}
}

// WithRedactor redacts the server log with r. The caller registers the
// credentials it knows; without this option, a redactor that knows the
// administrator's password (and the shape of any JWT) is used.
func WithRedactor(r *redact.Redactor) Option {
	return func(o *options) error {
		if r == nil {
			return errors.New("WithRedactor: expected a redactor, got nil")
		}
		o.redactor = r
		return nil
	}
}

// WithManagementInterface says whether the image's release serves health
// and metrics on a management interface (port 9000, Keycloak 25 on: the
// default) or, false, on the HTTP port as releases before 25 do.
func WithManagementInterface(present bool) Option {
	return func(o *options) error {
		o.healthOnHTTP = !present
		return nil
	}
}

// WithStartupTimeout bounds the wait for readiness, every part of it
// (default 3 minutes).
func WithStartupTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("WithStartupTimeout: expected a positive duration, got %s", d)
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
	s, err := settingsOf(opts)
	if err != nil {
		return nil, err
	}
	optimized := false
	if s.optimized != nil {
		optimized = *s.optimized
	} else {
		optimized = imageBuiltFor(ctx, img, s.database)
	}
	ctr, err := testcontainers.Run(ctx, img, request(img, s, optimized, opts)...)
	var c *Container
	if ctr != nil {
		c = &Container{DockerContainer: ctr, settings: s, Optimized: optimized}
	}
	if err != nil {
		return c, fmt.Errorf("run %s: %w", img, err)
	}
	return c, nil
}

// settingsOf applies the module's defaults and the Options among opts.
func settingsOf(opts []testcontainers.ContainerCustomizer) (options, error) {
	s := options{adminUser: "admin", startupTimeout: DefaultStartupTimeout, database: DevFile}
	for _, opt := range opts {
		if o, ok := opt.(Option); ok {
			if err := o(&s); err != nil {
				return s, err
			}
		}
	}
	if s.adminPassword == "" {
		s.adminPassword = random.Secret()
	}
	if s.redactor == nil {
		s.redactor = redact.New()
		s.redactor.AddSecret(s.adminPassword)
	}
	if s.logFile != "" {
		s.log = &logWriter{path: s.logFile, red: s.redactor}
	}
	return s, nil
}

// request is the module's part of the container request, then the caller's
// options.
func request(img string, s options, optimized bool, opts []testcontainers.ContainerCustomizer) []testcontainers.ContainerCustomizer {
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
	if majorVersion(img) < 26 {
		// Before 26.0 (or an untagged image): the older variables too.
		env["KEYCLOAK_ADMIN"], env["KEYCLOAK_ADMIN_PASSWORD"] = s.adminUser, s.adminPassword
	}
	if s.database != DevFile {
		env["KC_DB"] = s.database
		for k, v := range s.dbEnv {
			env[k] = v
		}
	}
	var files []testcontainers.ContainerFile
	for _, f := range s.realmFiles {
		files = append(files, testcontainers.ContainerFile{HostFilePath: f, ContainerFilePath: importDir + filepath.Base(f), FileMode: 0o644})
	}
	if len(files) > 0 {
		cmd = append(cmd, "--import-realm")
	}
	cmd = append(cmd, s.args...)

	ready := &readiness{timeout: s.startupTimeout, poll: 250 * time.Millisecond, user: s.adminUser, password: s.adminPassword, realms: s.realms, health: managementPort}
	if s.healthOnHTTP {
		ready.health = httpPort
	}
	moduleOpts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(httpPort, managementPort),
		testcontainers.WithEnv(env),
		testcontainers.WithCmd(cmd...),
		testcontainers.WithLabels(map[string]string{"io.kcconform": "keycloak"}),
		testcontainers.WithWaitStrategyAndDeadline(s.startupTimeout, ready),
	}
	if len(files) > 0 {
		moduleOpts = append(moduleOpts, testcontainers.WithFiles(files...))
	}
	if s.log != nil {
		moduleOpts = append(moduleOpts, testcontainers.WithLogConsumers(s.log))
	}
	return append(moduleOpts, opts...)
}

// imageBuiltFor reports whether an image was built with `kc.sh build` for
// the database: its OptimizedLabel is true and its DatabaseLabel (dev-file
// when absent) names it. Any failure (an image that is not there yet, say)
// means start-dev, which works on every image.
func imageBuiltFor(ctx context.Context, img, database string) bool {
	labels, err := ImageLabels(ctx, img)
	if err != nil || labels[OptimizedLabel] != "true" {
		return false
	}
	built := labels[DatabaseLabel]
	if built == "" {
		built = DevFile
	}
	return built == database
}

// ImageLabels returns the labels of a local image.
func ImageLabels(ctx context.Context, img string) (map[string]string, error) {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	res, err := cli.ImageInspect(ctx, img)
	if err != nil {
		return nil, err
	}
	if res.Config == nil {
		return map[string]string{}, nil
	}
	return res.Config.Labels, nil
}

// AdminCredentials returns the bootstrap administrator's user and password.
func (c *Container) AdminCredentials() (user, password string) {
	return c.settings.adminUser, c.settings.adminPassword
}

// BaseURL returns Keycloak's base URL on the host, e.g. http://localhost:32771.
func (c *Container) BaseURL(ctx context.Context) (string, error) {
	ep, err := c.PortEndpoint(ctx, httpPort, "http")
	if err != nil {
		return "", fmt.Errorf("endpoint of %s: %w", httpPort, err)
	}
	return ep, nil
}

// ManagementURL returns the base URL that serves health and metrics: the
// management interface's, or the HTTP port's where the release has none
// (WithManagementInterface(false)).
func (c *Container) ManagementURL(ctx context.Context) (string, error) {
	port := managementPort
	if c.settings.healthOnHTTP {
		port = httpPort
	}
	ep, err := c.PortEndpoint(ctx, port, "http")
	if err != nil {
		return "", fmt.Errorf("endpoint of %s: %w", port, err)
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

// SaveLog rewrites the log file (WithLogFile) with the container's whole
// log as the engine holds it now, redacted. The stream the file follows
// while the container runs is asynchronous: it lags behind the server, and
// Podman's Docker API has ended it early. Read the file after SaveLog, not
// after readiness alone. Lines streamed later are appended.
func (c *Container) SaveLog(ctx context.Context) error {
	if c == nil || c.DockerContainer == nil || c.settings.log == nil {
		return errors.New("save log: the container was started without WithLogFile")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rc, err := c.Logs(ctx)
	if err != nil {
		return fmt.Errorf("save log: read the engine's log: %w", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxLog))
	if err != nil {
		return fmt.Errorf("save log: read the engine's log: %w", err)
	}
	if len(b) == 0 {
		return nil // the engine kept nothing: what was streamed stays
	}
	return c.settings.log.replace(b)
}

// maxLog bounds what SaveLog reads (a server at debug level for hours).
const maxLog = 64 << 20

// Terminate stops and removes the container at once: tests need no graceful
// shutdown, and the default 10 s stop wait adds up over a suite. Options
// given by the caller (testcontainers.StopTimeout, say) take precedence.
func (c *Container) Terminate(ctx context.Context, opts ...testcontainers.TerminateOption) error {
	if c == nil || c.DockerContainer == nil {
		return nil
	}
	return c.DockerContainer.Terminate(ctx, append([]testcontainers.TerminateOption{testcontainers.StopTimeout(0)}, opts...)...)
}

// logWriter is a LogConsumer writing redacted lines to a file, opened on
// first use and appended to (a restarted container logs on).
type logWriter struct {
	path string
	red  *redact.Redactor
	mu   sync.Mutex
	f    *os.File
}

// Accept implements testcontainers.LogConsumer.
func (w *logWriter) Accept(l testcontainers.Log) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return
		}
		w.f = f
	}
	_, _ = w.f.WriteString(w.red.String(string(l.Content)))
}

// replace sets the file's content to b, redacted, under the lock Accept
// takes, so no streamed line lands in the middle.
func (w *logWriter) replace(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
	if err := os.WriteFile(w.path, []byte(w.red.String(string(b))), 0o600); err != nil {
		return fmt.Errorf("save log: %w", err)
	}
	return nil
}

// majorVersion reads the major version from an image tag (0 when untagged).
func majorVersion(img string) int {
	if m := tagVersion.FindStringSubmatch(img); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}
