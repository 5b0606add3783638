#!/usr/bin/env bash
# tests/view_window_test.sh EXE MODEL OUTDIR — `circumplex view` in a real window: Xvfb (on a
# display number it picks itself), lavapipe, the validation layer on. Drags the pad cursor
# with xdotool, takes an F12 screenshot, quits with Ctrl+Q, and checks that the cursor moved
# where it was dragged, the screenshot exists at the window's size, the exit was clean and
# no validation error was reported. Exits 77 (CTest: skipped) when Xvfb or xdotool is missing.
set -u
exe=$1 model=$2 out=$3
for tool in Xvfb xdotool; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not installed (Debian packages: xvfb, xdotool)"
    exit 77
  fi
done
rm -rf "$out"
mkdir -p "$out"
xvfb_pid="" view_pid=""
cleanup() {
  [ -n "$view_pid" ] && kill "$view_pid" 2>/dev/null
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null
  wait 2>/dev/null
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "---- viewer log ----"
  cat "$out/view.log" 2>/dev/null
  exit 1
}

# Xvfb chooses a free display and writes its number to fd 3.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$out/display" >"$out/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 100); do [ -s "$out/display" ] && break; sleep 0.1; done
[ -s "$out/display" ] || fail "Xvfb did not start (see $out/xvfb.log)"
export DISPLAY=":$(head -n1 "$out/display")"
echo "Xvfb on $DISPLAY"

"$exe" view --model "$model" --validation --size 960x600 --screenshot "$out/window.png" >"$out/view.log" 2>&1 &
view_pid=$!
for _ in $(seq 600); do
  grep -q "ready:" "$out/view.log" 2>/dev/null && break
  kill -0 "$view_pid" 2>/dev/null || fail "the viewer exited before its first frame"
  sleep 0.2
done
ready=$(grep "ready:" "$out/view.log") || fail "no first frame within 120 s"
echo "$ready"
# "ready: pad centre X,Y radius R px; …"
read -r cx cy r < <(echo "$ready" | sed -E 's/.*pad centre ([0-9.]+),([0-9.]+) radius ([0-9.]+).*/\1 \2 \3/')
wid=$(timeout 20 xdotool search --sync --name "circumplex view" | head -n1) || fail "no window named 'circumplex view'"

# Drag from the centre to (v, a) = (0.55, 0.45) in small steps.
tx=$(awk -v c="$cx" -v r="$r" 'BEGIN { printf "%d", c + 0.55 * r }')
ty=$(awk -v c="$cy" -v r="$r" 'BEGIN { printf "%d", c - 0.45 * r }')
xdotool mousemove --window "$wid" "${cx%.*}" "${cy%.*}"
sleep 0.5
xdotool mousedown 1
sleep 0.3
for i in 1 2 3 4 5 6; do
  xdotool mousemove --window "$wid" \
    "$(awk -v a="$cx" -v b="$tx" -v i="$i" 'BEGIN { printf "%d", a + (b - a) * i / 6 }')" \
    "$(awk -v a="$cy" -v b="$ty" -v i="$i" 'BEGIN { printf "%d", a + (b - a) * i / 6 }')"
  sleep 0.15
done
sleep 0.3
xdotool mouseup 1
sleep 2  # the cursor glides to the target (half-life 0.12 s)

# F12: the viewer's own screenshot of its swapchain image.
xdotool key F12
for _ in $(seq 150); do [ -s "$out/window.png" ] && break; sleep 0.2; done
[ -s "$out/window.png" ] || fail "F12 wrote no screenshot"

xdotool key ctrl+q
rc=""
for _ in $(seq 300); do
  if ! kill -0 "$view_pid" 2>/dev/null; then
    wait "$view_pid"
    rc=$?
    break
  fi
  sleep 0.1
done
view_pid=""
[ -n "$rc" ] || fail "the viewer did not quit on Ctrl+Q"
[ "$rc" -eq 0 ] || fail "the viewer exited with status $rc"
grep -q "validation error" "$out/view.log" && fail "Vulkan validation errors"

final=$(grep "final cursor" "$out/view.log") || fail "no final readout"
echo "$final"
echo "$final" | awk '{ for (i = 1; i <= NF; ++i) { if ($i ~ /^v=/) v = substr($i, 3); if ($i ~ /^a=/) a = substr($i, 3) } }
  END { exit !(v > 0.45 && v < 0.65 && a > 0.35 && a < 0.55) }' || fail "the cursor did not move to the drag's end (v 0.55, a 0.45)"
# PNG signature, then IHDR width and height (big-endian) at bytes 16..23.
sig=$(od -An -tx1 -N8 "$out/window.png" | tr -d ' \n')
[ "$sig" = "89504e470d0a1a0a" ] || fail "window.png is not a PNG"
size=$(od -An -tu1 -j16 -N8 "$out/window.png" | awk '{ printf "%dx%d", $1*16777216 + $2*65536 + $3*256 + $4, $5*16777216 + $6*65536 + $7*256 + $8 }')
[ "$size" = "960x600" ] || fail "window.png is $size, expected 960x600"
echo "PASS: dragged to $final; screenshot $out/window.png ($size); clean exit, no validation errors"
