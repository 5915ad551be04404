package matrix

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kcconform/pkg/report"
)

// A column whose run left no report is a COULD NOT RUN column, and a report
// folder that cannot be written is an error, not a crash.
func TestColumnWithoutReportAndUnwritableFolder(t *testing.T) {
	dir := t.TempDir()
	fake := fakeCommand(t, dir, "echo no report here\nexit 2")
	var log strings.Builder
	m, err := Run(fake, filepath.Join(dir, "reports"), []string{"26.5.6"}, [][2]string{{"26.7.0", "26.7.3"}}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Columns) != 2 || m.Columns[0].Run != nil || !strings.Contains(m.Columns[0].Err, "no report") {
		t.Fatalf("columns = %+v", m.Columns)
	}
	if m.Columns[1].Name != "26.7.0->26.7.3 cluster" || !strings.Contains(log.String(), "--suite cluster --target process --keycloak-version 26.7.0 --cluster-upgrade-to 26.7.3") {
		t.Fatalf("cluster column %+v, log %s", m.Columns[1], log.String())
	}
	if m.OK() {
		t.Fatal("a matrix with a column that could not run passed")
	}
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(report.Matrix{}, filepath.Join(blocker, "sub")); err == nil {
		t.Fatal("writing under a file succeeded")
	}
	if _, err := Run(filepath.Join(dir, "missing"), dir, []string{"1.0.0"}, nil, &log); err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("err = %v", err)
	}
}

func TestClusterPaths(t *testing.T) {
	got, err := clusterPaths("26.7.0->26.7.3, 26.5.5->26.5.6")
	if err != nil || len(got) != 2 || got[1] != [2]string{"26.5.5", "26.5.6"} {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"26.7.0", "->26.7.3", "26.7.0->"} {
		if _, err := clusterPaths(bad); err == nil || !strings.Contains(err.Error(), "FROM->TO") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// Versions run in version order, whatever order they are given in.
func TestColumnsInVersionOrder(t *testing.T) {
	dir := t.TempDir()
	fake := fakeCommand(t, dir, "exit 2")
	var log strings.Builder
	m, err := Run(fake, filepath.Join(dir, "reports"), []string{"26.10.0", "24.0.5", "26.7.3"}, nil, &log)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range m.Columns {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, " "); got != "24.0.5 26.7.3 24.0.5->26.7.3 26.10.0 26.7.3->26.10.0" {
		t.Fatalf("columns %s", got)
	}
}

// fakeCommand is a kcconform command in dir that runs script and writes no
// report.
func fakeCommand(t *testing.T, dir, script string) string {
	t.Helper()
	p := filepath.Join(dir, "kcconform")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
