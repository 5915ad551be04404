package dist

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kcconform/pkg/transport"
	"kcconform/pkg/versions"
)

// fetchDirect downloads the distribution straight from a Maven repository,
// where no Maven client is installed, with its published SHA-1.
func fetchDirect(ctx context.Context, repo, version, out string) error {
	name := versions.DistArchive(version)
	base := fmt.Sprintf("%s/org/keycloak/keycloak-quarkus-dist/%s/%s", repo, version, name)
	hc := &http.Client{Timeout: 15 * time.Minute, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}, CheckRedirect: transport.NoRedirect}
	Progress("fetching the Keycloak %s distribution from %s", version, repo)
	for _, f := range []string{name + ".sha1", name} {
		if err := download(ctx, hc, base+strings.TrimPrefix(f, name), filepath.Join(out, f)); err != nil {
			return err
		}
	}
	return nil
}

func download(ctx context.Context, hc *http.Client, url, dst string) error {
	resp, err := transport.Get(ctx, hc, url)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download %s: HTTP %d, expected 200", url, resp.StatusCode)
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	pc := &progressCounter{total: resp.ContentLength, next: time.Now().Add(2 * time.Second)}
	if _, err := io.Copy(io.MultiWriter(f, pc), resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("download %s: %w", url, err)
	}
	return f.Close()
}

// contentLength asks a URL's size (0 when unknown).
func contentLength(ctx context.Context, url string) int64 {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return 0
	}
	hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}, CheckRedirect: nil}
	resp, err := hc.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return max(resp.ContentLength, 0)
}

func reportBytes(size, total int64) {
	if total > 0 {
		Progress("downloading: %d of %d MB (%d%%)", size>>20, total>>20, size*100/total)
	} else {
		Progress("downloading: %d MB", size>>20)
	}
}

// watchDownload reports every 2 s how much of the artifact Maven has written
// in its local repository, until stop.
func watchDownload(dir, name string, total int64, stop <-chan struct{}) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		var size int64
		files, _ := filepath.Glob(filepath.Join(dir, "*"+name+"*"))
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && !strings.HasSuffix(f, ".sha1") {
				size = max(size, fi.Size())
			}
		}
		reportBytes(size, total)
	}
}

// progressCounter reports a download's progress every 2 s.
type progressCounter struct {
	size, total int64
	next        time.Time
}

func (p *progressCounter) Write(b []byte) (int, error) {
	p.size += int64(len(b))
	if now := time.Now(); now.After(p.next) {
		p.next = now.Add(2 * time.Second)
		reportBytes(p.size, p.total)
	}
	return len(b), nil
}
