#!/usr/bin/env bash
# Installs what niftysave needs on Debian 12 (as root, or with sudo), then
# configures and builds it. Idempotent: a second run only rebuilds what
# changed. Used by scripts/demo.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

# Debian packages: toolchain, C++ libraries, and the real components the
# tests and demo run (PostgreSQL 15, Prometheus' promtool, openssl, node), and
# clang with libFuzzer for the brief fuzz run in scripts/test.sh.
PACKAGES=(build-essential cmake pkg-config git ca-certificates openssl curl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libpqxx-dev prometheus-cpp-dev libcurl4-openssl-dev libssl-dev nlohmann-json3-dev
  libsimdjson-dev libgtest-dev libgmock-dev postgresql prometheus clang-format
  clang libclang-rt-14-dev
  python3 python3-grpcio python3-grpc-tools python3-yaml)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian postgresql package starts a cluster of its own; we never use it
# (tests and the demo run private servers on free ports).

# npm: anvil (Ethereum node), solc, js-ipfs (kubo-compatible RPC node).
NODE_TOOLS=$ROOT/tools/node
if [ ! -x "$NODE_TOOLS/node_modules/.bin/anvil" ] || [ ! -d "$NODE_TOOLS/node_modules/ipfs" ] ||
   [ "$NODE_TOOLS/package.json" -nt "$NODE_TOOLS/node_modules/.installed" ]; then
  echo "setup: npm install in tools/node"
  (cd "$NODE_TOOLS" && npm install --omit=optional --no-audit --no-fund --loglevel=error \
     --fetch-retries=2 --fetch-timeout=60000)
  touch "$NODE_TOOLS/node_modules/.installed"
fi

JOBS=${JOBS:-$(nproc)}
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
