package loadrun

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fake is a kcconform command that writes what script says into its
// report folder ($6) and exits.
func fake(t *testing.T, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kcconform")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunReadsTheLoadReportTheSuiteWrote(t *testing.T) {
	bin := fake(t, `echo '{"version":"'$4'","results":[{"grant":"refresh_token","rate":25,"latenciesMs":[1.5,2]}]}' > "$6/load-$4.json"`)
	rep, err := Run(bin, "26.7.3", filepath.Join(t.TempDir(), "run1"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Version != "26.7.3" || len(rep.Results) != 1 || len(rep.Results[0].LatenciesMS) != 2 {
		t.Fatalf("report %+v", rep)
	}
}

func TestARunWithoutReportNamesItsLog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run1")
	_, err := Run(fake(t, "echo boom; exit 2"), "26.7.3", dir)
	if err == nil || !strings.Contains(err.Error(), "gave no load report") || !strings.Contains(err.Error(), dir+".log") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(dir + ".log"); !strings.Contains(string(b), "boom") {
		t.Fatalf("log %q", b)
	}
}
