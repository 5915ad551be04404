package keycloak

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"kcconform/pkg/gateway"
	"kcconform/pkg/ports"
	"kcconform/pkg/release"
)

// Cache modes of a cluster's nodes.
const (
	// CacheCluster: the nodes form a cluster (Infinispan over JGroups'
	// jdbc-ping, through the shared database).
	CacheCluster = "ispn"
	// CacheLocal: each node caches alone and the nodes only share the
	// database, as nodes whose cluster port is blocked do.
	CacheLocal = "local"
)

// ClusterOptions say what cluster to start.
type ClusterOptions struct {
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
	cfg   Config
	opts  Options
	cache string
	size  int
	// db is the nodes' PostgreSQL, which the cluster starts and removes.
	db    Database
	nodes []member
	// gwPort is the gateway's port, chosen before the nodes start.
	gwPort int
	gw     *gateway.Gateway
	info   Info
}

// NewCluster returns a cluster of the process or the container target, not
// yet started; it starts its own PostgreSQL.
func NewCluster(cfg Config, opts Options, co ClusterOptions) *Cluster {
	cfg, opts = opts.apply(cfg)
	if co.Nodes <= 0 {
		co.Nodes = 3
	}
	if co.Cache == "" {
		co.Cache = CacheCluster
	}
	return &Cluster{cfg: cfg, opts: opts, cache: co.Cache, size: co.Nodes}
}

// Node is the i-th node (from 0), to stop or kill on its own (Revive
// starts it again).
func (c *Cluster) Node(i int) Server { return c.nodes[i] }

// Size is the number of nodes.
func (c *Cluster) Size() int { return c.size }

// Info describes the cluster: its base URL is the gateway's, and Nodes are
// the nodes' own.
func (c *Cluster) Info() Info { return c.info }

// Up starts the nodes (the first alone, so that it creates or restores the
// database, then the others together), then the gateway, and returns when
// every node is ready (each within KC_BOOT_TIMEOUT) and, for a cluster,
// sees every other one (within KC_BOOT_TIMEOUT more). A start after Stop or
// Kill starts the stopped nodes again.
func (c *Cluster) Up(ctx context.Context) error {
	ph := startPhases()
	if r, _ := release.LineOf(c.cfg.Version); !r.JDBCPing {
		return fmt.Errorf("KC_VERSION: the cluster suite starts Keycloak 26 or later (its nodes find each other through the database, jdbc-ping), not %s", c.cfg.Version)
	}
	if c.db == nil {
		db, err := StartDatabase(ctx, c.cfg, c.opts.Labels, c.opts.Redactor)
		if db != nil {
			c.db = db
		}
		if err != nil {
			return err
		}
		for i := 0; i < c.size; i++ {
			n, err := newMember(c.cfg, c.opts, db, &ClusterNode{Cache: c.cache})
			if err != nil {
				return err
			}
			c.nodes = append(c.nodes, n)
		}
		ph.done("PostgreSQL")
	}
	if c.gwPort == 0 {
		if err := c.choosePorts(); err != nil {
			return err
		}
	}
	var stopped []member
	for _, n := range c.nodes {
		if !n.serving() {
			stopped = append(stopped, n)
		}
	}
	if len(stopped) > 0 && stopped[0] == c.nodes[0] {
		if err := c.nodes[0].Up(ctx); err != nil {
			return fmt.Errorf("keycloak: cluster node 1: %w", err)
		}
		stopped = stopped[1:]
		ph.done("node 1")
	}
	if err := upAll(ctx, stopped); err != nil {
		return err
	}
	if others := len(c.nodes); others > 2 {
		ph.done(fmt.Sprintf("nodes 2-%d", others))
	} else {
		ph.done("node 2")
	}
	if c.gw == nil {
		backends := make([]gateway.Backend, len(c.nodes))
		for i, n := range c.nodes {
			backends[i] = n.backend()
		}
		gw, err := gateway.Start(ctx, c.gwPort, backends, c.cfg.BootTimeout)
		if err != nil {
			return err
		}
		c.gw = gw
		ph.done("gateway")
	}
	// The nodes are up: forming the cluster gets KC_BOOT_TIMEOUT of its own
	// (a first boot's build does not count against it).
	if err := c.WaitView(ctx, len(c.nodes), c.cfg.BootTimeout); err != nil {
		return err
	}
	ph.done("cluster view")
	c.info = c.nodes[0].Info()
	c.info.BaseURL = c.gw.URL()
	c.info.LogFile = ""
	c.info.ProcessGroup = 0
	c.info.Nodes, c.info.NodeManagement = nil, nil
	for _, n := range c.nodes {
		c.info.Nodes = append(c.info.Nodes, n.Info().BaseURL)
		c.info.NodeManagement = append(c.info.NodeManagement, fmt.Sprintf("http://127.0.0.1:%d", n.backend().ManagementPort))
	}
	c.info.BootTime, c.info.Boot = ph.total(), ph.list
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
		bind, err := assignPorts(n, hostname, ports.Free)
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
			return fmt.Errorf("keycloak: the cluster's failure detector ports: %w", err)
		}
		for _, n := range c.nodes {
			if p, ok := n.(*Process); ok {
				p.node.FDOffset = offset
			}
		}
	}
	c.gwPort = gwPort
	return nil
}

