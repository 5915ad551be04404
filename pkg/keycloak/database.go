package keycloak

import (
	"context"
	"os"

	"kcconform/pkg/postgres"
	"kcconform/pkg/redact"
	"kcconform/pkg/versions"
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
}

// StartDatabase starts a PostgreSQL server of the kind the target uses,
// ready within cfg.BootTimeout. It is returned with an error too, when there
// is something to remove.
func StartDatabase(ctx context.Context, cfg Config, labels map[string]string, red *redact.Redactor) (Database, error) {
	if cfg.Target == TargetContainer {
		img := os.Getenv("KC_POSTGRES_IMAGE")
		if img == "" {
			img = versions.PostgresImage
		}
		d, err := postgres.StartContainer(ctx, img, cfg.BootTimeout, labels, red)
		if d == nil {
			return nil, err
		}
		return d, err
	}
	s, err := postgres.Start(ctx, cfg.BootTimeout, red)
	if err != nil {
		return nil, err
	}
	return s, nil
}
