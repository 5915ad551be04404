// Package cluster checks the procedure's promises where production keeps
// them: several Keycloak nodes on one database behind a gateway. A token
// got on any node refreshes on every other, an administrator's revocation on
// one node holds on every other within a bound it measures, and the stored
// tokens survive the loss of the node that issued them (keycloak#44821). A
// negative control, nodes that share the database but never form a cluster,
// proves the revocation check can fail.
package cluster

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"kcconform/pkg/contract"
	"kcconform/pkg/framework"
	"kcconform/pkg/keycloak"
	kccluster "kcconform/pkg/keycloak/cluster"
	"kcconform/pkg/report"
	"kcconform/pkg/run"
	"kcconform/pkg/tokenflow"
)

// Suite is the cluster suite.
var Suite = framework.Suite{Name: "cluster", Description: "kcconform: cluster", Register: register}

// revocationBound is how long a revocation on one node may take to hold on
// every other: the nodes invalidate each other's caches at once, so a
// refusal that has not come by then is not coming.
const revocationBound = 10 * time.Second

func register(r *run.Run) {
	s := framework.Bootstrap(r, "cluster", framework.NeedRealm, framework.ServerOptions{Nodes: r.Settings.ClusterNodes})

	Describe("a cluster of Keycloak nodes on one database behind a gateway", Serial, Label(framework.LabelCluster), func() {
		It("refreshes a token got on any node on every other node, and takes the stored token on every node", func(ctx SpecContext) {
			c := s.Realm.Client
			nodes := s.Server.Nodes
			Expect(len(nodes)).To(BeNumerically(">=", 2), "the cluster's nodes")
			for i, from := range nodes {
				tok := getOn(ctx, s, c, i, from)
				for j, to := range nodes {
					if j == i {
						continue
					}
					step := fmt.Sprintf("issued by node %d, refreshed by node %d", i+1, j+1)
					refreshOn(ctx, s, c, to, tok.RefreshToken, step)
				}
				// The stored token, presented again on every node.
				for j, to := range nodes {
					refreshOn(ctx, s, c, to, tok.RefreshToken, fmt.Sprintf("issued by node %d, stored, refreshed again by node %d", i+1, j+1))
				}
			}
		})

		It("refuses on every other node, within a bound it measures, a token revoked on one node: its offline session deleted by an administrator, or, with only the client's credentials, revoked by the client (RFC 7009)", func(ctx SpecContext) {
			took := expectRevokedEverywhere(ctx, s, s.Server.Nodes)
			AddReportEntry("revocation across nodes", fmt.Sprintf("refused on every other node %s after the revocation (bound %s)", took.Round(time.Millisecond), revocationBound))
		})

		It("keeps the stored tokens after the node that issued them is killed: they refresh on the survivors, and on that node when it is back in the cluster (keycloak#44821)", func(ctx SpecContext) {
			cl := s.Cluster()
			c := s.Realm.Client
			nodes := s.Server.Nodes
			tok := getOn(ctx, s, c, 0, nodes[0])
			By("killing node 1 (SIGKILL), which issued the token")
			s.ExpectNoError(cl.Node(0).Kill(ctx), "kill node 1")
			killed := time.Now()
			// Until the survivors see node 1 gone (failure detection), a
			// request that needs what node 1 held waits for it and fails
			// (ISPN000476, HTTP 500): an outage, measured and reported; a
			// refusal of the token (invalid_grant) is a token lost.
			var outage []string
			var served time.Duration
			for time.Since(killed) < s.Config.BootTimeout {
				resp, err := s.OnNode(c, nodes[1]).Refresh(ctx, tok.RefreshToken)
				if err == nil {
					s.RevokeAtEnd(c, resp)
					break
				}
				if e, ok := tokenflow.AsError(err); !ok || e.Status < 500 {
					break // a refusal: the checks below record it
				}
				outage = append(outage, contract.SentOf(err))
				time.Sleep(time.Second)
			}
			served = time.Since(killed)
			s.ExpectNoError(cl.WaitView(ctx, cl.Size()-1, s.Config.BootTimeout-served), "cluster view without node 1")
			AddReportEntry("node loss", fmt.Sprintf("after SIGKILL of node 1, node 2 answered %d refresh(es) with a server error %v and served the token %s after the kill; the survivors saw node 1 gone %s after it",
				len(outage), outage, served.Round(time.Second), time.Since(killed).Round(time.Second)))
			for j := 1; j < len(nodes); j++ {
				refreshOnID(ctx, s, c, nodes[j], tok.RefreshToken, fmt.Sprintf("node 1 killed, refreshed by node %d", j+1), contract.SurvivesNodeLoss)
			}
			By("starting node 1 again on the same database, and waiting until every node sees all of them")
			s.ExpectNoError(cl.Revive(ctx, 0), "start node 1 again")
			refreshOnID(ctx, s, c, nodes[0], tok.RefreshToken, "node 1 back, refreshed by node 1", contract.SurvivesNodeLoss)
		}, SpecTimeout(10*time.Minute))
	})

	registerRolling(r, s)

	Describe("the kcconform command against an external cluster (KC_CLUSTER_URLS)", Serial, Label(framework.LabelCluster, framework.LabelSelf), func() {
		It("passes this cluster as a deployment it did not start, with only the client's credentials, and refuses a KC_CLUSTER_URLS with an unreachable node or a URL that is not a Keycloak, naming it", func(ctx SpecContext) {
			if s.Config.Target == keycloak.TargetExternal {
				Skip("runs the command against the cluster kcconform started")
			}
			c := s.Realm.Client
			env := map[string]string{"KC_REALM": s.Realm.Name, "KC_CLIENT_ID": c.ClientID, "KC_CLIENT_SECRET": c.Flow.ClientSecret,
				"KC_CLUSTER_URLS": strings.Join(s.Server.Nodes, ",")}
			res := s.Conformance(ctx, s.Server.BaseURL, env, "--suite", "cluster")
			Expect(res.Output).To(MatchRegexp(`(?m)^verdict: PASS: the server keeps`), report.LastLines(res.Output, 40))
			Expect(res.Output).To(ContainSubstring("stops and starts a node: needs a cluster kcconform starts"))
			Expect(res.Output).To(MatchRegexp(`revocation on every node\s+pass`))
			s.ExpectNoLeak(res, c.Flow.ClientSecret)

			notKeycloak := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hello")) }))
			defer notKeycloak.Close()
			for bad, want := range map[string]string{
				"http://127.0.0.1:1": "KC_CLUSTER_URLS: node http://127.0.0.1:1: ",
				notKeycloak.URL:      "KC_CLUSTER_URLS: node " + notKeycloak.URL + ": GET " + notKeycloak.URL + "/realms/" + s.Realm.Name + "/.well-known/openid-configuration: expected the realm's OIDC discovery document",
			} {
				env["KC_CLUSTER_URLS"] = s.Server.Nodes[0] + "," + bad
				res := s.Conformance(ctx, s.Server.BaseURL, env, "--suite", "cluster")
				Expect(res.ExitCode).To(Equal(report.ExitCouldNot), report.LastLines(res.Output, 20))
				Expect(res.Output).To(ContainSubstring("verdict: COULD NOT RUN: reach the external Keycloak: " + want))
			}
		}, SpecTimeout(10*time.Minute))
	})

	Describe("the negative control: nodes that share the database but do not form a cluster", Serial, Label(framework.LabelCluster, framework.LabelSelf), func() {
		It("fails the cross-node revocation: a session deleted on one node still refreshes on another (--cache=local)", func(ctx SpecContext) {
			s.RequireAdmin()
			cfg := s.RequireLifecycleTarget()
			ls := s.ForServer(s.NewCluster(ctx, cfg, kccluster.Options{Nodes: 2, Cache: keycloak.CacheLocal}), cfg)
			ls.Realm = ls.ProvisionRealm(ctx, "cluster-local")
			msg := InterceptGomegaFailure(func() { expectRevokedEverywhere(ctx, ls, ls.Server.Nodes) })
			Expect(msg).To(MatchError(ContainSubstring("revocation on every node")), "nodes that do not form a cluster must fail the check")
			if cfg.Target == keycloak.TargetProcess {
				// Its builds have metrics on: each node says it stands alone.
				Expect(msg).To(MatchError(ContainSubstring("the nodes stand alone: by their metrics (vendor_cluster_size) node 1 sees 1, node 2 sees 1, of 2 nodes")))
			}
			AddReportEntry("the self-check's failure, as intended", s.Run.Redactor.String(msg.Error()))
		}, SpecTimeout(10*time.Minute))
	})
}

