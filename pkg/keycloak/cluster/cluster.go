// Package cluster runs Keycloak nodes on one PostgreSQL behind a gateway
// (HAProxy), as the procedure's deployments do: started together, a node
// stopped, killed or revived, and upgraded node by node (Replace) or all at
// once (Recreate) as Keycloak's update-compatibility check decides.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/keycloak/launch"
	"sync"
	"time"

	"kcconform/pkg/gateway"
	"kcconform/pkg/ports"
	"kcconform/pkg/release"
)

// Options say what cluster to start.
type Options struct {
	// Nodes is how many (3 when 0).
	Nodes int
	// Cache is CacheCluster (default) or CacheLocal.
	Cache string
}

// Cluster is Keycloak nodes on one PostgreSQL, behind a gateway (HAProxy)
// that serves them under /keycloak and routes only to nodes that are
// ready: processes on a local PostgreSQL (process target), or containers
// with a PostgreSQL container on a network of the run's own (container
// target). Every node gives its tokens the gateway's URL as issuer, so that
// a token of one node validates on every other, and a spec can send a
// request straight to the node it chooses.
type Cluster struct {
	cfg   keycloak.Config
	opts  keycloak.Options
	cache string
	size  int
	// db is the nodes' PostgreSQL, which the cluster starts and removes.
	db    keycloak.Database
	nodes []keycloak.Member
	// specs are the nodes' cluster options, which a node's successor shares.
	specs []*keycloak.ClusterNode
	// gwPort is the gateway's port, chosen before the nodes start.
	gwPort int
	gw     *gateway.Gateway
	info   keycloak.Info
}

// NewCluster returns a cluster of the process or the container target, not
// yet started; it starts its own PostgreSQL.
func New(cfg keycloak.Config, opts keycloak.Options, co Options) *Cluster {
	cfg, opts = opts.Apply(cfg)
	if co.Nodes <= 0 {
		co.Nodes = 3
	}
	if co.Cache == "" {
		co.Cache = keycloak.CacheCluster
	}
	return &Cluster{cfg: cfg, opts: opts, cache: co.Cache, size: co.Nodes}
}

// Node is the i-th node (from 0), to stop or kill on its own (Revive
// starts it again).
func (c *Cluster) Node(i int) keycloak.Server { return c.nodes[i] }

// Size is the number of nodes.
func (c *Cluster) Size() int { return c.size }

// Info describes the cluster: its base URL is the gateway's, and Nodes are
// the nodes' own.
func (c *Cluster) Info() keycloak.Info { return c.info }

// Up starts the nodes (the first alone, so that it creates or restores the
// database, then the others together), then the gateway, and returns when
// every node is ready (each within KC_BOOT_TIMEOUT) and, for a cluster,
// sees every other one (within KC_BOOT_TIMEOUT more). A start after Stop or
// Kill starts the stopped nodes again.
func (c *Cluster) Up(ctx context.Context) error {
	ph := keycloak.StartPhases()
	if r, _ := release.LineOf(c.cfg.Version); !r.JDBCPing {
		return fmt.Errorf("KC_VERSION: the cluster suite starts Keycloak 26 or later (its nodes find each other through the database, jdbc-ping), not %s", c.cfg.Version)
	}
	if c.db == nil {
		db, err := launch.StartDatabase(ctx, c.cfg, c.opts.Labels, c.opts.Redactor)
		if db != nil {
			c.db = db
		}
		if err != nil {
			return err
		}
		for i := 0; i < c.size; i++ {
			node := &keycloak.ClusterNode{Cache: c.cache}
			c.specs = append(c.specs, node)
			c.nodes = append(c.nodes, db.NewMember(c.cfg, c.opts, node))
		}
		ph.Done("PostgreSQL")
	}
	if c.gwPort == 0 {
		if err := c.choosePorts(); err != nil {
			return err
		}
	}
	var stopped []keycloak.Member
	for _, n := range c.nodes {
		if !n.Serving() {
			stopped = append(stopped, n)
		}
	}
	if len(stopped) > 0 && stopped[0] == c.nodes[0] {
		if err := c.nodes[0].Up(ctx); err != nil {
			return fmt.Errorf("cluster node 1: %w", err)
		}
		stopped = stopped[1:]
		ph.Done("node 1")
	}
	if err := upAll(ctx, stopped); err != nil {
		return err
	}
	if others := len(c.nodes); others > 2 {
		ph.Done(fmt.Sprintf("nodes 2-%d", others))
	} else {
		ph.Done("node 2")
	}
	if c.gw == nil {
		backends := make([]gateway.Backend, len(c.nodes))
		for i, n := range c.nodes {
			backends[i] = n.Backend()
		}
		gw, err := gateway.Start(ctx, c.gwPort, backends, c.cfg.BootTimeout)
		if err != nil {
			return err
		}
		c.gw = gw
		ph.Done("gateway")
	}
	// The nodes are up: forming the cluster gets KC_BOOT_TIMEOUT of its own
	// (a first boot's build does not count against it).
	if err := c.WaitView(ctx, len(c.nodes), c.cfg.BootTimeout); err != nil {
		return err
	}
	ph.Done("cluster view")
	c.info = c.nodes[0].Info()
	c.info.BaseURL = c.gw.URL()
	c.info.LogFile = ""
	c.info.ProcessGroup = 0
	c.info.Nodes, c.info.NodeManagement = nil, nil
	for _, n := range c.nodes {
		c.info.Nodes = append(c.info.Nodes, n.Info().BaseURL)
		c.info.NodeManagement = append(c.info.NodeManagement, fmt.Sprintf("http://127.0.0.1:%d", n.Backend().ManagementPort))
	}
	c.info.BootTime, c.info.Boot = ph.Total(), ph.List()
	return nil
}

