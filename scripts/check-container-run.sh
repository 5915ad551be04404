#!/usr/bin/env bash
# Checks the container target on Podman end to end: a conformance run in
# which specs fail on purpose (a client with access.token.lifespan 300) must
# fail naming the broken promise, leave no container behind, and never ask
# Podman to pull an image. Run with the environment of container-env.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0 failed=0
check() { # name, command...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"; else failed=$((failed + 1)); echo "FAIL: $name"; fi
}

since=$(date +%s)
# Podman's event log records only pulls that succeeded; the API service's log
# (scripts/podman-setup.sh writes it) records every attempt.
svclog=/var/log/podman-service.log
svclines=$(wc -l <"$svclog" 2>/dev/null || echo 0)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
jq '.clients[0].attributes["access.token.lifespan"] = "300"' fixtures/realms/offline.json >"$tmp/fixture.json"
KC_TARGET=container KC_FIXTURE="$tmp/fixture.json" make -s conformance REPORTS="$tmp/reports" >"$tmp/out.log" 2>&1
code=$?
check "a run against a broken server exits non-zero" test "$code" -ne 0
check "it names the broken promise and the value sent" grep -qE "procedure +expires_in +FAIL +31536000 .* +300" "$tmp/out.log"
check "it ran on the container target" grep -q "container target" "$tmp/out.log"
left=$(podman ps -a -q --filter label=io.kcconform=keycloak)
check "no container of the run is left (podman ps -a)" test -z "$left"
pulls=$(podman events --stream=false --since "$since" --filter event=pull 2>&1)
[ -f "$svclog" ] && pulls+=$(tail -n +"$((svclines + 1))" "$svclog" | grep -i "trying to pull")
check "no image pull was attempted (podman events, API service log)" test -z "$pulls"
[ -n "$left" ] && podman ps -a --filter label=io.kcconform=keycloak
[ -n "$pulls" ] && echo "$pulls"
[ "$code" -ne 0 ] || tail -20 "$tmp/out.log"
echo "checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