// getOn is the procedure's get, sent to node i.
func getOn(ctx context.Context, s *framework.Session, c *framework.Client, i int, node string) *tokenflow.Response {
	GinkgoHelper()
	resp, err := s.OnNode(c, node).ClientCredentials(ctx, "offline_access")
	if err == nil && resp.RefreshToken != "" {
		s.RevokeAtEnd(c, resp)
	}
	s.ExpectToken(contract.Get, fmt.Sprintf("get on node %d", i+1), s.Subject(c), err)
	framework.ExpectKept(fmt.Sprintf("get on node %d", i+1), resp, contract.Offline(s.Profile, s.Subject(c), resp))
	return resp
}

// refreshOn presents a refresh token to a node: the cross-node promise.
func refreshOn(ctx context.Context, s *framework.Session, c *framework.Client, node, refreshToken, step string) {
	GinkgoHelper()
	refreshOnID(ctx, s, c, node, refreshToken, step, contract.CrossNodeRefresh)
}

// refreshOnID presents a refresh token to a node, recording the answer
// under the promise id (the step names the nodes), and the offline contract
// for what it sent.
func refreshOnID(ctx context.Context, s *framework.Session, c *framework.Client, node, refreshToken, step string, id contract.ID) {
	GinkgoHelper()
	resp, err := s.OnNode(c, node).Refresh(ctx, refreshToken)
	framework.Record(step, []contract.Check{contract.TokenAnswer(id, s.Subject(c), err)})
	s.ExpectNoError(err, step+": expected HTTP 200 with a token response")
	s.RevokeAtEnd(c, resp)
	framework.ExpectKept(step, resp, contract.Offline(s.Profile, s.Subject(c), resp))
}

