#!/usr/bin/env bash
# The durable work queue's cost as it grows (issue 14): fills a throwaway
# Postgres's queue with a million items, then drains it with 8 workers while
# a feeder hands off more at the tail, and prints hand-off, lease and outcome
# latency (p50/p99) per depth decile; see bench/queue_bench.cc.
# Usage: bench/queue_bench.sh [BUILD_DIR=build] [queue_bench flags], e.g.
#   bench/queue_bench.sh build --items=100000 --workers=16
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
BENCH=$BUILD/bench/queue_bench
[[ -x $BENCH ]] || { echo "build queue_bench in $BUILD first" >&2; exit 2; }
exec "$BENCH" "$@"
