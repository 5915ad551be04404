#!/usr/bin/env bash
# A release engineer's own Keycloak deployment, made and upgraded the way an
# operator's tooling does it, not by kcconform's launcher: N nodes of the
# official distribution on one PostgreSQL, forming a cluster (jdbc-ping),
# behind HAProxy, the realm imported at the first boot. kcconform's
# deployment suite drives it as a user's: it knows only what `env` prints.
#
#   scripts/deployment.sh DIR up VERSION [NODES]       start (NODES: default 2)
#   scripts/deployment.sh DIR upgrade rolling VERSION  node by node (the Operator's Auto/rolling)
#   scripts/deployment.sh DIR upgrade recreate VERSION every node stopped, then started on VERSION
#   scripts/deployment.sh DIR down                     stop everything and remove DIR
#
# DIR/env holds KC_URL (the gateway), the realm, the client and the
# administrator (0600). DIR/events.log has a timestamped line per step.
# KC_DEPLOY_PARENT=PID: everything is stopped and removed when PID exits (a
# test that was killed leaves nothing running). The distribution comes from
# Maven Central through the machine's Maven client, built once a version in
# ${KC_DEPLOY_CACHE:-~/.cache/kcconform/deployment}.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '7,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
DIR=$1 cmd=$2
shift 2
cache=${KC_DEPLOY_CACHE:-$HOME/.cache/kcconform/deployment}
boot_timeout=${KC_DEPLOY_BOOT_TIMEOUT:-300}
# C1 only: these JVMs live minutes, and start about a third faster on two cores.
jit=${KC_DEPLOY_JIT:--XX:TieredStopAtLevel=1}

say() { printf '%s %s\n' "$(date -u +%H:%M:%S.%3N)" "$*" | tee -a "$DIR/events.log" >&2; }
die() { echo "deployment.sh: $*" >&2; exit 1; }

check_version() {
  [[ $1 =~ ^2[2-9]\.[0-9]+\.[0-9]+$ ]] || die "VERSION: expected a Keycloak release such as 26.7.3, got '$1'"
  [ "${1%%.*}" -ge 26 ] || die "VERSION: this deployment runs Keycloak 26 or later (its cache options), got $1"
}

jdk() {
  local j
  for j in "${JAVA_HOME:-}" /usr/lib/jvm/java-21-openjdk-* /usr/lib/jvm/java-17-openjdk-*; do
    [ -n "$j" ] && [ -x "$j/bin/java" ] && { echo "$j"; return; }
  done
  die "no JDK 17 or 21 under /usr/lib/jvm (apt-get install openjdk-17-jdk-headless)"
}

# dist VERSION: the built distribution's folder (fetched and built once).
dist() {
  local v=$1 home=$cache/$1 tmp
  if [ ! -f "$home/.built" ]; then
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/.fetch-$v.XXXX")
    say "fetch keycloak-quarkus-dist $v with Maven"
    mvn -B -q --strict-checksums -Dstyle.color=never dependency:copy \
      -Dartifact="org.keycloak:keycloak-quarkus-dist:$v:tar.gz" -DoutputDirectory="$tmp" >"$tmp/mvn.log" 2>&1 \
      || { tail -20 "$tmp/mvn.log" >&2; die "Maven could not fetch org.keycloak:keycloak-quarkus-dist:$v:tar.gz"; }
    tar -xzf "$tmp"/keycloak-quarkus-dist-"$v".tar.gz -C "$tmp"
    rm -rf "$home"
    mv "$tmp/keycloak-$v" "$home"
    rm -rf "$tmp"
    say "build $v (kc.sh build --db=postgres --health-enabled=true --metrics-enabled=true)"
    JAVA_HOME=$(jdk) JAVA_OPTS_APPEND=$jit "$home/bin/kc.sh" build --db=postgres --health-enabled=true --metrics-enabled=true >"$home/build.log" 2>&1 \
      || { tail -20 "$home/build.log" >&2; die "kc.sh build $v failed"; }
    touch "$home/.built"
  fi
  echo "$home"
}

