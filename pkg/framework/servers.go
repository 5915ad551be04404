package framework

import (
	"context"
	"fmt"

	"github.com/onsi/ginkgo/v2"

	"kcconform/pkg/keycloak"
	"kcconform/pkg/keycloak/cluster"
	"kcconform/pkg/keycloak/launch"
	"kcconform/pkg/report"
)

// RequireLifecycleTarget returns the settings where the harness can stop and
// start the server on its database itself (process and container targets),
// and skips, with the reason, on an external server.
func (s *Session) RequireLifecycleTarget() keycloak.Config {
	ginkgo.GinkgoHelper()
	if s.Config.Target == keycloak.TargetExternal {
		ginkgo.Skip("stops and starts Keycloak on its database: needs KC_TARGET=process or container, not external")
	}
	return s.Config
}

// RequireProcessTarget returns the settings where the harness runs Keycloak
// as local processes it configures itself (HTTPS with a test-made
// certificate, a cluster), and skips, saying what (why) needs it, elsewhere.
func (s *Session) RequireProcessTarget(why string) keycloak.Config {
	ginkgo.GinkgoHelper()
	cfg := s.RequireLifecycleTarget()
	if cfg.Target != keycloak.TargetProcess {
		ginkgo.Skip(fmt.Sprintf("%s: needs KC_TARGET=process, not %s", why, cfg.Target))
	}
	return cfg
}

// NewServer prepares a Keycloak for this spec, on db when it is given (else
// on its own dev-file database), with the run's redactor, and registers its
// removal; Up starts it.
func (s *Session) NewServer(cfg keycloak.Config, db keycloak.Database, opts keycloak.Options) keycloak.Server {
	ginkgo.GinkgoHelper()
	opts.Redactor = s.Run.Redactor
	opts.Labels = s.Run.Labels()
	var srv keycloak.Server
	if db != nil {
		srv = db.NewServer(cfg, opts)
	} else {
		var err error
		srv, err = launch.New(cfg, opts)
		s.ExpectNoError(err, "Keycloak "+cfg.Version)
	}
	s.removeAtEnd(srv, cfg)
	return srv
}

// Successor prepares the server of version that takes over prev's place
// (an upgrade), and registers its removal.
func (s *Session) Successor(prev keycloak.Server, cfg keycloak.Config, version string) keycloak.Server {
	ginkgo.GinkgoHelper()
	srv, err := prev.Successor(version)
	s.ExpectNoError(err, "Keycloak "+version)
	cfg.Version = version
	s.removeAtEnd(srv, cfg)
	return srv
}

// removeAtEnd registers the removal of a server.
func (s *Session) removeAtEnd(srv keycloak.Server, cfg keycloak.Config) {
	Cleanup(func(ctx ginkgo.SpecContext) {
		if err := srv.Remove(ctx); err != nil {
			s.RecordLeftover(report.Leftover{What: "Keycloak " + cfg.Version + " (" + cfg.Target + " target)", Why: err.Error(),
				Remove: "stop it by hand (pkill -f kcconform-kc- for a process; podman/docker rm -f with label io.kcconform.run=" + s.Run.ID() + ")"})
		}
	})
}

// StartServer starts srv, failing the spec with the cause and the log when
// it does not become ready.
func (s *Session) StartServer(ctx context.Context, srv keycloak.Server, what string) {
	ginkgo.GinkgoHelper()
	ginkgo.By("starting " + what)
	s.ExpectNoError(srv.Up(ctx), "start "+what)
}

// StartDatabase starts a PostgreSQL server for this spec, of the kind the
// target uses, and registers its removal.
func (s *Session) StartDatabase(ctx context.Context, cfg keycloak.Config) keycloak.Database {
	ginkgo.GinkgoHelper()
	ginkgo.By("starting PostgreSQL")
	db, err := launch.StartDatabase(ctx, cfg, s.Run.Labels(), s.Run.Redactor)
	if db != nil {
		Cleanup(func(ctx ginkgo.SpecContext) {
			if err := db.Remove(ctx); err != nil {
				s.RecordLeftover(report.Leftover{What: db.Describe(), Why: err.Error(), Remove: "stop it by hand"})
			}
		})
	}
	s.ExpectNoError(err, "start PostgreSQL")
	return db
}

// NewCluster starts a cluster of the process or container target for this spec, with the
// run's redactor, and registers its removal.
func (s *Session) NewCluster(ctx context.Context, cfg keycloak.Config, co cluster.Options) *cluster.Cluster {
	ginkgo.GinkgoHelper()
	cl := cluster.New(cfg, keycloak.Options{Redactor: s.Run.Redactor, Labels: s.Run.Labels()}, co)
	s.removeAtEnd(cl, cfg)
	s.StartServer(ctx, cl, fmt.Sprintf("a cluster of %d nodes (--cache=%s) behind a gateway", cl.Size(), co.Cache))
	return cl
}
