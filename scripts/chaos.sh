#!/usr/bin/env bash
# The fault-injection test, long profile (issue 13; README "Crash recovery:
# the fault-injection test"). For each seed: a fault-free run and a run with
# faults of the same workload on real Postgres, anvil and the js-ipfs node,
# then the figures: lost, duplicated and differing records, the invariants,
# and the time to converge after the last fault.
#
# Usage: scripts/chaos.sh [SEEDS=1,2,3] [TOKENS=300] [KILLS=3] [niftysave-chaos flags...]
#   e.g. scripts/chaos.sh 1,2,3,4,5,6,7,8,9,10 300 3 --window_seconds=90
# Needs a build (build/tests/chaos/niftysave-chaos); logs go to
# ${CHAOS_LOG_DIR:-/tmp/niftysave-chaos}/<run>/<service>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${1:-1,2,3}
TOKENS=${2:-300}
KILLS=${3:-3}
shift $(( $# < 3 ? $# : 3 ))
BIN=build/tests/chaos/niftysave-chaos
if [[ ! -x $BIN ]]; then
  echo "build first: cmake --build build --target niftysave-chaos" >&2
  exit 2
fi
LOG_DIR=${CHAOS_LOG_DIR:-/tmp/niftysave-chaos}
mkdir -p "$LOG_DIR"
# The services' own JSON logs go to the log dir; stderr here is the
# migration chatter.
"$BIN" --seeds="$SEEDS" --tokens="$TOKENS" --kills="$KILLS" \
  --log_dir="$LOG_DIR" "$@" 2> >(grep -v '"applied migration"' >&2)