free_port() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ports picks a block of 100 ports below the ephemeral range with every
# port this deployment uses free.
ports() {
  local base p ok try
  for try in $(seq 1 50); do
    base=$((20000 + (RANDOM % 100) * 100))
    ok=1
    for p in $base $((base + 50)) $(seq $((base + 11)) $((base + 19))) $(seq $((base + 21)) $((base + 29))) \
             $(seq $((base + 31)) $((base + 39))) $(seq $((base + 41)) $((base + 49))); do
      free_port "$p" || { ok=0; break; }
    done
    [ $ok = 1 ] && { echo "$base"; return; }
  done
  die "no free block of ports found between 20000 and 29999"
}

load() {
  [ -f "$DIR/deployment.conf" ] || die "$DIR: no deployment here (run up first)"
  # shellcheck disable=SC1091
  . "$DIR/deployment.conf"
}

pg_as() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  local bin
  bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)") || die "no PostgreSQL server (apt-get install postgresql)"
  PGDIR=$(mktemp -d /tmp/kcconform-deployment-pg.XXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
  printf '%s\n' "$DB_PASSWORD" >"$PGDIR/pw" && [ "$(id -u)" = 0 ] && chown postgres "$PGDIR/pw"
  chmod 600 "$PGDIR/pw"
  pg_as "$bin/initdb" -D "$PGDIR/data" -U keycloak --pwfile="$PGDIR/pw" -A scram-sha-256 >"$DIR/postgres-init.log" 2>&1 \
    || { cat "$DIR/postgres-init.log" >&2; die "initdb failed"; }
  pg_as setsid "$bin/postgres" -D "$PGDIR/data" -p "$PG_PORT" -k "$PGDIR" -c listen_addresses=127.0.0.1 \
    -c max_connections=200 >"$PGDIR/postgres.log" 2>&1 &
  for _ in $(seq 1 60); do
    pg_as "$bin/pg_isready" -q -h "$PGDIR" -p "$PG_PORT" && break
    sleep 0.5
  done
  PGPASSWORD=$DB_PASSWORD "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U keycloak keycloak || die "createdb failed"
  echo "PGDIR=$PGDIR" >>"$DIR/deployment.conf"
  say "PostgreSQL on 127.0.0.1:$PG_PORT"
}

haproxy_config() {
  local i
  cat <<EOF
global
  maxconn 2000
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch
  retry-on conn-failure empty-response
frontend keycloak
  bind 127.0.0.1:$GW_PORT
  http-request return status 404 unless { path_beg /keycloak/ }
  http-request replace-path ^/keycloak(/.*)$ \1
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /health/ready
  http-check expect status 200
  timeout check 3s
  # Two failed checks take a node out: one slow answer of a busy node is no outage.
  default-server inter 1s fall 2 rise 1
EOF
  for i in $(seq 1 "$NODES"); do
    echo "  server node$i 127.0.0.1:$((BASE + 10 + i)) check port $((BASE + 20 + i))"
  done
}

start_gateway() {
  command -v haproxy >/dev/null || die "HAProxy is not installed (apt-get install haproxy)"
  haproxy_config >"$DIR/haproxy.cfg"
  setsid haproxy -db -f "$DIR/haproxy.cfg" >"$DIR/haproxy.log" 2>&1 &
  echo $! >"$DIR/haproxy.pid"
  say "HAProxy on 127.0.0.1:$GW_PORT, Keycloak under /keycloak"
}

