package keycloak

import (
	"context"
	"fmt"
	"io"
	"kcconform/pkg/gateway"
	"kcconform/pkg/release"
	"time"
)

// member is a node of a Cluster: a process or a container.
type member interface {
	Server
	// serving says whether the node runs.
	serving() bool
	// view is the member count of the node's latest cluster view (0 before
	// any).
	view(ctx context.Context) int
	// backend is where the gateway reaches the node.
	backend() gateway.Backend
	// next is a node of version that takes this one's place once it has
	// stopped: its ports, database and cluster options.
	next(version string) member
	// prebuild makes ready what the node's start needs (a build), so that a
	// replacement costs only its boot.
	prebuild(ctx context.Context) error
	// forget removes what a stopped node leaves that its successor does
	// not reuse.
	forget()
}

func (p *Process) serving() bool { return p.running != nil }

func (p *Process) view(context.Context) int {
	if p.running == nil {
		return 0
	}
	return View(p.running.log, p.running.logStart)
}

func (p *Process) backend() gateway.Backend {
	return gateway.Backend{HTTPPort: p.httpPort, ManagementPort: healthPort(p.cfg.Version, p.httpPort, p.managementPort)}
}

func (p *Process) next(version string) member { return p.successor(version) }

func (p *Process) prebuild(ctx context.Context) error {
	_, _, err := p.build(ctx, startPhases())
	return err
}

func (p *Process) forget() { p.removeDir() }

func (c *Container) serving() bool { return c.ctr != nil && c.up }

// view reads the container's log from the engine: it holds this
// container's run only (a replaced node is a new container), and the log
// file it streams to is not followed to the end by every engine (Podman's
// Docker API ended the stream after the start).
func (c *Container) view(ctx context.Context) int {
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
	return viewIn(b)
}

func (c *Container) backend() gateway.Backend {
	return gateway.Backend{HTTPPort: c.httpPort, ManagementPort: healthPort(c.cfg.Version, c.httpPort, c.mgmtPort)}
}

func (c *Container) next(version string) member {
	opts := c.opts
	opts.Version = version
	n := NewContainer(c.cfg, opts, c.db)
	n.node, n.follows = c.node, c
	return n
}

// prebuild: a container target's images are built beforehand (nothing can be pulled).
func (c *Container) prebuild(context.Context) error { return nil }

// forget: the successor removes the stopped container when it starts.
func (c *Container) forget() {}

// newMember is a node of the database's target.
func newMember(cfg Config, opts Options, db Database, node *ClusterNode) (member, error) {
	switch d := db.(type) {
	case localDatabase:
		return NewProcess(cfg, opts, ProcessOptions{Database: d.Server, Node: node}), nil
	case containerDatabase:
		c := NewContainer(cfg, opts, d.Container)
		c.node = node
		return c, nil
	}
	return nil, fmt.Errorf("keycloak: a cluster of the %s target is not started by kcconform", cfg.Target)
}

// assignPorts gives the node its ports and the gateway's URL as hostname,
// and returns the cluster transport port it binds on this machine (0: a
// container binds its own, in its own network namespace).
func assignPorts(m member, hostname string, free func() (int, error)) (int, error) {
	var err error
	switch n := m.(type) {
	case *Process:
		for _, p := range []*int{&n.httpPort, &n.managementPort, &n.node.BindPort} {
			if *p, err = free(); err != nil {
				return 0, err
			}
		}
		n.node.Hostname = hostname
		return n.node.BindPort, nil
	case *Container:
		for _, p := range []*int{&n.httpPort, &n.mgmtPort} {
			if *p, err = free(); err != nil {
				return 0, err
			}
		}
		n.node.Hostname = hostname
		return 0, nil
	}
	return 0, fmt.Errorf("keycloak: no ports for a node of type %T", m)
}

// containerNodeArgs are the options a container node starts with: its
// cluster inside the run's network (Keycloak's defaults bind the cluster
// transport to the container's address there), and the gateway's URL. A
// single server caches locally where the release takes --cache at start;
// before (25), the image's build decides.
func containerNodeArgs(n *ClusterNode, r release.Line) []string {
	if n == nil {
		if !r.CacheAtStart {
			return nil
		}
		return localCache
	}
	return []string{"--cache=" + n.Cache, "--hostname=" + n.Hostname}
}
