#!/usr/bin/env bash
# tools/test.sh [--sanitize|--tsan|--fuzz [SECONDS]] — sets up, builds and runs circumplex's tests.
#   (no flag)    every test with CTest, the normal build in build/
#   --sanitize   a separate AddressSanitizer + UndefinedBehaviorSanitizer build in build-sanitize/
#   --tsan       ThreadSanitizer on the plugin's concurrency suite only (build-tsan/)
#   --fuzz [S]   every libFuzzer target (tests/fuzz) for S seconds each (default 60), clang build in
#                build-fuzz/; fails on any crash, leak, timeout or sanitizer report
set -euo pipefail
cd "$(dirname "$0")/.."

mode=""
case "${1:-}" in
  "") ;;
  --sanitize) mode="--sanitize" ;;
  --tsan) mode="--tsan" ;;
  --fuzz) mode="--fuzz" ;;
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "tools/test.sh: unknown option '$1' (try --sanitize, --tsan or --fuzz)" >&2; exit 2 ;;
esac

if [ "$mode" = "--fuzz" ]; then
  seconds=${2:-60}
  tools/setup.sh --fuzz
  if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCIRCUMPLEX_FUZZ=ON \
      -DCIRCUMPLEX_TESTS=OFF -DCIRCUMPLEX_CUDA_INTEROP=OFF
  fi
  targets=(path_csv atlas_json weights affectnet_csv study_api model_manifest judge_manifest identity_file)
  cmake --build build-fuzz -j "$(nproc 2>/dev/null || echo 2)" --target "${targets[@]/#/fuzz_}"
  status=0
  report=build-fuzz/fuzz-report.txt
  : > "$report"
  for t in "${targets[@]}"; do
    work=build-fuzz/corpus/$t
    mkdir -p "$work" build-fuzz/crashes/$t
    dict=(); [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    echo "fuzzing $t for $seconds s (seed corpus: $(ls tests/fuzz/corpus/$t | wc -l) files)"
    set +e
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$t/" "${dict[@]}" "$work" "tests/fuzz/corpus/$t" \
      > "build-fuzz/fuzz_$t.log" 2>&1
    rc=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/fuzz_$t.log" | grep -o '[0-9]*$' || echo 0)
    rate=$(grep -o 'exec/s: [0-9]*' "build-fuzz/fuzz_$t.log" | tail -1 | grep -o '[0-9]*$' || echo 0)
    corpus=$(ls "$work" | wc -l)
    line="$t: $([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc, see build-fuzz/fuzz_$t.log and build-fuzz/crashes/$t)") executions $execs, $rate exec/s, corpus $corpus"
    echo "$line" | tee -a "$report"
    [ $rc -eq 0 ] || { tail -40 "build-fuzz/fuzz_$t.log"; status=1; }
  done
  echo "circumplex fuzzing ($seconds s per target) finished: $([ $status -eq 0 ] && echo PASSED || echo FAILED); summary in $report"
  exit $status
fi

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
