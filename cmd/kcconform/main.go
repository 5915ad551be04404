// Command kcconform proves or disproves the promises of the operators'
// offline-token procedure against a real Keycloak, and writes the verdict:
// a table in the terminal, reports/verdict.txt, a self-contained HTML page,
// a Markdown summary (also to $GITHUB_STEP_SUMMARY), and Ginkgo's JSON and
// JUnit reports. It holds every suite, so that one static file runs them on
// a machine with no Go toolchain, Maven or Docker against an external
// Keycloak.
//
//	kcconform [flags]                     the offline suite (the procedure)
//	kcconform --suite revocation,restart  other suites
//	kcconform --list                      the promises it checks
//	kcconform versions                    the Keycloak releases the Maven repository serves
//
// Each suite runs in a child process of this command; SIGINT and SIGTERM are
// passed on to it as an interrupt, so that it cleans up what it created.
package main

import (
	"kcconform/pkg/cmds/benchcompare"
	"kcconform/pkg/cmds/bisect"
	"kcconform/pkg/cmds/cleanserver"
	"kcconform/pkg/cmds/matrix"
	"kcconform/pkg/cmds/verdict"

	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"kcconform/pkg/keycloak"
	"kcconform/pkg/redact"
	"kcconform/pkg/report"
	"kcconform/pkg/run"
	"kcconform/pkg/settings"
	"kcconform/suites"
)

// version is set at build time (-ldflags "-X main.version=…").
var version = ""

// Exit codes: one per verdict, and a leak.
const (
	exitPass     = report.ExitPass
	exitFail     = report.ExitFail
	exitCouldNot = report.ExitCouldNot
	exitLeak     = report.ExitLeak
)

type options struct {
	suites      string
	labelFilter string
	focus       string
	reportDir   string
	list        bool
	showVersion bool
	verbose     bool
	replay      string
	child       string
	childReport string
	timeout     time.Duration
}

func main() {
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}

// settingsFlags declares a flag for every setting of the table, and returns
// their values by variable name.
func settingsFlags(fs *flag.FlagSet) map[string]*string {
	values := map[string]*string{}
	for _, s := range settings.Table {
		v := new(string)
		values[s.Env] = v
		fs.StringVar(v, s.Flag, "", fmt.Sprintf("%s (%s; default %s)", s.Meaning, s.Env, orNone(s.Default)))
	}
	return values
}

// subcommand is one of kcconform's subcommands: what it does, and how it
// runs (its own flags and --help).
type subcommand struct {
	name, usage, summary string
	run                  func(args []string, stdout, stderr io.Writer) int
}

// subcommands is the one dispatch table of everything kcconform runs
// besides the conformance run (the default).
func subcommands() []subcommand {
	deploy := func(name string) func([]string, io.Writer, io.Writer) int {
		return func(args []string, stdout, stderr io.Writer) int { return executeDeploy(name, args, stdout, stderr) }
	}
	return []subcommand{
		{"versions", "versions", "list the Keycloak releases the Maven repository serves (from 22.0 on), pinned and cached marked", nil},
		{"replay", "replay FOLDER", "run a reproduction bundle (reports/repro/FOLDER) again: exit 1 when the failure reproduces", nil},
		{"before", "before [flags]", deployCommands["before"].summary, deploy("before")},
		{"watch", "watch [flags]", deployCommands["watch"].summary, deploy("watch")},
		{"after", "after [flags]", deployCommands["after"].summary, deploy("after")},
		{"state-key", "state-key FILE", "make the state file's key (for a Kubernetes Secret); prints no key", executeStateKey},
		{"verdict", "verdict [-steps] REPORT.json...", "the verdict of Ginkgo JSON reports (exit 0 PASS, 1 FAIL, 2 COULD NOT RUN)", verdict.Main},
		{"clean-server", "clean-server [-run RUNID] [-dry-run]", "remove what earlier runs left on a server (admin rights)", cleanserver.Main},
		{"matrix", "matrix [-reports DIR] [-cluster FROM->TO,...] VERSION...", "the offline suite per version and the upgrade between consecutive ones, as one table", matrix.Main},
		{"bisect", "bisect -good VERSION -bad VERSION [-promise KEY | -metric p50]", "the first served release whose answer (or latency) differs", bisect.Main},
		{"bench-compare", "bench-compare -from VERSION -to VERSION", "the load suite against two versions until every latency ratio is shown or not", benchcompare.Main},
	}
}

