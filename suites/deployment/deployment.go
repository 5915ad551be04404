// Package deployment checks `kcconform before`, `watch` and `after` the way
// a release engineer uses them: against a deployment kcconform did not
// start, upgraded by the operator's own tooling. scripts/deployment.sh
// stands for that tooling: it starts a cluster of the official distribution
// on PostgreSQL behind HAProxy and upgrades it node by node (rolling) or all
// at once (recreate), with none of kcconform's launcher code. The suite
// knows of it only what the script prints: the gateway's URL, the realm,
// the client, and an administrator (used to count and delete sessions, never
// by the commands, which run client-only).
package deployment

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/admin"
	"kcconform/pkg/framework"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/redact"
	"kcconform/pkg/run"
	"kcconform/pkg/state"
)

// Suite is the deployment suite.
var Suite = framework.Suite{Name: "deployment", Description: "kcconform: deployment", Register: register}

// storedTokens is how many stored tokens span each upgrade.
const storedTokens = 50

// An upgrade the operator's tooling performs.
type upgrade struct {
	how       string // rolling or recreate (scripts/deployment.sh upgrade HOW)
	from, to  string
	nodes     int
	withImage bool // before and after in kcconform's image, where KC_BINARY_IMAGE names it
}

var (
	rolling  = upgrade{how: "rolling", from: "26.7.0", to: "26.7.3", nodes: 2}
	recreate = upgrade{how: "recreate", from: "26.5.6", to: "26.7.3", nodes: 2, withImage: true}
)

