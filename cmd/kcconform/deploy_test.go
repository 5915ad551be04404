package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kcconform/pkg/report"
	"kcconform/pkg/state"
	"kcconform/pkg/tokenflow"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err           error
		class, answer string
	}{
		{nil, "200", ""},
		{&tokenflow.Error{Status: 400, Code: "invalid_grant", Description: "Offline user session not found"}, "refused", `HTTP 400 invalid_grant "Offline user session not found"`},
		{&tokenflow.Error{Status: 503, Cause: "Service Unavailable"}, "5xx", "HTTP 503"},
		{&tokenflow.Error{Cause: "dial tcp 127.0.0.1:1: connect: connection refused"}, "unreachable", "connection refused"},
		{&tokenflow.Error{Cause: "context deadline exceeded"}, "unreachable", "timeout"},
		{errors.New("read: connection reset by peer"), "unreachable", "connection reset"},
		{errors.New("something else"), "unreachable", "no answer"},
	} {
		class, answer := classify(c.err)
		if class != c.class || answer != c.answer {
			t.Errorf("classify(%v) = %q, %q; want %q, %q", c.err, class, answer, c.class, c.answer)
		}
	}
}

func TestPromiseResultsAndRegressions(t *testing.T) {
	row := func(p string, r report.Result, sent string) report.Row {
		return report.Row{Check: report.Check{Promise: p, Result: r, Sent: sent, Class: report.Class("promise")}}
	}
	before := promiseResults([]report.Row{row("scope", report.Pass, "offline_access"), row("refresh_expires_in", report.Pass, "0"), row("introspection", report.NotApplicable, "")})
	afterRows := []report.Row{row("scope", report.Pass, "offline_access"), row("refresh_expires_in", report.Pass, "0"), row("refresh_expires_in", report.Fail, "2592000"),
		row("introspection", report.Fail, "active false")}
	// A self-check's failure as intended is not the server's.
	asIntended := row("scope", report.Fail, "x")
	asIntended.AsIntended = true
	after := promiseResults(append(afterRows, asIntended))
	if len(after) != 3 || after[1].Result != string(report.Fail) || after[1].Sent != "2592000" || after[0].Result != string(report.Pass) {
		t.Fatalf("promiseResults = %+v", after)
	}
	got := regressions(before, after)
	if len(got) != 1 || got[0] != "refresh_expires_in: before 0, after 2592000" {
		t.Errorf("regressions = %q: want refresh_expires_in only (introspection was n/a before)", got)
	}
}

func TestAfterVerdict(t *testing.T) {
	for _, c := range []struct {
		r    afterResult
		want report.Status
		says string
	}{
		{afterResult{Refreshed: 50}, report.StatusPass, "50 of 50 stored offline token(s) refreshed"},
		{afterResult{Refreshed: 45, Refused: 5, Answers: map[string]int{`HTTP 400 invalid_grant "Offline user session not found"`: 5}}, report.StatusFail, "5 of 50 stored offline token(s) lost across the upgrade (refused: 5× HTTP 400 invalid_grant"},
		{afterResult{Refreshed: 50, Regressions: []string{"scope: before a, after b"}}, report.StatusFail, "1 promise(s) held before and break after: scope"},
		{afterResult{Refreshed: 49, Unreachable: 1, Answers: map[string]int{"timeout": 1}}, report.StatusCouldNot, "1 of 50 stored token(s) could not be refreshed"},
		// A lost token outweighs an unreachable one.
		{afterResult{Refreshed: 48, Refused: 1, Unreachable: 1, Answers: map[string]int{"timeout": 1, "x": 1}}, report.StatusFail, "1 of 50"},
	} {
		st, why := afterVerdict(c.r, 50)
		if st != c.want || !strings.Contains(why, c.says) {
			t.Errorf("afterVerdict(%+v) = %s: %s; want %s saying %q", c.r, st, why, c.want, c.says)
		}
	}
}

func TestUpgradeJUnitNamesFailures(t *testing.T) {
	x := upgradeJUnit(afterResult{Refused: 2, Answers: map[string]int{`HTTP 400 invalid_grant "a<b"`: 2}}, 10)
	if !strings.Contains(x, `failures="1"`) || !strings.Contains(x, "2 refused, 0 unreachable of 10") || strings.Contains(x, "a<b") {
		t.Errorf("JUnit:\n%s", x)
	}
}

