#!/usr/bin/env bash
# Installs what kcconform needs and the machine lacks: Go modules, Maven, a
# JDK Keycloak supports, PostgreSQL's server, make and jq. Idempotent: a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v make >/dev/null || need+=(make)
command -v mvn >/dev/null || need+=(maven)
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)
if ! ls /usr/lib/jvm/*/bin/java >/dev/null 2>&1; then need+=(openjdk-17-jdk-headless); fi
# The restart and upgrade suites run Keycloak on a real PostgreSQL server.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then need+=(postgresql); fi
if ((${#need[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "== installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "install-deps: Go is not installed (expected go 1.26 on PATH)" >&2; exit 1; }
go mod download
