package selftest_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"kcconform/pkg/framework"
)

// handmadeRealm creates a realm from the fixture, as an operator would set
// up the procedure's client by hand, optionally changed, and returns its
// client.
func handmadeRealm(ctx context.Context, suffix string, change func(map[string]any)) (string, *framework.TestClient) {
	GinkgoHelper()
	name := framework.ResourcePrefix + "handmade-" + suffix + "-" + framework.RunID
	rep, err := framework.RealmFixture(framework.FixturePath(), name)
	Expect(err).NotTo(HaveOccurred())
	if change != nil {
		var m map[string]any
		Expect(json.Unmarshal(rep, &m)).To(Succeed())
		change(m)
		rep, err = json.Marshal(m)
		Expect(err).NotTo(HaveOccurred())
	}
	DeferCleanup(f.Admin.DeleteRealm, name)
	Expect(f.Admin.CreateRealm(ctx, rep)).To(Succeed())
	return name, f.LookupClient(ctx, name, framework.FixtureClientID)
}

func offlineSessions(ctx context.Context, realm string, c *framework.TestClient) int {
	ss, err := f.Admin.OfflineSessions(ctx, realm, c.ServiceAccountID, c.UUID)
	Expect(err).NotTo(HaveOccurred())
	return len(ss)
}

// interrupt starts a nested run through a gate, waits until the run has
// its first offline token and is held at the gate in its next request and
// halfWay is true, sends SIGINT to its process group as Ctrl-C would, lets
// the held requests go once the run reacted, and waits until every process
// of the group has exited.
func interrupt(ctx context.Context, env map[string]string, halfWay func() bool) framework.NestedRun {
	GinkgoHelper()
	g := newGate(f.Server.BaseURL)
	cmd, reports, out := framework.NestedCommand(ctx, g.URL(), env)
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
		_ = syscall.Kill(-pgid, syscall.SIGINT)
		g.release()
		waitGroupExit(pgid, 3*time.Minute)
	})
	Eventually(ctx, func() bool {
		select {
		case <-exited:
			StopTrying("the run ended before it got half-way:\n" + framework.LastLines(out.String(), 30)).Now()
		default:
		}
		return g.Waiting() && halfWay()
	}).WithPolling(100*time.Millisecond).WithTimeout(4*time.Minute).Should(BeTrue(), "the run got half-way")
	By("interrupting the run with SIGINT")
	Expect(syscall.Kill(-pgid, syscall.SIGINT)).To(Succeed())
	// The interrupted spec gives up its held request; its clean-up must then
	// reach the server, so the gate opens. If the run never gives it up, the
	// gate opens anyway after a while, well within the run's KC_TIMEOUT (30 s),
	// which its held clean-up requests are subject to: what counts is what is
	// left behind.
	select {
	case <-g.Abandoned():
		AddReportEntry("gate", "the run gave up its held request when interrupted: "+g.GivenUp())
	case <-time.After(10 * time.Second):
		AddReportEntry("gate", "the run did not give up its held request within 10 s of SIGINT")
	case <-ctx.Done():
	}
	g.release()
	select {
	case <-exited:
	case <-ctx.Done():
		Fail("the interrupted run did not exit before the spec's deadline")
	}
	// make may exit before the suites have finished cleaning up.
	Expect(waitGroupExit(pgid, 3*time.Minute)).To(BeTrue(), "every process of the interrupted run exited")
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	AddReportEntry("interrupted run", framework.LastLines(out.String(), 40), ReportEntryVisibilityFailureOrVerbose)
	return framework.NestedRun{ExitCode: code, Output: out.String(), Reports: reports}
}

