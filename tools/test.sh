#!/usr/bin/env bash
# tools/test.sh [--sanitize|--tsan] — sets up, builds and runs every circumplex test with CTest.
#   (no flag)    the normal build in build/
#   --sanitize   a separate AddressSanitizer + UndefinedBehaviorSanitizer build in build-sanitize/
#   --tsan       ThreadSanitizer on the plugin's concurrency suite only (build-tsan/)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=""
case "${1:-}" in
  "") ;;
  --sanitize) mode="--sanitize" ;;
  --tsan) mode="--tsan" ;;
  -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "tools/test.sh: unknown option '$1' (try --sanitize or --tsan)" >&2; exit 2 ;;
esac

if [ "$mode" = "--tsan" ]; then
  # Only test_plugin_threads runs under TSan: the plugin, the runtime and the test are
  # instrumented; LibTorch, OpenCV and liblo are not, so plugin/tsan.supp silences reports
  # from inside them. The tiny model comes from the normal build.
  tools/setup.sh
  tools/build.sh
  [ -f build/test-output/tiny-model/pkg/manifest.json ] || (cd build && ctest -R '^make_tiny_model$' --output-on-failure)
  if [ ! -f build-tsan/build.ninja ]; then
    cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_FLAGS=-fsanitize=thread -DCMAKE_CXX_FLAGS=-fsanitize=thread \
      -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread
  fi
  cmake --build build-tsan -j "$(nproc 2>/dev/null || echo 2)" --target test_plugin_threads
  mkdir -p build-tsan/test-output/tiny-model
  ln -sfn "$PWD/build/test-output/tiny-model/pkg" build-tsan/test-output/tiny-model/pkg
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/plugin/tsan.supp"
  start=$(date +%s)
  set +e
  (cd build-tsan && ctest -R '^test_plugin_threads' -FS tiny_model --output-on-failure --timeout 900)
  status=$?
  set -e
  echo "circumplex tests (ThreadSanitizer, plugin threads) finished in $(( $(date +%s) - start )) s: $([ $status -eq 0 ] && echo PASSED || echo FAILED)"
  exit $status
fi

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
