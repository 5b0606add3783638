#!/usr/bin/env bash
# tools/run.sh — sets up, builds and runs circumplex's main job.
#   tools/run.sh             with a display: the real-time viewer (`circumplex view`) on the
#                            default model; with none ($DISPLAY unset, or the window cannot
#                            open): headless viewer renders + the atlas pictures into out/
#   tools/run.sh VERB ARGS   run `circumplex VERB ARGS` after building
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
exe=build/tools/circumplex

if [ $# -gt 0 ]; then
  exec "$exe" "$@"
fi

"$exe" atlas --out out >/dev/null
atlas_note="the atlas pictures are in $(pwd)/out/ (atlas_2d.png, atlas_3d.png)"
if [ -z "${CIRCUMPLEX_MODEL:-}" ] && [ ! -f assets/models/default/manifest.json ]; then
  echo "circumplex: no default model yet (assets/models/default); the viewer needs one (or set CIRCUMPLEX_MODEL)."
  echo "circumplex: $atlas_note"
  exit 0
fi

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  if "$exe" view; then
    echo "circumplex: $atlas_note"
    exit 0
  fi
  echo "circumplex: the viewer could not run in a window; rendering it headless instead"
fi
"$exe" view --headless --frames 3 --size 1280x720 --emotion happy --screenshot out/view_happy.png --quiet
"$exe" view --headless --frames 3 --size 1280x720 --affect -0.55,-0.45 --screenshot out/view_sad.png --quiet
"$exe" view --headless --frames 3 --size 1280x720 --emotion fearful --screenshot out/view_fearful.png --quiet
echo "circumplex: headless viewer renders are in $(pwd)/out/ (view_happy.png, view_sad.png, view_fearful.png)"
echo "circumplex: $atlas_note"
