package upgrade

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/framework"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/redact"
	"kcconform/pkg/state"
)

// deploymentTokens is how many stored tokens span the operator's upgrade.
const deploymentTokens = 50

// registerDeployment: the release engineer's own upgrade. The harness starts
// FROM on PostgreSQL and hands it to the kcconform command as a deployment
// it did not start (external target, client-only: the operator's client and
// secret); `kcconform before` stores offline tokens in its encrypted state
// file, the server is recreated on TO (all stopped, then started on the new
// release, the Operator's RecreateOnImageChange) while `kcconform watch`
// runs and is killed with SIGKILL, and `kcconform after` must find every
// token. A second client's offline sessions, deleted through the admin API
// between its before and after, is the negative control; bad state files
// are refused with the cause.
func registerDeployment(base *framework.Session) {
	Describe("a deployment kcconform did not start, upgraded by the operator's own tooling", Label(framework.LabelUpgrade), func() {
		It("before, watch (killed) and after across a recreate upgrade: every stored token refreshes; deleted sessions and bad state files are named", func(ctx SpecContext) {
			from, to := base.Run.Settings.UpgradeFrom, base.Run.Settings.UpgradeTo
			cfg := base.RequireLifecycleTarget()
			db := base.StartDatabase(ctx, cfg)
			cfgFrom, cfgTo := cfg, cfg
			cfgFrom.Version, cfgTo.Version = from, to
			old := base.NewServer(cfgFrom, db, keycloak.Options{})
			next := base.Successor(old, cfg, to)
			base.StartServer(ctx, old, fmt.Sprintf("Keycloak %s on %s (the operator's deployment)", from, db.Describe()))
			s := base.ForServer(old, cfgFrom)
			s.Realm = s.ProvisionRealm(ctx, "deployment")
			c := s.Realm.Client
			ctl := s.CreateClient(ctx, fmt.Sprintf("%sdeploy-ctl-%s", framework.ResourcePrefix, s.Run.ID()))
			url := s.Server.BaseURL

			dir := GinkgoT().TempDir()
			key, stateFile := filepath.Join(dir, "keys", "state.key"), filepath.Join(dir, "state", "kcconform.state")
			ctlKey, ctlState := filepath.Join(dir, "keys", "ctl.key"), filepath.Join(dir, "state", "ctl.state")
			env := func(cl *framework.Client, key, state string) map[string]string {
				return map[string]string{"KC_REALM": s.Realm.Name, "KC_CLIENT_ID": cl.ClientID, "KC_CLIENT_SECRET": cl.Flow.ClientSecret,
					"KC_STATE_FILE": state, "KC_STATE_KEY_FILE": key}
			}
			secrets := []string{c.Flow.ClientSecret, ctl.Flow.ClientSecret, s.Server.Admin.Password}

			// The harness's own probe of the realm holds a session until the
			// spec ends: kcconform's are the ones beyond it.
			pre, err := s.Admin.OfflineSessions(ctx, s.Realm.Name, c.ServiceAccountID, c.UUID)
			Expect(err).NotTo(HaveOccurred())
			By(fmt.Sprintf("kcconform before --tokens %d (client-only) on %s", deploymentTokens, from))
			r := s.Conformance(ctx, url, env(c, key, stateFile), "before", "--tokens", strconv.Itoa(deploymentTokens))
			Expect(r.ExitCode).To(Equal(0), r.Output)
			Expect(r.Output).To(ContainSubstring(fmt.Sprintf("%d offline token(s) taken", deploymentTokens)))
			Expect(r.Output).To(ContainSubstring("verdict before the upgrade: PASS"))
			s.ExpectNoLeak(r, secrets...)
			raw, err := os.ReadFile(stateFile)
			Expect(err).NotTo(HaveOccurred())
			fi, err := os.Stat(stateFile)
			Expect(err).NotTo(HaveOccurred())
			Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o600)), "the state file's mode")
			Expect(redact.FindJWT(string(raw))).To(BeEmpty(), "a token in clear text in the state file")
			Expect(bytes.Contains(raw, []byte(c.Flow.ClientSecret))).To(BeFalse())
			sessions, err := s.Admin.OfflineSessions(ctx, s.Realm.Name, c.ServiceAccountID, c.UUID)
			Expect(err).NotTo(HaveOccurred())
			Expect(len(sessions)).To(Equal(len(pre)+deploymentTokens), "offline sessions of the stored tokens on the server")

			By("the negative control's before: 5 tokens of a second client")
			r = s.Conformance(ctx, url, env(ctl, ctlKey, ctlState), "before", "--tokens", "5", "--verdict=false")
			Expect(r.ExitCode).To(Equal(0), r.Output)

			By("bad state files: each a COULD NOT RUN naming the cause")
			otherKey := filepath.Join(dir, "keys", "other.key")
			_, err = state.NewKey(otherKey)
			Expect(err).NotTo(HaveOccurred())
			changed := bytes.Clone(raw)
			changed[len(changed)-40] ^= 0x20
			for _, bad := range []struct {
				name, key, client string
				content           []byte
				says              string
			}{
				{"wrong key", otherKey, "", raw, "the key does not open this state file"},
				{"changed byte", key, "", changed, "damaged or cut short"},
				{"truncated", key, "", raw[:len(raw)/2], "damaged or cut short"},
				{"other client", key, ctl.ClientID, raw, "KC_CLIENT_ID: the state is of"},
				{"newer format", key, "", append([]byte("kcconform-state/9\n"), raw[bytes.IndexByte(raw, '\n')+1:]...), "newer format"},
			} {
				p := filepath.Join(dir, "state", "bad-"+bad.name)
				Expect(os.WriteFile(p, bad.content, 0o600)).To(Succeed())
				e := env(c, bad.key, p)
				if bad.client != "" {
					e["KC_CLIENT_ID"], e["KC_CLIENT_SECRET"] = bad.client, ctl.Flow.ClientSecret
				}
				r := s.Conformance(ctx, url, e, "after", "--verdict=false")
				Expect(r.ExitCode).To(Equal(2), "%s: %s", bad.name, r.Output)
				Expect(r.Output).To(ContainSubstring("COULD NOT RUN"), bad.name)
				Expect(r.Output).To(ContainSubstring(bad.says), bad.name)
				// It stopped before any report: its output is all it wrote.
				expectNoSecret(bad.name, r.Output, secrets)
			}

			By("kcconform watch through the upgrade; the servers recreated on " + to)
			wctx, wcancel := context.WithCancel(ctx)
			defer wcancel()
			watch, wreports, wout := s.NestedCommand(wctx, url, env(c, key, stateFile), "watch", "--rate", "10")
			Expect(watch.Start()).To(Succeed())
			watchEnded := make(chan error, 1)
			go func() { watchEnded <- watch.Wait() }()
			time.Sleep(3 * time.Second)
			s.ExpectNoError(old.Stop(ctx), "stop Keycloak "+from)
			s.StartServer(ctx, next, fmt.Sprintf("Keycloak %s on the same database (recreate upgrade)", to))
			realm := s.Realm
			s = s.ForServer(next, cfgTo)
			s.Realm = realm
			Expect(s.Server.Version).To(Equal(to))
			time.Sleep(4 * time.Second) // the watch refreshes on the new release
			Expect(syscall.Kill(-watch.Process.Pid, syscall.SIGKILL)).To(Succeed(), "kill the watch")
			Eventually(watchEnded).WithTimeout(30 * time.Second).Should(Receive())
			AddReportEntry("kcconform watch (killed)", wout.String())
			Expect(wout.String()).To(ContainSubstring("kcconform watch: refreshing %d stored token(s)", deploymentTokens))
			expectNoSecret("the watch's output", wout.String(), secrets)
			timelines, _ := filepath.Glob(filepath.Join(wreports, "watch-*.json"))
			Expect(timelines).To(HaveLen(1), "the killed watch's timeline")
			tl, err := os.ReadFile(timelines[0])
			Expect(err).NotTo(HaveOccurred())
			expectNoSecret("the watch's timeline", string(tl), secrets)

			By("deleting the negative control's offline sessions through the admin API")
			ctlSessions, err := s.Admin.OfflineSessions(ctx, s.Realm.Name, ctl.ServiceAccountID, ctl.UUID)
			Expect(err).NotTo(HaveOccurred())
			Expect(ctlSessions).NotTo(BeEmpty())
			for _, ses := range ctlSessions {
				Expect(s.Admin.DeleteSession(ctx, s.Realm.Name, ses.ID, true)).To(Succeed())
			}

			By("kcconform after on " + to)
			r = s.Conformance(ctx, url, env(c, key, stateFile), "after")
			Expect(r.ExitCode).To(Equal(0), r.Output)
			Expect(r.Output).To(ContainSubstring(fmt.Sprintf("%[1]d refreshed, 0 refused, 0 unreachable", deploymentTokens)))
			Expect(r.Output).To(ContainSubstring("verdict: PASS: %[1]d of %[1]d stored offline token(s) refreshed", deploymentTokens))
			Expect(r.Output).To(MatchRegexp(`verdict before: PASS`))
			Expect(r.Output).To(MatchRegexp(`verdict after: PASS`))
			m := regexp.MustCompile(`watch 1 \(from [^)]*\): (\d+) refreshes over (\d+) s, (\d+) HTTP 200; (\d+) second\(s\) with a refusal, (\d+) second\(s\) unavailable`).FindStringSubmatch(r.Output)
			Expect(m).NotTo(BeNil(), "the watch's summary, saved by the killed watch")
			Expect(m[4]).To(Equal("0"), "seconds with a refusal during the watch")
			Expect(strconv.Atoi(m[5])).To(BeNumerically(">", 0), "seconds of downtime of the recreate upgrade")
			Expect(strconv.Atoi(m[3])).To(BeNumerically(">", 0), "refreshes answered during the watch")
			AddReportEntry("kcconform after", r.Output)
			s.ExpectNoLeak(r, secrets...)
			Expect(stateFile).NotTo(BeAnExistingFile(), "the state file is erased")
			left, err := s.Admin.OfflineSessions(ctx, s.Realm.Name, c.ServiceAccountID, c.UUID)
			Expect(err).NotTo(HaveOccurred())
			Expect(len(left)).To(Equal(len(pre)), "offline sessions kcconform took, left on the server")

			By("the negative control's after: FAIL naming the lost tokens")
			r = s.Conformance(ctx, url, env(ctl, ctlKey, ctlState), "after", "--verdict=false")
			Expect(r.ExitCode).To(Equal(1), r.Output)
			Expect(r.Output).To(ContainSubstring("verdict: FAIL: 5 of 5 stored offline token(s) lost across the upgrade (refused: 5× HTTP 400 invalid_grant"))
			s.ExpectNoLeak(r, secrets...)
		}, SpecTimeout(20*time.Minute))
	})
}

// expectNoSecret fails when text holds a JWT or one of secrets in clear.
func expectNoSecret(what, text string, secrets []string) {
	GinkgoHelper()
	Expect(redact.FindJWT(text)).To(BeEmpty(), "a token in clear text in %s", what)
	for _, secret := range secrets {
		Expect(text).NotTo(ContainSubstring(secret), "a secret in clear text in %s", what)
	}
}
