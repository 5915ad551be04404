package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// internal variables are set by kcconform itself, or by make test, not by a
// user.
var internal = map[string]bool{"KC_LEAK_FINGERPRINTS": true, "KC_RUN_KEY": true, "KC_BINARY": true}

// Every KC_* variable the code reads is a setting --help lists, with its flag.
func TestHelpListsEverySetting(t *testing.T) {
	listed := map[string]bool{}
	for _, s := range settings {
		listed[s.Env] = true
	}
	lit := regexp.MustCompile(`(?:[gG]etenv\(|getenv, )"(KC_[A-Z_]+)"|"(KC_[A-Z_]+)": &`)
	root := filepath.Join("..", "..")
	read := map[string]string{}
	for _, dir := range []string{"pkg", "suites", "cmd"} {
		_ = filepath.Walk(filepath.Join(root, dir), func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			b, _ := os.ReadFile(p)
			for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
				read[m[1]+m[2]] = p
			}
			return nil
		})
	}
	if len(read) < 20 {
		t.Fatalf("found only %d KC_* variables in the source: the scan is broken", len(read))
	}
	for v, where := range read {
		if !listed[v] && !internal[v] {
			t.Errorf("%s (read in %s) is not in the settings --help lists", v, where)
		}
	}
	var out bytes.Buffer
	if code := run([]string{"--help"}, &out, &out); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, s := range settings {
		if !strings.Contains(out.String(), "--"+s.Flag+" ") || !strings.Contains(out.String(), s.Env) {
			t.Errorf("--help lacks --%s (%s)", s.Flag, s.Env)
		}
	}
}

// Bad settings are refused before anything runs, naming the variable.
func TestCouldNotRunNamesTheSetting(t *testing.T) {
	t.Setenv("KC_TARGET", "external")
	t.Setenv("KC_URL", "http://kc.example.invalid")
	t.Setenv("KC_ADMIN_USER", "admin")
	t.Setenv("KC_ADMIN_PASSWORD", "not-the-password")
	var out bytes.Buffer
	code := run([]string{"--report-dir", t.TempDir()}, &out, &out)
	if code != exitCouldNot || !strings.HasPrefix(out.String(), "verdict: COULD NOT RUN: KC_URL:") || !strings.Contains(out.String(), "KC_ALLOW_PLAIN_HTTP") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	if strings.Contains(out.String(), "not-the-password") {
		t.Fatal("the password in the output")
	}
}
