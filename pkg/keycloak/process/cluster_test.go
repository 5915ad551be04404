package process

import (
	"strings"
	"testing"

	"kcconform/pkg/keycloak"
)

// A node of a cluster names the gateway as its hostname and its cluster
// port on loopback, and moves the failure detector off the ephemeral range.
func TestNodeArguments(t *testing.T) {
	s := jvmStart{version: "26.7.3", httpPort: 1, managementPort: 2, node: &keycloak.ClusterNode{Hostname: "http://127.0.0.1:3/keycloak", Cache: keycloak.CacheCluster, BindPort: 20000, FDOffset: 7}}
	args := strings.Join(s.args(), " ")
	for _, want := range []string{"--hostname=http://127.0.0.1:3/keycloak", "--cache=ispn", "--cache-embedded-network-bind-address=127.0.0.1", "--cache-embedded-network-bind-port=20000"} {
		if !strings.Contains(args, want) {
			t.Errorf("args lack %q: %s", want, args)
		}
	}
	if strings.Contains(args, "--hostname-strict=false") || strings.Contains(args, "--cache=local") {
		t.Errorf("a node's args: %s", args)
	}
	if got := nodeJavaOptions(s.node); len(got) != 1 || got[0] != "-Djgroups.fd.port-offset=7" {
		t.Errorf("java options %v", got)
	}
	local := jvmStart{version: "26.7.3", node: &keycloak.ClusterNode{Cache: keycloak.CacheLocal}}
	if args := strings.Join(local.args(), " "); !strings.Contains(args, "--cache=local") || strings.Contains(args, "bind-port") {
		t.Errorf("a local node's args: %s", args)
	}
}

// The check's verdict lines are kept, in both shapes Keycloak prints them.
func TestVerdictLines(t *testing.T) {
	out := "2026-12-02 INFO [org.keycloak] starting\n[OK] Rolling Update is available.\n"
	if got := verdictLines(out); got != "[OK] Rolling Update is available." {
		t.Errorf("rolling: %q", got)
	}
	out = "Aggregated incompatible results:\nOptional[[cacheEmbedded] Rolling Update is not available. 'cacheEmbedded.version' is incompatible: 15.0.19.Final -> 16.0.]\n"
	if got := verdictLines(out); got != "[cacheEmbedded] Rolling Update is not available. 'cacheEmbedded.version' is incompatible: 15.0.19.Final -> 16.0." {
		t.Errorf("recreate: %q", got)
	}
	if got := verdictLines("nothing"); got != "(no verdict line)" {
		t.Errorf("none: %q", got)
	}
}
