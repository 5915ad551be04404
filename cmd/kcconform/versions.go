package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"kcconform/pkg/dist"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/settings"
	"kcconform/pkg/versions"
)

// oldestRun is the oldest release the process and container targets are
// meant to run.
const oldestRun = "22.0.0"

// listVersions prints the releases of Keycloak's server distribution that
// the Maven repository serves (KC_MAVEN_REPO_URL, else Maven Central), from
// 22.0 on, read from its metadata, marking those whose SHA-512 kcconform
// pins and those cached on this machine.
func listVersions(lookup settings.Lookup, stdout, stderr io.Writer) int {
	s, err := settings.Parse(lookup)
	if err != nil {
		fmt.Fprintln(stderr, "kcconform versions:", err)
		return exitCouldNot
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	served, err := dist.Served(ctx, &http.Client{Timeout: 30 * time.Second}, s.Server.MavenRepoURL)
	if err != nil {
		fmt.Fprintln(stderr, "kcconform versions:", err)
		return exitCouldNot
	}
	repo := s.Server.MavenRepoURL
	if repo == "" {
		repo = dist.CentralURL
	}
	fmt.Fprintf(stdout, "Keycloak server distributions (keycloak-quarkus-dist) served by %s, from 22.0 on:\n\n", repo)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSHA-512\tCACHED\t")
	n := 0
	for _, v := range served {
		if versions.Compare(v, oldestRun) < 0 {
			continue
		}
		n++
		pinned := "-"
		if _, ok := versions.PinnedSHA512(v); ok {
			pinned = "pinned"
		}
		cached := "-"
		if _, err := os.Stat(filepath.Join(s.Server.CacheDir, "dist", v, versions.DistArchive(v))); err == nil {
			cached = "yes"
		}
		note := ""
		if v == keycloak.DefaultVersion {
			note = "(default)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v, pinned, cached, note)
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "\n%d releases; a version without a pinned SHA-512 is checked against the SHA-1 the repository publishes.\n", n)
	return exitPass
}
