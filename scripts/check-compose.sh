#!/usr/bin/env bash
# Brings docker-compose.yml up for real (podman-compose where no Docker
# engine runs, with the local images tagged as the file's names, nothing
# pulled), with its gateway profile, and runs what the README says against
# it: the kcconform command in admin and client-only modes, directly at
# http://127.0.0.1:8080 and through the gateway at
# https://localhost:8443/keycloak with its CA file, and the procedure's own
# curl get and refresh. Then `down -v`, and checks that no container, volume
# or network of it is left. Run with the environment of container-env.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
. pkg/versions/versions.env
passed=0 failed=0
check() { # name, command...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"; else failed=$((failed + 1)); echo "FAIL: $name"; fi
}

compose=(docker compose)
if ! docker compose version >/dev/null 2>&1 || ! curl -sf --max-time 2 --unix-socket /var/run/docker.sock http://d/_ping >/dev/null 2>&1; then
  command -v podman-compose >/dev/null || pip install -q podman-compose==1.6.0 >&2 || { echo "FAIL: podman-compose could not be installed"; exit 1; }
  compose=(podman-compose)
  # The file's images, from the local builds: nothing is pulled.
  podman tag "localhost/keycloak:$KC_DEFAULT_VERSION" "quay.io/keycloak/keycloak:$KC_DEFAULT_VERSION"
  podman tag "$KC_LOCAL_POSTGRES_IMAGE" docker.io/library/postgres:16
  bash scripts/build-image.sh --gateway >&2
fi

export KC_ADMIN_PASSWORD KC_CLIENT_SECRET KC_VERSION=$KC_DEFAULT_VERSION
KC_ADMIN_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
KC_CLIENT_SECRET=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
mkdir -p .cache/gateway
rm -f .cache/gateway/*.pem
tmp=$(mktemp -d)
down() { "${compose[@]}" --profile gateway down -v >"$tmp/down.log" 2>&1; }
trap 'down; rm -rf "$tmp"' EXIT

began=$(date +%s)
"${compose[@]}" --profile gateway up -d >"$tmp/up.log" 2>&1 || { tail -20 "$tmp/up.log"; }
ready=0
for _ in $(seq 1 240); do
  if curl -sf --max-time 2 http://127.0.0.1:8080/realms/shasta/.well-known/openid-configuration >/dev/null 2>&1 \
    && curl -sf --max-time 2 --cacert .cache/gateway/ca.pem https://localhost:8443/keycloak/realms/shasta/.well-known/openid-configuration >/dev/null 2>&1; then
    ready=1; break
  fi
  sleep 1
done
check "compose up: Keycloak on PostgreSQL with realm shasta at 127.0.0.1:8080, and the gateway at localhost:8443/keycloak ($(( $(date +%s) - began ))s)" test "$ready" = 1
[ "$ready" = 1 ] || { "${compose[@]}" --profile gateway logs 2>&1 | tail -40; }

# run NAME ENV...: the kcconform command, as the README writes it.
run() {
  local name=$1; shift
  env "$@" bin/kcconform --report-dir "$tmp/$name" >"$tmp/$name.log" 2>&1
  local code=$?
  grep -m1 '^verdict:' "$tmp/$name.log"
  [ "$code" = 0 ] || tail -30 "$tmp/$name.log"
  return "$code"
}
direct=(KC_TARGET=external KC_URL=http://127.0.0.1:8080)
gateway=(KC_TARGET=external KC_URL=https://localhost:8443/keycloak KC_CA_FILE=.cache/gateway/ca.pem)
check "admin run, directly" run admin-direct "${direct[@]}" KC_ADMIN_USER=admin KC_ADMIN_PASSWORD="$KC_ADMIN_PASSWORD"
check "client-only run against shasta, directly" run client-direct "${direct[@]}" KC_REALM=shasta KC_CLIENT_ID=my-test-client KC_CLIENT_SECRET="$KC_CLIENT_SECRET"
check "admin run, through the gateway" run admin-gateway "${gateway[@]}" KC_ADMIN_USER=admin KC_ADMIN_PASSWORD="$KC_ADMIN_PASSWORD"
check "client-only run against shasta, through the gateway" run client-gateway "${gateway[@]}" KC_REALM=shasta KC_CLIENT_ID=my-test-client KC_CLIENT_SECRET="$KC_CLIENT_SECRET"
check "the gateway's issuer is https://localhost:8443/keycloak/realms/shasta" \
  grep -q '"https://localhost:8443/keycloak/realms/shasta"' "$tmp/client-gateway/verdict.txt"

# procedure BASE CURL-OPTION...: the procedure's own curl get and refresh
# (with jq), the answers kept in variables, never printed.
procedure() {
  local base=$1; shift
  local get rt refreshed
  get=$(curl -s "$@" -d grant_type=client_credentials -d client_id="my-test-client" -d client_secret="${KC_CLIENT_SECRET}" -d scope=offline_access \
    "$base/realms/shasta/protocol/openid-connect/token" | jq -c '{scope, refresh_expires_in, expires_in, refresh_token}')
  rt=$(jq -r .refresh_token <<<"$get")
  [ -n "$rt" ] && [ "$rt" != null ] || { echo "  no refresh token: $(jq -c 'del(.refresh_token)' <<<"$get")"; return 1; }
  refreshed=$(curl -s "$@" -d grant_type=refresh_token -d client_id="my-test-client" -d client_secret="${KC_CLIENT_SECRET}" -d refresh_token="${rt}" \
    "$base/realms/shasta/protocol/openid-connect/token" | jq -c '{scope, refresh_expires_in, expires_in, refresh_token}')
  # Give the offline session back.
  curl -s "$@" -o /dev/null -d token="$rt" -d client_id=my-test-client -d client_secret="${KC_CLIENT_SECRET}" "$base/realms/shasta/protocol/openid-connect/revoke"
  curl -s "$@" -o /dev/null -d token="$(jq -r .refresh_token <<<"$refreshed")" -d client_id=my-test-client -d client_secret="${KC_CLIENT_SECRET}" "$base/realms/shasta/protocol/openid-connect/revoke"
  for answer in "$get" "$refreshed"; do
    jq -e '(.scope | split(" ") | index("offline_access")) and .refresh_expires_in == 0 and .expires_in >= 31535999' <<<"$answer" >/dev/null \
      || { echo "  answer: $(jq -c 'del(.refresh_token)' <<<"$answer")"; return 1; }
  done
}
check "the procedure's curl get and refresh, directly" procedure http://127.0.0.1:8080
check "the procedure's curl get and refresh, through the gateway" procedure https://localhost:8443/keycloak --cacert .cache/gateway/ca.pem

down
trap 'rm -rf "$tmp"' EXIT
left=$(podman ps -a --format '{{.Names}}' 2>/dev/null | grep '^kcconform[_-]' ; podman volume ls --format '{{.Name}}' 2>/dev/null | grep '^kcconform[_-]'; podman network ls --format '{{.Name}}' 2>/dev/null | grep '^kcconform[_-]')
check "down -v leaves no container, volume or network" test -z "$left"
[ -z "$left" ] || echo "$left"
echo "compose checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
