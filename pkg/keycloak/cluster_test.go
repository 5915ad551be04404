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
	if got := View(log); got != 0 {
		t.Fatalf("no log: view %d", got)
	}
	if err := os.WriteFile(log, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := View(log); got != 3 {
		t.Fatalf("view %d, want 3", got)
	}
}

// The gateway serves the nodes under /keycloak, checks each node's
// readiness on its management port, and retries a failed connection.
func TestHAProxyConfig(t *testing.T) {
	cfg := haproxyConfig(18080, []gatewayBackend{{11001, 12001}, {11002, 12002}})
	for _, want := range []string{
		"bind 127.0.0.1:18080",
		"unless { path_beg /keycloak/ }",
		`http-request replace-path ^/keycloak(/.*)$ \1`,
		"option httpchk GET /health/ready",
		"retry-on conn-failure",
		"server node1 127.0.0.1:11001 check port 12001",
		"server node2 127.0.0.1:11002 check port 12002",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
}

// A node of a cluster names the gateway as its hostname and its cluster
// port on loopback, and moves the failure detector off the ephemeral range.
func TestNodeArguments(t *testing.T) {
	s := jvmStart{httpPort: 1, managementPort: 2, node: &ClusterNode{Hostname: "http://127.0.0.1:3/keycloak", Cache: CacheCluster, BindPort: 20000, FDPort: 20007}}
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
	local := jvmStart{node: &ClusterNode{Cache: CacheLocal}}
	if args := strings.Join(local.args(), " "); !strings.Contains(args, "--cache=local") || strings.Contains(args, "bind-port") {
		t.Errorf("a local node's args: %s", args)
	}
}
