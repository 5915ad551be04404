package main

// The release engineer's own upgrade: `kcconform before` takes stored
// offline tokens from their deployment and writes them, with the verdict,
// to an encrypted state file; `kcconform watch` refreshes them while their
// tooling upgrades the deployment; `kcconform after` refreshes every one,
// compares the verdicts, and revokes what kcconform took.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"kcconform/pkg/admin"
	"kcconform/pkg/report"
	"kcconform/pkg/run"
	"kcconform/pkg/seed"
	"kcconform/pkg/settings"
	"kcconform/pkg/state"
	"kcconform/pkg/tokenflow"
	"kcconform/pkg/transport"
)

// Environment variables of the upgrade commands (flags --state and
// --state-key-file stand for them).
const (
	stateFileEnv = "KC_STATE_FILE"
	stateKeyEnv  = "KC_STATE_KEY_FILE"
	maxTokens    = 100000
)

// deployOptions are the upgrade commands' own flags.
type deployOptions struct {
	state, key  string
	tokens      int
	concurrency int
	rate        int
	watchFor    time.Duration
	keep        bool
	verdict     bool
}

// deployCommand is one of before, watch and after.
type deployCommand struct {
	name, summary string
	run           func(d *deployment, o deployOptions, stdout io.Writer) int
	flags         func(fs *flag.FlagSet, o *deployOptions)
}

var deployCommands = map[string]deployCommand{
	"before": {"before", "take stored offline tokens from a deployment, run the verdict, write the state file", runBefore,
		func(fs *flag.FlagSet, o *deployOptions) {
			fs.IntVar(&o.tokens, "tokens", 20, "offline tokens to take and store (1 to 100000)")
			fs.IntVar(&o.concurrency, "concurrency", 8, "grants under way at once (1 to 64)")
		}},
	"watch": {"watch", "refresh the stored tokens at --rate per second until stopped or --for, with a per-second timeline", runWatch,
		func(fs *flag.FlagSet, o *deployOptions) {
			fs.IntVar(&o.rate, "rate", 10, "refreshes per second (1 to 200)")
			fs.DurationVar(&o.watchFor, "for", 0, "stop after this long (default: until SIGINT or SIGTERM)")
		}},
	"after": {"after", "refresh every stored token, run the verdict again and compare, then revoke what kcconform took", runAfter,
		func(fs *flag.FlagSet, o *deployOptions) {
			fs.IntVar(&o.concurrency, "concurrency", 8, "refreshes under way at once (1 to 64)")
			fs.BoolVar(&o.keep, "keep", false, "leave the tokens and the state file for another after")
		}},
}

// deployment is what every upgrade command needs: the settings, the client
// and the state file's key.
type deployment struct {
	st     settings.Settings
	run    *run.Run
	flow   *tokenflow.Client
	admin  *admin.Client
	realm  string
	client string
	key    *state.Identity
	o      deployOptions
	lookup settings.Lookup
	stderr io.Writer
}

// executeDeploy parses an upgrade command's flags and runs it.
func executeDeploy(name string, args []string, stdout, stderr io.Writer) int {
	cmd := deployCommands[name]
	fs := flag.NewFlagSet("kcconform "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o deployOptions
	fs.StringVar(&o.state, "state", "", "the state file ("+stateFileEnv+")")
	fs.StringVar(&o.key, "state-key-file", "", "the state file's key, kept apart from it ("+stateKeyEnv+"); before makes one where none exists")
	fs.BoolVar(&o.verdict, "verdict", name != "watch", "run the offline suite's verdict (before and after)")
	cmd.flags(fs, &o)
	values := settingsFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kcconform %s [flags]\n\n%s.\nThe deployment is KC_URL (its gateway) with the client KC_REALM, KC_CLIENT_ID and KC_CLIENT_SECRET\n(client-only), or administrator credentials beside them (the version is read, sessions counted).\n\nFlags:\n", name, cmd.summary)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		return exitCouldNot
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kcconform %s: unexpected argument %q (see --help)\n", name, fs.Arg(0))
		return exitCouldNot
	}
	flags := map[string]string{}
	for env, v := range values {
		flags[env] = *v
	}
	lookup := settings.WithFlags(flags)
	if o.state == "" {
		o.state = lookup(stateFileEnv)
	}
	if o.key == "" {
		o.key = lookup(stateKeyEnv)
	}
	d, err := newDeployment(name, o, lookup, stderr)
	if err != nil {
		return couldNotRun(stdout, fmt.Errorf("kcconform %s: %w", name, err))
	}
	return cmd.run(d, o, stdout)
}

