package gateway

import (
	"strings"
	"testing"
)

// The gateway serves the nodes under /keycloak, checks each node's
// readiness on its management port, and retries a failed connection.
func TestHAProxyConfig(t *testing.T) {
	cfg := haproxyConfig(18080, []Backend{{HTTPPort: 11001, ManagementPort: 12001}, {HTTPPort: 11002, ManagementPort: 12002}})
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
