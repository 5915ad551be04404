// Package settings is the one place where kcconform reads what a user, or a
// run, sets: the KC_* variables and the flags that mirror them. Parse checks
// every value once, before any request, and an error names the variable
// and what was expected. A run hands its settings on to its own processes
// as variables again (Environ), so that each process parses the same values
// the same way.
package settings

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"kcconform/pkg/profile"
	"kcconform/pkg/target"
	"kcconform/pkg/versions"
)

// Settings are a run's settings, parsed and checked.
type Settings struct {
	// Server selects and configures the target.
	Server target.Config
	// Profile is what the server is expected to send.
	Profile profile.Profile
	// Fixture is the realm representation the provisioned mode creates
	// (KC_FIXTURE); empty: the one built into kcconform.
	Fixture string
	// UpgradeFrom and UpgradeTo are the upgrade suite's versions, and
	// UpgradeVia the releases it passes through between them, in order.
	UpgradeFrom, UpgradeTo string
	UpgradeVia             []string
	// LoadRates (per second) and LoadStep are the load suite's steps.
	LoadRates []int
	LoadStep  time.Duration
	// ClusterNodes is the size of the cluster suite's cluster.
	ClusterNodes int
	// ClusterRate is the refreshes per second of the cluster suite's load.
	ClusterRate int
	// ClusterUpgradeTo is the version the cluster suite upgrades its
	// nodes to (empty: none).
	ClusterUpgradeTo string
	// RunID tags the run's objects on a server; empty: the run makes one.
	RunID string
	// RunKey is the run's secret key (see RunKeyEnv); empty: the run makes one.
	RunKey string
	// ReportDir is where reports and server logs go (absolute).
	ReportDir string
	// Fingerprints is the folder of the leak scan's fingerprints (empty:
	// none are recorded).
	Fingerprints string
	// Binary is the kcconform command the self-checks run (empty: found).
	Binary string
	// BinaryImage is kcconform's container image the deployment suite runs
	// its commands in (empty: the binary).
	BinaryImage string
	// Color asks for terminal colours in the suites' output.
	Color bool

	// given are the variables as given, handed on by Environ.
	given map[string]string
}

// Lookup returns a variable's value ("" when unset): os.Getenv, or flags
// over the environment.
type Lookup func(string) string

// FromEnvironment parses the process's environment.
func FromEnvironment() (Settings, error) { return Parse(os.Getenv) }

// WithFlags is a Lookup that takes a variable from flags (by variable name)
// where one was given, else from the environment.
func WithFlags(flags map[string]string) Lookup {
	return func(k string) string {
		if v := flags[k]; v != "" {
			return v
		}
		return os.Getenv(k)
	}
}

// runIDPattern keeps run ids usable in realm and container names.
var runIDPattern = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// Parse reads and checks every setting.
func Parse(get Lookup) (Settings, error) {
	s := Settings{given: map[string]string{}}
	for _, st := range Table {
		if v := get(st.Env); v != "" {
			s.given[st.Env] = v
		}
	}
	var err error
	if s.Profile, err = parseProfile(get); err != nil {
		return s, err
	}
	if s.Server, err = parseServer(get); err != nil {
		return s, err
	}
	s.Fixture = get("KC_FIXTURE")
	if s.Fixture != "" {
		if _, err := os.Stat(s.Fixture); err != nil {
			return s, fmt.Errorf("KC_FIXTURE: expected a realm representation (JSON file): %w", err)
		}
	}
	s.UpgradeFrom, s.UpgradeTo = get("KC_UPGRADE_FROM"), get("KC_UPGRADE_TO")
	if s.UpgradeFrom == "" {
		s.UpgradeFrom = versions.UpgradeFrom
	}
	if s.UpgradeTo == "" {
		s.UpgradeTo = versions.Default
	}
	for key, v := range map[string]string{"KC_UPGRADE_FROM": s.UpgradeFrom, "KC_UPGRADE_TO": s.UpgradeTo} {
		if !versionPattern.MatchString(v) {
			return s, fmt.Errorf("%s: expected a Keycloak version such as %s, got %q", key, versions.Default, v)
		}
	}
	if v := get("KC_UPGRADE_VIA"); v != "" {
		prev := s.UpgradeFrom
		for _, x := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
			if !versionPattern.MatchString(x) || versions.Compare(x, prev) <= 0 || versions.Compare(x, s.UpgradeTo) >= 0 {
				return s, fmt.Errorf("KC_UPGRADE_VIA: expected Keycloak versions between KC_UPGRADE_FROM (%s) and KC_UPGRADE_TO (%s), ascending, comma-separated, got %q", s.UpgradeFrom, s.UpgradeTo, v)
			}
			s.UpgradeVia = append(s.UpgradeVia, x)
			prev = x
		}
	}
	if s.LoadRates, s.LoadStep, err = parseLoad(get); err != nil {
		return s, err
	}
	s.ClusterNodes = 3
	if v := get("KC_CLUSTER_NODES"); v != "" {
		if s.ClusterNodes, err = strconv.Atoi(v); err != nil || s.ClusterNodes < 2 || s.ClusterNodes > 5 {
			return s, fmt.Errorf("KC_CLUSTER_NODES: expected a number of nodes from 2 to 5, got %q", v)
		}
	}
	s.ClusterRate = 10
	if v := get("KC_CLUSTER_RATE"); v != "" {
		if s.ClusterRate, err = strconv.Atoi(v); err != nil || s.ClusterRate < 1 || s.ClusterRate > 200 {
			return s, fmt.Errorf("KC_CLUSTER_RATE: expected refreshes per second from 1 to 200, got %q", v)
		}
	}
	if s.ClusterUpgradeTo = get("KC_CLUSTER_UPGRADE_TO"); s.ClusterUpgradeTo != "" {
		if !versionPattern.MatchString(s.ClusterUpgradeTo) {
			return s, fmt.Errorf("KC_CLUSTER_UPGRADE_TO: expected a Keycloak version such as %s, got %q", versions.Default, s.ClusterUpgradeTo)
		}
		if s.Server.Target != target.Process {
			return s, fmt.Errorf("KC_CLUSTER_UPGRADE_TO: the cluster upgrade runs the distributions' kc.sh update-compatibility: needs KC_TARGET=process, not %s", s.Server.Target)
		}
	}
	if s.RunID = get("KC_RUN_ID"); s.RunID != "" && !runIDPattern.MatchString(s.RunID) {
		return s, fmt.Errorf("KC_RUN_ID: expected 1 to 32 lower-case letters, digits or dashes, got %q", s.RunID)
	}
	s.RunKey = get(RunKeyEnv)
	s.ReportDir = get("KC_REPORT_DIR")
	if s.ReportDir == "" {
		s.ReportDir = "reports"
	}
	if s.ReportDir, err = filepath.Abs(s.ReportDir); err != nil {
		return s, fmt.Errorf("KC_REPORT_DIR: %w", err)
	}
	s.Server.ReportDir = s.ReportDir
	s.Fingerprints, s.Binary, s.BinaryImage = get(FingerprintsEnv), get(BinaryEnv), get(BinaryImageEnv)
	s.Color = get(ColorEnv) == "1"
	return s, nil
}

