#!/usr/bin/env bash
# Installs what kcconform needs for a target and the machine lacks, as root
# with apt-get, and the Go modules. Idempotent and quiet when nothing is
# missing.
#
#   scripts/install-deps.sh --for external|process|container|all|helm
#
# external needs nothing but Go (to build the kcconform command): no JDK,
# Maven or PostgreSQL, and no root. process adds Maven, a JDK and
# PostgreSQL's server (restart and upgrade suites) and HAProxy (the cluster
# suite's gateway); container adds curl
# (scripts/container-env.sh sets up Podman where no Docker engine runs);
# all is what make test needs: all of it, jq, Debian's Chromium (the
# HTML report is checked in a real headless browser) and Helm (built from
# its Go module; helm builds only that).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${2:-all}
[ "${1:-}" = --for ] || target=${1:-all}

command -v go >/dev/null || { echo "install-deps: Go is not installed (expected go 1.26 on PATH)" >&2; exit 1; }
need=()
case "$target" in
  external) ;;
  process|container|all)
    command -v make >/dev/null || need+=(make)
    command -v curl >/dev/null || need+=(curl)
    ;;&
  process|all)
    command -v mvn >/dev/null || need+=(maven)
    ls /usr/lib/jvm/*/bin/java >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
    # The restart and upgrade suites run Keycloak on a real PostgreSQL server;
    # the cluster suite's gateway is HAProxy.
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
    ;;&
  process|container|all)
    # The cluster suite's gateway, on either target, is HAProxy on this machine.
    command -v haproxy >/dev/null || need+=(haproxy)
    ;;&
  all)
    command -v jq >/dev/null || need+=(jq)
    command -v chromium >/dev/null || need+=(chromium)
    ;;
  process|container|helm) ;;
  *) echo "install-deps: --for: expected external, process, container, all or helm, got '$target'" >&2; exit 2 ;;
esac
if ((${#need[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "== install-deps: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
go mod download
# Helm v4, built from its Go module (no prebuilt binary is fetched): the unit
# tests render deploy/helm's chart with Helm's own template and lint.
# make test builds it in the background instead (KC_HELM_LATER=1, then
# --for helm), while the images build.
helm_version=v4.3.2
if { [ "$target" = all ] && [ -z "${KC_HELM_LATER:-}" ]; } || [ "$target" = helm ]; then
  if ! command -v helm >/dev/null && [ ! -x "$(go env GOPATH)/bin/helm" ]; then
    echo "== install-deps: building Helm $helm_version (go install helm.sh/helm/v4/cmd/helm)" >&2
    GOFLAGS=-mod=mod go install "helm.sh/helm/v4/cmd/helm@$helm_version"
  fi
fi