func register(r *run.Run) {
	base := framework.NewSession(r)
	Describe("a deployment kcconform did not start, upgraded by the operator's tooling", Serial, Label(framework.LabelUpgrade), func() {
		It("rolling 26.7.0 -> 26.7.3, 2 nodes: every stored token refreshes, none refused meanwhile; deleted sessions and bad state files named", func(ctx SpecContext) {
			u := rolling
			d := up(ctx, base, u)
			s := d.session
			stateDir := GinkgoT().TempDir()
			own := d.files(stateDir, "main")
			pre := d.offlineSessions(ctx)

			By(fmt.Sprintf("kcconform before --tokens %d (client-only) on %s", storedTokens, u.from))
			r := d.command(ctx, own, "before", "--tokens", strconv.Itoa(storedTokens))
			Expect(r.ExitCode).To(Equal(0), r.Output)
			Expect(r.Output).To(ContainSubstring("%d offline token(s) taken", storedTokens))
			Expect(r.Output).To(ContainSubstring("verdict before the upgrade: PASS"))
			s.ExpectNoLeak(r, d.secrets...)
			raw := d.expectSealed(own.state)
			Expect(d.offlineSessions(ctx)).To(Equal(pre+storedTokens), "offline sessions of the stored tokens on the server")

			By("the negative control's before: 5 tokens of a second client")
			ctl := s.CreateClient(ctx, fmt.Sprintf("%sdeploy-ctl-%s", framework.ResourcePrefix, s.Run.ID()))
			d.secrets = append(d.secrets, ctl.Flow.ClientSecret)
			ctlFiles := d.files(stateDir, "ctl")
			ctlFiles.clientID, ctlFiles.secret = ctl.ClientID, ctl.Flow.ClientSecret
			r = d.command(ctx, ctlFiles, "before", "--tokens", "5", "--verdict=false")
			Expect(r.ExitCode).To(Equal(0), r.Output)

			d.expectBadStateFilesRefused(ctx, own, raw, ctl.ClientID, ctl.Flow.ClientSecret)

			By("kcconform watch while the nodes are upgraded one by one to " + u.to)
			w := d.startWatch(ctx, own)
			d.script(ctx, "upgrade", u.how, u.to)
			time.Sleep(3 * time.Second) // refreshes on the upgraded cluster
			Expect(syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)).To(Succeed(), "kill the watch")
			w.expectEnded()
			Expect(w.out.String()).To(ContainSubstring("kcconform watch: refreshing %d stored token(s)", storedTokens))
			expectNoSecret("the watch's output", w.out.String(), d.secrets)
			w.expectTimelineClean(d.secrets)

			By("deleting the negative control's offline sessions through the admin API")
			ctlSessions, err := s.Admin.OfflineSessions(ctx, d.realm, ctl.ServiceAccountID, ctl.UUID)
			Expect(err).NotTo(HaveOccurred())
			Expect(ctlSessions).To(HaveLen(5))
			for _, ses := range ctlSessions {
				Expect(s.Admin.DeleteSession(ctx, d.realm, ses.ID, true)).To(Succeed())
			}

			By("kcconform after on " + u.to)
			r = d.command(ctx, own, "after")
			sum := d.expectAfterPass(ctx, r, own, pre)
			Expect(sum.refusedSeconds).To(Equal(0), "seconds with a refusal during the rolling upgrade")
			Expect(sum.ok).To(BeNumerically(">", 0), "refreshes answered during the watch")

			By("the negative control's after: FAIL naming the lost tokens")
			r = d.command(ctx, ctlFiles, "after", "--verdict=false")
			Expect(r.ExitCode).To(Equal(1), r.Output)
			Expect(r.Output).To(ContainSubstring("verdict: FAIL: 5 of 5 stored offline token(s) lost across the upgrade (refused: 5× HTTP 400 invalid_grant"))
			s.ExpectNoLeak(r, d.secrets...)
		}, SpecTimeout(25*time.Minute))

		It("recreate 26.5.6 -> 26.7.3, 2 nodes: every stored token refreshes after the downtime the watch counts", func(ctx SpecContext) {
			u := recreate
			d := up(ctx, base, u)
			stateDir := GinkgoT().TempDir()
			own := d.files(stateDir, "main")
			pre := d.offlineSessions(ctx)

			By(fmt.Sprintf("kcconform before --tokens %d (client-only) on %s%s", storedTokens, u.from, d.imageNote()))
			r := d.command(ctx, own, "before", "--tokens", strconv.Itoa(storedTokens))
			Expect(r.ExitCode).To(Equal(0), r.Output)
			Expect(r.Output).To(ContainSubstring("verdict before the upgrade: PASS"))
			d.session.ExpectNoLeak(r, d.secrets...)
			d.expectSealed(own.state)

			By("kcconform watch while every node is stopped and started on " + u.to)
			w := d.startWatch(ctx, own)
			d.script(ctx, "upgrade", u.how, u.to)
			time.Sleep(3 * time.Second)
			Expect(syscall.Kill(-w.cmd.Process.Pid, syscall.SIGTERM)).To(Succeed(), "stop the watch")
			w.expectEnded()
			Expect(w.out.String()).To(MatchRegexp(`kcconform watch: \d+ refreshes over \d+ s`), "the stopped watch's summary")
			w.expectTimelineClean(d.secrets)

			By("kcconform after on " + u.to + d.imageNote())
			r = d.command(ctx, own, "after")
			sum := d.expectAfterPass(ctx, r, own, pre)
			Expect(sum.refusedSeconds).To(Equal(0), "seconds with a refusal during the recreate")
			Expect(sum.unavailableSeconds).To(BeNumerically(">", 0), "seconds of downtime of the recreate")
			AddReportEntry("downtime of the recreate, as the watch counted it", fmt.Sprintf("%d second(s) unavailable", sum.unavailableSeconds))
		}, SpecTimeout(25*time.Minute))
	})
}

// deployed is a deployment the script started, as the suite sees it.
type deployed struct {
	dir     string
	url     string
	realm   string
	session *framework.Session
	client  *framework.Client
	secrets []string
	image   string
}