// executeStateKey makes a state key where a pipeline needs one before any
// before runs (a Kubernetes Secret): `kcconform state-key FILE`. It prints
// the file's name, never the key.
func executeStateKey(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kcconform state-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kcconform state-key FILE\n\nMake a state key (an age X25519 key, 0600) for --state-key-file, e.g. for a Kubernetes Secret:\n"+
			"  kcconform state-key state.key && kubectl create secret generic kcconform-state-key --from-file=state.key\n")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		return exitCouldNot
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "kcconform state-key: FILE: expected the key file's path (one argument)")
		return exitCouldNot
	}
	if _, err := state.NewKey(fs.Arg(0)); err != nil {
		fmt.Fprintf(stderr, "kcconform state-key: %v\n", err)
		return exitCouldNot
	}
	fmt.Fprintf(stdout, "kcconform state-key: made %s (0600); keep it apart from the state file\n", fs.Arg(0))
	return exitPass
}

// newDeployment checks the settings and opens (or, for before, makes) the
// state file's key.
func newDeployment(name string, o deployOptions, lookup settings.Lookup, stderr io.Writer) (*deployment, error) {
	if o.state == "" {
		return nil, fmt.Errorf("--state (%s): expected the state file's path", stateFileEnv)
	}
	if o.key == "" {
		return nil, fmt.Errorf("--state-key-file (%s): expected the key file's path, apart from the state file", stateKeyEnv)
	}
	if sameFile(o.state, o.key) {
		return nil, fmt.Errorf("--state-key-file: expected a file apart from the state file, got the state file itself (%s)", o.key)
	}
	if name == "before" && (o.tokens < 1 || o.tokens > maxTokens) {
		return nil, fmt.Errorf("--tokens: expected 1 to %d, got %d", maxTokens, o.tokens)
	}
	if name != "watch" && (o.concurrency < 1 || o.concurrency > 64) {
		return nil, fmt.Errorf("--concurrency: expected 1 to 64, got %d", o.concurrency)
	}
	if name == "watch" && (o.rate < 1 || o.rate > 200) {
		return nil, fmt.Errorf("--rate: expected refreshes per second from 1 to 200, got %d", o.rate)
	}
	external := func(k string) string {
		if k == "KC_TARGET" && lookup(k) == "" {
			return "external"
		}
		return lookup(k)
	}
	st, err := settings.Parse(external)
	if err != nil {
		return nil, err
	}
	if st.Server.Target != "external" {
		return nil, fmt.Errorf("KC_TARGET: expected external (the deployment at KC_URL), got %q", st.Server.Target)
	}
	c := st.Server.Client
	if c == nil {
		return nil, errors.New("KC_REALM and KC_CLIENT_ID: expected the client whose offline tokens span the upgrade")
	}
	if err := os.MkdirAll(st.ReportDir, 0o755); err != nil {
		return nil, fmt.Errorf("KC_REPORT_DIR: %w", err)
	}
	d := &deployment{st: st, run: run.New(st), realm: c.Realm, client: c.ClientID, o: o, lookup: external, stderr: stderr}
	hc, err := transport.New(transport.Options{CAFile: st.Server.CAFile, InsecureSkipVerify: st.Server.InsecureSkipVerify, Timeout: st.Server.Timeout})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*st.Server.Timeout)
	defer cancel()
	secret := c.Secret
	if !st.Server.Admin.Empty() {
		if d.admin, err = admin.New(st.Server.URL, st.Server.Admin, hc, d.run.Redactor); err != nil {
			return nil, err
		}
		if secret == "" {
			rep, err := d.admin.FindClient(ctx, c.Realm, c.ClientID)
			if err != nil {
				return nil, fmt.Errorf("read the client %s of realm %s: %w", c.ClientID, c.Realm, err)
			}
			if secret, err = d.admin.ClientSecret(ctx, c.Realm, rep.ID); err != nil {
				return nil, fmt.Errorf("read the secret of client %s: %w", c.ClientID, err)
			}
			d.run.Redactor.AddSecret(secret)
		}
	}
	if secret == "" {
		return nil, errors.New("KC_CLIENT_SECRET: expected the client's secret (or administrator credentials that can read it)")
	}
	d.flow = tokenflow.NewClient(tokenflow.RealmEndpoints(st.Server.URL, c.Realm), c.ClientID, secret, hc, d.run.Redactor)
	if _, err := os.Stat(o.key); errors.Is(err, os.ErrNotExist) && name == "before" {
		if _, err := os.Stat(o.state); err == nil {
			return nil, fmt.Errorf("--state-key-file: %s does not exist, but the state file %s does: give its key, or remove the state file", o.key, o.state)
		}
		if d.key, err = state.NewKey(o.key); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "kcconform before: made the state key %s (0600): keep it apart from the state file, as a Secret\n", o.key)
	} else if d.key, err = state.ReadKey(o.key); err != nil {
		return nil, fmt.Errorf("--state-key-file: %w", err)
	}
	return d, nil
}

