#!/usr/bin/env bash
# Peak RSS (VmHWM growth of the test process) under the hostile memory
# workloads of issue 11, point 2, each against real components on loopback:
#   - indexer: 52,000 ERC-2309 tokens, 48,000 of them from one transaction
#     (one block over --max_transfers_per_range=3000), anvil + Postgres;
#   - URI reader: the first step's lease under a 3 MiB budget (a count, no
#     RSS: the step would otherwise lease --uri_batch URIs of up to 1 MiB);
#   - extractor: 40 x 900 KB metadata bodies, writes stuck, 32 fetch slots,
#     --max_buffered_mb=4, fixture HTTP server + Postgres.
# Usage: bench/hostile_rss.sh [BUILD_DIR=build]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
INDEXER=$BUILD/services/indexer/indexer_pgtest
EXTRACTOR=$BUILD/services/extractor/extractor_pgtest
[[ -x $INDEXER && -x $EXTRACTOR ]] || {
  echo "build indexer_pgtest and extractor_pgtest in $BUILD first" >&2
  exit 2
}
run() {  # binary, gtest filter
  (cd "$BUILD" && "../$1" --gtest_filter="$2" 2>&1) |
    grep -E '^peak RSS|^\[  (     OK|FAILED  )' || true
}
echo "| case | result |"
echo "|---|---|"
run "$INDEXER" '*ConsecutiveTransferFloodIsIndexedInBoundedParts' |
  sed 's/^/| indexer | /; s/$/ |/'
run "$INDEXER" '*UriReaderFirstStepLeasesTheByteBudgetsWorth' |
  sed 's/^/| URI reader | /; s/$/ |/'
run "$EXTRACTOR" '*ByteBudgetBoundsBodiesInFlightAndUnwritten' |
  sed 's/^/| extractor | /; s/$/ |/'
