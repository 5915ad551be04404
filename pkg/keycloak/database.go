package keycloak

import "context"

// Database is a PostgreSQL server for Keycloak: a local server from the
// machine's packages (process target) or a container (container target).
type Database interface {
	// SQL runs statements against Keycloak's database and returns the output.
	SQL(ctx context.Context, statements string) (string, error)
	// Describe names the server for reports.
	Describe() string
	// Remove stops the server and deletes its data.
	Remove(ctx context.Context) error
	// NewServer returns a Keycloak of the database's target on it, not yet
	// started.
	NewServer(cfg Config, opts Options) Server
	// NewMember returns a cluster node of the database's target on it, not
	// yet started.
	NewMember(cfg Config, opts Options, node *ClusterNode) Member
}
