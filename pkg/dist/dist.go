// Package dist is Keycloak's server distribution: fetched by version with
// the machine's Maven (or straight from a repository where mvn is missing),
// verified against the pinned checksum, cached and extracted; which
// releases the repository serves; and the JDK a release runs on.
package dist

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha1" //nolint:gosec // Maven repositories publish SHA-1 checksums; pinned versions are checked with SHA-512
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"kcconform/pkg/report"
	"kcconform/pkg/versions"
)

const distArtifact = "org.keycloak:keycloak-quarkus-dist"

// ansi matches terminal colour codes, which some Maven versions print even
// in batch mode.
var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// Progress reports a step of a long operation (download, build, boot) on
// standard error, where a user watching a run sees it.
func Progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kcconform: "+format+"\n", args...)
}

// Dist is a Keycloak server distribution archive in the cache.
type Dist struct {
	Version string
	Archive string // path of the .tar.gz
}

// Verify checks the archive: against the SHA-512 pinned in the repository
// (pkg/versions/dist.sha512) for a version the project names, else against
// the SHA-1 the repository published with it.
func (d *Dist) Verify() error {
	if want, ok := versions.PinnedSHA512(d.Version); ok {
		return verifySum(d.Archive, sha512.New(), want, "SHA-512 pinned in pkg/versions/dist.sha512")
	}
	want, err := os.ReadFile(d.Archive + ".sha1")
	if err != nil {
		return fmt.Errorf("checksum of %s: %w", filepath.Base(d.Archive), err)
	}
	fields := strings.Fields(string(want))
	if len(fields) == 0 || len(fields[0]) != 40 {
		return fmt.Errorf("checksum file %s.sha1: expected 40 hex digits, got %q", filepath.Base(d.Archive), strings.TrimSpace(string(want)))
	}
	return verifySum(d.Archive, sha1.New(), fields[0], "SHA-1 the repository publishes (no checksum of "+d.Version+" is pinned)") //nolint:gosec
}

// verifySum checks a file's digest against want (hex).
func verifySum(path string, h hash.Hash, want, source string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("checksum: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("checksum %s: %w", path, err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if !strings.EqualFold(got, want) {
		return fmt.Errorf("%s: checksum %s, expected %s, the %s: refusing a corrupt or altered distribution (delete it from %s to fetch again)",
			filepath.Base(path), got, strings.ToLower(want), source, filepath.Dir(path))
	}
	return nil
}

// Fetch returns the distribution of version from the cache under
// cacheDir, fetching it first if needed: with the machine's Maven client
// (which applies the machine's Maven settings and mirrors), or, where Maven
// is absent, directly from the repository named by KC_MAVEN_REPO_URL. The
// archive is verified (Dist.Verify) before it is cached and at every use.
func Fetch(ctx context.Context, version, cacheDir, mavenRepoURL string) (*Dist, error) {
	dir := filepath.Join(cacheDir, "dist", version)
	name := versions.DistArchive(version)
	d := &Dist{Version: version, Archive: filepath.Join(dir, name)}
	if _, err := os.Stat(d.Archive); err == nil {
		return d, d.Verify()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	unlock, err := LockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(d.Archive); err == nil { // another run fetched it meanwhile
		return d, d.Verify()
	}
	tmp, err := os.MkdirTemp(dir, "fetch-")
	if err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	began := time.Now()
	if mvn, err := exec.LookPath("mvn"); err == nil {
		Progress("fetching the Keycloak %s distribution with Maven (%s)", version, distArtifact)
		if err := fetchWithMaven(ctx, mvn, version, tmp); err != nil {
			if why := notServed(ctx, version, mavenRepoURL); why != "" {
				return nil, fmt.Errorf("%s\n%w", why, err)
			}
			return nil, err
		}
	} else {
		repo := mavenRepoURL
		if repo == "" {
			return nil, errors.New("KC_MAVEN_REPO_URL: Maven (mvn) is not on PATH; expected the base URL of a Maven repository to download " + distArtifact + " from")
		}
		if err := fetchDirect(ctx, strings.TrimRight(repo, "/"), version, tmp); err != nil {
			if why := notServed(ctx, version, repo); why != "" {
				return nil, fmt.Errorf("%s\n%w", why, err)
			}
			return nil, err
		}
	}
	fetched := &Dist{Version: version, Archive: filepath.Join(tmp, name)}
	if err := fetched.Verify(); err != nil {
		return nil, err
	}
	fi, _ := os.Stat(fetched.Archive)
	if _, pinned := versions.PinnedSHA512(version); pinned {
		Progress("fetched Keycloak %s (%d MB) in %.1fs; its SHA-512 matches the one pinned in the repository", version, fi.Size()>>20, time.Since(began).Seconds())
	} else {
		Progress("fetched Keycloak %s (%d MB) in %.1fs; no checksum of it is pinned in the repository: checked against the SHA-1 the repository publishes", version, fi.Size()>>20, time.Since(began).Seconds())
	}
	for _, f := range []string{name, name + ".sha1"} {
		if err := os.Rename(filepath.Join(tmp, f), filepath.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("cache %s: %w", f, err)
		}
	}
	return d, nil
}

// fetchWithMaven copies the artifact and the checksum Maven downloaded with
// it. --strict-checksums makes Maven itself refuse a mismatch as well. While
// Maven downloads, the growing file in its local repository is reported.
func fetchWithMaven(ctx context.Context, mvn, version, out string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	repo, err := mavenLocalRepo(ctx, mvn)
	if err != nil {
		return err
	}
	name := versions.DistArchive(version)
	artifactDir := filepath.Join(repo, "org", "keycloak", "keycloak-quarkus-dist", version)
	coord := fmt.Sprintf("%s:%s:tar.gz", distArtifact, version)
	cmd := exec.CommandContext(ctx, mvn, "-B", "--strict-checksums", "-Dstyle.color=never", "dependency:copy",
		"-Dartifact="+coord, "-DoutputDirectory="+out, "-Dmdep.overWriteReleases=true")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var log strings.Builder
	var wg sync.WaitGroup
	wg.Add(1)
	stopWatch := make(chan struct{})
	go func() {
		defer wg.Done()
		var total int64
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := ansi.ReplaceAllString(sc.Text(), "")
			log.WriteString(line + "\n")
			if i := strings.Index(line, "Downloading from "); i >= 0 && strings.HasSuffix(line, name) {
				if _, url, ok := strings.Cut(line[i:], ": "); ok {
					total = contentLength(ctx, strings.TrimSpace(url))
					go watchDownload(artifactDir, name, total, stopWatch)
				}
			}
		}
	}()
	err = cmd.Run()
	pw.Close()
	wg.Wait()
	close(stopWatch)
	if err != nil {
		return fmt.Errorf("mvn dependency:copy -Dartifact=%s: %w\n%s", coord, err, report.LastLines(log.String(), 20))
	}
	sum := filepath.Join(artifactDir, name+".sha1")
	b, err := os.ReadFile(sum)
	if err != nil {
		return fmt.Errorf("the repository's checksum %s: expected Maven to have stored it with the artifact: %w", sum, err)
	}
	return os.WriteFile(filepath.Join(out, name+".sha1"), b, 0o644)
}

