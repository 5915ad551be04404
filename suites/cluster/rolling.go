package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/load"
	"kcconform/pkg/report"
	"kcconform/pkg/run"
)

// drain is how long the load keeps running after the last node is back,
// so that the timeline shows the cluster settled.
const drain = 3 * time.Second

// registerRolling adds the specs that change the nodes under load: the
// rolling restart always, the upgrade when KC_CLUSTER_UPGRADE_TO names a
// version.
func registerRolling(r *run.Run, s *framework.Session) {
	Describe("a rolling restart under load", Serial, Label(framework.LabelCluster), func() {
		It("keeps the stored token: no refresh through the gateway is refused while every node in turn is stopped (SIGTERM) and started again, and the token refreshes on every node after; availability measured per second", func(ctx SpecContext) {
			cl := s.Cluster()
			c := s.Realm.Client
			tok := getOn(ctx, s, c, 0, s.Server.Nodes[0])
			tl := underLoad(ctx, s, tok.RefreshToken, "rolling-restart", func(mark func(string)) {
				for i := range cl.Size() {
					By(fmt.Sprintf("restarting node %d (SIGTERM, then start) under load", i+1))
					s.ExpectNoError(cl.Restart(ctx, i, mark), fmt.Sprintf("restart node %d", i+1))
				}
			})
			recordLoad(s, contract.SurvivesRollingRestart, "rolling restart", tl, true)
			for j, node := range s.Server.Nodes {
				refreshOnID(ctx, s, c, node, tok.RefreshToken, fmt.Sprintf("after the rolling restart, refreshed by node %d", j+1), contract.SurvivesRollingRestart)
			}
		}, SpecTimeout(20*time.Minute))
	})

	to := r.Settings.ClusterUpgradeTo
	if to == "" {
		return
	}
	Describe("an upgrade of the cluster under load (KC_CLUSTER_UPGRADE_TO)", Serial, Label(framework.LabelCluster), func() {
		It("keeps the tokens of the old version: node by node where update-compatibility allows it, else all nodes at once; no refresh refused, the old tokens refresh on every new node, and the new version issues tokens", func(ctx SpecContext) {
			cl := s.Cluster()
			c := s.Realm.Client
			from := s.Server.Version
			tok := getOn(ctx, s, c, 0, s.Server.Nodes[0])
			By(fmt.Sprintf("asking Keycloak whether %s -> %s may roll (update-compatibility metadata, check)", from, to))
			check, err := cl.CheckUpdate(ctx, to)
			s.ExpectNoError(err, "update-compatibility")
			AddReportEntry("update compatibility", check.String())
			var downtime time.Duration
			tl := underLoad(ctx, s, tok.RefreshToken, "cluster-upgrade", func(mark func(string)) {
				if check.Rolling {
					for i := range cl.Size() {
						By(fmt.Sprintf("replacing node %d by %s under load", i+1, to))
						s.ExpectNoError(cl.Replace(ctx, i, to, mark), fmt.Sprintf("replace node %d by %s", i+1, to))
					}
					return
				}
				By(fmt.Sprintf("recreating the cluster with %s under load: every node stopped, then started", to))
				downtime, err = cl.Recreate(ctx, to, mark)
				s.ExpectNoError(err, "recreate the cluster with "+to)
			})
			how := "rolling upgrade " + from + " -> " + to
			if !check.Rolling {
				how = "recreate " + from + " -> " + to
				AddReportEntry("downtime", fmt.Sprintf("%d second(s) with requests through the gateway failed while no node served; every node of %s was up and in the view %s after the stop of all",
					tl.FailedSeconds(), to, downtime.Round(time.Second)))
			}
			recordLoad(s, contract.SurvivesClusterUpgrade, how, tl, check.Rolling)
			for j, node := range s.Server.Nodes {
				refreshOnID(ctx, s, c, node, tok.RefreshToken, fmt.Sprintf("issued by %s, refreshed by node %d on %s", from, j+1, to), contract.SurvivesClusterUpgrade)
			}
			fresh := getOn(ctx, s, c, 0, s.Server.Nodes[0])
			refreshOnID(ctx, s, c, s.Server.Nodes[len(s.Server.Nodes)-1], fresh.RefreshToken, fmt.Sprintf("issued by %s, refreshed by node %d", to, len(s.Server.Nodes)), contract.SurvivesClusterUpgrade)
		}, SpecTimeout(30*time.Minute))
	})
}

