package kccontainer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go/wait"

	"kcconform/pkg/admin"
	"kcconform/pkg/redact"
	"kcconform/pkg/transport"
)

// readiness is the wait.Strategy of a Keycloak container: /health/ready on
// the management port answers 200, an admin token can be obtained (health
// has been seen to answer before the bootstrap admin existed), and every
// realm imported at boot exists. One timeout bounds all of it.
type readiness struct {
	timeout        time.Duration
	poll           time.Duration
	user, password string
	realms         []string
	// health is the container port that serves /health/ready.
	health string
}

var (
	_ wait.Strategy        = (*readiness)(nil)
	_ wait.StrategyTimeout = (*readiness)(nil)
)

// Timeout is the whole wait's bound; a MultiStrategy's default does not
// replace it.
func (r *readiness) Timeout() *time.Duration { return &r.timeout }

// String describes the strategy in testcontainers' log.
func (r *readiness) String() string {
	return fmt.Sprintf("Keycloak ready within %s: /health/ready on %s, an admin token, %d imported realm(s)", r.timeout, r.health, len(r.realms))
}

// NotReadyError is a container that did not become ready in time. It names
// what was awaited last and the setting that bounds the wait.
type NotReadyError struct {
	Timeout time.Duration
	Waiting string
	Last    string
}

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("Keycloak not ready within %s (raise the startup timeout: WithStartupTimeout, KC_BOOT_TIMEOUT in kcconform): waiting for %s, last: %s",
		e.Timeout, e.Waiting, e.Last)
}

// WaitUntilReady implements wait.Strategy.
func (r *readiness) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	host, err := target.Host(ctx)
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	endpoint := func(port string) (string, error) {
		p, err := target.MappedPort(ctx, port)
		if err != nil {
			return "", err
		}
		return "http://" + net.JoinHostPort(host, p.Port()), nil
	}
	hc, err := transport.New(transport.Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	red := redact.New()
	red.AddSecret(r.password)
	waiting, last := "the container's ports", "nothing yet"
	var ac *admin.Client
	ready := false
	for {
		if err := alive(ctx, target); err != nil {
			return fmt.Errorf("%w while waiting for %s (last: %s)", err, waiting, last)
		}
		switch {
		case !ready:
			mgmt, err := endpoint(r.health)
			if err != nil {
				last = err.Error()
				break
			}
			waiting = mgmt + "/health/ready"
			ready, last = healthy(ctx, hc, waiting)
			if !ready {
				break
			}
			fallthrough
		case ac == nil:
			base, err := endpoint(httpPort)
			if err != nil {
				last = err.Error()
				break
			}
			if ac, err = admin.New(base, admin.Credentials{Username: r.user, Password: r.password}, hc, red); err != nil {
				return err
			}
			fallthrough
		default:
			waiting = "an admin token"
			if _, err := ac.Token(ctx); err != nil {
				last = err.Error()
				break
			}
			missing, err := r.missingRealm(ctx, ac)
			if err == nil && missing == "" {
				return nil
			}
			if missing != "" {
				// An import Keycloak skipped (wrong folder, a file it did not
				// like) is silent: once admin answers, the realm is there or
				// it was not imported.
				return fmt.Errorf("realm %q was not imported at boot (see the server log)", missing)
			}
			waiting, last = "the imported realms", err.Error()
		}
		select {
		case <-ctx.Done():
			return &NotReadyError{Timeout: r.timeout, Waiting: waiting, Last: red.String(last)}
		case <-time.After(r.poll):
		}
	}
}

func (r *readiness) missingRealm(ctx context.Context, ac *admin.Client) (string, error) {
	for _, realm := range r.realms {
		ok, err := ac.RealmExists(ctx, realm)
		if err != nil {
			return "", err
		}
		if !ok {
			return realm, nil
		}
	}
	return "", nil
}

// alive fails once the container has exited: waiting on is pointless.
func alive(ctx context.Context, target wait.StrategyTarget) error {
	st, err := target.State(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return nil // the deadline answers this round
		}
		return fmt.Errorf("container state: %w", err)
	}
	if !st.Running {
		return fmt.Errorf("the container exited (%s, code %d)", strings.TrimSpace(string(st.Status)), st.ExitCode)
	}
	return nil
}

func healthy(ctx context.Context, hc *http.Client, url string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, transport.Describe(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, fmt.Sprintf("HTTP %d", resp.StatusCode)
}
