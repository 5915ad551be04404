#!/usr/bin/env bash
# Builds kcconform's container image from bin/kcconform (make build) with
# the machine's Podman, or Docker where no Podman is installed: FROM scratch,
# so nothing is pulled. Prints the image's name (localhost/kcconform:TAG).
#
#   scripts/build-command-image.sh [TAG]     (default: dev)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-dev}
image=localhost/kcconform:$tag
cli=$(command -v podman || command -v docker || true)
[ -n "$cli" ] || { echo "build-command-image: neither podman nor docker is installed" >&2; exit 1; }
[ -x bin/kcconform ] || { echo "build-command-image: bin/kcconform is missing (make build)" >&2; exit 1; }
ca=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca" ] || { echo "build-command-image: $ca is missing (apt-get install ca-certificates)" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp bin/kcconform "$ca" "$ctx/"
mkdir "$ctx/tmp"
"$cli" build -q -t "$image" -f scripts/images/kcconform/Containerfile "$ctx" >/dev/null
echo "$image"
