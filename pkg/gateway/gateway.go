// Package gateway is HAProxy in front of a cluster's Keycloak nodes, as the
// procedure's API gateway.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"kcconform/pkg/reaper"
	"kcconform/pkg/report"
	"kcconform/pkg/transport"
)

// Prefix is the path under which the gateway serves Keycloak, as the
// procedure's https://api-gw-service-nmn.local/keycloak does.
const Prefix = "/keycloak"

// Gateway is HAProxy (Debian's haproxy) in front of a cluster's nodes, as
// the procedure's API gateway: it serves them under Prefix and routes
// only to nodes whose /health/ready answers (active health checks), and
// retries a request whose connection failed before it reached a node.
type Gateway struct {
	dir   string
	port  int
	cmd   *exec.Cmd
	exit  chan struct{}
	guard *reaper.Guard
}

// Backend is a node behind the gateway: its HTTP port, and the port of its
// health checks.
type Backend struct{ HTTPPort, ManagementPort int }

// haproxyConfig is the gateway's configuration: the prefix is taken off
// before a request reaches a node (each node's hostname option carries it,
// so tokens name the gateway as their issuer).
func haproxyConfig(port int, nodes []Backend) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
  maxconn 2000

defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch
  retry-on conn-failure empty-response

frontend keycloak
  bind 127.0.0.1:%d
  http-request return status 404 content-type text/plain string "not under %s" unless { path_beg %s/ }
  http-request replace-path ^%s(/.*)$ \1
  default_backend nodes

backend nodes
  balance roundrobin
  option httpchk GET /health/ready
  http-check expect status 200
  default-server inter 1s fall 1 rise 1
`, port, Prefix, Prefix, Prefix)
	for i, n := range nodes {
		fmt.Fprintf(&b, "  server node%d 127.0.0.1:%d check port %d\n", i+1, n.HTTPPort, n.ManagementPort)
	}
	return b.String()
}

// Start starts HAProxy on port for the nodes and returns when it
// answers.
func Start(ctx context.Context, port int, nodes []Backend, timeout time.Duration) (*Gateway, error) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		return nil, errors.New("the cluster's gateway is Debian's haproxy, which is not installed (apt-get install haproxy; make deps does)")
	}
	g := &Gateway{port: port, exit: make(chan struct{})}
	if g.dir, err = os.MkdirTemp("", "kcconform-gw-*"); err != nil {
		return nil, err
	}
	cfg := filepath.Join(g.dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(g.port, nodes)), 0o600); err != nil {
		g.Remove()
		return nil, err
	}
	log, err := os.Create(filepath.Join(g.dir, "haproxy.log"))
	if err != nil {
		g.Remove()
		return nil, err
	}
	g.cmd = exec.Command(bin, "-db", "-f", cfg)
	g.cmd.Stdout, g.cmd.Stderr = log, log
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := g.cmd.Start(); err != nil {
		log.Close()
		g.Remove()
		return nil, fmt.Errorf("start the gateway: %w", err)
	}
	go func() { _ = g.cmd.Wait(); log.Close(); close(g.exit) }()
	g.guard, _ = reaper.Watch(reaper.KillGroup(g.cmd.Process.Pid) + reaper.RemoveDir(g.dir))
	if err := g.waitAnswers(ctx, timeout); err != nil {
		g.Remove()
		return nil, err
	}
	return g, nil
}

// URL is the gateway's base URL for Keycloak, with its prefix.
func (g *Gateway) URL() string { return fmt.Sprintf("http://127.0.0.1:%d%s", g.port, Prefix) }

// waitAnswers polls the gateway until a node answers through it.
func (g *Gateway) waitAnswers(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc, err := transport.New(transport.Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	u := g.URL() + "/realms/master/.well-known/openid-configuration"
	last := "no answer"
	for {
		if resp, err := transport.Get(ctx, hc, u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("HTTP %d", resp.StatusCode)
		} else {
			last = err.Error()
		}
		select {
		case <-g.exit:
			return fmt.Errorf("the gateway (haproxy) exited: %s", report.TailFile(filepath.Join(g.dir, "haproxy.log"), 10))
		case <-ctx.Done():
			return fmt.Errorf("the gateway at %s did not answer within %s: %s", u, timeout, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Remove stops the gateway and removes its folder.
func (g *Gateway) Remove() {
	if g.cmd != nil && g.cmd.Process != nil {
		_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
		<-g.exit
	}
	g.guard.Release()
	if g.dir != "" {
		os.RemoveAll(g.dir)
	}
}
