package repro

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kcconform/pkg/contract"
	"kcconform/pkg/profile"
)

func TestScenariosCoverTheProceduresTokenPromisesAndEndInTheirCheck(t *testing.T) {
	p := profile.Profile{ScopeContains: []string{"offline_access"}, ExpiresIn: 31536000, TokenType: "Bearer"}
	for _, id := range []contract.ID{contract.Get, contract.Scope, contract.RefreshExpiresIn, contract.ExpiresIn,
		contract.RefreshTyp, contract.AdminRevocation, contract.Introspection, contract.StoredToken} {
		sc, ok := ScenarioFor(id, p, "26.7.3")
		if !ok || len(sc.Steps) == 0 || sc.Check.Status == 0 {
			t.Errorf("%s: scenario %+v, %v", id.Title(), sc, ok)
		}
	}
	if sc, _ := ScenarioFor(contract.AdminRevocation, p, "26.7.3"); sc.Steps[len(sc.Steps)-1] != Refresh || sc.Check.Status != 400 {
		t.Errorf("administrative revocation: %+v, want a refresh refused with 400", sc)
	}
	// A release whose offline session delete answers 204 and keeps the
	// session is replayed with the revocation it performs.
	for v, want := range map[string]Step{"22.0.5": RevokeConsent, "23.0.7": RevokeConsent, "24.0.5": DeleteOfflineSession, "26.7.3": DeleteOfflineSession} {
		if sc, _ := ScenarioFor(contract.AdminRevocation, p, v); sc.Steps[1] != want {
			t.Errorf("administrative revocation on %s: %v, want %s", v, sc.Steps, want)
		}
	}
	if _, ok := ScenarioFor(contract.SurvivesRollingRestart, p, "26.7.3"); ok {
		t.Error("a rolling restart has no scripted replay, yet a scenario was given")
	}
}

func TestWriteThenReadKeepsTheManifestAndAScriptThatParses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "b")
	sc, _ := ScenarioFor(contract.AdminRevocation, profile.Profile{}, "22.0.5")
	f := Failure{Promise: "administrative revocation", Key: "admin-revocation", Expected: "400 invalid_grant", Sent: "HTTP 200"}
	b := Bundle{Manifest: Manifest{Version: "22.0.5", Target: "process", Realm: "r", ClientID: "my-test-client",
		Failures: []Failure{f}, Replayed: &f, Scenario: &sc}, Realm: []byte(`{"realm":"r"}`), Requests: []string{"curl -s ..."}}
	if err := Write(dir, b); err != nil {
		t.Fatal(err)
	}
	m, err := Read(dir)
	if err != nil || m.Version != "22.0.5" || m.Scenario == nil || len(m.Scenario.Steps) != 3 {
		t.Fatalf("read %+v, %v", m, err)
	}
	for _, name := range []string{"realm.json", "requests.txt", "README.md", "reproduce.sh"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	if out, err := exec.Command("bash", "-n", filepath.Join(dir, "reproduce.sh")).CombinedOutput(); err != nil {
		t.Fatalf("reproduce.sh does not parse: %v\n%s", err, out)
	}
	readme, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	if !strings.Contains(string(readme), "administrative revocation") || !strings.Contains(string(readme), "`revoke-consent`") {
		t.Errorf("README.md does not name the promise and the steps:\n%s", readme)
	}
}

func TestABundleWithoutVersionOrRealmIsRefused(t *testing.T) {
	if err := Write(t.TempDir(), Bundle{Manifest: Manifest{Realm: "r", ClientID: "c"}}); err == nil {
		t.Fatal("a bundle without a version was written")
	}
	if _, err := Read(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a reproduction bundle") {
		t.Fatalf("err = %v", err)
	}
}

func TestFolderIsShortAndReadable(t *testing.T) {
	got := Folder("refuses the next refresh with invalid_grant after the offline session is deleted", 2)
	if want := "refuses-the-next-refresh-with-invalid-grant-after-the-p2"; got != want {
		t.Fatalf("Folder = %q, want %q", got, want)
	}
}
