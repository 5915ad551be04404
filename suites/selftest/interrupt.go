package selftest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/framework"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/report"
)

// interrupt starts a nested run through a gate, waits until the run has its
// first offline token and is held at the gate in its next request and
// halfWay is true, sends sig to the command the user ran (its first process
// only, as kill(1) would), lets the held requests go once the run reacted,
// and waits until every process of the run has exited.
func (s selfTest) interrupt(ctx context.Context, env map[string]string, sig syscall.Signal, halfWay func() bool) framework.NestedRun {
	GinkgoHelper()
	g := newGate(s.Server.BaseURL)
	cmd, reports, out := s.NestedCommand(ctx, g.URL(), env)
	Expect(cmd.Start()).To(Succeed())
	pgid := cmd.Process.Pid
	var err error
	exited := make(chan struct{})
	go func() { err = cmd.Wait(); close(exited) }()
	// Should this spec fail before the run ended, the run is still stopped,
	// through an open gate, before the gate closes (clean-ups run last in,
	// first out): its clean-up must reach the server, or it would leave
	// debris that fails the next spec.
	DeferCleanup(func() {
		if syscall.Kill(-pgid, 0) == syscall.ESRCH {
			return
		}
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		g.release()
		waitGone(func() bool { return syscall.Kill(-pgid, 0) == syscall.ESRCH }, 3*time.Minute)
	})
	Eventually(ctx, func() bool {
		select {
		case <-exited:
			StopTrying("the run ended before it got half-way:\n" + report.LastLines(out.String(), 30)).Now()
		default:
		}
		return g.Waiting() && halfWay()
	}).WithPolling(100*time.Millisecond).WithTimeout(4*time.Minute).Should(BeTrue(), "the run got half-way")
	By("sending " + sig.String() + " to the command that was run (only it, not its children)")
	Expect(syscall.Kill(pgid, sig)).To(Succeed())
	// The interrupted spec gives up its held request; its clean-up must then
	// reach the server, so the gate opens. If the run never gives it up, the
	// gate opens anyway after a while, well within the run's KC_TIMEOUT (30 s),
	// which its held clean-up requests are subject to: what counts is what is
	// left behind.
	select {
	case <-g.Abandoned():
		AddReportEntry("gate", "the run gave up its held request when interrupted: "+g.GivenUp())
	case <-time.After(10 * time.Second):
		AddReportEntry("gate", "the run did not give up its held request within 10 s of the signal")
	case <-ctx.Done():
	}
	g.release()
	select {
	case <-exited:
	case <-ctx.Done():
		Fail("the interrupted run did not exit before the spec's deadline")
	}
	Expect(waitGone(func() bool { return syscall.Kill(-pgid, 0) == syscall.ESRCH }, 3*time.Minute)).To(BeTrue(), "every process of the interrupted run exited")
	return framework.Finish(err, reports, out)
}

// waitGone waits until gone is true, at most d.
func waitGone(gone func() bool, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !gone() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// runRealmsWithOfflineSessions reports whether a realm of the run has an
// offline session, of whichever client.
func (s selfTest) runRealmsWithOfflineSessions(ctx context.Context, run string) bool {
	realms, err := s.Admin.Realms(ctx)
	if err != nil {
		return false
	}
	for _, name := range realms {
		if keycloak.OfRun(name, run) {
			if n, err := s.Admin.OfflineSessionCount(ctx, name); err == nil && n > 0 {
				return true
			}
		}
	}
	return false
}

// processesOf lists the processes (pid and command) whose environment holds
// KC_RUN_ID=run: everything a run started, Keycloak and PostgreSQL included.
func processesOf(run string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(b), "\x00") {
			if kv == "KC_RUN_ID="+run {
				cmd, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline"))
				out = append(out, filepath.Base(filepath.Dir(p))+": "+strings.ReplaceAll(string(cmd), "\x00", " "))
				break
			}
		}
	}
	return out
}

