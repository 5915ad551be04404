#!/usr/bin/env bash
# The README's test command (make test): every check of the project, phase
# by phase, with the whole output kept in reports/test-output.log and scanned
# for the run's own credentials at the end, then a table of each phase's
# wall time. SIGINT and SIGTERM reach the running phase as an interrupt
# (Ctrl-C), so its suites clean up what they created.
set -uo pipefail
cd "$(dirname "$0")/.."
REPORTS=${REPORTS:-reports}
mkdir -p "$REPORTS"
REPORTS=$(cd "$REPORTS" && pwd)
export KC_REPORT_DIR=$REPORTS
export KC_RUN_ID=${KC_RUN_ID:-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')}
export KC_RUN_KEY=${KC_RUN_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
# Every e2e process records the fingerprints of the credentials it learns
# here (outside reports/); the leak scan looks for them at the end.
fp=$(mktemp -d)
export KC_LEAK_FINGERPRINTS=$fp
log=$REPORTS/test-output.log
: >"$log"
phases=()
status=0
current=

# interrupt passes a signal on to the running phase's process group.
interrupt() {
  echo "test.sh: $1: interrupting the running phase; its suites clean up" | tee -a "$log"
  [ -n "$current" ] && kill -INT -- "-$current" 2>/dev/null
  status=130
}
trap 'interrupt SIGINT' INT
trap 'interrupt SIGTERM' TERM

# phase NAME COMMAND...: runs a phase in a process group of its own (job
# control), its output to the terminal and the log, and records its time.
set -m
phase() {
  local name=$1 began rc
  shift
  [ "$status" = 130 ] && return
  echo "== phase: $name" | tee -a "$log"
  began=$(date +%s.%N)
  ( "$@" ) > >(tee -a "$log") 2>&1 &
  current=$!
  while :; do
    wait "$current"; rc=$?
    # wait returns early (>128) when a trapped signal arrives; wait again.
    kill -0 "$current" 2>/dev/null || break
  done
  current=
  phases+=("$(printf '%-22s %7.1f s  %s' "$name" "$(awk -v a="$began" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)")")")
  if [ "$rc" != 0 ] && [ "$status" = 0 ]; then status=1; fi
}

phase deps env KC_HELM_LATER=1 bash scripts/install-deps.sh --for all
# Helm compiles from its Go module in the background while the images build
# (a phase that waits on downloads and Podman, not on the CPU); the unit
# tests render the chart with it.
rm -f "$REPORTS/helm-build.rc"
( bash scripts/install-deps.sh --for helm >"$REPORTS/helm-build.log" 2>&1; echo $? >"$REPORTS/helm-build.rc" ) &
phase build make -s build
phase "image builds" bash scripts/container-env.sh --setup
phase vet make -s vet
# (A phase runs in a subshell, which cannot wait for this shell's job.)
wait_helm() {
  until [ -s "$REPORTS/helm-build.rc" ]; do sleep 1; done
  [ "$(cat "$REPORTS/helm-build.rc")" = 0 ] || { cat "$REPORTS/helm-build.log"; return 1; }
}
phase "helm (background)" wait_helm
phase unit make -s unit
phase fuzz make -s fuzz
phase "e2e process" make -s e2e
phase "e2e cluster" make -s e2e-cluster
phase "e2e container" make -s e2e-container
phase "e2e deployment" make -s e2e-deployment
phase compose make -s compose-check
phase "matrix and HTML report" make -s matrix-report
phase actionlint make -s actionlint
phase "leak scan" go run ./scripts/leakscan -fingerprints "$fp" "$REPORTS"
rm -rf "$fp"

{
  echo
  echo "== make test: wall time per phase"
  printf '%s\n' "${phases[@]}"
  printf '%s\n' "${phases[@]}" | awk '{for(i=1;i<NF;i++) if($(i+1)=="s"){t+=$i; break}} END{printf "%-22s %7.1f s\n", "total", t}'
} | tee -a "$log" | tee "$REPORTS/phases.txt"
if [ "$status" = 0 ]; then echo "make test: PASS"; else echo "make test: FAIL"; fi
exit "$status"
