package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"kcconform/pkg/load"
	"kcconform/pkg/report"
	"kcconform/pkg/seed"
	"kcconform/pkg/state"
)

// watchTimeout bounds one refresh of the watch, so that a hanging gateway
// shows as timeouts second by second instead of stalling the timeline.
const watchTimeout = 5 * time.Second

// watcher is a running watch: the state it refreshes and its seconds.
type watcher struct {
	d     *deployment
	st    *state.State
	began time.Time
	rate  int

	mu      sync.Mutex
	next    int
	seconds map[int]*watchSecond
	answers map[string]int
}

type watchSecond struct {
	load.Second
	lat []time.Duration
}

func runWatch(d *deployment, o deployOptions, stdout io.Writer) int {
	st, err := d.load()
	if err != nil {
		return couldNotRun(stdout, fmt.Errorf("kcconform watch: %w", err))
	}
	if len(st.Tokens) == 0 {
		return couldNotRun(stdout, fmt.Errorf("kcconform watch: the state file %s holds no token", o.state))
	}
	ctx, stop := signalContext()
	defer stop()
	if o.watchFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.watchFor)
		defer cancel()
	}
	w := &watcher{d: d, st: st, began: time.Now(), rate: o.rate, seconds: map[int]*watchSecond{}, answers: map[string]int{}}
	st.Watches = append(st.Watches, state.Watch{Began: w.began.UTC()})
	timeline := filepath.Join(d.st.ReportDir, "watch-"+w.began.UTC().Format("20060102T150405")+".json")
	st.Watches[len(st.Watches)-1].Timeline = timeline
	fmt.Fprintf(stdout, "kcconform watch: refreshing %d stored token(s) through %s at %d/s until stopped%s; timeline %s\n",
		len(st.Tokens), st.URL, o.rate, forText(o.watchFor), timeline)

	// The state and the timeline are saved every second: a watch killed
	// at any moment leaves the newest tokens it had saved, and its seconds.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	tick := time.NewTicker(time.Second / time.Duration(o.rate))
	save := time.NewTicker(time.Second)
	defer tick.Stop()
	defer save.Stop()
	saveFailed := false
	marker, stopAsked := o.state+watchingSuffix, o.state+stopSuffix
	_ = os.Remove(stopAsked) // a request left by an after that found no watch
	defer os.Remove(marker)
	defer os.Remove(stopAsked)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-save.C:
			if err := w.save(timeline); err != nil && !saveFailed {
				saveFailed = true
				fmt.Fprintf(stdout, "kcconform watch: %s\n", d.run.Redactor.String(err.Error()))
			}
			// The marker's time tells an after that this watch runs.
			_ = os.WriteFile(marker, nil, 0o600)
			_ = os.Chtimes(marker, time.Time{}, time.Now())
			if _, err := os.Stat(stopAsked); err == nil {
				fmt.Fprintln(stdout, "kcconform watch: kcconform after asked this watch to stop")
				break loop
			}
		case <-tick.C:
			select {
			case sem <- struct{}{}:
			default:
				continue // 64 refreshes under way: the gateway hangs; the timeouts say so
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				w.refreshOne()
			}()
		}
	}
	wg.Wait()
	if err := w.save(timeline); err != nil {
		return couldNotRun(stdout, fmt.Errorf("kcconform watch: %w", err))
	}
	tl := w.timeline()
	if png, err := tl.Plot("kcconform watch: refreshes of stored offline tokens through " + st.URL); err == nil {
		_ = os.WriteFile(strings.TrimSuffix(timeline, ".json")+".png", png, 0o644)
	}
	sum := st.Watches[len(st.Watches)-1]
	fmt.Fprintf(stdout, "kcconform watch: %d refreshes over %d s: %d HTTP 200; %d second(s) with a refusal, %d second(s) unavailable%s\n",
		sum.Sent, sum.Seconds, sum.OK, sum.Refused, sum.Unavailable, answersSuffix(sum.Answers))
	fmt.Fprintf(stdout, "kcconform watch: timeline %s and its plot (.png); the state file keeps the rotated tokens\n", timeline)
	return exitPass
}

