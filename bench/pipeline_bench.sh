#!/usr/bin/env bash
# The whole archive end to end at scale (issue 14): N tokens over 20
# collections (ERC-721 and ERC-1155), each a metadata document and one
# 10-200 KB image, ~30% ipfs:// and the rest http(s):// on 50 loopback hosts
# (127.0.0.2-51) that each hold every answer 100 ms; minted 50 to a
# transaction; timed from the first mint until every token is archived or
# failed. Writes to OUT (default bench-out/<backend>-<N>): summary.txt
# (tokens/s, CPU seconds of every process group and CPU ms per token, peak
# RSS), queue_depth.csv and queue_depth.png (each stage's ready queue, once
# a second), cpu.csv (cumulative CPU seconds per group, once a second),
# with --pg_statements lease.csv and lease.png (the work queue's lease time
# in 30 s windows against the queue depth), and the services' logs.
# A million tokens: --computed_uris (URIs computed on chain, mints as events
# only, so anvil stays flat), e.g.
#   bench/pipeline_bench.sh --tokens=1000000 --computed_uris --ipfs_percent=0 \
#     --image_bytes=1000-4000 --per_tx=2000 --pg_statements
# Usage: bench/pipeline_bench.sh [--tokens=20000] [--backend=car-store|ipfs]
#        [--out_dir=DIR] [--build=build] [other pipeline_bench flags]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build TOKENS=20000 BACKEND=car-store OUT="" ARGS=()
for arg in "$@"; do
  case $arg in
    --build=*) BUILD=${arg#*=} ;;
    --tokens=*) TOKENS=${arg#*=}; ARGS+=("$arg") ;;
    --backend=*) BACKEND=${arg#*=}; ARGS+=("$arg") ;;
    --out_dir=*) OUT=${arg#*=} ;;
    *) ARGS+=("$arg") ;;
  esac
done
OUT=${OUT:-bench-out/$BACKEND-$TOKENS}
BENCH=$BUILD/bench/pipeline_bench
[[ -x $BENCH ]] || { echo "build pipeline_bench in $BUILD first" >&2; exit 2; }

# The plot needs gnuplot; installed the way scripts/setup.sh installs tools.
if ! command -v gnuplot >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null
fi

rm -rf "$OUT"
mkdir -p "$OUT"
status=0
"$BENCH" --out_dir="$OUT" "${ARGS[@]}" 2> "$OUT/bench.stderr" | tee "$OUT/bench.log" || status=$?
rm -rf "$OUT/web" "$OUT/car-store"  # the workload's bytes: GBs at scale

if [[ -s $OUT/queue_depth.csv ]]; then
  gnuplot <<GNUPLOT
set terminal pngcairo size 1200,700
set output "$OUT/queue_depth.png"
set datafile separator ","
set termoption noenhanced
set title "pipeline_bench: $TOKENS tokens, $BACKEND: ready items per queue"
set xlabel "seconds since the first mint"
set ylabel "ready items"
set y2label "tokens"
set y2tics
set key top left
plot "$OUT/queue_depth.csv" using 1:2 with lines lw 2 title "read_uri", \
     "" using 1:3 with lines lw 2 title "extract", \
     "" using 1:4 with lines lw 2 title "pin", \
     "" using 1:5 with lines lw 2 title "track", \
     "" using 1:8 with lines dt 2 title "resources queued/pinning", \
     "" using 1:6 axes x1y2 with lines dt 3 title "tokens indexed (right)", \
     "" using 1:7 axes x1y2 with lines dt 4 lw 2 title "tokens settled (right)"
GNUPLOT
  echo "plot: $OUT/queue_depth.png"
fi
if [[ -s $OUT/lease.csv ]]; then
  gnuplot <<GNUPLOT
set terminal pngcairo size 1200,700
set output "$OUT/lease.png"
set datafile separator ","
set termoption noenhanced
set title "pipeline_bench: $TOKENS tokens, $BACKEND: work-queue lease time against queue depth"
set xlabel "seconds since the first mint"
set ylabel "lease statement, mean ms (30 s windows)"
set y2label "ready items"
set y2tics
set yrange [0:*]
set key top left
plot "$OUT/lease.csv" using 1:3 with linespoints lw 2 title "lease mean ms", \
     "" using 1:5 axes x1y2 with lines dt 2 title "extract ready (right)", \
     "" using 1:6 axes x1y2 with lines dt 3 title "pin ready (right)"
GNUPLOT
  echo "plot: $OUT/lease.png"
fi
exit $status
