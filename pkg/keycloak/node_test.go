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
