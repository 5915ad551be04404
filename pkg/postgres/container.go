package postgres

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"kcconform/pkg/random"
	"kcconform/pkg/redact"
)

// Alias is the PostgreSQL container's name on its network.
const Alias = "postgres"

// Container is PostgreSQL in a container, through testcontainers-go's
// postgres module, on a network of its own that Keycloak's container joins.
type Container struct {
	ctr                *tcpostgres.PostgresContainer
	nw                 *testcontainers.DockerNetwork
	image              string
	user, password, db string
}

// StartContainer starts PostgreSQL from img on a new network, ready within
// timeout (every wait strategy gets it: testcontainers' own default is 60 s).
// labels mark the container for clean-up. The container is returned with an
// error too, so that the caller can always remove it.
func StartContainer(ctx context.Context, img string, timeout time.Duration, labels map[string]string, red *redact.Redactor) (*Container, error) {
	nw, err := network.New(ctx, network.WithLabels(labels))
	if err != nil {
		return nil, fmt.Errorf("postgres container network: %w", err)
	}
	d := &Container{nw: nw, image: img, user: "keycloak", db: "keycloak", password: random.Secret()}
	red.AddSecret(d.password)
	d.ctr, err = tcpostgres.Run(ctx, img,
		tcpostgres.WithDatabase(d.db), tcpostgres.WithUsername(d.user), tcpostgres.WithPassword(d.password),
		testcontainers.WithWaitStrategyAndDeadline(timeout,
			// The server restarts once after creating the database: wait for
			// its second "ready", then for the port.
			wait.ForLog("database system is ready to accept connections").WithOccurrence(2).WithStartupTimeout(timeout),
			wait.ForListeningPort("5432/tcp").WithStartupTimeout(timeout)),
		network.WithNetwork([]string{Alias}, nw),
		testcontainers.WithLabels(labels),
	)
	if err != nil {
		return d, fmt.Errorf("postgres image %s (KC_POSTGRES_IMAGE), ready within %s (KC_BOOT_TIMEOUT): %w", img, timeout, err)
	}
	return d, nil
}

// KeycloakEnv is Keycloak's configuration for this database, from a
// container on the same network.
func (d *Container) KeycloakEnv() map[string]string {
	return map[string]string{
		"KC_DB_URL":      fmt.Sprintf("jdbc:postgresql://%s:5432/%s", Alias, d.db),
		"KC_DB_USERNAME": d.user,
		"KC_DB_PASSWORD": d.password,
	}
}

// Network is the network Keycloak's container joins.
func (d *Container) Network() *testcontainers.DockerNetwork { return d.nw }

// SQL runs statements with psql in the container.
func (d *Container) SQL(ctx context.Context, statements string) (string, error) {
	code, r, err := d.ctr.Exec(ctx, []string{"psql", "-U", d.user, "-d", d.db, "-v", "ON_ERROR_STOP=1", "-At", "-c", statements}, tcexec.Multiplexed())
	if err != nil {
		return "", fmt.Errorf("postgres container: psql: %w", err)
	}
	out, _ := io.ReadAll(r)
	if code != 0 {
		return string(out), fmt.Errorf("postgres container: psql %q: exit %d: %s", statements, code, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// Describe names the server for reports.
func (d *Container) Describe() string { return "PostgreSQL in a container (" + d.image + ")" }

// Remove removes the container and its network. It is safe to call more
// than once.
func (d *Container) Remove(ctx context.Context) error {
	var err error
	if d.ctr != nil {
		err = d.ctr.Terminate(ctx, testcontainers.StopTimeout(0))
		d.ctr = nil
	}
	if d.nw != nil {
		if rerr := d.nw.Remove(ctx); rerr != nil && err == nil {
			err = rerr
		}
		d.nw = nil
	}
	return err
}