// standAlone says, where the nodes' metrics tell the cluster size each
// sees (vendor_cluster_size), which nodes stand alone; "" where none says.
func standAlone(ctx context.Context, s *framework.Session) string {
	hc, err := s.Server.HTTPClient()
	if err != nil {
		return ""
	}
	n := len(s.Server.Nodes)
	var alone, sizes []string
	for i, m := range s.Server.NodeManagement {
		size, metrics, err := keycloak.ClusterSize(ctx, hc, m)
		if err != nil || !metrics {
			continue
		}
		seen := fmt.Sprintf("node %d sees %d", i+1, size)
		if size == 0 {
			seen = fmt.Sprintf("node %d has no cluster", i+1)
		}
		sizes = append(sizes, seen)
		if size < n {
			alone = append(alone, seen)
		}
	}
	switch {
	case len(sizes) == 0:
		return ""
	case len(alone) == 0:
		return fmt.Sprintf(" (by the nodes' metrics, vendor_cluster_size: %s)", strings.Join(sizes, ", "))
	}
	return fmt.Sprintf("; the nodes stand alone: by their metrics (vendor_cluster_size) %s, of %d nodes", strings.Join(alone, ", "), n)
}

// expectRevokedEverywhere gets a token on the first node and refreshes it
// on every other (so that each holds the session, as under a load
// balancer), revokes it through the first node (the offline session
// deleted through its admin API, or without admin rights the client's own
// RFC 7009 revocation), and expects every other node to refuse the token
// within revocationBound; it returns how long the last refusal took.
func expectRevokedEverywhere(ctx context.Context, s *framework.Session, nodes []string) time.Duration {
	GinkgoHelper()
	c := s.Realm.Client
	tok := getOn(ctx, s, c, 0, nodes[0])
	Expect(tok.SessionState).NotTo(BeEmpty(), "session_state names the offline session")
	for j := 1; j < len(nodes); j++ {
		refreshOn(ctx, s, c, nodes[j], tok.RefreshToken, fmt.Sprintf("issued by node 1, refreshed by node %d before the revocation", j+1))
	}
	if s.Admin != nil {
		By("deleting the offline session through node 1's admin API")
		s.ExpectNoError(s.AdminOn(nodes[0]).DeleteSession(ctx, s.Realm.Name, tok.SessionState, true), "delete the offline session on node 1")
	} else {
		By("revoking the token at node 1's revocation endpoint (RFC 7009), as the client")
		s.ExpectNoError(s.OnNode(c, nodes[0]).Revoke(ctx, tok.RefreshToken), "revoke the token on node 1")
	}
	deleted := time.Now()
	var took time.Duration
	for j := 1; j < len(nodes); j++ {
		step := fmt.Sprintf("revoked on node 1, refreshed on node %d", j+1)
		var err error
		for {
			var resp *tokenflow.Response
			resp, err = s.OnNode(c, nodes[j]).Refresh(ctx, tok.RefreshToken)
			if err != nil || time.Since(deleted) > revocationBound {
				if err == nil {
					s.RevokeAtEnd(c, resp)
				}
				break
			}
			s.RevokeAtEnd(c, resp)
			time.Sleep(200 * time.Millisecond)
		}
		took = max(took, time.Since(deleted))
		check := contract.Refused(contract.CrossNodeRevocation, s.Subject(c), err, http.StatusBadRequest, "invalid_grant")
		check.Expected += fmt.Sprintf(" within %s of the revocation on node 1", revocationBound)
		if check.Failed() {
			check.Sent += standAlone(ctx, s)
		}
		framework.Record(step, []contract.Check{check})
		Expect(check.Failed()).To(BeFalse(), "%s on node %d: expected %s, node sent %s", contract.CrossNodeRevocation.Title(), j+1, check.Expected, check.Sent)
	}
	return took
}