// clients is how many stored tokens the load refreshes, each by a client
// of its own that waits for an answer before its next refresh (a service
// that stores its token); at most one per request per second.
const clients = 10

// underLoad refreshes stored tokens through the gateway at KC_CLUSTER_RATE
// per second in all, stored (the first) and more got for the load, each by
// its own client, while change runs (change marks its events on the
// timeline), and returns the timeline, kept in the report folder as JSON
// and as a plot.
func underLoad(ctx context.Context, s *framework.Session, stored, name string, change func(mark func(string))) load.Timeline {
	GinkgoHelper()
	c := s.Realm.Client
	rate := s.Run.Settings.ClusterRate
	target := load.Target{TokenURL: c.Flow.Endpoints.Token, ClientID: c.ClientID, ClientSecret: c.Flow.ClientSecret, RefreshToken: stored}
	targets := []load.Target{target}
	for len(targets) < min(clients, rate) {
		resp, err := c.Flow.ClientCredentials(ctx, "offline_access")
		s.ExpectNoError(err, "get a token for the load")
		s.RevokeAtEnd(c, resp)
		target.RefreshToken = resp.RefreshToken
		targets = append(targets, target)
	}
	st, err := load.StartSteady(ctx, targets, load.Refresh, rate)
	s.ExpectNoError(err, "start the load")
	stopped := false
	var tl load.Timeline
	stop := func() {
		if !stopped {
			stopped = true
			tl = st.Stop()
			save(s, name, tl)
		}
	}
	defer stop()
	By(fmt.Sprintf("refreshing %d stored tokens through the gateway, %d per second in all, each by its own client", len(targets), rate))
	time.Sleep(drain)
	change(st.Mark)
	time.Sleep(drain)
	stop()
	return tl
}

// save writes the timeline and its plot to the report folder and names
// them in the spec's report.
func save(s *framework.Session, name string, tl load.Timeline) {
	dir := s.Config.ReportDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		AddReportEntry(name, "could not write the timeline: "+err.Error())
		return
	}
	base := filepath.Join(dir, fmt.Sprintf("cluster-%s-%s", name, s.Server.Version))
	b, _ := json.MarshalIndent(tl, "", "  ")
	if err := os.WriteFile(base+".json", b, 0o644); err != nil {
		AddReportEntry(name, "could not write the timeline: "+err.Error())
	}
	png, err := tl.Plot(fmt.Sprintf("Keycloak %s, %s: refreshes of a stored offline token through the gateway", s.Server.Version, name))
	if err == nil {
		err = os.WriteFile(base+".png", png, 0o644)
	}
	if err != nil {
		AddReportEntry(name, "could not plot the timeline: "+err.Error())
	}
	AddReportEntry(name, fmt.Sprintf("%s\nper second: %s.json, plot: %s.png", tl.Summary(), base, base))
}

// recordLoad records and expects the promise that no refresh was refused,
// and, for a change that keeps some node serving, the availability goal:
// no request failed at all.
func recordLoad(s *framework.Session, id contract.ID, how string, tl load.Timeline, available bool) {
	GinkgoHelper()
	tot := tl.Totals()
	sent := tl.Summary()
	sub := s.Subject(s.Realm.Client)
	refused := id.Check(sub, "no refresh of the stored token refused (400 invalid_grant)", sent, tot.Refused == 0 && tot.Sent > 0)
	checks := []contract.Check{refused}
	if available {
		failed := tot.Sent - tot.OK - tot.Refused
		checks = append(checks, contract.RollingAvailability.Check(sub, "0 requests failed (5xx or no HTTP answer)", sent, failed == 0 && tot.Sent > 0))
	}
	framework.Record(how+" under load", checks)
	Expect(refused.Result).To(Equal(report.Pass), "%s: expected no refresh refused, the gateway's answers were: %s", how, sent)
	// The availability goal is checked too: a miss is a harness extra that
	// failed (the procedure's promises may still hold), never a pass.
	for _, c := range checks[1:] {
		Expect(c.Result).To(Equal(report.Pass), "%s: %s: expected %s, the gateway's answers were: %s (per second: the timeline and its plot in the report folder)", how, c.Promise, c.Expected, sent)
	}
}
