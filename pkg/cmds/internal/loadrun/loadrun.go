// Package loadrun runs the kcconform command's load suite on one Keycloak
// release (process target) and reads its load report: what bench-compare
// and bisect's latency mode both measure with.
package loadrun

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"kcconform/pkg/load"
)

// Run runs binary's load suite against version, with its reports in dir
// (an earlier run's there are removed) and its output in dir+".log", and
// returns the load report.
func Run(binary, version, dir string) (load.Report, error) {
	var rep load.Report
	dir, err := filepath.Abs(dir)
	if err != nil {
		return rep, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return rep, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return rep, err
	}
	logPath := dir + ".log"
	logFile, err := os.Create(logPath)
	if err != nil {
		return rep, err
	}
	defer logFile.Close()
	cmd := exec.Command(binary, "--suite", "load", "--keycloak-version", version, "--report-dir", dir)
	cmd.Env = append(os.Environ(), "KC_TARGET=process")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	runErr := cmd.Run()
	b, err := os.ReadFile(filepath.Join(dir, "load-"+version+".json"))
	if err != nil {
		return rep, fmt.Errorf("Keycloak %s gave no load report (%w); see %s", version, runErr, logPath)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return rep, fmt.Errorf("Keycloak %s: load report: %w", version, err)
	}
	return rep, nil
}