# start_node I VERSION [--import-realm]: node I on VERSION, in the background.
start_node() {
  local i=$1 v=$2 home src
  shift 2
  src=$(dist "$v")
  home=$DIR/nodes/$i/keycloak-$v
  if [ ! -d "$home" ]; then
    mkdir -p "$DIR/nodes/$i"
    cp -a "$src" "$home"
  fi
  if [ "${1:-}" = --import-realm ]; then
    mkdir -p "$home/data/import"
    cp "$here/../fixtures/realms/offline.json" "$home/data/import/realm.json"
  fi
  (
    cd "$home"
    export JAVA_HOME
    JAVA_HOME=$(jdk)
    export KC_DB=postgres KC_DB_URL="jdbc:postgresql://127.0.0.1:$PG_PORT/keycloak" KC_DB_USERNAME=keycloak KC_DB_PASSWORD=$DB_PASSWORD
    export KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=$ADMIN_PASSWORD KC_CLIENT_SECRET=$CLIENT_SECRET
    export JAVA_OPTS_KC_HEAP="-Xms256m -Xmx768m" JAVA_OPTS_APPEND="-Djgroups.fd.port-offset=10 $jit"
    exec setsid bin/kc.sh start --optimized --http-enabled=true --http-host=127.0.0.1 \
      --http-port=$((BASE + 10 + i)) --http-management-port=$((BASE + 20 + i)) \
      --hostname="http://127.0.0.1:$GW_PORT/keycloak" --cache=ispn \
      --cache-embedded-network-bind-address=127.0.0.1 --cache-embedded-network-bind-port=$((BASE + 30 + i)) "$@"
  ) >>"$DIR/nodes/$i/keycloak.log" 2>&1 &
  echo $! >"$DIR/nodes/$i/pid"
  echo "$v" >"$DIR/nodes/$i/version"
  say "node $i: start Keycloak $v (http $((BASE + 10 + i)), management $((BASE + 20 + i)))"
}

node_alive() { local p; p=$(cat "$DIR/nodes/$1/pid" 2>/dev/null) && kill -0 "$p" 2>/dev/null; }

wait_ready() {
  local i=$1 t=0
  until curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$((BASE + 20 + i))/health/ready" 2>/dev/null; do
    node_alive "$i" || { tail -30 "$DIR/nodes/$i/keycloak.log" >&2; die "node $i exited before it was ready"; }
    [ $t -ge $((boot_timeout * 2)) ] && { tail -30 "$DIR/nodes/$i/keycloak.log" >&2; die "node $i not ready within ${boot_timeout}s"; }
    sleep 0.5; t=$((t + 1))
  done
  say "node $i: ready on $(cat "$DIR/nodes/$i/version")"
}

# wait_view N: every running node sees a cluster of N members.
wait_view() {
  local n=$1 i t=0 all size
  while :; do
    all=1
    for i in $(seq 1 "$NODES"); do
      node_alive "$i" || continue
      size=$(curl -fsS -m 2 "http://127.0.0.1:$((BASE + 20 + i))/metrics" 2>/dev/null | awk '/^vendor_cluster_size/ {n = int($2)} END {print n + 0}' || true)
      [ "${size:-0}" = "$n" ] || all=0
    done
    [ $all = 1 ] && { say "cluster view of $n on every node"; return; }
    [ $t -ge $((boot_timeout * 2)) ] && die "the nodes did not form a cluster of $n within ${boot_timeout}s"
    sleep 0.5; t=$((t + 1))
  done
}

stop_node() {
  local i=$1 p t=0
  p=$(cat "$DIR/nodes/$i/pid" 2>/dev/null) || return 0
  say "node $i: stop (SIGTERM)"
  kill -TERM -- "-$p" 2>/dev/null || true
  while kill -0 "$p" 2>/dev/null; do
    [ $t -ge 120 ] && { kill -KILL -- "-$p" 2>/dev/null || true; say "node $i: killed after 60 s"; }
    sleep 0.5; t=$((t + 1))
  done
  rm -f "$DIR/nodes/$i/pid"
  say "node $i: stopped"
}

write_env() {
  umask 077
  cat >"$DIR/env" <<EOF
KC_URL=http://127.0.0.1:$GW_PORT/keycloak
KC_CLUSTER_URLS=$(for i in $(seq 1 "$NODES"); do printf 'http://127.0.0.1:%d,' $((BASE + 10 + i)); done | sed 's/,$//')
KC_REALM=shasta
KC_CLIENT_ID=my-test-client
KC_CLIENT_SECRET=$CLIENT_SECRET
KC_ADMIN_USER=admin
KC_ADMIN_PASSWORD=$ADMIN_PASSWORD
EOF
}

