#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan on every
# library they use) and runs each for a while. Exits non-zero if any target
# finds a crash; the reproducer is left in the run directory.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_OUT (default
# $FUZZ_BUILD_DIR/runs), JOBS (build parallelism, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(cid_fuzzer resolve_uri_fuzzer data_uri_fuzzer asset_walker_fuzzer logs_reply_fuzzer revert_reason_fuzzer)
fi
build="${FUZZ_BUILD_DIR:-build-fuzz}"
out="${FUZZ_OUT:-$build/runs}"

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found" >&2; exit 2; }
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link"
# Only the libraries the targets need; everything else is skipped.
# common/ipfs stays: the fetchers verify CIDs with its UnixFS importer;
# common/eth for the eth_getLogs reply reader; services/extractor for its
# _logic library (with common/db's queue_item and common/metrics).
skip="tests/harness;common/service;common/grpc"
skip+=";testdata/contracts;services/indexer;services/pinner;services/tracker"
skip+=";cli;tests/integration;tests/deploy;tools/demo;bench"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS="$sanitize" -DCMAKE_CXX_FLAGS="$sanitize" \
  -DNIFTYSAVE_SKIP_DIRS="$skip" >/dev/null
cmake --build "$build" --target "${targets[@]}" -j "${JOBS:-2}"

status=0
for target in "${targets[@]}"; do
  dir="$out/$target"
  mkdir -p "$dir/corpus"
  seeds="fuzz/seeds/$target"
  echo "== $target: ${seconds}s"
  args=(-max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048
        -artifact_prefix="$dir/" -print_final_stats=1)
  [ -f "fuzz/seeds/$target.dict" ] && args+=(-dict="fuzz/seeds/$target.dict")
  corpora=("$dir/corpus")
  [ -d "$seeds" ] && corpora+=("$seeds")
  if ! "$build/fuzz/$target" "${args[@]}" "${corpora[@]}" >"$dir/log.txt" 2>&1; then
    echo "!! $target found a crash: $(ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* 2>/dev/null | head -1)"
    tail -30 "$dir/log.txt"
    status=1
  else
    grep -E "stat::number_of_executed_runs|cov:" "$dir/log.txt" | tail -2
  fi
done
exit $status
