#!/usr/bin/env bash
# verdict-status.sh STATUS: names the kcconform command's exit status in a
# CI log (as a GitHub Actions annotation) and exits with it, so that a job
# tells a server that breaks a promise (1) from a run that could not run (2)
# and a leaked credential (3). make conformance cannot: make exits 2 for
# every failure of a recipe.
set -u
status=${1:?usage: verdict-status.sh STATUS}
case "$status" in
  0) echo "kcconform: PASS (exit 0): the server keeps the procedure's promises" ;;
  1) echo "::error title=kcconform FAIL::the server breaks a promise (exit 1); see the verdict above and the reports" ;;
  2) echo "::error title=kcconform COULD NOT RUN::the run could not run (exit 2): a setting, the target or the environment; see the verdict's cause" ;;
  3) echo "::error title=kcconform LEAK::a credential of the run is in clear text in its output or reports (exit 3)" ;;
  *) echo "::error title=kcconform::unexpected exit status $status (a crash or a signal)" ;;
esac
exit "$status"
