#!/usr/bin/env bash
# tools/run.sh — sets up, builds and runs circumplex's main job.
#   tools/run.sh             draw the emotion atlas into out/ (the main job for now)
#   tools/run.sh VERB ARGS   run `circumplex VERB ARGS` after building
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
exe=build/tools/circumplex

if [ $# -gt 0 ]; then
  exec "$exe" "$@"
fi
"$exe" atlas --out out
echo "circumplex: the atlas pictures are in $(pwd)/out/ (atlas_2d.png, atlas_3d.png)"
