#!/usr/bin/env bash
# Installs, builds and runs every test (unit, integration against real
# Postgres/anvil/js-ipfs/HTTPS servers on loopback, and the clang-format
# check). Exits non-zero on any failure. Extra arguments go to ctest
# (e.g. -L unit, -R pipeline).
set -euo pipefail
cd "$(dirname "$0")/.."
"$PWD/scripts/setup.sh"
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 -j "${JOBS:-2}" "$@"
