package reaper

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestWatchdogRunsWhenItsHolderDies runs a child that starts a watchdog and
// is then killed with SIGKILL: the watchdog must run its script.
func TestWatchdogRunsWhenItsHolderDies(t *testing.T) {
	if os.Getenv("REAPER_CHILD") != "" {
		if _, err := Watch("touch " + Quote(os.Getenv("REAPER_CHILD"))); err != nil {
			os.Exit(2)
		}
		os.Stdout.WriteString("ready\n")
		time.Sleep(time.Minute)
		return
	}
	flag := filepath.Join(t.TempDir(), "ran")
	cmd := exec.Command(os.Args[0], "-test.run=^TestWatchdogRunsWhenItsHolderDies$")
	cmd.Env = append(os.Environ(), "REAPER_CHILD="+flag)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(flag); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the watchdog did not run its script after its holder was killed")
}

func TestReleasedWatchdogDoesNothing(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "ran")
	g, err := Watch("touch " + Quote(flag))
	if err != nil {
		t.Fatal(err)
	}
	g.Release()
	g.Release()
	time.Sleep(300 * time.Millisecond)
	if _, err := os.Stat(flag); err == nil {
		t.Fatal("a released watchdog ran its script")
	}
}

func TestSweepRemovesOnlyFoldersOfDeadOwners(t *testing.T) {
	base := t.TempDir()
	mine, dead, unmarked := filepath.Join(base, "kc-1"), filepath.Join(base, "kc-2"), filepath.Join(base, "kc-3")
	for _, d := range []string{mine, dead, unmarked} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := MarkOwned(mine); err != nil {
		t.Fatal(err)
	}
	gone := exec.Command("true")
	_ = gone.Run()
	_ = os.WriteFile(filepath.Join(dead, ownerFile), []byte(strconv.Itoa(gone.Process.Pid)), 0o600)
	removed := Sweep(filepath.Join(base, "kc-*"))
	if len(removed) != 1 || removed[0] != dead {
		t.Fatalf("removed %v, want only %s", removed, dead)
	}
}

// The kill script ends a whole process group.
func TestKillGroupKillsTheGroup(t *testing.T) {
	c := exec.Command("sleep", "100")
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	if out, err := exec.Command("/bin/bash", "-c", KillGroup(c.Process.Pid)).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.Process.Kill()
		t.Fatal("the process group lives on")
	}
}
