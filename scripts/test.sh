#!/usr/bin/env bash
# Installs, builds and runs every test (unit, integration against real
# Postgres/anvil/js-ipfs/HTTPS servers on loopback, and the clang-format
# check), then runs each libFuzzer target briefly (scripts/fuzz.sh,
# NIFTYSAVE_FUZZ_SECONDS per target, default 10; 0 skips). Exits non-zero on
# any failure. Extra arguments go to ctest (e.g. -L unit, -R pipeline); with
# extra arguments the fuzz step is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
"$ROOT/scripts/setup.sh"
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --timeout 600 -j "${JOBS:-2}" "$@")
fuzz_seconds=${NIFTYSAVE_FUZZ_SECONDS:-10}
if [ $# -eq 0 ] && [ "$fuzz_seconds" != 0 ]; then
  echo "== fuzz: ${fuzz_seconds}s per target (scripts/fuzz.sh)"
  "$ROOT/scripts/fuzz.sh" "$fuzz_seconds"
fi
