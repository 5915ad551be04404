package keycloak

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1" //nolint:gosec // Maven repositories publish SHA-1 checksums; this checks integrity, not authenticity
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"kcconform/pkg/transport"
)

const distArtifact = "org.keycloak:keycloak-quarkus-dist"

// ansi matches terminal colour codes, which some Maven versions print even
// in batch mode.
var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// Dist is a Keycloak server distribution archive in the cache.
type Dist struct {
	Version string
	Archive string // path of the .tar.gz
}

// FetchDist returns the distribution of version from the cache under
// cacheDir, fetching it first if needed: with the machine's Maven client
// (which applies the machine's Maven settings and mirrors), or, where Maven is
// absent, directly from the repository named by KC_MAVEN_REPO_URL. The
// archive's SHA-1 is checked against the checksum the repository publishes.
func FetchDist(ctx context.Context, version, cacheDir string, getenv func(string) string) (*Dist, error) {
	dir := filepath.Join(cacheDir, "dist", version)
	name := fmt.Sprintf("keycloak-quarkus-dist-%s.tar.gz", version)
	d := &Dist{Version: version, Archive: filepath.Join(dir, name)}
	if _, err := os.Stat(d.Archive); err == nil {
		return d, verifySHA1(d.Archive)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("keycloak: cache dir: %w", err)
	}
	unlock, err := lockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(d.Archive); err == nil { // another run fetched it meanwhile
		return d, verifySHA1(d.Archive)
	}
	tmp, err := os.MkdirTemp(dir, "fetch-")
	if err != nil {
		return nil, fmt.Errorf("keycloak: cache dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	if mvn, err := exec.LookPath("mvn"); err == nil {
		err = fetchWithMaven(ctx, mvn, version, tmp)
		if err != nil {
			return nil, err
		}
	} else {
		repo := getenv("KC_MAVEN_REPO_URL")
		if repo == "" {
			return nil, errors.New("KC_MAVEN_REPO_URL: Maven (mvn) is not on PATH; expected the base URL of a Maven repository to download " + distArtifact + " from")
		}
		if err := fetchDirect(ctx, strings.TrimRight(repo, "/"), version, tmp); err != nil {
			return nil, err
		}
	}
	if err := verifySHA1(filepath.Join(tmp, name)); err != nil {
		return nil, err
	}
	for _, f := range []string{name, name + ".sha1"} {
		if err := os.Rename(filepath.Join(tmp, f), filepath.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("keycloak: cache %s: %w", f, err)
		}
	}
	return d, nil
}

// fetchWithMaven copies the artifact and the checksum Maven downloaded with
// it. --strict-checksums makes Maven itself refuse a mismatch as well.
func fetchWithMaven(ctx context.Context, mvn, version, out string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	coord := fmt.Sprintf("%s:%s:tar.gz", distArtifact, version)
	var log bytes.Buffer
	cmd := exec.CommandContext(ctx, mvn, "-B", "-q", "--strict-checksums", "dependency:copy",
		"-Dartifact="+coord, "-DoutputDirectory="+out, "-Dmdep.overWriteReleases=true")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("keycloak: mvn dependency:copy -Dartifact=%s: %w\n%s", coord, err, tail(log.String(), 20))
	}
	repo, err := mavenLocalRepo(ctx, mvn)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("keycloak-quarkus-dist-%s.tar.gz", version)
	sum := filepath.Join(repo, "org", "keycloak", "keycloak-quarkus-dist", version, name+".sha1")
	b, err := os.ReadFile(sum)
	if err != nil {
		return fmt.Errorf("keycloak: the repository's checksum %s: expected Maven to have stored it with the artifact: %w", sum, err)
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
			return "", fmt.Errorf("keycloak: locate Maven's local repository: %v", err)
		}
		return filepath.Join(home, ".m2", "repository"), nil
	}
	return repo, nil
}

func fetchDirect(ctx context.Context, repo, version, out string) error {
	name := fmt.Sprintf("keycloak-quarkus-dist-%s.tar.gz", version)
	base := fmt.Sprintf("%s/org/keycloak/keycloak-quarkus-dist/%s/%s", repo, version, name)
	hc := &http.Client{Timeout: 15 * time.Minute}
	for _, f := range []string{name + ".sha1", name} {
		if err := download(ctx, hc, base+strings.TrimPrefix(f, name), filepath.Join(out, f)); err != nil {
			return err
		}
	}
	return nil
}

func download(ctx context.Context, hc *http.Client, url, dst string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("keycloak: download %s: %w", url, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("keycloak: download %s: %s", url, transport.Describe(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("keycloak: download %s: HTTP %d, expected 200", url, resp.StatusCode)
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("keycloak: download %s: %w", url, err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("keycloak: download %s: %w", url, err)
	}
	return f.Close()
}

// verifySHA1 checks archive against archive+".sha1".
func verifySHA1(archive string) error {
	want, err := os.ReadFile(archive + ".sha1")
	if err != nil {
		return fmt.Errorf("keycloak: checksum of %s: %w", filepath.Base(archive), err)
	}
	fields := strings.Fields(string(want))
	if len(fields) == 0 || len(fields[0]) != 40 {
		return fmt.Errorf("keycloak: checksum file %s.sha1: expected 40 hex digits, got %q", filepath.Base(archive), strings.TrimSpace(string(want)))
	}
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("keycloak: checksum: %w", err)
	}
	defer f.Close()
	h := sha1.New() //nolint:gosec // see import
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("keycloak: checksum %s: %w", archive, err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if !strings.EqualFold(got, fields[0]) {
		return fmt.Errorf("keycloak: %s: SHA-1 %s, expected %s as the repository publishes: refusing a corrupt or altered distribution (delete it from %s to fetch again)",
			filepath.Base(archive), got, fields[0], filepath.Dir(archive))
	}
	return nil
}

// extract unpacks a .tar.gz into dir, stripping the top-level folder
// (keycloak-VERSION/) and refusing entries that would land outside dir.
func extract(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("keycloak: extract %s: %w", archive, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("keycloak: extract %s: %w", archive, err)
		}
		name := h.Name
		if i := strings.IndexByte(strings.TrimPrefix(name, "./"), '/'); i >= 0 {
			name = strings.TrimPrefix(name, "./")[i+1:]
		} else {
			continue
		}
		if name == "" {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if !strings.HasPrefix(dst, filepath.Clean(dir)+string(os.PathSeparator)) {
			return fmt.Errorf("keycloak: extract %s: entry %q leaves the target directory", archive, h.Name)
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
			if err := os.Symlink(h.Linkname, dst); err != nil {
				return err
			}
		}
	}
}

func tail(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}
