#!/usr/bin/env bash
# Reproduces a failure kcconform found: starts the Keycloak release named in
# manifest.json (the official server distribution, kc.sh start-dev) with the
# realm in realm.json, sends the scenario's requests as the operators'
# procedure does and checks the promise again.
#
#   bash reproduce.sh
#
# Exit status: 1 the failure reproduced (the server broke the promise again),
# 0 the server kept it, 2 it could not run.
# Needs bash, curl, jq, tar, a JDK the release runs on (JAVA_HOME or java on
# the PATH) and Maven, or KC_DIST=/path/to/keycloak-VERSION.tar.gz.
# KC_HTTP_PORT (default 18080) and KC_BOOT_TIMEOUT (seconds, default 300).
# Tokens and secrets stay in this script's variables: what it prints is
# redacted.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
couldnot() { echo "COULD NOT RUN: $*" >&2; exit 2; }
for t in curl jq tar; do command -v "$t" >/dev/null || couldnot "$t is not installed"; done
m() { jq -r "$1" "$here/manifest.json"; }
VERSION=$(m .version) REALM=$(m .realm) CLIENT_ID=$(m .clientId)
[ "$(m '.scenario != null')" = true ] || couldnot "no promise of this bundle has a scripted replay (see README.md); requests.txt holds the requests the run sent"
[ -f "$here/realm.json" ] || couldnot "realm.json is missing: the run could not export the realm (no admin rights)"
PORT=${KC_HTTP_PORT:-18080}
BOOT_TIMEOUT=${KC_BOOT_TIMEOUT:-300}
BASE=http://127.0.0.1:$PORT
ISSUER=$BASE/realms/$REALM
TOKEN=$ISSUER/protocol/openid-connect/token