func forText(d time.Duration) string {
	if d <= 0 {
		return " (SIGINT or SIGTERM)"
	}
	return " or for " + d.String()
}

func answersSuffix(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	return "; answers: " + answersLine(m)
}

// refreshOne refreshes the next stored token and files the answer under
// the second it came in.
func (w *watcher) refreshOne() {
	w.mu.Lock()
	i := w.next % len(w.st.Tokens)
	w.next++
	tok := w.st.Tokens[i].Refresh
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), min(watchTimeout, w.d.st.Server.Timeout))
	defer cancel()
	sent := time.Now()
	resp, err := w.d.flow.Refresh(ctx, tok)
	lat := time.Since(sent)
	class, answer := classify(err)
	w.mu.Lock()
	defer w.mu.Unlock()
	sec := int(time.Since(w.began) / time.Second)
	b := w.seconds[sec]
	if b == nil {
		b = &watchSecond{Second: load.Second{At: time.Duration(sec) * time.Second}}
		w.seconds[sec] = b
	}
	b.Sent++
	b.lat = append(b.lat, lat)
	switch class {
	case "200":
		b.OK++
		t := &w.st.Tokens[i]
		t.Refreshes++
		if resp.RefreshToken != "" && resp.RefreshToken != t.Refresh {
			t.Refresh = resp.RefreshToken
		}
	case "refused":
		b.Refused++
	case "5xx":
		b.ServerErrors++
	default:
		b.Transport++
	}
	if answer != "" {
		w.answers[answer]++
	}
}

// timeline is the watch so far, second by second (a second without any
// answer, as when every request hangs, is a second of zeros).
func (w *watcher) timeline() load.Timeline {
	w.mu.Lock()
	defer w.mu.Unlock()
	tl := load.Timeline{Grant: "refresh_token", Rate: w.rate, Clients: 1, Answers: map[string]int{}}
	last := int(time.Since(w.began) / time.Second)
	for s := 0; s <= last; s++ {
		b := w.seconds[s]
		if b == nil {
			tl.Seconds = append(tl.Seconds, load.Second{At: time.Duration(s) * time.Second})
			continue
		}
		x := b.Second
		sort.Slice(b.lat, func(i, j int) bool { return b.lat[i] < b.lat[j] })
		x.P50, x.Max = b.lat[len(b.lat)/2], b.lat[len(b.lat)-1]
		tl.Seconds = append(tl.Seconds, x)
	}
	for k, v := range w.answers {
		tl.Answers[k] = v
	}
	return tl
}

// save writes the timeline and, with its summary, the state.
func (w *watcher) save(timeline string) error {
	tl := w.timeline()
	sum := &w.st.Watches[len(w.st.Watches)-1]
	sum.Seconds = len(tl.Seconds)
	sum.Sent, sum.OK, sum.Refused, sum.Unavailable = 0, 0, 0, 0
	for _, s := range tl.Seconds {
		sum.Sent += s.Sent
		sum.OK += s.OK
		if s.Refused > 0 {
			sum.Refused++
		}
		if s.OK == 0 && s.Sent >= 0 && (s.ServerErrors+s.Transport > 0 || s.Sent == 0) {
			sum.Unavailable++
		}
	}
	sum.Answers = tl.Answers
	b, err := json.MarshalIndent(tl, "", " ")
	if err != nil {
		return err
	}
	tmp := timeline + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write the timeline: %w", err)
	}
	if err := os.Rename(tmp, timeline); err != nil {
		return fmt.Errorf("write the timeline: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := state.Save(w.d.o.state, w.d.key, w.st); err != nil {
		return err
	}
	return nil
}

// afterResult is what `kcconform after` found.
type afterResult struct {
	Refreshed, Refused, Unreachable int
	Answers                         map[string]int
	VersionBefore, VersionAfter     string
	Regressions                     []string
	Status                          report.Status
	Why                             string
}