// up starts the operator's deployment on u.from with the script, and
// connects to it with the administrator the script made.
func up(ctx context.Context, base *framework.Session, u upgrade) *deployed {
	GinkgoHelper()
	d := &deployed{dir: filepath.Join(GinkgoT().TempDir(), "deployment")}
	if u.withImage {
		d.image = base.Run.Settings.BinaryImage
	}
	// Registered first, so that it runs last: whatever the spec took is
	// removed through the server before the deployment goes.
	DeferCleanup(func(ctx SpecContext) { d.script(ctx, "down") })
	By(fmt.Sprintf("scripts/deployment.sh: %d node(s) of Keycloak %s on PostgreSQL behind HAProxy", u.nodes, u.from))
	d.script(ctx, "up", u.from, strconv.Itoa(u.nodes))
	env := readEnv(filepath.Join(d.dir, "env"))
	for _, k := range []string{"KC_URL", "KC_REALM", "KC_CLIENT_ID", "KC_CLIENT_SECRET", "KC_ADMIN_USER", "KC_ADMIN_PASSWORD"} {
		Expect(env).To(HaveKey(k), "the deployment's env file")
	}
	d.url, d.realm = env["KC_URL"], env["KC_REALM"]
	red := base.Run.Redactor
	red.AddSecret(env["KC_CLIENT_SECRET"])
	red.AddSecret(env["KC_ADMIN_PASSWORD"])
	d.secrets = []string{env["KC_CLIENT_SECRET"], env["KC_ADMIN_PASSWORD"]}
	cfg := base.Config
	cfg.Target, cfg.URL, cfg.Client = keycloak.TargetExternal, d.url, nil
	cfg.Admin = admin.Credentials{Username: env["KC_ADMIN_USER"], Password: env["KC_ADMIN_PASSWORD"]}
	ext := keycloak.NewExternal(cfg, red)
	Expect(ext.Up(ctx)).To(Succeed(), "the deployment answers through its gateway")
	d.session = base.ForServer(ext, cfg)
	d.client = d.session.LookupClient(ctx, d.realm, env["KC_CLIENT_ID"], env["KC_CLIENT_SECRET"])
	d.session.Realm = &framework.Realm{Name: d.realm, Client: d.client}
	return d
}

// script runs scripts/deployment.sh on the deployment's folder; the script
// stops everything should this process die (KC_DEPLOY_PARENT).
func (d *deployed) script(ctx context.Context, args ...string) {
	GinkgoHelper()
	path := filepath.Join(framework.ModuleRoot(), "scripts", "deployment.sh")
	if _, err := os.Stat(path); err != nil {
		Fail("the deployment suite runs scripts/deployment.sh of a kcconform checkout (make e2e-deployment): " + err.Error())
	}
	cmd := exec.CommandContext(ctx, "bash", append([]string{path, d.dir}, args...)...)
	cmd.Env = append(os.Environ(), "KC_DEPLOY_PARENT="+strconv.Itoa(os.Getpid()))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	text := d.redact(out.String())
	AddReportEntry("scripts/deployment.sh "+strings.Join(args, " "), text)
	Expect(err).NotTo(HaveOccurred(), "scripts/deployment.sh %s:\n%s", strings.Join(args, " "), text)
}

func (d *deployed) redact(s string) string {
	if d.session != nil {
		return d.session.Run.Redactor.String(s)
	}
	return s
}

func readEnv(path string) map[string]string {
	GinkgoHelper()
	f, err := os.Open(path)
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env
}

// offlineSessions counts the offline sessions of the operator's client.
func (d *deployed) offlineSessions(ctx context.Context) int {
	GinkgoHelper()
	l, err := d.session.Admin.OfflineSessions(ctx, d.realm, d.client.ServiceAccountID, d.client.UUID)
	Expect(err).NotTo(HaveOccurred())
	return len(l)
}

// stateFiles are one client's state file and key, and the client.
type stateFiles struct {
	state, key       string
	clientID, secret string
}

func (d *deployed) files(dir, name string) stateFiles {
	return stateFiles{state: filepath.Join(dir, "state", name+".state"), key: filepath.Join(dir, "keys", name+".key"),
		clientID: d.client.ClientID, secret: d.client.Flow.ClientSecret}
}

func (d *deployed) imageNote() string {
	if d.image == "" {
		return ""
	}
	return ", in the image " + d.image
}