// upAll starts nodes together.
func upAll(ctx context.Context, nodes []member) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Up(ctx); err != nil {
				errs[i] = fmt.Errorf("keycloak: cluster node at %d: %w", n.backend().HTTPPort, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// viewLine is the line a node logs when it sees a new cluster view, or a
// merged one after a split: the number of members closes it, "(3)".
var viewLine = regexp.MustCompile(`ISPN00009[34]: Received new(?:, MERGED)? cluster view for channel \S+: (?:MergeView::)?\[[^\]]*\] \((\d+)\)`)

// View is the number of members the node sees in its latest cluster view
// logged after offset from of its log (0 before any, or for a node that
// does not cluster): a node started again appends to its log, and the
// views of its earlier run are no longer its own.
func View(logFile string, from int64) int {
	b, err := os.ReadFile(logFile)
	if err != nil || from > int64(len(b)) {
		return 0
	}
	return viewIn(b[from:])
}

// viewIn is the member count of the last cluster view in a log.
func viewIn(log []byte) int {
	m := viewLine.FindAllSubmatch(log, -1)
	if len(m) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(string(m[len(m)-1][1]))
	return n
}

// WaitView waits until every running node sees want members; nodes that do
// not cluster (CacheLocal) are not waited for.
func (c *Cluster) WaitView(ctx context.Context, want int, timeout time.Duration) error {
	if c.cache != CacheCluster {
		return nil
	}
	deadline := time.Now().Add(timeout)
	for {
		var behind []string
		for i, n := range c.nodes {
			if !n.serving() {
				continue
			}
			if v := n.view(ctx); v != want {
				behind = append(behind, fmt.Sprintf("node %d sees %d", i+1, v))
			}
		}
		if len(behind) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("keycloak: the nodes did not form a cluster of %d within KC_BOOT_TIMEOUT (%s): %v (ISPN000094 in their logs); the cluster port on 127.0.0.1 may be blocked, or the nodes see different databases",
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
	return c.each(func(n member) error { return n.Stop(ctx) })
}

// Kill kills every node.
func (c *Cluster) Kill(ctx context.Context) error {
	return c.each(func(n member) error { return n.Kill(ctx) })
}

func (c *Cluster) each(fn func(member) error) error {
	var errs []error
	for _, n := range c.nodes {
		if n.serving() {
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
		n.forget()
	}
	if c.db != nil {
		errs = append(errs, c.db.Remove(ctx))
		c.db = nil
	}
	return errors.Join(errs...)
}

// Successor is not a cluster's way to change version: its nodes are
// upgraded one by one.
func (c *Cluster) Successor(string) (Server, error) {
	return nil, errors.New("keycloak: a cluster is upgraded node by node (Node(i).Successor)")
}