// A running watch keeps a marker beside the state file, touched every
// second; an after asks it to stop with another.
const (
	watchingSuffix = ".watching"
	stopSuffix     = ".stop"
	// markerFresh is how old a marker may be and its watch still run.
	markerFresh = 5 * time.Second
)

// stopRunningWatch asks a watch of the same state file that still runs (in
// another pod, say) to stop, and waits for its last save: after must read
// the tokens it rotated, and no watch may write the state again once after
// has erased it. A stale marker is a watch that was killed.
func stopRunningWatch(statePath string, stdout io.Writer, wait time.Duration) error {
	marker := statePath + watchingSuffix
	fi, err := os.Stat(marker)
	if err != nil {
		return nil
	}
	if time.Since(fi.ModTime()) > markerFresh {
		_ = os.Remove(marker)
		return nil
	}
	fmt.Fprintln(stdout, "kcconform after: a watch of this state file runs; asking it to stop")
	if err := os.WriteFile(statePath+stopSuffix, nil, 0o600); err != nil {
		return fmt.Errorf("ask the running watch to stop: %w", err)
	}
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		fi, err := os.Stat(marker)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		// No longer touched: the watch was killed (maybe just now) before
		// it could see the request.
		if err == nil && time.Since(fi.ModTime()) > markerFresh {
			_ = os.Remove(marker)
			_ = os.Remove(statePath + stopSuffix)
			return nil
		}
	}
	return fmt.Errorf("the watch of %s did not stop within %s (its marker %s is fresh): stop it, then run after again", statePath, wait, marker)
}

func runAfter(d *deployment, o deployOptions, stdout io.Writer) int {
	if err := stopRunningWatch(o.state, stdout, 30*time.Second); err != nil {
		return couldNotRun(stdout, fmt.Errorf("kcconform after: %w", err))
	}
	st, err := d.load()
	if err != nil {
		return couldNotRun(stdout, fmt.Errorf("kcconform after: %w", err))
	}
	ctx, stop := signalContext()
	defer stop()
	res := afterResult{Answers: map[string]int{}, VersionBefore: st.Version}
	vctx, vcancel := context.WithTimeout(ctx, 2*d.st.Server.Timeout)
	res.VersionAfter = d.version(vctx)
	vcancel()
	fmt.Fprintf(stdout, "kcconform after: %d stored token(s) of %s, realm %s, client %s, taken %s (Keycloak %s); now Keycloak %s\n",
		len(st.Tokens), st.URL, st.Realm, st.ClientID, st.Created.Format(time.RFC3339), st.Version, res.VersionAfter)

	var mu sync.Mutex
	bar := seed.NewProgress(d.stderr, "refreshing stored tokens", len(st.Tokens))
	seed.ForEach(ctx, len(st.Tokens), o.concurrency, func(i int) {
		t := &st.Tokens[i]
		var class, answer string
		wait := time.Second
		for try := 0; try < 4; try++ {
			rctx, cancel := context.WithTimeout(ctx, d.st.Server.Timeout)
			resp, err := d.flow.Refresh(rctx, t.Refresh)
			cancel()
			class, answer = classify(err)
			if class == "200" {
				mu.Lock()
				t.Refreshes++
				if resp.RefreshToken != "" {
					t.Refresh = resp.RefreshToken
				}
				mu.Unlock()
				break
			}
			if class == "refused" || ctx.Err() != nil {
				break
			}
			time.Sleep(wait) // a node still starting: the same token again
			wait *= 2
		}
		mu.Lock()
		defer mu.Unlock()
		switch class {
		case "200":
			res.Refreshed++
			t.Lost = ""
		case "refused":
			res.Refused++
			t.Lost = answer
			res.Answers[answer]++
		default:
			res.Unreachable++
			res.Answers[answer]++
		}
		bar.Add()
	})
	if ctx.Err() != nil {
		_ = state.Save(o.state, d.key, st)
		fmt.Fprintf(stdout, "verdict: %s: kcconform after: interrupted; the state file is kept, with the tokens refreshed so far\n", report.StatusCutShort)
		return exitCouldNot
	}
	// The newest tokens go back into the file before anything else can
	// fail: a second after (or --keep) starts from them.
	if err := state.Save(o.state, d.key, st); err != nil {
		return couldNotRun(stdout, fmt.Errorf("kcconform after: %w", err))
	}
	var afterChecks []state.Check
	verdictAfter := ""
	if o.verdict {
		verdictAfter, afterChecks, _ = d.verdict(stdout, "after")
		res.Regressions = regressions(st.Checks, afterChecks)
	}
	res.Status, res.Why = afterVerdict(res, len(st.Tokens))
	d.writeUpgradeReport(stdout, st, res, verdictAfter, afterChecks)

	if o.keep {
		fmt.Fprintf(stdout, "kcconform after: --keep: the %d token(s) and the state file %s are kept for another after\n", len(st.Tokens), o.state)
	} else {
		var live []state.Token
		for _, t := range st.Tokens {
			if t.Lost == "" {
				live = append(live, t)
			}
		}
		failed := d.revokeAll(live)
		if failed > 0 {
			// Kept: the file is the only way to revoke them later.
			fmt.Fprintf(stdout, "kcconform after: %d of %d token(s) could not be revoked; the state file %s is kept: run kcconform after again\n", failed, len(live), o.state)
		} else if err := state.Erase(o.state); err != nil {
			fmt.Fprintf(stdout, "kcconform after: %v\n", err)
		} else {
			fmt.Fprintf(stdout, "kcconform after: %d token(s) revoked (RFC 7009), the state file erased; the key %s is no longer needed\n", len(live), d.o.key)
		}
		if d.admin != nil {
			d.reportSessionCount(stdout, "after")
		}
	}
	fmt.Fprintf(stdout, "verdict: %s", res.Status)
	if res.Why != "" {
		fmt.Fprintf(stdout, ": %s", res.Why)
	}
	fmt.Fprintln(stdout)
	return res.Status.ExitCode()
}

