package container

import (
	"context"
	"io"
	"time"

	"kcconform/pkg/gateway"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/postgres"
	"kcconform/pkg/release"
)

// Database is PostgreSQL in a container, whose servers are containers.
type Database struct{ *postgres.Container }

// NewServer is a container on the database, not yet started.
func (d Database) NewServer(cfg keycloak.Config, opts keycloak.Options) keycloak.Server {
	return New(cfg, opts, d.Container)
}

// NewMember is a cluster node on the database, not yet started.
func (d Database) NewMember(cfg keycloak.Config, opts keycloak.Options, node *keycloak.ClusterNode) keycloak.Member {
	c := New(cfg, opts, d.Container)
	c.node = node
	return c
}

// Serving says whether the container runs.
func (c *Container) Serving() bool { return c.ctr != nil && c.up }

// View reads the container's log from the engine: it holds this
// container's run only (a replaced node is a new container), and the log
// file it streams to is not followed to the end by every engine (Podman's
// Docker API ended the stream after the start).
func (c *Container) View(ctx context.Context) int {
	if c.ctr == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rc, err := c.ctr.Logs(ctx)
	if err != nil {
		return 0
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 64<<20))
	return keycloak.ViewIn(b)
}

// Backend is the node's published ports.
func (c *Container) Backend() gateway.Backend {
	return gateway.Backend{HTTPPort: c.httpPort, ManagementPort: keycloak.HealthPort(c.cfg.Version, c.httpPort, c.mgmtPort)}
}

// Next is a container of version in c's place.
func (c *Container) Next(version string) keycloak.Member {
	opts := c.opts
	opts.Version = version
	n := New(c.cfg, opts, c.db)
	n.node, n.follows = c.node, c
	return n
}

// Prebuild: a container target's images are built beforehand (nothing can
// be pulled).
func (c *Container) Prebuild(context.Context) error { return nil }

// Forget: the successor removes the stopped container when it starts.
func (c *Container) Forget() {}

// AssignPorts takes the published HTTP and management ports; the cluster
// transport binds in the container's own network namespace (0).
func (c *Container) AssignPorts(hostname string, free func() (int, error)) (int, error) {
	var err error
	for _, port := range []*int{&c.httpPort, &c.mgmtPort} {
		if *port, err = free(); err != nil {
			return 0, err
		}
	}
	c.node.Hostname = hostname
	return 0, nil
}

// nodeArgs are the options a container node starts with: its cluster
// inside the run's network (Keycloak's defaults bind the cluster transport
// to the container's address there), and the gateway's URL. A single server
// caches locally where the release takes --cache at start; before (25), the
// image's build decides.
func nodeArgs(n *keycloak.ClusterNode, r release.Line) []string {
	if n == nil {
		if !r.CacheAtStart {
			return nil
		}
		return keycloak.LocalCache
	}
	return []string{"--cache=" + n.Cache, "--hostname=" + n.Hostname}
}
