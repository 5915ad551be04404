package process

import (
	"context"

	"kcconform/pkg/gateway"
	"kcconform/pkg/keycloak"
	"kcconform/pkg/postgres"
)

// Database is a local PostgreSQL server whose servers are processes.
type Database struct{ *postgres.Server }

// NewServer is a process on the database, not yet started.
func (d Database) NewServer(cfg keycloak.Config, opts keycloak.Options) keycloak.Server {
	return New(cfg, opts, Options{Database: d.Server})
}

// NewMember is a cluster node on the database, not yet started.
func (d Database) NewMember(cfg keycloak.Config, opts keycloak.Options, node *keycloak.ClusterNode) keycloak.Member {
	return New(cfg, opts, Options{Database: d.Server, Node: node})
}

// Serving says whether the JVM runs.
func (p *Process) Serving() bool { return p.running != nil }

// View is the member count of the latest cluster view of this run's log.
func (p *Process) View(context.Context) int {
	if p.running == nil {
		return 0
	}
	return keycloak.View(p.running.log, p.running.logStart)
}

// Backend is the node's ports on loopback.
func (p *Process) Backend() gateway.Backend {
	return gateway.Backend{HTTPPort: p.httpPort, ManagementPort: keycloak.HealthPort(p.cfg.Version, p.httpPort, p.managementPort)}
}

// Next is a node of version in p's place (its ports, database, node).
func (p *Process) Next(version string) keycloak.Member { return p.successor(version) }

// Prebuild builds the node's version (cached).
func (p *Process) Prebuild(ctx context.Context) error {
	_, _, err := p.build(ctx, keycloak.StartPhases())
	return err
}

// Forget removes the stopped node's run directory.
func (p *Process) Forget() { p.removeDir() }

// AssignPorts takes the HTTP, management and cluster transport ports.
func (p *Process) AssignPorts(hostname string, free func() (int, error)) (int, error) {
	var err error
	for _, port := range []*int{&p.httpPort, &p.managementPort, &p.node.BindPort} {
		if *port, err = free(); err != nil {
			return 0, err
		}
	}
	p.node.Hostname = hostname
	return p.node.BindPort, nil
}