func mavenLocalRepo(ctx context.Context, mvn string) (string, error) {
	out, err := exec.CommandContext(ctx, mvn, "-B", "-q", "-Dstyle.color=never", "help:evaluate",
		"-Dexpression=settings.localRepository", "-DforceStdout").Output()
	repo := strings.TrimSpace(ansi.ReplaceAllString(string(out), ""))
	if err != nil || repo == "" {
		home, herr := os.UserHomeDir()
		if herr != nil {
			return "", fmt.Errorf("locate Maven's local repository: %w", err)
		}
		return filepath.Join(home, ".m2", "repository"), nil
	}
	return repo, nil
}

// Extract unpacks a .tar.gz into dir, stripping the top-level folder
// (keycloak-VERSION/), and refuses any entry that would reach outside dir:
// a name with "..", an absolute name, and a symbolic or hard link whose
// target lies outside.
func Extract(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("extract %s: %w", archive, err)
	}
	root := filepath.Clean(dir)
	inside := func(p string) bool { return p == root || strings.HasPrefix(p, root+string(os.PathSeparator)) }
	escapes := func(h *tar.Header, why string) error {
		return fmt.Errorf("extract %s: entry %q %s: refusing an archive that reaches outside its folder", archive, h.Name, why)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("extract %s: %w", archive, err)
		}
		if filepath.IsAbs(h.Name) || strings.HasPrefix(h.Name, "/") {
			return escapes(h, "is an absolute path")
		}
		for _, part := range strings.Split(filepath.ToSlash(h.Name), "/") {
			if part == ".." {
				return escapes(h, "holds ..")
			}
		}
		name := strings.TrimPrefix(h.Name, "./")
		i := strings.IndexByte(name, '/')
		if i < 0 {
			continue // the top-level folder itself
		}
		name = name[i+1:]
		if name == "" {
			continue
		}
		dst := filepath.Join(root, filepath.FromSlash(name))
		if !inside(dst) {
			return escapes(h, "lands outside the target")
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o755|0o600)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if filepath.IsAbs(h.Linkname) || !inside(filepath.Join(filepath.Dir(dst), h.Linkname)) {
				return escapes(h, "is a symbolic link to "+h.Linkname)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, dst); err != nil {
				return err
			}
		case tar.TypeLink:
			target := strings.TrimPrefix(h.Linkname, "./")
			if j := strings.IndexByte(target, '/'); j >= 0 {
				target = target[j+1:]
			}
			src := filepath.Join(root, filepath.FromSlash(target))
			if filepath.IsAbs(h.Linkname) || strings.Contains(h.Linkname, "..") || !inside(src) {
				return escapes(h, "is a hard link to "+h.Linkname)
			}
			if err := os.Link(src, dst); err != nil {
				return err
			}
		}
	}
}
