// Package launch makes the server of a target: one constructor for the
// three (New) and the PostgreSQL each target runs on (StartDatabase). It is
// the one package that knows every target's package.
package launch

import (
	"context"
	"fmt"

	"kcconform/pkg/keycloak"
	"kcconform/pkg/keycloak/container"
	"kcconform/pkg/keycloak/process"
	"kcconform/pkg/postgres"
	"kcconform/pkg/redact"
)

// New returns the server of cfg.Target, not yet started: on its own
// dev-file database where the harness starts it (a Database's NewServer
// starts one on PostgreSQL).
func New(cfg keycloak.Config, opts keycloak.Options) (keycloak.Server, error) {
	switch cfg.Target {
	case keycloak.TargetProcess:
		return process.New(cfg, opts, process.Options{}), nil
	case keycloak.TargetContainer:
		return container.New(cfg, opts, nil), nil
	case keycloak.TargetExternal:
		return keycloak.NewExternal(cfg, opts.Redactor), nil
	}
	return nil, fmt.Errorf("KC_TARGET: expected process, container or external, got %q", cfg.Target)
}

// StartDatabase starts a PostgreSQL server of the kind the target uses,
// ready within cfg.BootTimeout: a local server from the machine's packages
// (process target) or a container (container target). It is returned with
// an error too, when there is something to remove.
func StartDatabase(ctx context.Context, cfg keycloak.Config, labels map[string]string, red *redact.Redactor) (keycloak.Database, error) {
	switch cfg.Target {
	case keycloak.TargetContainer:
		d, err := postgres.StartContainer(ctx, cfg.PostgresImage, cfg.BootTimeout, labels, red)
		if d == nil {
			return nil, err
		}
		return container.Database{Container: d}, err
	case keycloak.TargetProcess:
		s, err := postgres.Start(ctx, cfg.PGBin, cfg.BootTimeout, red)
		if err != nil {
			return nil, err
		}
		return process.Database{Server: s}, nil
	}
	return nil, keycloak.ErrNotControlled
}
