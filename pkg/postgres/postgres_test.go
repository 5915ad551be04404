package postgres

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kcconform/pkg/redact"
)

// A real server from the machine's packages: start, query, stop, gone.
func TestStartQueryRemove(t *testing.T) {
	if _, err := FindBin(""); err != nil {
		t.Fatalf("PostgreSQL is part of the machine set-up (scripts/install-deps.sh): %v", err)
	}
	ctx := context.Background()
	s, err := Start(ctx, "", 2*time.Minute, redact.New())
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

// A dump of one server's database restores into another's empty database,
// which is then no longer empty and holds the same rows.
func TestDumpRestore(t *testing.T) {
	ctx := context.Background()
	var servers [2]*Server
	for i := range servers {
		s, err := Start(ctx, "", 2*time.Minute, redact.New())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Remove(ctx) })
		servers[i] = s
	}
	a, b := servers[0], servers[1]
	if empty, err := a.Empty(ctx); err != nil || !empty {
		t.Fatalf("a new database: empty = %v, %v", empty, err)
	}
	if _, err := a.SQL(ctx, "create table realm (id text primary key); insert into realm values ('master')"); err != nil {
		t.Fatal(err)
	}
	if empty, err := a.Empty(ctx); err != nil || empty {
		t.Fatalf("a database with a table: empty = %v, %v", empty, err)
	}
	dump := filepath.Join(t.TempDir(), "keycloak.dump")
	if err := a.Dump(ctx, dump); err != nil {
		t.Fatal(err)
	}
	if err := b.Restore(ctx, dump); err != nil {
		t.Fatal(err)
	}
	if out, err := b.SQL(ctx, "select id from realm"); err != nil || out != "master" {
		t.Fatalf("restored rows: %q, %v", out, err)
	}
	if err := b.Restore(ctx, dump); err == nil {
		t.Fatal("a restore into a database that has the tables already succeeded")
	}
	if out, err := b.SQL(ctx, "select count(*) from realm"); err != nil || out != "1" {
		t.Fatalf("a failed restore changed the database: %q, %v", out, err)
	}
}
