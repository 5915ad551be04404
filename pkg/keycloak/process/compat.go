package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"kcconform/pkg/dist"
	"kcconform/pkg/keycloak"
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
func compatibilityArgs(n *keycloak.ClusterNode) []string {
	return []string{"--optimized", "--db=postgres", "--cache=" + n.Cache, "--hostname=" + n.Hostname, "--http-enabled=true"}
}

// CheckUpdate asks Keycloak whether a cluster of nodes like from may have
// them replaced by version to one by one. It builds to (once, cached), so
// that a node's replacement afterwards costs only its boot.
func (from *Process) CheckUpdate(ctx context.Context, to string) (UpdateCheck, error) {
	next := from.successor(to)
	u := UpdateCheck{From: from.cfg.Version, To: to}
	fromHome, fromJDK, err := from.build(ctx, keycloak.StartPhases())
	if err != nil {
		return u, err
	}
	toHome, toJDK, err := next.build(ctx, keycloak.StartPhases())
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
	if code, out, err := from.updateCompatibility(ctx, dir, fromHome, fromJDK, "metadata", meta, args); err != nil || code != 0 {
		return u, fmt.Errorf("update-compatibility metadata with %s exited %d: %w\n%s", u.From, code, err, out)
	}
	code, out, err := from.updateCompatibility(ctx, dir, toHome, toJDK, "check", meta, args)
	if err != nil {
		return u, fmt.Errorf("update-compatibility check with %s: %w\n%s", to, err, out)
	}
	u.Exit, u.Rolling, u.Output = code, code == 0, verdictLines(out)
	if code != 0 && code != 3 && code != 4 {
		return u, fmt.Errorf("update-compatibility check with %s exited %d:\n%s", to, code, out)
	}
	return u, nil
}

// updateCompatibility runs one update-compatibility command of a build,
// within KC_BOOT_TIMEOUT, from the installation folder dir, which it fills
// with links to the build (the build stays untouched). Both commands run
// from the same folder: 26.5 records the path of the cache configuration
// file, and two folders would read as an incompatible configuration, as
// two installations at different paths would.
func (p *Process) updateCompatibility(ctx context.Context, dir, home string, jdk dist.JDK, sub, file string, opts []string) (int, string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return 0, "", err
	}
	if err := linkTree(home, dir); err != nil {
		return 0, "", fmt.Errorf("update-compatibility: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.BootTimeout)
	defer cancel()
	args := append([]string{"update-compatibility", sub, "--file=" + file}, opts...)
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "bin", "kc.sh"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "JAVA_HOME="+jdk.Home)
	if p.db != nil {
		cmd.Env = append(cmd.Env, p.db.KeycloakEnv()...)
	}
	out, err := cmd.CombinedOutput()
	text := p.red.String(string(out))
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return exit.ExitCode(), text, nil
	}
	if err != nil {
		return 0, text, fmt.Errorf("kc.sh update-compatibility %s: %w", sub, err)
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
	n := New(p.cfg, opts, Options{Database: p.db, HTTPS: p.https, Node: p.node})
	n.follows = p
	return n
}