func sameFile(a, b string) bool {
	pa, errA := filepath.Abs(a)
	pb, errB := filepath.Abs(b)
	if errA == nil && errB == nil && pa == pb {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// mode names how the command runs against the deployment.
func (d *deployment) mode() string {
	if d.admin != nil {
		return "with admin rights"
	}
	return "client-only"
}

// version reads the server's version where admin rights allow.
func (d *deployment) version(ctx context.Context) string {
	if d.admin == nil {
		return "unknown (client-only: no admin rights to read it)"
	}
	v, err := d.admin.ServerVersion(ctx)
	if err != nil {
		return "unknown (" + d.run.Redactor.String(err.Error()) + ")"
	}
	return v
}

// load opens the state file and checks that it is this deployment's.
func (d *deployment) load() (*state.State, error) {
	st, err := state.Load(d.o.state, d.key)
	if err != nil {
		return nil, err
	}
	if err := st.Matches(d.st.Server.URL, d.realm, d.client); err != nil {
		return nil, err
	}
	for _, t := range st.Tokens {
		d.run.Redactor.AddToken(t.Refresh)
	}
	return st, nil
}

// verdict runs the offline suite against the deployment, as the default
// command does, and returns its verdict line and rows.
func (d *deployment) verdict(stdout io.Writer, sub string) (string, []state.Check, int) {
	dir := filepath.Join(d.st.ReportDir, sub)
	over := func(k string) string {
		if k == "KC_REPORT_DIR" {
			return dir
		}
		return d.lookup(k)
	}
	code := runParent(options{suites: "offline", timeout: 40 * time.Minute}, over, stdout, d.stderr)
	suites, err := report.Load(filepath.Join(dir, "conformance.json"))
	if err != nil {
		return fmt.Sprintf("%s: no report (%v)", report.StatusCouldNot, err), nil, code
	}
	sum := report.Summarize(suites)
	status, why := sum.Verdict()
	line := string(status)
	if why != "" {
		line += ": " + why
	}
	return line, promiseResults(sum.Rows), code
}

// promiseResults folds the rows into one result per promise: FAIL where
// any check failed (not as intended), pass where one passed, else n/a.
func promiseResults(rows []report.Row) []state.Check {
	by := map[string]*state.Check{}
	var order []string
	for _, r := range rows {
		if r.AsIntended || r.CutShort {
			continue
		}
		k := r.Promise
		c := by[k]
		if c == nil {
			c = &state.Check{Promise: r.Promise, Class: string(r.Class), Result: string(r.Result), Sent: r.Sent}
			by[k] = c
			order = append(order, k)
			continue
		}
		switch {
		case r.Result == report.Fail && c.Result != string(report.Fail):
			c.Result, c.Sent = string(r.Result), r.Sent
		case r.Result == report.Pass && c.Result != string(report.Fail):
			c.Result, c.Sent = string(r.Result), r.Sent
		}
	}
	out := make([]state.Check, 0, len(order))
	for _, k := range order {
		out = append(out, *by[k])
	}
	return out
}

// signalContext ends on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

func runBefore(d *deployment, o deployOptions, stdout io.Writer) int {
	ctx, stop := signalContext()
	defer stop()
	if _, err := os.Stat(o.state); err == nil {
		return couldNotRun(stdout, fmt.Errorf("kcconform before: the state file %s exists: run kcconform after on it first (or remove it, revoking nothing)", o.state))
	}
	st := &state.State{URL: d.st.Server.URL, Realm: d.realm, ClientID: d.client, Created: time.Now().UTC(), Mode: d.mode()}
	vctx, vcancel := context.WithTimeout(ctx, 2*d.st.Server.Timeout)
	st.Version = d.version(vctx)
	vcancel()
	fmt.Fprintf(stdout, "kcconform before: %s, realm %s, client %s (%s); Keycloak %s\n", st.URL, st.Realm, st.ClientID, st.Mode, st.Version)
	if o.verdict {
		var code int
		st.Verdict, st.Checks, code = d.verdict(stdout, "before")
		if code == exitCouldNot || code == exitLeak {
			fmt.Fprintf(stdout, "verdict: %s: kcconform before: the verdict before the upgrade could not be had (%s); no token taken\n", report.StatusCouldNot, st.Verdict)
			return exitCouldNot
		}
	}
	st.Settings = append(st.Settings, fmt.Sprintf("mode %s; %d token(s) at concurrency %d", st.Mode, o.tokens, o.concurrency))
	began := time.Now()
	issued := make([]time.Time, o.tokens)
	toks, errs := seed.Take(ctx, o.tokens, o.concurrency, 4*d.st.Server.Timeout, d.stderr, func(ctx context.Context, i int) (*tokenflow.Response, error) {
		defer func() { issued[i] = time.Now().UTC() }()
		return d.flow.ClientCredentials(ctx, "offline_access")
	})
	took := time.Since(began)
	for i, t := range toks {
		if t != "" {
			st.Tokens = append(st.Tokens, state.Token{N: i + 1, Refresh: t, Issued: issued[i]})
		}
	}
	var firstErr error
	for _, e := range errs {
		if e != nil {
			firstErr = e
			break
		}
	}
	if len(st.Tokens) < o.tokens {
		// What was taken is revoked again: a state file with fewer tokens
		// than asked would prove less than the operator asked for.
		d.revokeAll(st.Tokens)
		why := "interrupted"
		if firstErr != nil {
			why = d.run.Redactor.String(firstErr.Error())
		}
		fmt.Fprintf(stdout, "verdict: %s: kcconform before: %d of %d offline tokens taken (%s); those taken were revoked, no state written\n", report.StatusCouldNot, len(st.Tokens), o.tokens, why)
		return exitCouldNot
	}
	if err := state.Save(o.state, d.key, st); err != nil {
		d.revokeAll(st.Tokens)
		return couldNotRun(stdout, fmt.Errorf("kcconform before: %w (the tokens taken were revoked)", err))
	}
	fmt.Fprintf(stdout, "kcconform before: %d offline token(s) taken in %s (%.1f grants/s), stored encrypted in %s\n", len(st.Tokens), took.Round(time.Millisecond), float64(len(st.Tokens))/took.Seconds(), o.state)
	if d.admin != nil {
		d.reportSessionCount(stdout, "before")
	}
	if st.Verdict != "" {
		fmt.Fprintf(stdout, "verdict before the upgrade: %s\n", st.Verdict)
	}
	fmt.Fprintln(stdout, "next: upgrade the deployment (kcconform watch meanwhile), then kcconform after")
	return exitPass
}

// reportSessionCount prints the client's offline sessions (admin rights).
func (d *deployment) reportSessionCount(w io.Writer, when string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*d.st.Server.Timeout)
	defer cancel()
	rep, err := d.admin.FindClient(ctx, d.realm, d.client)
	if err != nil {
		return
	}
	var n struct {
		Count int `json:"count"`
	}
	if err := d.admin.Do(ctx, "GET", "/admin/realms/"+d.realm+"/clients/"+rep.ID+"/offline-session-count", nil, &n); err == nil {
		fmt.Fprintf(w, "kcconform %s: the client has %d offline session(s) (offline-session-count)\n", when, n.Count)
	}
}

// revokeAll revokes tokens at the RFC 7009 endpoint (every release served
// offers it, with no admin rights); it returns how many were refused.
func (d *deployment) revokeAll(toks []state.Token) int {
	var mu sync.Mutex
	failed := 0
	seed.ForEach(context.Background(), len(toks), 8, func(i int) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*d.st.Server.Timeout)
		defer cancel()
		if err := d.flow.Revoke(ctx, toks[i].Refresh); err != nil {
			mu.Lock()
			failed++
			mu.Unlock()
		}
	})
	return failed
}

