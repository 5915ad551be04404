package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// --help lists every subcommand of the one dispatch table, and each has
// its own --help.
func TestHelpListsEverySubcommand(t *testing.T) {
	var out bytes.Buffer
	if code := execute([]string{"--help"}, &out, &out); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, c := range subcommands() {
		if !strings.Contains(out.String(), "         "+c.usage) {
			t.Errorf("--help lacks %s", c.name)
		}
		if c.run == nil {
			continue
		}
		var sub bytes.Buffer
		if code := execute([]string{c.name, "--help"}, &sub, &sub); code != 0 || !strings.Contains(sub.String(), "kcconform "+c.name) {
			t.Errorf("kcconform %s --help: exit %d\n%s", c.name, code, sub.String())
		}
	}
}

// The binary needs no toolchain: with no PATH at all, its subcommands that
// need no server run, and those that do say what they lack.
func TestSubcommandsRunWithoutAToolchain(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "kcconform")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".") // make build's flags: its compiled packages are reused
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	report := filepath.Join(dir, "e2e.json")
	// A Ginkgo report of one passed spec of the offline suite, with one check.
	const passed = `[{"SuiteDescription":"kcconform: offline tokens","SuiteSucceeded":true,"SpecReports":[{"ContainerHierarchyTexts":["the procedure"],"LeafNodeText":"gets a token","LeafNodeType":"It","State":"passed","ReportEntries":[{"Name":"kcconform-checks","Value":{"Representation":"{\"step\":\"get\",\"checks\":[{\"promise\":\"scope\",\"class\":\"procedure\",\"expected\":\"to contain offline_access\",\"sent\":\"offline_access\",\"result\":\"pass\"}]}"}}]}]}]`
	if err := os.WriteFile(report, []byte(passed), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=/nonexistent", "HOME=" + dir}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return string(out), code
	}
	if out, code := run("verdict", report); code == 2 || !strings.Contains(out, "verdict: ") {
		t.Errorf("verdict: exit %d\n%s", code, out)
	}
	if out, code := run("clean-server"); code != 1 || !strings.Contains(out, "KC_URL") && !strings.Contains(out, "KC_ADMIN_USER") {
		t.Errorf("clean-server without a server: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{"matrix"}, {"bisect"}, {"bench-compare"}} {
		if out, code := run(args...); code != 2 || !strings.Contains(out, "usage") {
			t.Errorf("%v without its arguments: exit %d\n%s", args, code, out)
		}
	}
	if out, code := run("--version"); code != 0 || !strings.Contains(out, "kcconform") {
		t.Errorf("--version: exit %d\n%s", code, out)
	}
}
