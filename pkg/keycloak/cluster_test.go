package keycloak

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A node's cluster view is the member count of the last ISPN000094 line of
// its log.
func TestView(t *testing.T) {
	log := filepath.Join(t.TempDir(), "server.log")
	lines := `2026-12-02 03:40:01,000 INFO  [org.infinispan.CLUSTER] (main) ISPN000094: Received new cluster view for channel ISPN: [node-a-1234|0] (1) [node-a-1234]
2026-12-02 03:40:31,000 INFO  [org.infinispan.CLUSTER] (jgroups-7,node-a-1234) ISPN000094: Received new cluster view for channel ISPN: [node-a-1234|2] (3) [node-a-1234, node-b-5678, node-c-9012]
`
	if got := View(log, 0); got != 0 {
		t.Fatalf("no log: view %d", got)
	}
	if err := os.WriteFile(log, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := View(log, 0); got != 3 {
		t.Fatalf("view %d, want 3", got)
	}
	// The node started again: its earlier run's views are not its own.
	restarted := lines + "2026-12-02 03:41:00,000 INFO  [io.quarkus] (main) Keycloak stopped\n"
	if err := os.WriteFile(log, []byte(restarted), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := View(log, int64(len(lines))); got != 0 {
		t.Fatalf("after a restart: view %d, want 0", got)
	}
	merged := restarted + "2026-12-02 03:41:30,000 INFO  [org.infinispan.CLUSTER] (jgroups-9,node-b-5678) ISPN000093: Received new, MERGED cluster view for channel ISPN: MergeView::[node-b-5678|7] (2) [node-b-5678, node-a-1234], 2 subgroups: [node-b-5678|5] (1) [node-b-5678], [node-a-1234|6] (1) [node-a-1234]\n"
	if err := os.WriteFile(log, []byte(merged), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := View(log, int64(len(lines))); got != 2 {
		t.Fatalf("merged view %d, want 2", got)
	}
}

// A node of a cluster names the gateway as its hostname and its cluster
// port on loopback, and moves the failure detector off the ephemeral range.
func TestNodeArguments(t *testing.T) {
	s := jvmStart{version: "26.7.3", httpPort: 1, managementPort: 2, node: &ClusterNode{Hostname: "http://127.0.0.1:3/keycloak", Cache: CacheCluster, BindPort: 20000, FDOffset: 7}}
	args := strings.Join(s.args(), " ")
	for _, want := range []string{"--hostname=http://127.0.0.1:3/keycloak", "--cache=ispn", "--cache-embedded-network-bind-address=127.0.0.1", "--cache-embedded-network-bind-port=20000"} {
		if !strings.Contains(args, want) {
			t.Errorf("args lack %q: %s", want, args)
		}
	}
	if strings.Contains(args, "--hostname-strict=false") || strings.Contains(args, "--cache=local") {
		t.Errorf("a node's args: %s", args)
	}
	if got := s.node.javaOptions(); len(got) != 1 || got[0] != "-Djgroups.fd.port-offset=7" {
		t.Errorf("java options %v", got)
	}
	local := jvmStart{version: "26.7.3", node: &ClusterNode{Cache: CacheLocal}}
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

// The cluster size a node sees is read from its metrics; a node without
// the gauge says nothing.
func TestParseClusterSize(t *testing.T) {
	text := `# HELP vendor_cluster_size The number of members in the cluster
# TYPE vendor_cluster_size gauge
vendor_cluster_size{cache="sessions"} 3.0
vendor_cluster_size_other 9
jvm_threads_live_threads 80.0
`
	if n, ok, err := parseClusterSize(strings.NewReader(text)); err != nil || !ok || n != 3 {
		t.Fatalf("size %d %v %v", n, ok, err)
	}
	if _, ok, _ := parseClusterSize(strings.NewReader("jvm_threads_live_threads 80.0\n")); ok {
		t.Fatal("a node without the gauge reported a size")
	}
}
