#!/usr/bin/env bash
# CID computation on one random file (default 1 GiB + 1 byte: 1024 chunks of
# 1 MiB plus one, so the ipfs-car layout grows a second level): our engine
# (ipfs-car profile) against npm ipfs-car `pack` and the js-ipfs node's
# `add?only-hash=true`, with SHA-256 of the same bytes as the floor.
# Usage: bench/cid_bench.sh [BUILD_DIR=build] [SIZE_BYTES]
# Set NODE_ADD=0 to skip the (slow) js-ipfs run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SIZE=${2:-$((1024 * 1024 * 1024 + 1))}
NODE_ADD=${NODE_ADD:-1}
BENCH=$BUILD/bench/cid_bench
CLI=$BUILD/cli/niftysave
IPFS_CAR=tools/node/node_modules/ipfs-car/bin.js
[[ -x $BENCH && -x $CLI ]] || { echo "build cid_bench and niftysave in $BUILD first" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cid-bench-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FILE=$WORK/random.bin
head -c "$SIZE" /dev/urandom >"$FILE"
cat "$FILE" >/dev/null  # warm the page cache for every contender

# run NAME CMD...: wall seconds and peak RSS (MB) from /usr/bin/time -v.
declare -A SECS RSS OUT
run() {
  local name=$1; shift
  /usr/bin/time -v -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
  SECS[$name]=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$WORK/time")
  RSS[$name]=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$WORK/time")
  OUT[$name]=$(cat "$WORK/out")
}

run ours "$BENCH" --profile ipfs-car "$FILE"
OURS_CID=$(sed -n 's/^cid //p' <<<"${OUT[ours]}")
run ours_car "$CLI" car --profile ipfs-car "$FILE" "$WORK/ours.car"
rm -f "$WORK/ours.car"
run floor "$BENCH" --sha256_only "$FILE"
run ipfs_car node "$IPFS_CAR" pack --no-wrap "$FILE" --output "$WORK/ipfs-car.car"
IPFS_CAR_CID=$(tail -n1 <<<"${OUT[ipfs_car]}")
rm -f "$WORK/ipfs-car.car"
if [[ $NODE_ADD == 1 ]]; then
  # js-ipfs takes no max-links: compare with our engine at 1 MiB x 174.
  run node_add "$BENCH" --node_add "$FILE" "cid-version=1&cid-base=base32&chunker=size-1048576&pin=false"
  NODE_CID=$(grep -o '"Hash":"[^"]*"' <<<"${OUT[node_add]}" | tail -n1 | cut -d'"' -f4)
  NODE_SECS=$(sed -n 's/^seconds //p' <<<"${OUT[node_add]}")
  OURS174_CID=$("$BENCH" --profile ipfs-car --links 174 "$FILE" | sed -n 's/^cid //p')
fi
OPENSSL=$(openssl speed -evp sha256 -bytes 1048576 -seconds 3 2>/dev/null | awk '/^sha256/ {print $NF}')

MB=$(awk -v s="$SIZE" 'BEGIN {printf "%.1f", s/1e6}')
row() { awk -v n="$1" -v s="$2" -v r="$3" -v mb="$MB" -v note="$4" \
  'BEGIN {printf "%-34s %8.2f s %8.0f MB/s %8s MB  %s\n", n, s, mb/s, r, note}'; }
echo "file: $SIZE bytes (random)"
printf "%-34s %10s %13s %11s\n" "contender" "time" "throughput" "peak RSS"
row "niftysave cid (ipfs-car profile)" "${SECS[ours]}" "${RSS[ours]}" "$OURS_CID"
row "niftysave car (writes the CAR)" "${SECS[ours_car]}" "${RSS[ours_car]}" ""
row "npm ipfs-car pack --no-wrap" "${SECS[ipfs_car]}" "${RSS[ipfs_car]}" "$IPFS_CAR_CID"
if [[ $NODE_ADD == 1 ]]; then
  row "js-ipfs add?only-hash (1MiB, 174)" "$NODE_SECS" "-" "$NODE_CID (ours: $OURS174_CID)"
fi
row "floor: read + SHA-256 (EVP)" "${SECS[floor]}" "${RSS[floor]}" ""
echo "openssl speed -evp sha256 (1 MiB blocks): $(awk -v k="$OPENSSL" 'BEGIN {printf "%.0f MB/s", k*1000/1e6}')"
[[ $OURS_CID == "$IPFS_CAR_CID" ]] && echo "root CIDs: ours == ipfs-car" || { echo "root CIDs DIFFER: ours $OURS_CID, ipfs-car $IPFS_CAR_CID"; exit 1; }
if [[ $NODE_ADD == 1 ]]; then
  [[ $NODE_CID == "$OURS174_CID" ]] && echo "root CIDs: ours (174 links) == js-ipfs" || { echo "js-ipfs CID DIFFERS"; exit 1; }
fi