// command runs a kcconform upgrade command against the deployment,
// client-only: the binary, or the image under Podman where the spec asks
// for it and KC_BINARY_IMAGE names one.
func (d *deployed) command(ctx context.Context, f stateFiles, args ...string) framework.NestedRun {
	GinkgoHelper()
	env := map[string]string{"KC_REALM": d.realm, "KC_CLIENT_ID": f.clientID, "KC_CLIENT_SECRET": f.secret,
		"KC_STATE_FILE": f.state, "KC_STATE_KEY_FILE": f.key}
	if d.image == "" {
		return d.session.Conformance(ctx, d.url, env, args...)
	}
	Expect(os.MkdirAll(filepath.Dir(f.state), 0o700)).To(Succeed())
	Expect(os.MkdirAll(filepath.Dir(f.key), 0o700)).To(Succeed())
	reports := GinkgoT().TempDir()
	// The secret reaches the container from podman's environment (-e NAME
	// without a value), never on a command line.
	// Root in the container: the spec's folders are root's, 0700 (in a
	// cluster the image's own user 65532 owns its claim).
	podman := []string{"run", "--rm", "--network=host", "--user=0",
		"-v", filepath.Dir(f.state) + ":/state", "-v", filepath.Dir(f.key) + ":/keys", "-v", reports + ":/reports",
		"-e", "KC_TARGET=external", "-e", "KC_URL=" + d.url, "-e", "KC_REALM", "-e", "KC_CLIENT_ID", "-e", "KC_CLIENT_SECRET",
		"-e", "KC_STATE_FILE=/state/" + filepath.Base(f.state), "-e", "KC_STATE_KEY_FILE=/keys/" + filepath.Base(f.key),
		d.image, args[0], "--report-dir", "/reports"}
	cmd := exec.CommandContext(ctx, "podman", append(podman, args[1:]...)...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Minute
	return framework.Finish(cmd.Run(), reports, &out)
}

// expectSealed checks the state file as written: 0600, no token or secret
// in clear; it returns its bytes.
func (d *deployed) expectSealed(path string) []byte {
	GinkgoHelper()
	raw, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	fi, err := os.Stat(path)
	Expect(err).NotTo(HaveOccurred())
	Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o600)), "the state file's mode")
	expectNoSecret("the state file", string(raw), d.secrets)
	return raw
}

// expectBadStateFilesRefused: each damaged, foreign or newer state file is
// a COULD NOT RUN naming its cause, printing nothing of it.
func (d *deployed) expectBadStateFilesRefused(ctx context.Context, f stateFiles, raw []byte, otherClient, otherSecret string) {
	GinkgoHelper()
	By("bad state files: each a COULD NOT RUN naming the cause")
	dir := filepath.Dir(f.state)
	otherKey := filepath.Join(filepath.Dir(f.key), "other.key")
	_, err := state.NewKey(otherKey)
	Expect(err).NotTo(HaveOccurred())
	changed := bytes.Clone(raw)
	changed[len(changed)-40] ^= 0x20
	for _, bad := range []struct {
		name, key, client string
		content           []byte
		says              string
	}{
		{"wrong key", otherKey, "", raw, "the key does not open this state file"},
		{"changed byte", f.key, "", changed, "damaged or cut short"},
		{"truncated", f.key, "", raw[:len(raw)/2], "damaged or cut short"},
		{"other client", f.key, otherClient, raw, "KC_CLIENT_ID: the state is of"},
		{"newer format", f.key, "", append([]byte("kcconform-state/9\n"), raw[bytes.IndexByte(raw, '\n')+1:]...), "newer format"},
	} {
		p := filepath.Join(dir, "bad-"+strings.ReplaceAll(bad.name, " ", "-"))
		Expect(os.WriteFile(p, bad.content, 0o600)).To(Succeed())
		g := stateFiles{state: p, key: bad.key, clientID: f.clientID, secret: f.secret}
		if bad.client != "" {
			g.clientID, g.secret = bad.client, otherSecret
		}
		r := d.command(ctx, g, "after", "--verdict=false")
		Expect(r.ExitCode).To(Equal(2), "%s: %s", bad.name, r.Output)
		Expect(r.Output).To(ContainSubstring("COULD NOT RUN"), bad.name)
		Expect(r.Output).To(ContainSubstring(bad.says), bad.name)
		expectNoSecret(bad.name, r.Output, d.secrets)
	}
}