func execute(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		for _, c := range subcommands() {
			if c.name == args[0] && c.run != nil {
				return c.run(args[1:], stdout, stderr)
			}
		}
		if args[0] == "replay" {
			if len(args) != 2 || strings.HasPrefix(args[1], "-") {
				fmt.Fprintln(stderr, "usage: kcconform replay reports/repro/FOLDER (settings as variables)")
				return exitCouldNot
			}
			args = []string{"--replay", args[1]}
		}
	}
	fs := flag.NewFlagSet("kcconform", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.suites, "suite", "offline", "suites to run, comma-separated: "+strings.Join(suites.Names(), ", ")+", or all")
	fs.StringVar(&o.labelFilter, "label-filter", "", "run only the specs whose labels match (Ginkgo's label filter, e.g. 'offline && !needs-admin')")
	fs.StringVar(&o.focus, "focus", "", "run only the specs whose text matches this regular expression")
	fs.BoolVar(&o.list, "list", false, "print the promises kcconform checks, and each suite's specs, and exit")
	fs.BoolVar(&o.showVersion, "version", false, "print kcconform's version and the default Keycloak version, and exit")
	fs.BoolVar(&o.verbose, "v", false, "verbose Ginkgo output (every spec and its report entries)")
	fs.DurationVar(&o.timeout, "suite-timeout", 40*time.Minute, "bound of each suite's run")
	fs.StringVar(&o.replay, "replay", "", "run a reproduction bundle (a folder under the reports' repro/) again: exit 1 when the failure reproduces, 0 when it does not")
	fs.StringVar(&o.child, "child", "", "")
	fs.StringVar(&o.childReport, "child-report", "", "")
	values := settingsFlags(fs)
	fs.Usage = func() { usage(fs, stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		return exitCouldNot
	}
	if fs.NArg() > 0 && (fs.NArg() > 1 || fs.Arg(0) != "versions") {
		fmt.Fprintf(stderr, "kcconform: unexpected argument %q (settings are flags or KC_* variables; see --help)\n", fs.Arg(fs.NArg()-1))
		return exitCouldNot
	}
	// A flag stands for its variable; the run hands both on to its suites
	// as variables (settings.Environ).
	flags := map[string]string{}
	for env, v := range values {
		flags[env] = *v
	}
	if fs.NArg() == 1 {
		return listVersions(settings.WithFlags(flags), stdout, stderr)
	}
	if o.child != "" {
		return runChild(o)
	}
	if o.replay != "" {
		return replay(o.replay, settings.WithFlags(flags), stdout, stderr)
	}
	if o.showVersion {
		fmt.Fprintf(stdout, "kcconform %s (default Keycloak %s; %s)\n", buildVersion(), keycloak.DefaultVersion, runtime.Version())
		return exitPass
	}
	if o.list {
		return list(stdout, stderr, o)
	}
	return runParent(o, settings.WithFlags(flags), stdout, stderr)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, `kcconform %s: conformance of Keycloak's long-lived offline tokens to the operators' procedure.

Usage: kcconform [flags]                 the conformance run (the default)
       kcconform SUBCOMMAND [flags]      each with its own --help:
%s
It runs the offline suite (the procedure) against the target KC_TARGET selects and prints the
verdict: PASS, FAIL (which promises) or COULD NOT RUN (why, and the setting to change). Reports go to
--report-dir: verdict.txt, conformance.html, summary.md, conformance.json (Ginkgo), conformance.xml (JUnit)
and the server logs, redacted. Exit status: 0 PASS, 1 FAIL, 2 COULD NOT RUN, 3 a credential leaked.

Against an existing client, as a reader of the procedure:
  kcconform --url https://gw/keycloak --realm shasta --client-id my-test-client   (KC_CLIENT_SECRET in the environment)

Flags:
  --suite NAMES         suites to run, comma-separated: %s, or all (default offline)
  --label-filter EXPR   run only specs whose labels match, e.g. 'offline && !needs-admin'
  --focus REGEXP        run only specs whose text matches
  --list                print the promises it checks and each suite's specs
  --version             print kcconform's version and the default Keycloak version
  -v                    verbose Ginkgo output
  --suite-timeout D     bound of each suite's run (default 40m)

Settings (a flag, or its variable in the environment; secrets are best given in the environment):
`, buildVersion(), subcommandLines(), strings.Join(suites.Names(), ", "))
	for _, s := range settings.Table {
		fmt.Fprintf(w, "  --%-27s %s\n  %-29s %s (default: %s)\n", s.Flag+" ", s.Env, "", s.Meaning, orNone(s.Default))
	}
}

