package postgres

import (
	"context"
	"os"
	"testing"
)

// A real server from the machine's packages: start, query, stop, gone.
func TestStartQueryStop(t *testing.T) {
	if _, err := FindBin(); err != nil {
		t.Fatalf("PostgreSQL is part of the machine set-up (scripts/install-deps.sh): %v", err)
	}
	ctx := context.Background()
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.SQL(ctx, "select current_database() || ' ' || current_user")
	if err != nil {
		t.Fatal(err)
	}
	if out != "keycloak keycloak" {
		t.Fatalf("got %q", out)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.dataDir); !os.IsNotExist(err) {
		t.Fatalf("data dir left behind: %v", err)
	}
}
