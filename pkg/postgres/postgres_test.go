package postgres

import (
	"context"
	"os"
	"testing"
	"time"

	"kcconform/pkg/redact"
)

// A real server from the machine's packages: start, query, stop, gone.
func TestStartQueryRemove(t *testing.T) {
	if _, err := FindBin(); err != nil {
		t.Fatalf("PostgreSQL is part of the machine set-up (scripts/install-deps.sh): %v", err)
	}
	ctx := context.Background()
	s, err := Start(ctx, 2*time.Minute, redact.New())
	if err != nil {
		t.Fatal(err)
	}
	dir := s.dataDir
	out, err := s.SQL(ctx, "select current_database() || ' ' || current_user")
	if err != nil {
		t.Fatal(err)
	}
	if out != "keycloak keycloak" {
		t.Fatalf("got %q", out)
	}
	if err := s.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("data dir left behind: %v", err)
	}
	if err := s.Remove(ctx); err != nil {
		t.Fatalf("a second Remove: %v", err)
	}
}
