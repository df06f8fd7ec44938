#!/usr/bin/env bash
# Fails when any C++ source is not clang-format clean (.clang-format at the root).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cc' '*.h' 2>/dev/null || find . -name '*.cc' -o -name '*.h' -not -path './build*')
clang-format --dry-run --Werror $files
echo "clang-format: $(echo "$files" | wc -l) files clean"