// afterVerdict: PASS only when every stored token refreshed and no promise
// that held before breaks after.
func afterVerdict(r afterResult, n int) (report.Status, string) {
	switch {
	case r.Refused > 0:
		return report.StatusFail, fmt.Sprintf("%d of %d stored offline token(s) lost across the upgrade (refused: %s)", r.Refused, n, answersLine(r.Answers))
	case len(r.Regressions) > 0:
		return report.StatusFail, fmt.Sprintf("%d promise(s) held before and break after: %s", len(r.Regressions), strings.Join(r.Regressions, "; "))
	case r.Unreachable > 0:
		return report.StatusCouldNot, fmt.Sprintf("%d of %d stored token(s) could not be refreshed: the deployment did not answer (%s)", r.Unreachable, n, answersLine(r.Answers))
	}
	return report.StatusPass, fmt.Sprintf("%d of %d stored offline token(s) refreshed after the upgrade", r.Refreshed, n)
}

// regressions names the promises that passed before and fail after, with
// both answers.
func regressions(before, after []state.Check) []string {
	was := map[string]state.Check{}
	for _, c := range before {
		was[c.Promise] = c
	}
	var out []string
	for _, c := range after {
		b, ok := was[c.Promise]
		if ok && b.Result == string(report.Pass) && c.Result == string(report.Fail) {
			out = append(out, fmt.Sprintf("%s: before %s, after %s", c.Promise, b.Sent, c.Sent))
		}
	}
	return out
}

