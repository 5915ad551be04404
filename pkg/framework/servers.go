package framework

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/onsi/ginkgo/v2"

	"kcconform/pkg/keycloak"
	"kcconform/pkg/report"
)

// RequireLifecycleTarget returns the settings where the harness can stop and
// start the server on its database itself (process and container targets),
// and skips, with the reason, on an external server.
func RequireLifecycleTarget() keycloak.Config {
	ginkgo.GinkgoHelper()
	cfg := Config()
	if cfg.Target == keycloak.TargetExternal {
		ginkgo.Skip("stops and starts Keycloak on its database: needs KC_TARGET=process or container, not external")
	}
	return cfg
}

// RequireProcessTarget returns the settings where the harness runs Keycloak
// as a local process it configures itself (HTTPS with a test-made
// certificate), and skips, with the reason, elsewhere.
func RequireProcessTarget() keycloak.Config {
	ginkgo.GinkgoHelper()
	cfg := RequireLifecycleTarget()
	if cfg.Target != keycloak.TargetProcess {
		ginkgo.Skip(fmt.Sprintf("configures the server's TLS itself: needs KC_TARGET=process, not %s", cfg.Target))
	}
	return cfg
}

// labels mark what the run starts in a container engine.
func labels() map[string]string {
	return map[string]string{"io.kcconform.run": RunID(), "io.kcconform.owner-pid": strconv.Itoa(os.Getpid())}
}

// NewServer prepares a Keycloak for this spec with the run's redactor and
// registers its removal; Start starts it.
func NewServer(cfg keycloak.Config, opts keycloak.Options) keycloak.Server {
	ginkgo.GinkgoHelper()
	opts.Redactor = Redactor
	opts.Labels = labels()

	srv, err := keycloak.New(cfg, opts)
	ExpectNoError(err, "Keycloak "+cfg.Version)
	Cleanup(func(ctx ginkgo.SpecContext) {
		if err := srv.Remove(ctx); err != nil {
			RecordLeftover(report.Leftover{What: "Keycloak " + cfg.Version + " (" + cfg.Target + " target)", Why: err.Error(),
				Remove: "stop it by hand (pkill -f kcconform-kc- for a process; podman/docker rm -f with label io.kcconform.run=" + RunID() + ")"})
		}
	})
	return srv
}

// StartServer starts srv, failing the spec with the cause and the log when
// it does not become ready.
func StartServer(ctx context.Context, srv keycloak.Server, what string) {
	ginkgo.GinkgoHelper()
	ginkgo.By("starting " + what)
	ExpectNoError(srv.Start(ctx), "start "+what)
}

// StartDatabase starts a PostgreSQL server for this spec, of the kind the
// target uses, and registers its removal.
func StartDatabase(ctx context.Context, cfg keycloak.Config) keycloak.Database {
	ginkgo.GinkgoHelper()
	ginkgo.By("starting PostgreSQL")
	db, err := keycloak.StartDatabase(ctx, cfg, labels(), Redactor)
	if db != nil {
		Cleanup(func(ctx ginkgo.SpecContext) {
			if err := db.Remove(ctx); err != nil {
				RecordLeftover(report.Leftover{What: db.Describe(), Why: err.Error(), Remove: "stop it by hand"})
			}
		})
	}
	ExpectNoError(err, "start PostgreSQL")
	return db
}
