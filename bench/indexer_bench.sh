#!/usr/bin/env bash
# Indexer throughput (issue 3): niftysave-indexer against Ponder (the
# reference indexer, bench/ponder) and the eth_getLogs floor, on one anvil
# chain seeded with ~200,000 ERC-721 / ERC-1155 transfer logs, all writing
# into one Postgres server. Prints one table (see bench/indexer_bench.cc).
# Usage: bench/indexer_bench.sh [BUILD_DIR=build] [extra indexer_bench flags]
#   e.g. bench/indexer_bench.sh build --ponder_uris=0 --scale=0.5
# PONDER=0 skips Ponder (and its npm install).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
BENCH=$BUILD/bench/indexer_bench
INDEXER=$BUILD/services/indexer/niftysave-indexer
[[ -x $BENCH && -x $INDEXER ]] || {
  echo "build first: cmake --build $BUILD --target indexer_bench niftysave-indexer" >&2
  exit 2
}
ARGS=(--indexer="$INDEXER")
if [[ ${PONDER:-1} == 1 ]]; then
  # Ponder's own npm project: installed here, never into tools/node.
  if [[ ! -x bench/ponder/node_modules/.bin/ponder ]]; then
    (cd bench/ponder && npm install --no-audit --no-fund --no-package-lock \
      --fetch-retries=1 >/dev/null)
  fi
  ARGS+=(--ponder_dir="$PWD/bench/ponder")
fi
# Errors go to stderr; the migration's JSON log lines are dropped.
exec "$BENCH" "${ARGS[@]}" "$@" 2> >(grep -v '^{' >&2)
