#!/usr/bin/env bash
# tools/build.sh [--sanitize] — configures and builds circumplex into build/ (or
# build-sanitize/ with ASan+UBSan). Called by run.sh and test.sh after setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-sanitize
  flags=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DCIRCUMPLEX_SANITIZE=ON)
fi
jobs=$(nproc 2>/dev/null || echo 2)

if [ ! -f "$dir/build.ninja" ]; then
  cmake -S . -B "$dir" -G Ninja "${flags[@]}"
fi
cmake --build "$dir" -j "$jobs"
