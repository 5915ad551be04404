// Command fetch-dist fetches and verifies a Keycloak server distribution
// with the process target's fetcher (Maven, checksum, cache) and prints the
// archive's path.
//
//	go run ./scripts/fetch-dist 26.7.3
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"kcconform/pkg/dist"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/settings"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fetch-dist VERSION")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	env := func(k string) string {
		if k == "KC_VERSION" {
			return os.Args[1]
		}
		if k == "KC_TARGET" {
			return keycloak.TargetProcess
		}
		return os.Getenv(k)
	}
	st, err := settings.Parse(env)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetch-dist:", err)
		os.Exit(1)
	}
	cfg := st.Server
	d, err := dist.Fetch(ctx, cfg.Version, cfg.CacheDir, cfg.MavenRepoURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetch-dist:", err)
		os.Exit(1)
	}
	fmt.Println(d.Archive)
}
