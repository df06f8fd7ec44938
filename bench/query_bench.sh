#!/usr/bin/env bash
# GetTokenStatus latency (issue 6: p99 under 5 ms at 1,000 requests/s against
# 1,000,000 tokens): seeds a private Postgres, starts the real tracker and
# drives it with an open-loop gRPC load generator; see bench/query_bench.cc.
# Usage: bench/query_bench.sh [query_bench flags], e.g.
#   bench/query_bench.sh --tokens=1000000 --rate=1000 --seconds=30
#   bench/query_bench.sh --keep_db=/var/tmp/qb-1m   # seed once, reuse after
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
exec build/bench/query_bench "$@"
