#!/bin/bash
# A small stand-in for the official postgres image's entrypoint, enough for
# testcontainers-go's postgres module: POSTGRES_USER, POSTGRES_PASSWORD and
# POSTGRES_DB create the first user and database; the server is started once
# for that and once for real, so "database system is ready to accept
# connections" appears twice, as with the official image.
set -euo pipefail
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
export PATH=$BIN:$PATH PGDATA=${PGDATA:-/var/lib/postgresql/data}
if [ "${1:-}" = postgres ]; then
  shift
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql && chown -R postgres:postgres "$PGDATA" /var/run/postgresql && chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" postgres "$@"
  fi
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    user=${POSTGRES_USER:-postgres} db=${POSTGRES_DB:-${POSTGRES_USER:-postgres}}
    initdb -D "$PGDATA" -U "$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") -A scram-sha-256 --auth-local=trust -E UTF8 >/dev/null
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
    [ "$db" = "$user" ] || [ "$db" = postgres ] || createdb -U "$user" "$db"
    [ "$db" != "$user" ] || createdb -U "$user" "$db" 2>/dev/null || true
    pg_ctl -D "$PGDATA" -m fast -w stop
  fi
  exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