// choosePorts gives every node its ports before any starts: each node's
// hostname is the gateway's URL, and the gateway's configuration names the
// nodes' ports.
func (c *Cluster) choosePorts() error {
	gwPort, err := ports.Free()
	if err != nil {
		return err
	}
	hostname := fmt.Sprintf("http://127.0.0.1:%d%s", gwPort, gateway.Prefix)
	var binds []int
	for _, n := range c.nodes {
		bind, err := n.AssignPorts(hostname, ports.Free)
		if err != nil {
			return err
		}
		if bind > 0 {
			binds = append(binds, bind)
		}
	}
	if len(binds) > 0 {
		offset, err := ports.Offset(binds)
		if err != nil {
			return fmt.Errorf("the cluster's failure detector ports: %w", err)
		}
		for _, node := range c.specs {
			node.FDOffset = offset
		}
	}
	c.gwPort = gwPort
	return nil
}

// upAll starts nodes together.
func upAll(ctx context.Context, nodes []keycloak.Member) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Up(ctx); err != nil {
				errs[i] = fmt.Errorf("cluster node at %d: %w", n.Backend().HTTPPort, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// WaitView waits until every running node sees want members; nodes that do
// not cluster (CacheLocal) are not waited for.
func (c *Cluster) WaitView(ctx context.Context, want int, timeout time.Duration) error {
	if c.cache != keycloak.CacheCluster {
		return nil
	}
	deadline := time.Now().Add(timeout)
	for {
		var behind []string
		for i, n := range c.nodes {
			if !n.Serving() {
				continue
			}
			if v := n.View(ctx); v != want {
				behind = append(behind, fmt.Sprintf("node %d sees %d", i+1, v))
			}
		}
		if len(behind) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the nodes did not form a cluster of %d within KC_BOOT_TIMEOUT (%s): %v (ISPN000094 in their logs); the cluster port on 127.0.0.1 may be blocked, or the nodes see different databases",
				want, timeout.Round(time.Second), behind)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Stop stops every node gracefully.
func (c *Cluster) Stop(ctx context.Context) error {
	return c.each(func(n keycloak.Member) error { return n.Stop(ctx) })
}

// Kill kills every node.
func (c *Cluster) Kill(ctx context.Context) error {
	return c.each(func(n keycloak.Member) error { return n.Kill(ctx) })
}

func (c *Cluster) each(fn func(keycloak.Member) error) error {
	var errs []error
	for _, n := range c.nodes {
		if n.Serving() {
			errs = append(errs, fn(n))
		}
	}
	return errors.Join(errs...)
}

// Remove stops the gateway and every node and removes what they left.
func (c *Cluster) Remove(ctx context.Context) error {
	if c.gw != nil {
		c.gw.Remove()
		c.gw = nil
	}
	var errs []error
	for _, n := range c.nodes {
		errs = append(errs, n.Remove(ctx))
		n.Forget()
	}
	if c.db != nil {
		errs = append(errs, c.db.Remove(ctx))
		c.db = nil
	}
	return errors.Join(errs...)
}

// Successor is not a cluster's way to change version: its nodes are
// upgraded one by one.
func (c *Cluster) Successor(string) (keycloak.Server, error) {
	return nil, errors.New("a cluster is upgraded node by node (Node(i).Successor)")
}