// parseLoad reads the load suite's steps.
func parseLoad(get Lookup) ([]int, time.Duration, error) {
	rates, step := "25,50,100", 5*time.Second
	if v := get("KC_LOAD_RATES"); v != "" {
		rates = v
	}
	if v := get("KC_LOAD_STEP"); v != "" {
		d, err := ParseDuration(v)
		if err != nil || d > time.Minute {
			return nil, 0, fmt.Errorf("KC_LOAD_STEP: expected a duration up to 1m, got %q", v)
		}
		step = d
	}
	var out []int
	for _, r := range strings.Split(rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 || n > 2000 {
			return nil, 0, fmt.Errorf("KC_LOAD_RATES: expected rates from 1 to 2000 per second, comma-separated, got %q", rates)
		}
		out = append(out, n)
	}
	return out, step, nil
}

// Environ is base (a process's environment) with every KC_* variable
// replaced by these settings: what a run hands to its own processes. The
// target is resolved (the child does not probe for Docker again), and the
// run's id, key, report folder and fingerprint folder are included.
func (s Settings) Environ(base []string) []string {
	var out []string
	for _, kv := range base {
		if !strings.HasPrefix(kv, "KC_") {
			out = append(out, kv)
		}
	}
	set := map[string]string{}
	for k, v := range s.given {
		set[k] = v
	}
	set["KC_TARGET"] = s.Server.Target
	set["KC_REPORT_DIR"] = s.ReportDir
	set["KC_RUN_ID"] = s.RunID
	set[RunKeyEnv] = s.RunKey
	set[FingerprintsEnv] = s.Fingerprints
	set[BinaryEnv] = s.Binary
	set[BinaryImageEnv] = s.BinaryImage
	if s.Color {
		set[ColorEnv] = "1"
	}
	for k, v := range set {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// maxSeconds bounds every duration setting, so that none overflows
// time.Duration (about 292 years).
const maxSeconds = 100 * 365 * 24 * 3600

// ParseDuration reads a duration setting: a number of seconds, a Go
// duration (90s, 2h) or a number of days (30d). It refuses values that are
// not positive or that would overflow.
func ParseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n <= 0 || n > maxSeconds/86400 {
			return 0, fmt.Errorf("expected a whole number of days from 1 to %d, got %q", maxSeconds/86400, v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 || n > maxSeconds {
			return 0, fmt.Errorf("expected a number of seconds from 1 to %d, got %q", maxSeconds, v)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > maxSeconds*time.Second {
		return 0, fmt.Errorf("expected a positive duration such as 30s, 2h or 30d, up to 100 years, got %q", v)
	}
	return d, nil
}

// duration reads a duration setting, naming the variable when it is wrong.
func duration(get Lookup, key string, def time.Duration) (time.Duration, error) {
	v := get(key)
	if v == "" {
		return def, nil
	}
	d, err := ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return d, nil
}

// boolean reads a true/false setting.
func boolean(get Lookup, key string) (bool, error) {
	v := get(key)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: expected true or false, got %q", key, v)
	}
	return b, nil
}
