package process

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"kcconform/pkg/keycloak"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"kcconform/pkg/dist"
	"kcconform/pkg/report"
)

// The build cache: a distribution unpacked and built (kc.sh build) once per
// version, build options and dist.JDK under KC_CACHE_DIR/builds, and the run
// directories made from a build by links.

// ensureBuild unpacks the distribution and runs kc.sh build once per version
// and build options, keeping the result in the cache.
func ensureBuild(ctx context.Context, cfg keycloak.Config, d *dist.Dist, jdk dist.JDK, buildArgs []string) (string, error) {
	args := append([]string{"--health-enabled=true"}, buildArgs...)
	if !hasPrefixArg(args, "--db=") {
		args = append(args, "--db=dev-file")
	}
	home := filepath.Join(cfg.CacheDir, "builds", d.Version+"-"+buildKey(buildArgs)+fmt.Sprintf("-java%d", jdk.Major))
	marker := filepath.Join(home, ".kcconform-built")
	if _, err := os.Stat(marker); err == nil {
		return home, nil
	}
	if err := os.MkdirAll(filepath.Dir(home), 0o755); err != nil {
		return "", fmt.Errorf("cache dir: %w", err)
	}
	unlock, err := dist.LockFile(home + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(marker); err == nil {
		return home, nil
	}
	tmp := home + ".tmp"
	os.RemoveAll(tmp)
	if err := d.Verify(); err != nil {
		return "", err
	}
	if err := dist.Extract(d.Archive, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	dist.Progress("building Keycloak %s (%s) with Java %d: kc.sh build", d.Version, buildKey(buildArgs), jdk.Major)
	began := time.Now()
	// A local cache (no cluster discovery) starts faster. Some versions take
	// --cache at build time, others refuse it there: ask the distribution.
	// It is given at start too (localCache), where every version takes it.
	built := append(append([]string(nil), keycloak.LocalCache...), args...)
	out, err := kcBuild(ctx, tmp, jdk, built)
	if err != nil && strings.Contains(out, "not usable with build") {
		built = args
		out, err = kcBuild(ctx, tmp, jdk, built)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("kc.sh build %s with Java %d: %w\n%s", strings.Join(built, " "), jdk.Major, err, report.LastLines(out, 30))
	}
	dist.Progress("built Keycloak %s (%s) in %.1fs", d.Version, buildKey(buildArgs), time.Since(began).Seconds())
	os.RemoveAll(filepath.Join(tmp, "data"))
	record := strings.Join(built, " ") + "\n"
	if err := os.WriteFile(filepath.Join(tmp, ".kcconform-built"), []byte(record), 0o644); err != nil {
		return "", err
	}
	os.RemoveAll(home)
	if err := os.Rename(tmp, home); err != nil {
		return "", fmt.Errorf("cache build: %w", err)
	}
	return home, nil
}

// buildKey names a cached build by its build-time options.
func buildKey(args []string) string {
	if len(args) == 0 {
		return "dev-file"
	}
	s := strings.Join(args, "_")
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, strings.ToLower(s))
}

func kcBuild(ctx context.Context, home string, jdk dist.JDK, args []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(home, "bin", "kc.sh"), append([]string{"build"}, args...)...)
	cmd.Env = append(os.Environ(), "JAVA_HOME="+jdk.Home)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func hasPrefixArg(args []string, prefix string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}

// linkTree recreates the build tree under dst with hard links (fast, no
// copy) and lib/ as a symbolic link, leaving out data/ so that each run has
// its own database.
func linkTree(src, dst string) error {
	return walkTree(src, dst, func(path, rel, target string, d fs.DirEntry) error {
		if rel == "data" || strings.HasPrefix(rel, "data"+string(os.PathSeparator)) {
			return fs.SkipDir
		}
		// Database templates (template, template-pgN and their temporary
		// folders, which another run may be renaming) are no part of a run.
		if d.IsDir() && strings.HasPrefix(rel, templateDir) && !strings.ContainsRune(rel, os.PathSeparator) {
			return fs.SkipDir
		}
		if rel == "lib" {
			// The same class path in every run: the archive needs it.
			if err := os.Symlink(path, target); err != nil {
				return err
			}
			return fs.SkipDir
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		default:
			if err := os.Link(path, target); err != nil {
				return copyFile(path, target)
			}
			return nil
		}
	})
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, fi.Mode())
}

// copyTree copies a folder of regular files (an H2 database without its
// lock and trace files).
func copyTree(src, dst string) error {
	return walkTree(src, dst, func(path, _, target string, d fs.DirEntry) error {
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case strings.HasSuffix(path, ".lock.db"), strings.HasSuffix(path, ".trace.db"):
			return nil
		}
		return copyFile(path, target)
	})
}

// walkTree calls fn for each entry under src with its path relative to src
// and the path it maps to under dst.
func walkTree(src, dst string, fn func(path, rel, target string, d fs.DirEntry) error) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		return fn(path, rel, filepath.Join(dst, rel), d)
	})
}
