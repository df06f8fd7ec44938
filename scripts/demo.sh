#!/usr/bin/env bash
# The main job: a local end-to-end archive run on real components. Installs
# and builds what it needs, then runs niftysave-demo (see --help; e.g.
# --extra_tokens=200, --keep_running).
set -euo pipefail
cd "$(dirname "$0")/.."
"$PWD/scripts/setup.sh"
exec "${BUILD_DIR:-$PWD/build}/tools/demo/niftysave-demo" "$@"