// waitGroupExit waits until no process of the group is left, at most d.
func waitGroupExit(pgid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for syscall.Kill(-pgid, 0) != syscall.ESRCH {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// runRealmsWithOfflineSessions reports whether a realm whose name holds the
// run id has an offline session, of whichever client.
func runRealmsWithOfflineSessions(ctx context.Context, run string) bool {
	realms, err := f.Admin.Realms(ctx)
	if err != nil {
		return false
	}
	for _, name := range realms {
		if strings.Contains(name, "-"+run+"-") {
			if n, err := f.Admin.OfflineSessionCount(ctx, name); err == nil && n > 0 {
				return true
			}
		}
	}
	return false
}

var _ = Describe("an interrupted run", Serial, func() {
	It("leaves no realm, client or offline session on the server when interrupted half-way with SIGINT", func(ctx SpecContext) {
		run := "sigint" + framework.RunID
		env := adminEnv()
		env["KC_RUN_ID"] = run
		r := interrupt(ctx, env, func() bool { return runRealmsWithOfflineSessions(ctx, run) })
		Expect(r.ExitCode).NotTo(Equal(0), "an interrupted run does not pass")
		realms, err := f.Admin.Realms(ctx)
		Expect(err).NotTo(HaveOccurred())
		for _, name := range realms {
			Expect(name).NotTo(ContainSubstring("-"+run+"-"), "a realm (with its clients and offline sessions) of the interrupted run is left")
		}
		framework.ExpectNoLeak(r, f.Server.Admin.Password)
	}, SpecTimeout(10*time.Minute))

	It("revokes the offline sessions it took on a client set up by hand when interrupted half-way with SIGINT", func(ctx SpecContext) {
		realm, c := handmadeRealm(ctx, "sigint", nil)
		r := interrupt(ctx, map[string]string{"KC_REALM": realm, "KC_CLIENT_ID": c.ClientID, "KC_CLIENT_SECRET": c.Flow.ClientSecret},
			func() bool { return offlineSessions(ctx, realm, c) > 0 })
		Expect(r.ExitCode).NotTo(Equal(0))
		Expect(offlineSessions(ctx, realm, c)).To(Equal(0), "offline sessions of the interrupted run are left")
		framework.ExpectNoLeak(r, c.Flow.ClientSecret, f.Server.Admin.Password)
	}, SpecTimeout(10*time.Minute))
})

var _ = Describe("make clean-server", Serial, func() {
	It("removes the realms earlier runs left, and nothing else", func(ctx SpecContext) {
		left := framework.ResourcePrefix + "offline-leftover" + framework.RunID + "-p1"
		rep, err := framework.RealmFixture(framework.FixturePath(), left)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(f.Admin.DeleteRealm, left)
		Expect(f.Admin.CreateRealm(ctx, rep)).To(Succeed())

		cmd := exec.CommandContext(ctx, "make", "-s", "-C", framework.ModuleRoot(), "clean-server")
		cmd.Env = append(os.Environ(), "KC_URL="+f.Server.BaseURL, "KC_ADMIN_USER="+f.Server.Admin.Username, "KC_ADMIN_PASSWORD="+f.Server.Admin.Password)
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(ContainSubstring("removed realm " + left))
		Expect(string(out)).NotTo(ContainSubstring(f.Server.Admin.Password))
		exists, err := f.Admin.RealmExists(ctx, left)
		Expect(err).NotTo(HaveOccurred())
		Expect(exists).To(BeFalse())
		exists, err = f.Admin.RealmExists(ctx, "master")
		Expect(err).NotTo(HaveOccurred())
		Expect(exists).To(BeTrue())
	}, SpecTimeout(5*time.Minute))
})

var _ = Describe("a failed spec's replay command", Serial, func() {
	It("sends the same request again when pasted into a shell with the variables set", func(ctx SpecContext) {
		realm, c := handmadeRealm(ctx, "replay", func(rep map[string]any) {
			rep["clients"].([]any)[0].(map[string]any)["attributes"].(map[string]any)["access.token.lifespan"] = "300"
		})
		r := conformance(ctx, map[string]string{"KC_REALM": realm, "KC_CLIENT_ID": c.ClientID, "KC_CLIENT_SECRET": c.Flow.ClientSecret})
		Expect(r.ExitCode).NotTo(Equal(0))
		framework.ExpectNoLeak(r, c.Flow.ClientSecret, f.Server.Admin.Password)

		replay := replayOfGet(filepath.Join(r.Reports, "conformance.json"))
		Expect(replay).To(ContainSubstring(`client_secret="${CLIENT_SECRET}"`))
		Expect(replay).NotTo(ContainSubstring(c.Flow.ClientSecret))
		By("running: " + replay)
		sh := exec.CommandContext(ctx, "bash", "-c", replay)
		sh.Env = append(os.Environ(), "CLIENT_SECRET="+c.Flow.ClientSecret)
		out, err := sh.Output()
		Expect(err).NotTo(HaveOccurred())
		var sent map[string]any
		Expect(json.Unmarshal(out, &sent)).To(Succeed(), "jq printed the token response")
		Expect(sent).To(HaveKeyWithValue("expires_in", BeNumerically("==", 300)), "the replay got what the failed spec got")
		Expect(sent["scope"]).To(ContainSubstring("offline_access"))
		Expect(sent).To(HaveKey("refresh_token"))
		// The replay took an offline token of its own: give it back.
		rt, _ := sent["refresh_token"].(string)
		Expect(c.Flow.Revoke(ctx, rt)).To(Succeed())
	}, SpecTimeout(10*time.Minute))
})

// replayOfGet finds, in a Ginkgo JSON report, the replay command of a failed
// get request (grant_type=client_credentials with scope=offline_access).
func replayOfGet(report string) string {
	GinkgoHelper()
	b, err := os.ReadFile(report)
	Expect(err).NotTo(HaveOccurred())
	var reports []types.Report
	Expect(json.Unmarshal(b, &reports)).To(Succeed())
	for _, rep := range reports {
		for _, s := range rep.SpecReports {
			if !s.State.Is(types.SpecStateFailureStates) {
				continue
			}
			for _, e := range s.ReportEntries {
				if e.Name != "replay" {
					continue
				}
				for _, line := range strings.Split(e.StringRepresentation(), "\n") {
					if strings.HasPrefix(line, "curl ") && strings.Contains(line, "grant_type=client_credentials") && strings.Contains(line, "scope=offline_access") {
						return line
					}
				}
			}
		}
	}
	Fail("no replay command of the get request in the failed specs of " + report)
	return ""
}
