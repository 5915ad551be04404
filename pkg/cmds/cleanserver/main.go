// Package cleanserver is "kcconform clean-server": removes what earlier kcconform runs left on a
// Keycloak (a run killed with SIGKILL cannot clean up after itself): every
// realm whose name starts with "kcconform-", or only those of one run, with
// their clients and offline sessions. It uses the same settings as the
// suites (KC_URL, KC_CA_FILE, KC_ADMIN_*) and needs admin rights.
//
//	KC_URL=https://gw/keycloak KC_ADMIN_USER=admin KC_ADMIN_PASSWORD=... kcconform clean-server [-run RUNID] [-dry-run]
package cleanserver

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"kcconform/pkg/cmds/internal/cli"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/keycloak/launch"
	"kcconform/pkg/redact"
	"kcconform/pkg/settings"
)

// Main runs "kcconform clean-server" with args, and returns its exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kcconform clean-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	run := fs.String("run", "", "remove only the objects of this run id (KC_RUN_ID), matched exactly")
	dry := fs.Bool("dry-run", false, "list what would be removed")
	if status, ok := cli.Parse(fs, args); !ok {
		return status
	}
	red := redact.New()
	if err := clean(*run, *dry, red); err != nil {
		fmt.Fprintln(stderr, "kcconform clean-server:", red.String(err.Error()))
		return 1
	}
	return 0
}

func clean(run string, dry bool, red *redact.Redactor) error {
	getenv := func(k string) string {
		if k == "KC_TARGET" {
			return keycloak.TargetExternal
		}
		return os.Getenv(k)
	}
	st, err := settings.Parse(getenv)
	if err != nil {
		return err
	}
	cfg := st.Server
	if cfg.Admin.Empty() {
		return errors.New("KC_ADMIN_USER/KC_ADMIN_PASSWORD: expected admin credentials; without them the harness can only revoke the tokens it still holds, which it does at the end of every run")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv, err := launch.New(cfg, keycloak.Options{Redactor: red})
	if err != nil {
		return err
	}
	if err := srv.Up(ctx); err != nil {
		return err
	}
	ac, err := srv.Info().AdminClient(red)
	if err != nil {
		return err
	}
	realms, err := ac.Realms(ctx)
	if err != nil {
		return err
	}
	removed := 0
	for _, r := range realms {
		if !keycloak.OfRun(r, run) {
			continue
		}
		if dry {
			fmt.Println("would remove realm", r)
			continue
		}
		if err := ac.DeleteRealm(ctx, r); err != nil {
			return err
		}
		removed++
		fmt.Println("removed realm", r)
	}
	fmt.Printf("clean-server: %d realm(s) removed from %s\n", removed, cfg.URL)
	return nil
}