// writeUpgradeReport writes upgrade.txt, upgrade.md (appended to
// summary.md where the verdict wrote one) and upgrade.xml (JUnit).
func (d *deployment) writeUpgradeReport(stdout io.Writer, st *state.State, r afterResult, verdictAfter string, after []state.Check) {
	var b strings.Builder
	fmt.Fprintf(&b, "## upgrade\n\n")
	fmt.Fprintf(&b, "- deployment: %s, realm %s, client %s (%s)\n", st.URL, st.Realm, st.ClientID, st.Mode)
	if r.VersionBefore != r.VersionAfter {
		fmt.Fprintf(&b, "- version: %s before, %s after\n", r.VersionBefore, r.VersionAfter)
	} else {
		fmt.Fprintf(&b, "- version: %s before and after\n", r.VersionAfter)
	}
	fmt.Fprintf(&b, "- stored offline tokens: %d taken %s; %d refreshed, %d refused, %d unreachable\n", len(st.Tokens), st.Created.Format(time.RFC3339), r.Refreshed, r.Refused, r.Unreachable)
	if len(r.Answers) > 0 {
		fmt.Fprintf(&b, "- answers: %s\n", answersLine(r.Answers))
	}
	for i, w := range st.Watches {
		fmt.Fprintf(&b, "- watch %d (from %s): %d refreshes over %d s, %d HTTP 200; %d second(s) with a refusal, %d second(s) unavailable%s\n",
			i+1, w.Began.Format(time.RFC3339), w.Sent, w.Seconds, w.OK, w.Refused, w.Unavailable, answersSuffix(w.Answers))
	}
	if len(st.Watches) == 0 {
		fmt.Fprintf(&b, "- watch: none ran\n")
	}
	if st.Verdict != "" || verdictAfter != "" {
		fmt.Fprintf(&b, "- verdict before: %s\n- verdict after: %s\n", orNone(st.Verdict), orNone(verdictAfter))
		fmt.Fprintf(&b, "\n| promise | before | after |\n|---|---|---|\n")
		was := map[string]state.Check{}
		for _, c := range st.Checks {
			was[c.Promise] = c
		}
		for _, c := range after {
			mark := ""
			if bc, ok := was[c.Promise]; ok && bc.Result == string(report.Pass) && c.Result == string(report.Fail) {
				mark = " **regression**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s%s |\n", mdCell(c.Promise), mdCell(was[c.Promise].Result), mdCell(c.Result), mark)
		}
	}
	fmt.Fprintf(&b, "\nverdict: %s: %s\n", r.Status, r.Why)
	text := d.run.Redactor.String(b.String())
	dir := d.st.ReportDir
	_ = os.WriteFile(filepath.Join(dir, "upgrade.md"), []byte(text), 0o644)
	for _, name := range []string{"summary.md", "verdict.txt"} {
		if f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintf(f, "\n%s", text)
			f.Close()
		}
	}
	js, _ := json.MarshalIndent(r, "", " ")
	_ = os.WriteFile(filepath.Join(dir, "upgrade.json"), []byte(d.run.Redactor.String(string(js))), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "upgrade.xml"), []byte(d.run.Redactor.String(upgradeJUnit(r, len(st.Tokens)))), 0o644)
	fmt.Fprintf(stdout, "\n%s\nreports: %s (upgrade.md, upgrade.json, upgrade.xml; the verdicts under before/ and after/)\n", text, dir)
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// upgradeJUnit is the upgrade's checks as a JUnit file for CI systems.
func upgradeJUnit(r afterResult, n int) string {
	type failure struct {
		Message string `xml:"message,attr"`
	}
	type testcase struct {
		Name    string   `xml:"name,attr"`
		Failure *failure `xml:"failure,omitempty"`
	}
	type testsuite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	ts := testsuite{Name: "kcconform upgrade", Cases: []testcase{{Name: "stored offline tokens refresh after the upgrade"}, {Name: "no promise regresses"}}}
	if r.Refused > 0 || r.Unreachable > 0 {
		ts.Cases[0].Failure = &failure{fmt.Sprintf("%d refused, %d unreachable of %d: %s", r.Refused, r.Unreachable, n, answersLine(r.Answers))}
	}
	if len(r.Regressions) > 0 {
		ts.Cases[1].Failure = &failure{strings.Join(r.Regressions, "; ")}
	}
	for _, c := range ts.Cases {
		if c.Failure != nil {
			ts.Failures++
		}
	}
	ts.Tests = len(ts.Cases)
	b, _ := xml.MarshalIndent(ts, "", "  ")
	return xml.Header + string(b) + "\n"
}