// classify names a refresh's outcome for the timeline and the counts:
// "200", "refused", "5xx" or "unreachable", with the answer's words.
func classify(err error) (class, answer string) {
	if err == nil {
		return "200", ""
	}
	e, ok := tokenflow.AsError(err)
	switch {
	case ok && e.Status >= 500:
		return "5xx", strings.TrimSpace(fmt.Sprintf("HTTP %d %s", e.Status, e.Code))
	case ok && e.Status > 0:
		return "refused", fmt.Sprintf("HTTP %d %s %q", e.Status, e.Code, e.Description)
	}
	msg := err.Error()
	if ok {
		msg = e.Cause
	}
	switch {
	case strings.Contains(msg, "connection refused"):
		return "unreachable", "connection refused"
	case strings.Contains(msg, "deadline exceeded") || strings.Contains(msg, "timeout"):
		return "unreachable", "timeout"
	case strings.Contains(msg, "connection reset") || strings.Contains(msg, "EOF"):
		return "unreachable", "connection reset"
	}
	return "unreachable", "no answer"
}

// answersLine lists counted answers, most first.
func answersLine(m map[string]int) string {
	type kv struct {
		k string
		n int
	}
	var l []kv
	for k, n := range m {
		l = append(l, kv{k, n})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].n > l[j].n || (l[i].n == l[j].n && l[i].k < l[j].k) })
	var parts []string
	for _, x := range l {
		parts = append(parts, fmt.Sprintf("%d× %s", x.n, x.k))
	}
	return strings.Join(parts, ", ")
}