work=$(mktemp -d "${TMPDIR:-/tmp}/kcconform-repro.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 2' INT TERM
secret() { head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32; }
CLIENT_SECRET=$(secret) ADMIN_PASSWORD=$(secret)

dist=${KC_DIST:-}
if [ -z "$dist" ]; then
  command -v mvn >/dev/null || couldnot "set KC_DIST to keycloak-$VERSION.tar.gz, or install Maven"
  echo "== fetching keycloak-quarkus-dist $VERSION with Maven"
  mvn -q -B dependency:copy "-Dartifact=org.keycloak:keycloak-quarkus-dist:$VERSION:tar.gz" "-DoutputDirectory=$work" >"$work/mvn.log" 2>&1 \
    || { tail -20 "$work/mvn.log" >&2; couldnot "Maven could not fetch org.keycloak:keycloak-quarkus-dist:$VERSION:tar.gz"; }
  dist=$work/keycloak-quarkus-dist-$VERSION.tar.gz
fi
mkdir -p "$work/kc" && tar -xzf "$dist" -C "$work/kc" --strip-components=1 || couldnot "could not unpack $dist"
mkdir -p "$work/kc/data/import"
# The export masks the client's secret: give the procedure's client a new one.
jq --arg id "$CLIENT_ID" --arg s "$CLIENT_SECRET" '(.clients[]? | select(.clientId == $id) | .secret) = $s' \
  "$here/realm.json" >"$work/kc/data/import/realm.json" || couldnot "realm.json is not a realm representation"

log=${KC_REPLAY_LOG:-$here/replay-server.log}
echo "== starting Keycloak $VERSION on $BASE with realm $REALM (server log: $log)"
(cd "$work/kc" && KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=$ADMIN_PASSWORD \
  KEYCLOAK_ADMIN=admin KEYCLOAK_ADMIN_PASSWORD=$ADMIN_PASSWORD \
  exec bin/kc.sh start-dev --http-host=127.0.0.1 --http-port="$PORT" --import-realm) >"$log" 2>&1 &
pid=$!
began=$(date +%s)
until curl -sf -m 5 -o /dev/null "$ISSUER/.well-known/openid-configuration"; do
  kill -0 "$pid" 2>/dev/null || { tail -30 "$log" >&2; pid=; couldnot "Keycloak $VERSION exited during its start"; }
  [ $(( $(date +%s) - began )) -lt "$BOOT_TIMEOUT" ] || { tail -30 "$log" >&2; couldnot "realm $REALM not served within ${BOOT_TIMEOUT}s (KC_BOOT_TIMEOUT)"; }
  sleep 1
done
echo "== ready in $(( $(date +%s) - began ))s"

body=$work/body
status=
# post URL ARGS...: POSTs a form, keeping the status and the body.
post() { local url=$1; shift; status=$(curl -s -m 30 -o "$body" -w '%{http_code}' "$@" "$url") || status=000; }
show() {
  echo "   the server sent HTTP $status:"
  if jq -e . "$body" >/dev/null 2>&1; then
    jq 'if type == "object" then with_entries(if (.key | IN("access_token", "refresh_token", "id_token")) and (.value | type) == "string"
        then .value = "<redacted: \(.value | length) characters>" else . end) else . end' "$body" | sed 's/^/   /'
  else
    head -c 400 "$body" | sed 's/^/   /'; echo
  fi
}
field() { jq -r --arg k "$1" '.[$k] // empty' "$body" 2>/dev/null; }
creds=(-d "client_id=$CLIENT_ID" -d "client_secret=$CLIENT_SECRET")
ACCESS_TOKEN= REFRESH_TOKEN= STORED= SESSION=
n=0
for step in $(m '.scenario.steps[]'); do
  n=$((n + 1))
  echo "== step $n: $step"
  case $step in
    get)
      echo "   curl -s -d grant_type=client_credentials -d client_id=$CLIENT_ID -d client_secret=\"\${CLIENT_SECRET}\" -d scope=offline_access $TOKEN"
      post "$TOKEN" -d grant_type=client_credentials "${creds[@]}" -d scope=offline_access ;;
    get-online)
      echo "   curl -s -d grant_type=client_credentials -d client_id=$CLIENT_ID -d client_secret=\"\${CLIENT_SECRET}\" $TOKEN"
      post "$TOKEN" -d grant_type=client_credentials "${creds[@]}" ;;
    get-wrong-secret)
      echo "   curl -s -d grant_type=client_credentials -d client_id=$CLIENT_ID -d client_secret=wrong-secret -d scope=offline_access $TOKEN"
      post "$TOKEN" -d grant_type=client_credentials -d "client_id=$CLIENT_ID" -d client_secret=wrong-secret -d scope=offline_access ;;
    refresh|refresh-stored|refresh-garbage)
      rt=$REFRESH_TOKEN
      [ "$step" = refresh-stored ] && rt=$STORED
      [ "$step" = refresh-garbage ] && rt=not-a-refresh-token
      echo "   curl -s -d grant_type=refresh_token -d client_id=$CLIENT_ID -d client_secret=\"\${CLIENT_SECRET}\" -d refresh_token=\"\${REFRESH_TOKEN}\" $TOKEN"
      post "$TOKEN" -d grant_type=refresh_token "${creds[@]}" -d "refresh_token=$rt" ;;
    introspect)
      echo "   curl -s -d client_id=$CLIENT_ID -d client_secret=\"\${CLIENT_SECRET}\" -d token=\"\${ACCESS_TOKEN}\" $TOKEN/introspect"
      post "$TOKEN/introspect" "${creds[@]}" -d "token=$ACCESS_TOKEN" ;;
    delete-offline-session)
      echo "   (an administrator's token from the master realm, then) curl -s -X DELETE -H \"Authorization: Bearer \${ADMIN_TOKEN}\" $BASE/admin/realms/$REALM/sessions/$SESSION?isOffline=true"
      post "$BASE/realms/master/protocol/openid-connect/token" -d grant_type=password -d client_id=admin-cli -d username=admin -d "password=$ADMIN_PASSWORD"
      admin_token=$(field access_token)
      [ -n "$admin_token" ] || { show; couldnot "no administrator's token"; }
      status=$(curl -s -m 30 -o "$body" -w '%{http_code}' -X DELETE -H "Authorization: Bearer $admin_token" \
        "$BASE/admin/realms/$REALM/sessions/$SESSION?isOffline=true") || status=000 ;;
    revoke-consent)
      echo "   (an administrator's token from the master realm, then) curl -s -X DELETE -H \"Authorization: Bearer \${ADMIN_TOKEN}\" $BASE/admin/realms/$REALM/users/\${SERVICE_ACCOUNT_ID}/consents/$CLIENT_ID"
      post "$BASE/realms/master/protocol/openid-connect/token" -d grant_type=password -d client_id=admin-cli -d username=admin -d "password=$ADMIN_PASSWORD"
      admin_token=$(field access_token)
      [ -n "$admin_token" ] || { show; couldnot "no administrator's token"; }
      uuid=$(curl -s -m 30 -H "Authorization: Bearer $admin_token" "$BASE/admin/realms/$REALM/clients?clientId=$CLIENT_ID" | jq -r '.[0].id // empty')
      sa=$(curl -s -m 30 -H "Authorization: Bearer $admin_token" "$BASE/admin/realms/$REALM/clients/$uuid/service-account-user" | jq -r '.id // empty')
      [ -n "$sa" ] || couldnot "client $CLIENT_ID has no service account in realm $REALM"
      status=$(curl -s -m 30 -o "$body" -w '%{http_code}' -X DELETE -H "Authorization: Bearer $admin_token" \
        "$BASE/admin/realms/$REALM/users/$sa/consents/$CLIENT_ID") || status=000 ;;
    *) couldnot "manifest.json names a step this script does not know: $step" ;;
  esac
  show
  case $step in
    get|get-online|refresh|refresh-stored)
      if [ "$status" = 200 ]; then
        ACCESS_TOKEN=$(field access_token) REFRESH_TOKEN=$(field refresh_token)
        [ -n "$(field session_state)" ] && SESSION=$(field session_state)
        [ -z "$STORED" ] && STORED=$REFRESH_TOKEN
      elif [ "$n" -lt "$(m '.scenario.steps | length')" ]; then
        echo "   (a step before the checked one was refused: the check below is made on this answer)"
        break
      fi ;;
  esac
done

want=$(m .scenario.check.status) expr=$(m '.scenario.check.jq // ""')
promise=$(m .replayed.promise) expected=$(m .replayed.expected) recorded=$(m .replayed.sent)
kept=false
if [ "$status" = "$want" ]; then
  if [ -z "$expr" ]; then
    kept=true
  else
    jwt='def pad: (length % 4) as $r | if $r == 2 then . + "==" elif $r == 3 then . + "=" else . end;
         def jwt: split(".")[1] | gsub("-"; "+") | gsub("_"; "/") | pad | @base64d | fromjson;'
    [ "$(jq -r --arg client "$CLIENT_ID" --arg issuer "$ISSUER" "$jwt ($expr) == true" "$body" 2>/dev/null)" = true ] && kept=true
  fi
fi
echo
if [ "$kept" = true ]; then
  echo "NOT REPRODUCED: Keycloak $VERSION kept \"$promise\" this time (expected $expected; the run had seen: $recorded)"
  exit 0
fi
echo "REPRODUCED: Keycloak $VERSION broke \"$promise\" again: expected $expected (HTTP $want${expr:+ and $expr}); sent HTTP $status (the run had seen: $recorded)"
exit 1
