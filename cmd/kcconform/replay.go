package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"kcconform/pkg/dist"
	"kcconform/pkg/ports"
	"kcconform/pkg/repro"
	"kcconform/pkg/settings"
)

// replay runs a reproduction bundle's script again (package repro) with
// kcconform's verified, cached distribution of the bundle's version and a
// JDK that version runs on. Exit status: 1 the failure reproduced, 0 the
// server kept the promise, 2 it could not run.
func replay(dir string, lookup settings.Lookup, stdout, stderr io.Writer) int {
	couldNot := func(err error) int {
		fmt.Fprintln(stderr, "kcconform --replay: COULD NOT RUN:", err)
		return exitCouldNot
	}
	m, err := repro.Read(dir)
	if err != nil {
		return couldNot(err)
	}
	s, err := settings.Parse(lookup)
	if err != nil {
		return couldNot(err)
	}
	cfg := s.Server
	fmt.Fprintf(stdout, "replay: %s: Keycloak %s, spec %q\n", dir, m.Version, m.Spec)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.BootTimeout+10*time.Minute)
	defer cancel()
	d, err := dist.Fetch(ctx, m.Version, cfg.CacheDir, cfg.MavenRepoURL)
	if err == nil {
		err = d.Verify()
	}
	if err != nil {
		return couldNot(err)
	}
	jdk, err := dist.FindJDK(m.Version, cfg.JavaHome)
	if err != nil {
		return couldNot(err)
	}
	port, err := ports.Free()
	if err != nil {
		return couldNot(err)
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(dir, "reproduce.sh"))
	cmd.Env = append(os.Environ(), "KC_DIST="+d.Archive, "JAVA_HOME="+jdk.Home, "KC_HTTP_PORT="+strconv.Itoa(port),
		"KC_BOOT_TIMEOUT="+strconv.Itoa(int(cfg.BootTimeout.Seconds())))
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		fmt.Fprintln(stdout, "replay: PASS: the failure did not reproduce")
		return exitPass
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		fmt.Fprintln(stdout, "replay: FAIL: the failure reproduced")
		return exitFail
	case ctx.Err() != nil:
		return couldNot(fmt.Errorf("the replay did not end within %s (KC_BOOT_TIMEOUT plus 10 minutes)", cfg.BootTimeout+10*time.Minute))
	}
	return couldNot(fmt.Errorf("reproduce.sh: %w", err))
}
