#!/usr/bin/env bash
# Prints, for `eval`, the environment of the container target:
# - where a real Docker engine answers (DOCKER_HOST or the default socket):
#   the official image quay.io/keycloak/keycloak:VERSION, nothing else;
# - else, as root on Debian: it sets up Podman's Docker API, builds
#   localhost/keycloak:VERSION (dev-file) and :VERSION-postgres, the older
#   upgrade version's :VERSION-postgres and PostgreSQL's image without a
#   registry (and those of KC_UPGRADE_VIA's versions), and prints the settings testcontainers-go needs for them.
# With --setup it only sets up and builds, printing progress (make test's
# "image builds" phase).
set -euo pipefail
cd "$(dirname "$0")/.."
. pkg/versions/versions.env
VERSION=${KC_VERSION:-$KC_DEFAULT_VERSION}
FROM=${KC_UPGRADE_FROM:-$KC_DEFAULT_UPGRADE_FROM}
HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
out=/dev/stdout
[ "${1:-}" = --setup ] && out=/dev/null

api() { # GET a Docker API path at $HOST
  case "$HOST" in
    unix://*) curl -sf --max-time 2 --unix-socket "${HOST#unix://}" "http://d$1" 2>/dev/null ;;
    tcp://*) curl -sf --max-time 2 "http://${HOST#tcp://}$1" 2>/dev/null ;;
    *) return 1 ;;
  esac
}

if api /_ping >/dev/null && ! api /version | grep -q '"Podman Engine"'; then
  {
    echo "export KC_TARGET=container"
    echo "export KC_IMAGE=\${KC_IMAGE:-quay.io/keycloak/keycloak:$VERSION}"
  } >"$out"
  exit 0
fi
sock=$(bash scripts/podman-setup.sh)
bash scripts/build-image.sh "$VERSION" dev-file >&2
bash scripts/build-image.sh "$VERSION" postgres >&2
[ "$FROM" = "$VERSION" ] || bash scripts/build-image.sh "$FROM" postgres >&2
for via in $(echo "${KC_UPGRADE_VIA:-}" | tr , " "); do bash scripts/build-image.sh "$via" postgres >&2; done
bash scripts/build-image.sh --postgres >&2
bash scripts/build-image.sh --gateway >&2
cat >"$out" <<ENV
export KC_TARGET=container
export DOCKER_HOST=$sock
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_HOST_OVERRIDE=localhost
export KC_IMAGE=\${KC_IMAGE:-localhost/keycloak:$VERSION}
export KC_POSTGRES_IMAGE=\${KC_POSTGRES_IMAGE:-$KC_LOCAL_POSTGRES_IMAGE}
ENV