func (s selfTest) registerInterrupts() {
	Describe("an interrupted run", Serial, Label(framework.LabelSelf), func() {
		cases(
			selfCase{
				Name:    "SIGTERM half-way leaves no realm, client or offline session on the server",
				Setup:   "the command's request held at a gate, then SIGTERM",
				Want:    "no realm, client or offline session of the run left on the server",
				Why:     "what the harness creates on a server it removes again, also when interrupted",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
					run := "term" + s.Run.ID()
					env := s.adminEnv()
					env["KC_RUN_ID"] = run
					r := s.interrupt(ctx, env, syscall.SIGTERM, func() bool { return s.runRealmsWithOfflineSessions(ctx, run) })
					Expect(r.ExitCode).NotTo(Equal(0), "an interrupted run does not pass")
					Expect(r.Output).To(ContainSubstring("verdict: INTERRUPTED"))
					realms, err := s.Admin.Realms(ctx)
					Expect(err).NotTo(HaveOccurred())
					for _, name := range realms {
						Expect(keycloak.OfRun(name, run)).To(BeFalse(), "realm %s (with its clients and offline sessions) of the interrupted run is left", name)
					}
					s.ExpectNoLeak(r, s.Server.Admin.Password)
				},
			},
			selfCase{
				Name:    "SIGINT half-way revokes the offline sessions taken on a client set up by hand",
				Setup:   "a client-only run on a client made by hand, held at a gate, then SIGINT",
				Want:    "no offline session of the run left on the client",
				Why:     "an offline token never expires: one left behind is a standing credential",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
					realm, c := s.handmadeRealm(ctx, "sigint", nil)
					count := func() int {
						n, err := s.Admin.OfflineSessionCount(ctx, realm)
						Expect(err).NotTo(HaveOccurred())
						return n
					}
					r := s.interrupt(ctx, clientEnv(realm, c), syscall.SIGINT, func() bool { return count() > 0 })
					Expect(r.ExitCode).NotTo(Equal(0))
					Expect(count()).To(BeZero(), "offline sessions of the interrupted run are left")
					s.ExpectNoLeak(r, c.Flow.ClientSecret, s.Server.Admin.Password)
				},
			},
			selfCase{
				Name:    "SIGKILL leaves no Keycloak or PostgreSQL process running a few seconds later",
				Setup:   "the harness killed with SIGKILL while its servers run",
				Want:    "no Keycloak or PostgreSQL process of the run a few seconds later",
				Why:     "a killed harness cannot clean up; its watchdogs must",
				Timeout: nestedTimeout,
				Run: func(ctx SpecContext) {
					cfg := s.Config
					if cfg.Target != keycloak.TargetProcess {
						Skip("starts a nested run on the process target, which this machine's target is not")
					}
					run := "kill" + s.Run.ID()
					// A run that starts Keycloak and PostgreSQL itself.
					cmd, reports, out := s.NestedCommand(ctx, "", map[string]string{"KC_TARGET": "process", "KC_RUN_ID": run},
						"--suite", "restart", "--focus", "crash.*PostgreSQL")
					Expect(cmd.Start()).To(Succeed())
					pgid := cmd.Process.Pid
					defer func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }()
					By("waiting until the run's Keycloak and PostgreSQL both run")
					Eventually(ctx, func() []string {
						var both []string
						for _, p := range processesOf(run) {
							if strings.Contains(p, "quarkus") || strings.Contains(p, "/postgres ") || strings.Contains(p, "bin/postgres") {
								both = append(both, p)
							}
						}
						return both
					}).WithPolling(200*time.Millisecond).WithTimeout(5*time.Minute).Should(And(
						ContainElement(ContainSubstring("quarkus")), ContainElement(MatchRegexp(`bin/postgres`))), "the run's servers started")
					harness := map[int]bool{}
					for _, p := range processesOf(run) {
						pid, _ := strconv.Atoi(strings.SplitN(p, ":", 2)[0])
						harness[pid] = true
					}
					By("killing the harness, every process of its group, with SIGKILL")
					Expect(syscall.Kill(-pgid, syscall.SIGKILL)).To(Succeed())
					_ = cmd.Wait()
					AddReportEntry("killed run", report.LastLines(out.String(), 30))
					Eventually(func() []string { return processesOf(run) }).WithPolling(200*time.Millisecond).WithTimeout(15*time.Second).
						Should(BeEmpty(), "processes of the killed run are left")
					Eventually(func() []string {
						var left []string
						dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "kcconform-*"))
						for _, d := range dirs {
							owner, err := os.ReadFile(filepath.Join(d, ".kcconform-owner"))
							if pid, _ := strconv.Atoi(strings.TrimSpace(string(owner))); err == nil && harness[pid] {
								left = append(left, d)
							}
						}
						return left
					}).WithPolling(200*time.Millisecond).WithTimeout(15*time.Second).Should(BeEmpty(), "folders of the killed run are left")
					_ = reports
				},
			},
		)
	})
}
