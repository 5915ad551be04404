#!/usr/bin/env bash
# Prints, for `eval`, the environment of the container target:
# - where a real Docker engine answers (DOCKER_HOST or the default socket):
#   the official image quay.io/keycloak/keycloak:VERSION, nothing else;
# - else, as root on Debian: it sets up Podman's Docker API, builds
#   localhost/keycloak:VERSION without a registry, and prints the settings
#   testcontainers-go needs for them.
# KC_IMAGE_VERSIONS names further Keycloak versions to build images of (the
# upgrade suite's older version), and on Podman it builds PostgreSQL's image
# for the restart and upgrade suites too.
# With --detect it only chooses the default target, as kcconform does: the
# container target where a Docker API answers, else the process target
# (printing KC_TARGET=process and setting up nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${KC_VERSION:-$(sed -n 's/^const DefaultVersion = "\(.*\)"/\1/p' pkg/keycloak/keycloak.go)}
HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}

api() { # GET a Docker API path at $HOST
  case "$HOST" in
    unix://*) curl -sf --max-time 2 --unix-socket "${HOST#unix://}" "http://d$1" 2>/dev/null ;;
    tcp://*) curl -sf --max-time 2 "http://${HOST#tcp://}$1" 2>/dev/null ;;
    *) return 1 ;;
  esac
}

if [ "${1:-}" = --detect ] && ! api /_ping >/dev/null; then
  echo "export KC_TARGET=process"
  exit 0
fi
echo "export KC_TARGET=container"
if api /_ping >/dev/null && ! api /version | grep -q '"Podman Engine"'; then
  echo "export KC_IMAGE=\${KC_IMAGE:-quay.io/keycloak/keycloak:$VERSION}"
  exit 0
fi
sock=$(bash scripts/podman-setup.sh)
for v in "$VERSION" ${KC_IMAGE_VERSIONS:-}; do
  bash scripts/build-image.sh "$v" >&2
done
bash scripts/build-image.sh --postgres >&2
cat <<ENV
export DOCKER_HOST=$sock
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_HOST_OVERRIDE=localhost
export KC_IMAGE=\${KC_IMAGE:-localhost/keycloak:$VERSION}
export KC_POSTGRES_IMAGE=\${KC_POSTGRES_IMAGE:-localhost/postgres:15}
ENV
