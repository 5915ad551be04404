// Package reaper removes what the harness started when the harness dies
// without cleaning up, SIGKILL included: each server it starts gets a small
// watchdog process that waits on a pipe only the harness holds open. When
// the harness exits, the kernel closes the pipe, and a watchdog that was not
// released first runs its clean-up command (kill the server's process group,
// remove a container, delete a folder).
//
// Folders are also marked with their owner's process id, so that Sweep can
// remove, on the next start at the latest, those whose owner is gone.
package reaper

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Guard is a running watchdog.
type Guard struct {
	w   *os.File
	cmd *exec.Cmd
}

// Watch starts a watchdog that runs script (bash: its kill takes process
// groups) if this process dies before
// Release is called. The script runs in a session of its own, with no
// terminal, so a Ctrl-C meant for the harness does not reach it.
func Watch(script string) (*Guard, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	// read returns "released" on Release, and end of file when every holder
	// of the write end, this process, has exited.
	cmd := exec.Command("/bin/bash", "-c", `read -r word; [ "$word" = released ] && exit 0; `+script)
	cmd.Stdin = r
	cmd.Stdout, cmd.Stderr = nil, nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("start watchdog: %w", err)
	}
	r.Close()
	go func() { _ = cmd.Wait() }()
	return &Guard{w: w, cmd: cmd}, nil
}

// Release ends the watchdog without running its script: what it guarded was
// cleaned up properly. It is safe to call more than once and on nil.
func (g *Guard) Release() {
	if g == nil || g.w == nil {
		return
	}
	_, _ = g.w.WriteString("released\n")
	g.w.Close()
	g.w = nil
}

// KillGroup is a script that kills a process group with SIGKILL and waits,
// up to 10 s, until it is gone: a folder its processes write is removed
// only after them.
func KillGroup(pgid int) string {
	return fmt.Sprintf("kill -KILL -- -%d 2>/dev/null; for i in $(seq 100); do kill -0 -- -%d 2>/dev/null || break; sleep 0.1; done;", pgid, pgid)
}

// RemoveDir is a script that removes a folder, again a few times while a
// process that is exiting still writes into it.
func RemoveDir(dir string) string {
	q := Quote(dir)
	return "for i in 1 2 3 4 5 6; do rm -rf -- " + q + " 2>/dev/null; [ -e " + q + " ] || break; sleep 0.5; done;"
}

// Quote quotes s for the shell.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ownerFile marks a folder with the process that owns it.
const ownerFile = ".kcconform-owner"

// MarkOwned records this process as the owner of dir.
func MarkOwned(dir string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600)
}

// Sweep removes folders matching pattern (a filepath.Glob pattern) whose
// owner process is gone: what a killed run left. It returns what it removed.
func Sweep(pattern string) []string {
	dirs, _ := filepath.Glob(pattern)
	var removed []string
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue // not marked: not ours to judge
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || alive(pid) {
			continue
		}
		if os.RemoveAll(d) == nil {
			removed = append(removed, d)
		}
	}
	return removed
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
