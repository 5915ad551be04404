package keycloak

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"kcconform/pkg/gateway"
	"kcconform/pkg/redact"
	"kcconform/pkg/release"
)

// Cache modes of a cluster's nodes.
const (
	// CacheCluster: the nodes form a cluster (Infinispan over JGroups'
	// jdbc-ping, through the shared database).
	CacheCluster = "ispn"
	// CacheLocal: each node caches alone and the nodes only share the
	// database, as nodes whose cluster port is blocked do.
	CacheLocal = "local"
)

// LocalCache is given at every start of a single server: it needs no
// cluster discovery, and 26.7 ignores the build-time value.
var LocalCache = []string{"--cache=" + CacheLocal}

// ClusterNode is what makes a server one node of a cluster.
type ClusterNode struct {
	// Hostname is the URL every node gives its tokens as issuer: the
	// gateway's, so that a token of one node validates on every other.
	Hostname string
	// Cache is CacheCluster (the nodes form a cluster through the database,
	// jdbc-ping) or CacheLocal (they share the database only: what a
	// blocked cluster port leaves, the negative control).
	Cache string
	// BindPort is the cluster transport's port on 127.0.0.1.
	BindPort int
	// FDOffset is the failure detector's port offset from BindPort
	// (JGroups' jgroups.fd.port-offset, 50000 by default, which would land
	// in the ephemeral range). Every node of a cluster needs the same: a
	// node connects to its neighbour's failure detector at the neighbour's
	// BindPort plus its own offset, and a node it cannot reach there it
	// suspects, again and again (views that flap under load).
	FDOffset int
}

// Member is a server that can be a node of a cluster (package cluster): a
// process or a container, made by its Database's NewMember.
type Member interface {
	Server
	// Serving says whether the node runs.
	Serving() bool
	// View is the member count of the node's latest cluster view (0 before
	// any).
	View(ctx context.Context) int
	// Backend is where the gateway reaches the node.
	Backend() gateway.Backend
	// Next is a node of version that takes this one's place once it has
	// stopped: its ports, database and cluster options.
	Next(version string) Member
	// Prebuild makes ready what the node's start needs (a build), so that a
	// replacement costs only its boot.
	Prebuild(ctx context.Context) error
	// Forget removes what a stopped node leaves that its successor does not
	// reuse.
	Forget()
	// AssignPorts gives the node its ports (from free) and hostname, and
	// returns the cluster transport port it binds on this machine (0: a
	// container binds its own, in its own network namespace).
	AssignPorts(hostname string, free func() (int, error)) (int, error)
}

// viewLine is the line a node logs when it sees a new cluster view, or a
// merged one after a split: the number of members closes it, "(3)".
var viewLine = regexp.MustCompile(`ISPN00009[34]: Received new(?:, MERGED)? cluster view for channel \S+: (?:MergeView::)?\[[^\]]*\] \((\d+)\)`)

// View is the number of members the node sees in its latest cluster view
// logged after offset from of its log (0 before any, or for a node that
// does not cluster): a node started again appends to its log, and the
// views of its earlier run are no longer its own.
func View(logFile string, from int64) int {
	b, err := os.ReadFile(logFile)
	if err != nil || from > int64(len(b)) {
		return 0
	}
	return ViewIn(b[from:])
}

// ViewIn is the member count of the last cluster view in a log.
func ViewIn(log []byte) int {
	m := viewLine.FindAllSubmatch(log, -1)
	if len(m) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(string(m[len(m)-1][1]))
	return n
}

// HealthPort is where a version serves /health: its management port from
// 25 on, its HTTP port before.
func HealthPort(version string, httpPort, managementPort int) int {
	if r, _ := release.LineOf(version); !r.ManagementPort {
		return httpPort
	}
	return managementPort
}

// BootstrapAdminEnv is the environment that creates the first administrator
// (KC_BOOTSTRAP_ADMIN_* from 26, KEYCLOAK_ADMIN* before: package release).
func BootstrapAdminEnv(version, user, password string) []string {
	r, _ := release.LineOf(version)
	return []string{r.AdminUserEnv + "=" + user, r.AdminPasswordEnv + "=" + password}
}

// FreeName is base.log in dir, or base-2.log, base-3.log… where a server
// before it (the node it replaced, on the same port) left its log.
func FreeName(dir, base string) string {
	name := base + ".log"
	for i := 2; i < 100; i++ {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			break
		}
		name = fmt.Sprintf("%s-%d.log", base, i)
	}
	return name
}

// SaveLog copies a server log, redacted, into dir (the reports folder) as
// name; nothing where dir is empty.
func SaveLog(path, dir, name string, red *redact.Redactor) {
	if dir == "" {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	_ = os.MkdirAll(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, name), []byte(red.String(string(b))), 0o644)
}
