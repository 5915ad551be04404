package main

import (
	"bytes"
	"kcconform/pkg/settings"
	"strings"
	"testing"
)

// --help lists every setting with its flag and variable.
func TestHelpListsEverySetting(t *testing.T) {
	var out bytes.Buffer
	if code := execute([]string{"--help"}, &out, &out); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, s := range settings.Table {
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
	code := execute([]string{"--report-dir", t.TempDir()}, &out, &out)
	if code != exitCouldNot || !strings.HasPrefix(out.String(), "verdict: COULD NOT RUN: KC_URL:") || !strings.Contains(out.String(), "KC_ALLOW_PLAIN_HTTP") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	if strings.Contains(out.String(), "not-the-password") {
		t.Fatal("the password in the output")
	}
}
