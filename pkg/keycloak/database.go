package keycloak

import (
	"context"

	"kcconform/pkg/postgres"
	"kcconform/pkg/redact"
)

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
}

// localDatabase is a local PostgreSQL server, for the process target.
type localDatabase struct{ *postgres.Server }

func (d localDatabase) NewServer(cfg Config, opts Options) Server {
	return NewProcess(cfg, opts, ProcessOptions{Database: d.Server})
}

// containerDatabase is PostgreSQL in a container, for the container target.
type containerDatabase struct{ *postgres.Container }

func (d containerDatabase) NewServer(cfg Config, opts Options) Server {
	return NewContainer(cfg, opts, d.Container)
}

// StartDatabase starts a PostgreSQL server of the kind the target uses,
// ready within cfg.BootTimeout. It is returned with an error too, when there
// is something to remove.
func StartDatabase(ctx context.Context, cfg Config, labels map[string]string, red *redact.Redactor) (Database, error) {
	switch cfg.Target {
	case TargetContainer:
		d, err := postgres.StartContainer(ctx, cfg.PostgresImage, cfg.BootTimeout, labels, red)
		if d == nil {
			return nil, err
		}
		return containerDatabase{d}, err
	case TargetProcess:
		s, err := postgres.Start(ctx, cfg.PGBin, cfg.BootTimeout, red)
		if err != nil {
			return nil, err
		}
		return localDatabase{s}, nil
	}
	return nil, ErrNotControlled
}
