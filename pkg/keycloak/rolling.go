package keycloak

import (
	"context"
	"errors"
	"fmt"
	"kcconform/pkg/dist"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// UpdateCheck is what Keycloak's own tool said about replacing the
// cluster's version with another: `kc.sh update-compatibility metadata` run
// with the nodes' version, then `check` with the new one.
type UpdateCheck struct {
	From, To string
	// Rolling: check exited 0, the nodes may be replaced one by one (a
	// mixed-version cluster meanwhile). Otherwise Exit says why: 3 the
	// versions need a recreate, 4 the rolling-updates feature is off.
	Rolling bool
	Exit    int
	// Output is the check's verdict lines.
	Output string
}

// String is the check's result in one line.
func (u UpdateCheck) String() string {
	how := "a recreate (all nodes stopped, then started with the new version)"
	if u.Rolling {
		how = "a rolling update (node by node)"
	}
	return fmt.Sprintf("update-compatibility check %s -> %s exited %d: %s; %s", u.From, u.To, u.Exit, how, u.Output)
}

// compatibilityArgs are the options both commands are given: the nodes'
// configuration as far as it decides compatibility.
func compatibilityArgs(n *ClusterNode) []string {
	return []string{"--optimized", "--db=postgres", "--cache=" + n.Cache, "--hostname=" + n.Hostname, "--http-enabled=true"}
}

// CheckUpdate asks Keycloak whether the cluster's nodes may be replaced by
// version to one by one. It builds to (once, cached), so that a node's
// replacement afterwards costs only its boot. It runs the distribution's
// kc.sh: the process target only.
func (c *Cluster) CheckUpdate(ctx context.Context, to string) (UpdateCheck, error) {
	from, ok := c.nodes[0].(*Process)
	if !ok {
		return UpdateCheck{}, fmt.Errorf("keycloak: the cluster upgrade runs kc.sh update-compatibility of the distributions: KC_TARGET=process, not %s", c.cfg.Target)
	}
	next := from.successor(to)
	u := UpdateCheck{From: from.cfg.Version, To: to}
	fromHome, fromJDK, err := from.build(ctx, startPhases())
	if err != nil {
		return u, err
	}
	toHome, toJDK, err := next.build(ctx, startPhases())
	if err != nil {
		return u, err
	}
	// The metadata file beside, the installation in a folder both runs share.
	work, guard, err := newGuardedDir()
	if err != nil {
		return u, err
	}
	defer func() { os.RemoveAll(work); guard.Release() }()
	dir, meta := filepath.Join(work, "keycloak"), filepath.Join(work, "metadata.json")
	args := compatibilityArgs(from.node)
	if code, out, err := c.updateCompatibility(ctx, dir, fromHome, fromJDK, "metadata", meta, args); err != nil || code != 0 {
		return u, fmt.Errorf("keycloak: update-compatibility metadata with %s exited %d: %w\n%s", u.From, code, err, out)
	}
	code, out, err := c.updateCompatibility(ctx, dir, toHome, toJDK, "check", meta, args)
	if err != nil {
		return u, fmt.Errorf("keycloak: update-compatibility check with %s: %w\n%s", to, err, out)
	}
	u.Exit, u.Rolling, u.Output = code, code == 0, verdictLines(out)
	if code != 0 && code != 3 && code != 4 {
		return u, fmt.Errorf("keycloak: update-compatibility check with %s exited %d:\n%s", to, code, out)
	}
	return u, nil
}

// updateCompatibility runs one update-compatibility command of a build,
// within KC_BOOT_TIMEOUT, from the installation folder dir, which it fills
// with links to the build (the build stays untouched). Both commands run
// from the same folder: 26.5 records the path of the cache configuration
// file, and two folders would read as an incompatible configuration, as
// two installations at different paths would.
func (c *Cluster) updateCompatibility(ctx context.Context, dir, home string, jdk dist.JDK, sub, file string, opts []string) (int, string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return 0, "", err
	}
	if err := linkTree(home, dir); err != nil {
		return 0, "", fmt.Errorf("keycloak: update-compatibility: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.BootTimeout)
	defer cancel()
	args := append([]string{"update-compatibility", sub, "--file=" + file}, opts...)
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "bin", "kc.sh"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "JAVA_HOME="+jdk.Home)
	if d, ok := c.db.(localDatabase); ok {
		cmd.Env = append(cmd.Env, d.KeycloakEnv()...)
	}
	out, err := cmd.CombinedOutput()
	text := c.opts.Redactor.String(string(out))
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return exit.ExitCode(), text, nil
	}
	if err != nil {
		return 0, text, fmt.Errorf("keycloak: kc.sh update-compatibility %s: %w", sub, err)
	}
	return 0, text, nil
}

// verdictLines are the lines of the check's output that say what it found
// ("[OK] Rolling Update is available.", or each incompatible setting, which
// 26.7 prints as "Optional[[cacheEmbedded] Rolling Update is not ...]").
func verdictLines(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if inner, ok := strings.CutPrefix(l, "Optional["); ok {
			l = strings.TrimSuffix(inner, "]")
		}
		if strings.HasPrefix(l, "[") && !slices.Contains(keep, l) {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return "(no verdict line)"
	}
	return strings.Join(keep, " ")
}

// successor is a node of version to that takes p's place: the same ports,
// database and cluster options, started once p has stopped.
func (p *Process) successor(to string) *Process {
	opts := p.opts
	opts.Version = to
	n := NewProcess(p.cfg, opts, ProcessOptions{Database: p.db, HTTPS: p.https, Node: p.node})
	n.follows = p
	return n
}

// Replace stops node i gracefully (SIGTERM), waits until the other nodes
// see it gone, starts a node of version to in its place and waits until
// every node sees all of them again. A rolling update does this node by
// node, with a cluster of mixed versions in between; the same version is a
// restart (a pod restarted: a new node on the same database).
func (c *Cluster) Replace(ctx context.Context, i int, to string, mark func(string)) error {
	old := c.nodes[i]
	next := old.next(to)
	if err := next.prebuild(ctx); err != nil {
		return err
	}
	mark(fmt.Sprintf("%d stop", i+1))
	if err := old.Stop(ctx); err != nil {
		return fmt.Errorf("keycloak: stop node %d: %w", i+1, err)
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
	if n.serving() {
		return fmt.Errorf("keycloak: node %d runs: stop or kill it first", i+1)
	}
	return c.start(ctx, i, n.next(n.Info().Version))
}

// start starts next in node i's place and waits for the full view.
func (c *Cluster) start(ctx context.Context, i int, next member) error {
	c.nodes[i].forget()
	c.nodes[i] = next
	if err := next.Up(ctx); err != nil {
		return fmt.Errorf("keycloak: node %d: %w", i+1, err)
	}
	return c.WaitView(ctx, c.size, c.cfg.BootTimeout)
}

// Recreate stops every node, then starts them all with version to (the
// first alone, which migrates the database), and returns how long no node
// served.
func (c *Cluster) Recreate(ctx context.Context, to string, mark func(string)) (time.Duration, error) {
	next := make([]member, len(c.nodes))
	for i, n := range c.nodes {
		next[i] = n.next(to)
	}
	if err := next[0].prebuild(ctx); err != nil {
		return 0, err
	}
	mark("all stop")
	down := time.Now()
	if err := c.Stop(ctx); err != nil {
		return 0, err
	}
	for i, n := range c.nodes {
		n.forget()
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
