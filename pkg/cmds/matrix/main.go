// Package matrix is "kcconform matrix": runs the offline suite for each Keycloak version and the
// upgrade path between consecutive versions, and for each -cluster path
// the cluster suite on a cluster of FROM upgraded to TO under load (node by
// node where Keycloak allows it), each with the kcconform command, then
// prints one table (a row for each promise, a column for each
// version and upgrade) and writes it as reports/matrix/matrix.html and
// summary.md (also to $GITHUB_STEP_SUMMARY). It exits 1 unless every column
// passed.
//
//	kcconform matrix [-reports DIR] [-cluster 26.7.0->26.7.3,...] 26.5.6 26.7.3
package matrix

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"kcconform/pkg/cmds/internal/cli"
	"kcconform/pkg/report"
	"kcconform/pkg/versions"
)

// Main runs "kcconform matrix" with args, and returns its exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kcconform matrix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reports := fs.String("reports", "reports/matrix", "folder for each run's reports and the matrix")
	binary := fs.String("binary", self(), "the kcconform command (default: this one)")
	cluster := fs.String("cluster", "", "cluster upgrade paths FROM->TO, comma-separated: a column each (the cluster suite, process target)")
	if status, ok := cli.Parse(fs, args); !ok {
		return status
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: kcconform matrix [-reports DIR] VERSION...")
		return 2
	}
	paths, err := clusterPaths(*cluster)
	if err != nil {
		fmt.Fprintln(stderr, "kcconform matrix: -cluster:", err)
		return 2
	}
	m, err := Run(*binary, *reports, fs.Args(), paths, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "kcconform matrix:", err)
		return 2
	}
	m.WriteText(stdout)
	if err := Write(m, *reports); err != nil {
		fmt.Fprintln(stderr, "kcconform matrix:", err)
		return 2
	}
	fmt.Fprintf(stdout, "matrix reports: %s\n", filepath.Join(*reports, "matrix.html"))
	if !m.OK() {
		return 1
	}
	return 0
}

// clusterPaths parses -cluster: "FROM->TO" pairs, comma-separated.
func clusterPaths(v string) ([][2]string, error) {
	var out [][2]string
	if v == "" {
		return nil, nil
	}
	for _, p := range strings.Split(v, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(p), "->")
		if !ok || from == "" || to == "" {
			return nil, fmt.Errorf("expected FROM->TO pairs such as 26.7.0->26.7.3, comma-separated, got %q", p)
		}
		out = append(out, [2]string{from, to})
	}
	return out, nil
}

// Run runs every column and returns the matrix: the versions in version
// order (26.10 after 26.7), each upgrade from the one before.
func Run(binary, reports string, releases []string, cluster [][2]string, log io.Writer) (report.Matrix, error) {
	releases = slices.Clone(releases)
	slices.SortStableFunc(releases, versions.Compare)
	m := report.Matrix{Title: "kcconform matrix: " + strings.Join(releases, ", ")}
	if _, err := os.Stat(binary); err != nil {
		return m, fmt.Errorf("-binary: %w (make build)", err)
	}
	for i, v := range releases {
		m.Columns = append(m.Columns, column(binary, reports, v, log, "--suite", "offline", "--keycloak-version", v))
		if i > 0 {
			from := releases[i-1]
			m.Columns = append(m.Columns, column(binary, reports, from+"->"+v, log,
				"--suite", "upgrade", "--upgrade-from", from, "--upgrade-to", v))
		}
	}
	for _, p := range cluster {
		m.Columns = append(m.Columns, column(binary, reports, p[0]+"->"+p[1]+" cluster", log,
			"--suite", "cluster", "--target", "process", "--keycloak-version", p[0], "--cluster-upgrade-to", p[1]))
	}
	return m, nil
}

// column runs the kcconform command for one column and reads its report.
func column(binary, reports, name string, log io.Writer, args ...string) report.Column {
	dir, err := filepath.Abs(filepath.Join(reports, strings.NewReplacer(">", "", " ", "-").Replace(name)))
	if err != nil {
		return report.Column{Name: name, Err: err.Error()}
	}
	_ = os.RemoveAll(dir)
	fmt.Fprintf(log, "== matrix: %s %s\n", binary, strings.Join(args, " "))
	cmd := exec.Command(binary, append(args, "--report-dir", dir)...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return report.Column{Name: name, Err: err.Error()}
	}
	out, err := os.Create(filepath.Join(dir, "matrix-run.log"))
	if err != nil {
		return report.Column{Name: name, Err: fmt.Sprintf("run log: %v", err)}
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	runErr := cmd.Run()
	suites, err := report.Load(filepath.Join(dir, "conformance.json"))
	if err != nil {
		return report.Column{Name: name, Err: fmt.Sprintf("no report (%v); run log: %s", runErr, out.Name())}
	}
	return report.Column{Name: name, Run: report.Summarize(suites)}
}

// Write writes the matrix as HTML and Markdown into dir, and the Markdown to
// $GITHUB_STEP_SUMMARY when set.
func Write(m report.Matrix, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	h, err := os.Create(filepath.Join(dir, "matrix.html"))
	if err != nil {
		return err
	}
	if err := m.WriteHTML(h); err != nil {
		h.Close()
		return err
	}
	if err := h.Close(); err != nil {
		return err
	}
	md, err := os.Create(filepath.Join(dir, "summary.md"))
	if err != nil {
		return err
	}
	m.WriteMarkdown(md)
	if err := md.Close(); err != nil {
		return err
	}
	if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
		}
		m.WriteMarkdown(f)
		return f.Close()
	}
	return nil
}

// self is this command's own executable, which runs each release's suites.
func self() string {
	p, err := os.Executable()
	if err != nil {
		return "kcconform"
	}
	return p
}
