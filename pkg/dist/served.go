package dist

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"kcconform/pkg/versions"
	"net/http"
	"sort"
	"strings"
	"time"
)

// CentralURL is Maven Central, the repository Maven fetches from unless its
// settings say otherwise, and where kcconform reads what is served unless
// KC_MAVEN_REPO_URL names another.
const CentralURL = "https://repo.maven.apache.org/maven2"

// metadataPath is the distribution's version list in a Maven repository.
const metadataPath = "/org/keycloak/keycloak-quarkus-dist/maven-metadata.xml"

// Served lists the versions of Keycloak's server distribution that the
// repository serves, read from its maven-metadata.xml, oldest first
// (ordered by version, not by string).
func Served(ctx context.Context, hc *http.Client, repoURL string) ([]string, error) {
	if repoURL == "" {
		repoURL = CentralURL
	}
	u := strings.TrimRight(repoURL, "/") + metadataPath
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("KC_MAVEN_REPO_URL: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the versions served: GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the versions served: GET %s: HTTP %d", u, resp.StatusCode)
	}
	return parseMetadata(io.LimitReader(resp.Body, 4<<20), u)
}

// parseMetadata reads the versions of a maven-metadata.xml, oldest first.
func parseMetadata(r io.Reader, from string) ([]string, error) {
	var m struct {
		Versions []string `xml:"versioning>versions>version"`
	}
	if err := xml.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: expected Maven's metadata (XML with versioning/versions): %w", from, err)
	}
	var out []string
	for _, v := range m.Versions {
		if v = strings.TrimSpace(v); versions.IsRelease(v) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: lists no release of the distribution", from)
	}
	sort.Slice(out, func(i, j int) bool { return versions.Compare(out[i], out[j]) < 0 })
	return out, nil
}

// Nearest names the served versions closest to v: the newest below it and
// the oldest above it (one of them at either end).
func Nearest(served []string, v string) []string {
	var below, above string
	for _, s := range served {
		switch c := versions.Compare(s, v); {
		case c < 0:
			below = s
		case c > 0 && above == "":
			above = s
		}
	}
	var out []string
	for _, s := range []string{below, above} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// notServed explains a version the repository does not serve, naming the
// nearest it does; "" where it serves it, or cannot say.
func notServed(ctx context.Context, version, repoURL string) string {
	served, err := Served(ctx, &http.Client{Timeout: 30 * time.Second}, repoURL)
	if err != nil {
		return ""
	}
	for _, s := range served {
		if s == version {
			return ""
		}
	}
	if repoURL == "" {
		repoURL = CentralURL
	}
	return fmt.Sprintf("Keycloak %s is not served by %s (%d releases of keycloak-quarkus-dist, %s to %s); the nearest served: %s",
		version, repoURL, len(served), served[0], served[len(served)-1], strings.Join(Nearest(served, version), " and "))
}
