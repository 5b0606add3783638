#!/usr/bin/env bash
# tools/test.sh [--sanitize] — sets up, builds and runs every circumplex test with CTest.
#   (no flag)    the normal build in build/
#   --sanitize   a separate AddressSanitizer + UndefinedBehaviorSanitizer build in build-sanitize/
set -euo pipefail
cd "$(dirname "$0")/.."

mode=""
case "${1:-}" in
  "") ;;
  --sanitize) mode="--sanitize" ;;
  -h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "tools/test.sh: unknown option '$1' (try --sanitize)" >&2; exit 2 ;;
esac

tools/setup.sh
tools/build.sh $mode
dir=build
[ -n "$mode" ] && dir=build-sanitize

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
jobs=$(nproc 2>/dev/null || echo 2)
start=$(date +%s)
set +e
(cd "$dir" && ctest -j "$jobs" --output-on-failure --timeout 900)
status=$?
set -e
echo "circumplex tests (${mode:-normal build}) finished in $(( $(date +%s) - start )) s: $([ $status -eq 0 ] && echo PASSED || echo FAILED)"
exit $status
