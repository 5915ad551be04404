package kccontainer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	"github.com/testcontainers/testcontainers-go/wait"
)

func TestOptionsValidate(t *testing.T) {
	cases := map[string]Option{
		"WithAdminCredentials": WithAdminCredentials("", "x"),
		"WithRealmImportFile":  WithRealmImportFile("realm.yaml"),
		"WithExtraArgs":        WithExtraArgs("start-dev"),
		"WithStartupTimeout":   WithStartupTimeout(0),
		"WithLogFile":          WithLogFile(""),
		"WithDatabase":         WithDatabase("", nil),
		"WithRedactor":         WithRedactor(nil),
	}
	for name, opt := range cases {
		// Run must refuse before it touches any Docker API.
		_, err := Run(context.Background(), "localhost/keycloak:0.0.0", opt)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v, want one naming the option", name, err)
		}
	}
}

// The wait of a container slower than testcontainers' 60 s default is
// bounded by the startup timeout alone: every strategy of the request, and
// the request's deadline, carry the configured value.
func TestEveryWaitFollowsTheStartupTimeout(t *testing.T) {
	for _, d := range []time.Duration{DefaultStartupTimeout, 7 * time.Minute} {
		opts := []testcontainers.ContainerCustomizer{WithStartupTimeout(d)}
		s, err := settingsOf(opts)
		if err != nil {
			t.Fatal(err)
		}
		req := testcontainers.GenericContainerRequest{}
		for _, o := range request("localhost/keycloak:26.7.3", s, true, opts) {
			if err := o.Customize(&req); err != nil {
				t.Fatal(err)
			}
		}
		if req.WaitingFor == nil {
			t.Fatal("no wait strategy")
		}
		var timeouts []time.Duration
		err = wait.Walk(&req.WaitingFor, func(st wait.Strategy) error {
			if _, multi := st.(*wait.MultiStrategy); multi {
				return nil
			}
			to, ok := st.(wait.StrategyTimeout)
			if !ok || to.Timeout() == nil {
				t.Errorf("%T has no timeout of its own: testcontainers would give it 60 s", st)
				return nil
			}
			timeouts = append(timeouts, *to.Timeout())
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(timeouts) == 0 {
			t.Fatal("no strategy walked")
		}
		for _, got := range timeouts {
			if got != d {
				t.Errorf("a strategy waits %s, want the startup timeout %s", got, d)
			}
		}
	}
}

// fakeTarget is a container whose management and HTTP ports are httptest
// servers: what a real container cannot be made to do on cue (become ready
// after a chosen delay).
type fakeTarget struct {
	mgmt, http *httptest.Server
	exited     atomic.Bool
}

func (f *fakeTarget) Host(context.Context) (string, error) { return "127.0.0.1", nil }
func (f *fakeTarget) Inspect(context.Context) (*container.InspectResponse, error) {
	return nil, errors.New("not in this fake")
}
func (f *fakeTarget) Ports(context.Context) (mobynet.PortMap, error) { return nil, nil }
func (f *fakeTarget) MappedPort(_ context.Context, p string) (mobynet.Port, error) {
	srv := f.http
	if p == managementPort {
		srv = f.mgmt
	}
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return mobynet.ParsePort(port + "/tcp")
}
func (f *fakeTarget) Logs(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("")), nil
}
func (f *fakeTarget) Exec(context.Context, []string, ...tcexec.ProcessOption) (int, io.Reader, error) {
	return 0, nil, nil
}
func (f *fakeTarget) State(context.Context) (*container.State, error) {
	if f.exited.Load() {
		return &container.State{Running: false, Status: "exited", ExitCode: 1}, nil
	}
	return &container.State{Running: true, Status: "running"}, nil
}
func (f *fakeTarget) CopyFileFromContainer(context.Context, string) (io.ReadCloser, error) {
	return nil, errors.New("not in this fake")
}

// newFakeTarget becomes healthy readyAfter its start, and then serves an
// admin token and the realm "shasta".
func newFakeTarget(t *testing.T, readyAfter time.Duration) *fakeTarget {
	began := time.Now()
	f := &fakeTarget{}
	f.mgmt = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if time.Since(began) < readyAfter {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	f.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/token"):
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "admin-token-0123456789", "expires_in": 60})
		case r.URL.Path == "/health/ready":
			// Health on the HTTP port, as releases before 25 serve it.
		case r.URL.Path == "/admin/realms/shasta":
			_, _ = w.Write([]byte(`{"realm":"shasta"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.mgmt.Close)
	t.Cleanup(f.http.Close)
	return f
}

func TestReadinessWaitsUntilReadyWithinItsTimeout(t *testing.T) {
	r := &readiness{timeout: 5 * time.Second, poll: 50 * time.Millisecond, user: "admin", password: "pw-0123456789", health: managementPort, realms: []string{"shasta"}}
	began := time.Now()
	if err := r.WaitUntilReady(context.Background(), newFakeTarget(t, 1500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 1500*time.Millisecond {
		t.Fatalf("ready after %s, before the health endpoint said so", took)
	}
}

func TestReadinessStopsAtItsTimeoutNamingTheSetting(t *testing.T) {
	r := &readiness{timeout: 800 * time.Millisecond, poll: 50 * time.Millisecond, user: "admin", password: "pw-0123456789", health: managementPort}
	began := time.Now()
	err := r.WaitUntilReady(context.Background(), newFakeTarget(t, time.Hour))
	var nr *NotReadyError
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), "KC_BOOT_TIMEOUT") || !strings.Contains(err.Error(), "/health/ready") {
		t.Fatalf("err = %v, want a NotReadyError naming the setting and what was awaited", err)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Fatalf("took %s for an 800 ms timeout", took)
	}
}

func TestReadinessFailsAtOnceOnAnExitedContainer(t *testing.T) {
	f := newFakeTarget(t, time.Hour)
	f.exited.Store(true)
	r := &readiness{timeout: time.Minute, poll: 50 * time.Millisecond, user: "admin", password: "pw-0123456789", health: managementPort}
	began := time.Now()
	err := r.WaitUntilReady(context.Background(), f)
	if err == nil || !strings.Contains(err.Error(), "the container exited") || time.Since(began) > 5*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(began))
	}
}

func TestReadinessNamesARealmThatWasNotImported(t *testing.T) {
	r := &readiness{timeout: 5 * time.Second, poll: 50 * time.Millisecond, user: "admin", password: "pw-0123456789", health: managementPort, realms: []string{"missing"}}
	err := r.WaitUntilReady(context.Background(), newFakeTarget(t, 0))
	if err == nil || !strings.Contains(err.Error(), `realm "missing" was not imported`) {
		t.Fatalf("err = %v", err)
	}
}

func TestReadinessFindsHealthOnTheHTTPPortOfAReleaseWithoutManagementInterface(t *testing.T) {
	// The management port never answers ready: only the HTTP port's health
	// can make this wait succeed.
	r := &readiness{timeout: 5 * time.Second, poll: 50 * time.Millisecond, user: "admin", password: "pw-0123456789", health: httpPort}
	if err := r.WaitUntilReady(context.Background(), newFakeTarget(t, time.Hour)); err != nil {
		t.Fatal(err)
	}
	s, err := settingsOf([]testcontainers.ContainerCustomizer{WithManagementInterface(false)})
	if err != nil || !s.healthOnHTTP {
		t.Fatalf("WithManagementInterface(false): healthOnHTTP = %v, err = %v", s.healthOnHTTP, err)
	}
}
