#!/usr/bin/env bash
# End-to-end throughput of the local pipeline: the demo collection plus N
# extra https:// tokens (metadata + image each, both downloaded, uploaded to
# the IPFS node, pinned and confirmed), from the first mint until every
# token is archived or failed. Usage: bench/pipeline.sh [N=200]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}
scripts/setup.sh >/dev/null
build/tools/demo/niftysave-demo --extra_tokens="$N" 2>/dev/null | grep -E "tokens settled|RECORD|^tokens|^resources|^pins"