// subcommandLines lists the subcommands for --help.
func subcommandLines() string {
	var b strings.Builder
	for _, c := range subcommands() {
		fmt.Fprintf(&b, "         %-62s %s\n", c.usage, c.summary)
	}
	return b.String()
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

// selected returns the suites --suite names.
func selected(o options) ([]string, error) {
	if o.suites == "all" {
		return suites.Names(), nil
	}
	var out []string
	for _, n := range strings.Split(o.suites, ",") {
		n = strings.TrimSpace(n)
		if _, ok := suites.Find(n); !ok {
			return nil, fmt.Errorf("--suite: expected %s or all, got %q", strings.Join(suites.Names(), ", "), n)
		}
		out = append(out, n)
	}
	return out, nil
}

// runParent checks the settings, runs each suite in a child process with
// its output shown and kept, and writes the verdict and the reports.
func runParent(o options, lookup settings.Lookup, stdout, stderr io.Writer) int {
	began := time.Now()
	names, err := selected(o)
	if err != nil {
		return couldNotRun(stdout, err)
	}
	st, err := settings.Parse(lookup)
	if err != nil {
		return couldNotRun(stdout, err)
	}
	reportDir := st.ReportDir
	if err := os.MkdirAll(reportDir, 0o755); err != nil {
		return couldNotRun(stdout, fmt.Errorf("KC_REPORT_DIR: %w", err))
	}
	// Reproduction bundles are this run's: an earlier run's would read as
	// its failures.
	if err := os.RemoveAll(filepath.Join(reportDir, "repro")); err != nil {
		return couldNotRun(stdout, fmt.Errorf("KC_REPORT_DIR: remove the last run's reproduction bundles: %w", err))
	}
	// The leak scan at the end looks for the run's own credentials: the
	// children record their fingerprints (never the credentials) here.
	if st.Fingerprints == "" {
		if st.Fingerprints, err = os.MkdirTemp("", "kcconform-fp-"); err != nil {
			return couldNotRun(stdout, err)
		}
		defer os.RemoveAll(st.Fingerprints)
	}
	fpDir := st.Fingerprints
	if fi, err := os.Stdout.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		st.Color = true
	}
	// One run id and one run key for every child and parallel process.
	r := run.New(st)
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(signals)

	var outputs, jsonReports []string
	interrupted := false
	for _, name := range names {
		base := reportBase(name, len(names))
		outLog := filepath.Join(reportDir, base+"-output.log")
		jsonReport := filepath.Join(reportDir, base+".json")
		os.Remove(jsonReport)
		code, sig := runSuiteChild(o, r, name, base, reportDir, outLog, stdout, signals)
		outputs = append(outputs, outLog)
		jsonReports = append(jsonReports, jsonReport)
		if sig || code == -1 {
			interrupted = true
			break
		}
	}

	var all []report.Suite
	for _, p := range jsonReports {
		s, err := report.Load(p)
		if err != nil {
			fmt.Fprintf(stderr, "kcconform: %v\n", err)
			continue
		}
		all = append(all, s...)
	}
	summary := report.Summarize(all)
	if summary.Duration == 0 {
		summary.Duration = time.Since(began)
	}
	if interrupted && summary.Interrupted == 0 {
		summary.Interrupted = 1
	}
	code := writeVerdict(summary, o, reportDir, stdout, stderr)
	if leakCode := leakScan(fpDir, append(outputs, reportDir), stdout); leakCode != exitPass {
		return leakCode
	}
	return code
}

// reportBase names a suite's reports: "conformance" for a run of one suite
// (make conformance's names), else the suite's name.
func reportBase(name string, n int) string {
	if n == 1 {
		return "conformance"
	}
	return name
}

func couldNotRun(w io.Writer, err error) int {
	fmt.Fprintf(w, "verdict: %s: %s\n", report.StatusCouldNot, redact.New().String(err.Error()))
	return exitCouldNot
}

// runSuiteChild runs one suite in a child process of this command, in a
// process group of its own (so that a terminal's Ctrl-C reaches it once,
// through this process), and passes SIGINT and SIGTERM on as an interrupt.
// Should this process be killed, the child gets an interrupt from the
// kernel (parent-death signal) and cleans up. It returns the child's exit
// code and whether a signal arrived.
func runSuiteChild(o options, r *run.Run, name, base, reportDir, outLog string, stdout io.Writer, signals <-chan os.Signal) (int, bool) {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stdout, "kcconform: %v\n", err)
		return -1, false
	}
	args := []string{"--child", name, "--suite-timeout", o.timeout.String()}
	if o.labelFilter != "" {
		args = append(args, "--label-filter", o.labelFilter)
	}
	if o.focus != "" {
		args = append(args, "--focus", o.focus)
	}
	if o.verbose {
		args = append(args, "-v")
	}
	args = append(args, "--report-dir", reportDir, "--child-report", base)
	logFile, err := os.Create(outLog)
	if err != nil {
		fmt.Fprintf(stdout, "kcconform: %v\n", err)
		return -1, false
	}
	defer logFile.Close()
	cmd := exec.Command(self, args...)
	cmd.Stdout = io.MultiWriter(stdout, plainWriter{logFile})
	cmd.Stderr = cmd.Stdout
	cmd.Env = r.Environ(os.Environ())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGINT}
	// The parent-death signal follows the thread that started the child:
	// keep that thread for this goroutine until the child has exited.
	started := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		fmt.Fprintf(stdout, "kcconform: start the %s suite: %v\n", name, err)
		return -1, false
	}
	signalled := false
	for {
		select {
		case err := <-done:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return ee.ExitCode(), signalled
			}
			return 0, signalled
		case s := <-signals:
			signalled = true
			fmt.Fprintf(stdout, "\nkcconform: %v: interrupting the %s suite; it cleans up what it created\n", s, name)
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		}
	}
}
