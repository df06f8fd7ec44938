#!/usr/bin/env bash
# Extractor throughput: 100,000 tokens whose metadata a loopback server
# answers after 200 ms, drained by the real niftysave-extractor with
# --max_in_flight=256. Prints tokens/s, the limit (256 / 0.2 s = 1280/s),
# peak RSS and CPU. Goal: >= 90% of the limit, < 300 MB RSS, on 2 cores.
# Usage: bench/extractor_bench.sh [BUILD_DIR=build] [extra extractor_bench flags]
#   e.g. --tokens=20000 (reduced scale), --extractor_bin=PATH (A/B against a
#   saved binary), --extractor_flags=--batch_size=32,--db_pool_size=8
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
BENCH=$BUILD/bench/extractor_bench
[[ -x $BENCH ]] || { echo "build extractor_bench in $BUILD first" >&2; exit 2; }
exec "$BENCH" --tokens=100000 --latency_ms=200 --max_in_flight=256 "$@"