watchdog() {
  [ -n "${KC_DEPLOY_PARENT:-}" ] || return 0
  setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 2; done; [ -d "$2" ] && exec "$3" "$2" down' \
    _ "$KC_DEPLOY_PARENT" "$DIR" "$here/deployment.sh" >/dev/null 2>&1 </dev/null &
}

secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

case "$cmd" in
  up)
    [ $# -ge 1 ] || usage
    version=$1 NODES=${2:-2}
    check_version "$version"
    [[ $NODES =~ ^[1-9]$ ]] || die "NODES: expected 1 to 9, got '$NODES'"
    [ -e "$DIR/deployment.conf" ] && die "$DIR: a deployment is here already (down first)"
    mkdir -p "$DIR" && chmod 700 "$DIR"
    dist "$version" >/dev/null
    BASE=$(ports)
    GW_PORT=$BASE PG_PORT=$((BASE + 50))
    DB_PASSWORD=$(secret) ADMIN_PASSWORD=$(secret) CLIENT_SECRET=$(secret)
    ( umask 077; printf 'BASE=%s\nNODES=%s\nGW_PORT=%s\nPG_PORT=%s\nDB_PASSWORD=%s\nADMIN_PASSWORD=%s\nCLIENT_SECRET=%s\n' \
        "$BASE" "$NODES" "$GW_PORT" "$PG_PORT" "$DB_PASSWORD" "$ADMIN_PASSWORD" "$CLIENT_SECRET" >"$DIR/deployment.conf" )
    watchdog
    start_postgres
    start_gateway
    start_node 1 "$version" --import-realm
    wait_ready 1
    for i in $(seq 2 "$NODES"); do start_node "$i" "$version"; wait_ready "$i"; done
    wait_view "$NODES"
    write_env
    say "up: $NODES node(s) of Keycloak $version behind http://127.0.0.1:$GW_PORT/keycloak"
    ;;
  upgrade)
    [ $# -ge 2 ] || usage
    how=$1 version=$2
    check_version "$version"
    load
    dist "$version" >/dev/null   # fetched and built before any node stops
    case "$how" in
      rolling)
        for i in $(seq 1 "$NODES"); do
          stop_node "$i"
          start_node "$i" "$version"
          wait_ready "$i"
          wait_view "$NODES"
        done ;;
      recreate)
        for i in $(seq 1 "$NODES"); do stop_node "$i" & done
        wait
        start_node 1 "$version"; wait_ready 1
        for i in $(seq 2 "$NODES"); do start_node "$i" "$version"; wait_ready "$i"; done
        wait_view "$NODES" ;;
      *) die "upgrade: expected rolling or recreate, got '$how'" ;;
    esac
    say "upgrade ($how): every node on Keycloak $version"
    ;;
  down)
    [ -d "$DIR" ] || exit 0
    if [ -f "$DIR/deployment.conf" ]; then
      load
      for i in $(seq 1 "$NODES"); do
        p=$(cat "$DIR/nodes/$i/pid" 2>/dev/null) && kill -KILL -- "-$p" 2>/dev/null || true
      done
      p=$(cat "$DIR/haproxy.pid" 2>/dev/null) && kill -KILL -- "-$p" 2>/dev/null || true
      if [ -n "${PGDIR:-}" ]; then
        # The postmaster's pid is the first line of its pid file; SIGQUIT is its immediate shutdown.
        p=$(head -1 "$PGDIR/data/postmaster.pid" 2>/dev/null) && kill -QUIT "$p" 2>/dev/null || true
        for _ in $(seq 1 20); do [ -n "$p" ] && kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
        rm -rf "$PGDIR"
      fi
    fi
    rm -rf "$DIR"
    ;;
  *) usage ;;
esac