// The upgrade commands refuse bad input before any request, naming the flag.
func TestDeployCommandsRefuseBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"before"}, "--state (KC_STATE_FILE)"},
		{[]string{"before", "--state", dir + "/s"}, "--state-key-file (KC_STATE_KEY_FILE)"},
		{[]string{"before", "--state", dir + "/s", "--state-key-file", dir + "/s"}, "apart from the state file"},
		{[]string{"before", "--state", dir + "/s", "--state-key-file", dir + "/k", "--tokens", "0"}, "--tokens: expected 1 to 100000"},
		{[]string{"before", "--state", dir + "/s", "--state-key-file", dir + "/k", "--tokens", "200000"}, "--tokens: expected 1 to 100000"},
		{[]string{"after", "--state", dir + "/s", "--state-key-file", dir + "/k", "--concurrency", "0"}, "--concurrency: expected 1 to 64"},
		{[]string{"watch", "--state", dir + "/s", "--state-key-file", dir + "/k", "--rate", "500"}, "--rate: expected refreshes per second from 1 to 200"},
		{[]string{"watch", "--state", dir + "/s", "--state-key-file", dir + "/k", "--url", "http://127.0.0.1:9", "--realm", "r"}, "KC_CLIENT_ID: expected the id of the existing client"},
		{[]string{"watch", "--state", dir + "/s", "--state-key-file", dir + "/k", "--url", "http://127.0.0.1:9", "--realm", "r", "--client-id", "c"}, "KC_CLIENT_SECRET"},
		{[]string{"watch", "extra"}, `unexpected argument "extra"`},
	} {
		var out, errw bytes.Buffer
		code := execute(c.args, &out, &errw)
		if code != exitCouldNot || !strings.Contains(out.String()+errw.String(), c.says) {
			t.Errorf("kcconform %s: exit %d, %q; want exit 2 saying %q", strings.Join(c.args, " "), code, out.String()+errw.String(), c.says)
		}
	}
}

// A watch or after on a state file they cannot open is a COULD NOT RUN
// naming the cause, and shows nothing of the file.
func TestAfterOnBadStateFile(t *testing.T) {
	dir := t.TempDir()
	key := dir + "/k"
	id, err := state.NewKey(key)
	if err != nil {
		t.Fatal(err)
	}
	st := &state.State{URL: "http://127.0.0.1:9", Realm: "r", ClientID: "c", Tokens: []state.Token{{N: 1, Refresh: "kcconform-fake-refresh-token"}}}
	if err := state.Save(dir+"/s", id, st); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	code := execute([]string{"after", "--state", dir + "/s", "--state-key-file", key, "--url", "http://127.0.0.1:9", "--realm", "r", "--client-id", "other", "--client-secret", "x", "--report-dir", dir + "/rep"}, &out, &errw)
	if code != exitCouldNot || !strings.Contains(out.String(), `KC_CLIENT_ID: the state is of "c", given "other"`) || strings.Contains(out.String(), "fake-refresh") {
		t.Errorf("exit %d: %s%s", code, out.String(), errw.String())
	}
}

func TestStopRunningWatch(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "kcconform.state")
	var out bytes.Buffer
	if err := stopRunningWatch(st, &out, time.Second); err != nil || out.Len() != 0 {
		t.Fatalf("no watch: %v %q", err, out.String())
	}
	// A killed watch's marker is old: removed, nothing asked.
	marker := st + watchingSuffix
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	_ = os.Chtimes(marker, old, old)
	if err := stopRunningWatch(st, &out, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a stale marker is left")
	}
	if _, err := os.Stat(st + stopSuffix); err == nil {
		t.Fatal("a stop was asked of a watch that was killed")
	}
	// A running watch stops when asked: it removes its marker.
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			if _, err := os.Stat(st + stopSuffix); err == nil {
				os.Remove(marker)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if err := stopRunningWatch(st, &out, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "asking it to stop") {
		t.Fatalf("output %q", out.String())
	}
	// One killed just before: its marker goes stale while after waits.
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	recent := time.Now().Add(-markerFresh + 300*time.Millisecond)
	_ = os.Chtimes(marker, recent, recent)
	if err := stopRunningWatch(st, &out, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// One that runs on and does not stop (its marker touched): after says
	// so instead of reading a state in use.
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				_ = os.WriteFile(marker, nil, 0o600)
				_ = os.Chtimes(marker, time.Now(), time.Now())
			}
		}
	}()
	err := stopRunningWatch(st, &out, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not stop within") {
		t.Fatalf("got %v", err)
	}
}

func TestStateKey(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k", "state.key")
	var out, errs bytes.Buffer
	if code := execute([]string{"state-key", key}, &out, &errs); code != exitPass {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	fi, err := os.Stat(key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key file: %v %v", fi, err)
	}
	if _, err := state.ReadKey(key); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "AGE-SECRET-KEY") {
		t.Fatal("the key was printed")
	}
	// An existing key is never overwritten; no argument names the field.
	if code := execute([]string{"state-key", key}, &out, &errs); code != exitCouldNot {
		t.Fatalf("overwrote a key: exit %d", code)
	}
	errs.Reset()
	if code := execute([]string{"state-key"}, &out, &errs); code != exitCouldNot || !strings.Contains(errs.String(), "FILE: expected") {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
}