// watching is a running `kcconform watch` (always the binary: it is
// stopped with a signal to its process group).
type watching struct {
	cmd     *exec.Cmd
	reports string
	out     *bytes.Buffer
	ended   chan error
}

func (d *deployed) startWatch(ctx context.Context, f stateFiles) *watching {
	GinkgoHelper()
	env := map[string]string{"KC_REALM": d.realm, "KC_CLIENT_ID": f.clientID, "KC_CLIENT_SECRET": f.secret,
		"KC_STATE_FILE": f.state, "KC_STATE_KEY_FILE": f.key}
	cmd, reports, out := d.session.NestedCommand(ctx, d.url, env, "watch", "--rate", "10")
	Expect(cmd.Start()).To(Succeed())
	w := &watching{cmd: cmd, reports: reports, out: out, ended: make(chan error, 1)}
	go func() { w.ended <- cmd.Wait() }()
	time.Sleep(2 * time.Second) // refreshes before the upgrade begins
	return w
}

func (w *watching) expectEnded() {
	GinkgoHelper()
	Eventually(w.ended).WithTimeout(30 * time.Second).Should(Receive())
	AddReportEntry("kcconform watch", w.out.String())
}

// expectTimelineClean: the watch left one timeline, with no credential.
func (w *watching) expectTimelineClean(secrets []string) {
	GinkgoHelper()
	timelines, _ := filepath.Glob(filepath.Join(w.reports, "watch-*.json"))
	Expect(timelines).To(HaveLen(1), "the watch's timeline")
	tl, err := os.ReadFile(timelines[0])
	Expect(err).NotTo(HaveOccurred())
	expectNoSecret("the watch's timeline", string(tl), secrets)
}

// watchSummary is after's line about the watch.
type watchSummary struct{ refreshes, seconds, ok, refusedSeconds, unavailableSeconds int }

var watchLine = regexp.MustCompile(`watch 1 \(from [^)]*\): (\d+) refreshes over (\d+) s, (\d+) HTTP 200; (\d+) second\(s\) with a refusal, (\d+) second\(s\) unavailable`)

// expectAfterPass checks a passing after: every stored token refreshed,
// both verdicts PASS, the state erased, and no offline session of the
// client beyond those before the run.
func (d *deployed) expectAfterPass(ctx context.Context, r framework.NestedRun, f stateFiles, pre int) watchSummary {
	GinkgoHelper()
	AddReportEntry("kcconform after", r.Output)
	Expect(r.ExitCode).To(Equal(0), r.Output)
	Expect(r.Output).To(ContainSubstring("%[1]d refreshed, 0 refused, 0 unreachable", storedTokens))
	Expect(r.Output).To(ContainSubstring("verdict: PASS: %[1]d of %[1]d stored offline token(s) refreshed", storedTokens))
	Expect(r.Output).To(ContainSubstring("verdict before: PASS"))
	Expect(r.Output).To(ContainSubstring("verdict after: PASS"))
	d.session.ExpectNoLeak(r, d.secrets...)
	Expect(f.state).NotTo(BeAnExistingFile(), "the state file is erased")
	Expect(d.offlineSessions(ctx)).To(Equal(pre), "offline sessions kcconform took, left on the server")
	m := watchLine.FindStringSubmatch(r.Output)
	Expect(m).NotTo(BeNil(), "the watch's summary in after's report")
	n := make([]int, 5)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	return watchSummary{refreshes: n[0], seconds: n[1], ok: n[2], refusedSeconds: n[3], unavailableSeconds: n[4]}
}

// expectNoSecret fails when text holds a JWT or one of secrets in clear.
func expectNoSecret(what, text string, secrets []string) {
	GinkgoHelper()
	Expect(redact.FindJWT(text)).To(BeEmpty(), "a token in clear text in %s", what)
	for _, secret := range secrets {
		Expect(text).NotTo(ContainSubstring(secret), "a secret in clear text in %s", what)
	}
}
