package cluster

import (
	"context"
	"fmt"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/keycloak/process"
	"time"
)

// CheckUpdate asks Keycloak whether the cluster's nodes may be replaced by
// version to one by one (process.CheckUpdate). It runs the distribution's
// kc.sh: the process target only.
func (c *Cluster) CheckUpdate(ctx context.Context, to string) (process.UpdateCheck, error) {
	from, ok := c.nodes[0].(*process.Process)
	if !ok {
		return process.UpdateCheck{}, fmt.Errorf("the cluster upgrade runs kc.sh update-compatibility of the distributions: KC_TARGET=process, not %s", c.cfg.Target)
	}
	return from.CheckUpdate(ctx, to)
}

// Replace stops node i gracefully (SIGTERM), waits until the other nodes
// see it gone, starts a node of version to in its place and waits until
// every node sees all of them again. A rolling update does this node by
// node, with a cluster of mixed versions in between; the same version is a
// restart (a pod restarted: a new node on the same database).
func (c *Cluster) Replace(ctx context.Context, i int, to string, mark func(string)) error {
	old := c.nodes[i]
	next := old.Next(to)
	if err := next.Prebuild(ctx); err != nil {
		return err
	}
	mark(fmt.Sprintf("%d stop", i+1))
	if err := old.Stop(ctx); err != nil {
		return fmt.Errorf("stop node %d: %w", i+1, err)
	}
	if err := c.WaitView(ctx, c.size-1, c.cfg.BootTimeout); err != nil {
		return err
	}
	mark(fmt.Sprintf("%d start", i+1))
	if err := c.start(ctx, i, next); err != nil {
		return err
	}
	mark(fmt.Sprintf("%d in view", i+1))
	return nil
}

// Revive starts a node of the same version in place of node i, which was
// stopped or killed, and waits until every node sees all of them.
func (c *Cluster) Revive(ctx context.Context, i int) error {
	n := c.nodes[i]
	if n.Serving() {
		return fmt.Errorf("node %d runs: stop or kill it first", i+1)
	}
	return c.start(ctx, i, n.Next(n.Info().Version))
}

// start starts next in node i's place and waits for the full view.
func (c *Cluster) start(ctx context.Context, i int, next keycloak.Member) error {
	c.nodes[i].Forget()
	c.nodes[i] = next
	if err := next.Up(ctx); err != nil {
		return fmt.Errorf("node %d: %w", i+1, err)
	}
	return c.WaitView(ctx, c.size, c.cfg.BootTimeout)
}

// Recreate stops every node, then starts them all with version to (the
// first alone, which migrates the database), and returns how long no node
// served.
func (c *Cluster) Recreate(ctx context.Context, to string, mark func(string)) (time.Duration, error) {
	next := make([]keycloak.Member, len(c.nodes))
	for i, n := range c.nodes {
		next[i] = n.Next(to)
	}
	if err := next[0].Prebuild(ctx); err != nil {
		return 0, err
	}
	mark("all stop")
	down := time.Now()
	if err := c.Stop(ctx); err != nil {
		return 0, err
	}
	for i, n := range c.nodes {
		n.Forget()
		c.nodes[i] = next[i]
	}
	mark("all up " + to)
	if err := c.Up(ctx); err != nil {
		return time.Since(down), err
	}
	mark("all in view")
	return time.Since(down), nil
}

// Restart replaces node i by a node of its own version: stopped gracefully
// (SIGTERM) and started again on the same database, as a restarted pod.
func (c *Cluster) Restart(ctx context.Context, i int, mark func(string)) error {
	return c.Replace(ctx, i, c.nodes[i].Info().Version, mark)
}
