#!/usr/bin/env bash
# tools/gpu-check.sh OUT — the GPU checks, as one prepared run on an NVIDIA machine that has
# nvcc and a PyTorch wheel (whose LibTorch has CUDA) but none of the desktop packages.
#
# Builds the bare-GPU configuration (-DCIRCUMPLEX_MINIMAL=ON: runtime, model, Vulkan context
# with the CUDA–Vulkan interop, test_interop, circumplex_bench_decode) against the wheel's
# LibTorch, then: test_interop (CUDA kernel → shared memory → Vulkan copy, both semaphores),
# the decoder table on the CPU and on the GPU (batch 1/8/32, with the matrix-multiply peak of
# each device). Logs and JSON go to OUT (at most a few small files). Vulkan loaders: unpack
# them first where the machine has none (see the device tool's README).
#
# Not covered here (they need OpenCV, GLFW and ImGui, i.e. the full build): the headless viewer
# with interop, `circumplex bench --device cuda` and `circumplex train --device cuda`.
set -uo pipefail
out=${1:?usage: tools/gpu-check.sh OUT}
mkdir -p "$out"
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 4)
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
} > "$out/machine.txt" 2>&1

cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCIRCUMPLEX_MINIMAL=ON -DCMAKE_PREFIX_PATH="$prefix" \
  > "$out/build.log" 2>&1 && cmake --build build-gpu -j "$jobs" >> "$out/build.log" 2>&1
status=$?
if [ $status -ne 0 ]; then
  tail -60 "$out/build.log"
  echo "gpu-check: the build failed (exit $status); see build.log"
  exit $status
fi

(cd build-gpu && ctest -R test_interop --output-on-failure) > "$out/interop.log" 2>&1
interop=$?
build-gpu/tools/bench/circumplex_bench_decode --device cpu --threads 8 --json "$out/bench-cpu.json" > "$out/bench.log" 2>&1
build-gpu/tools/bench/circumplex_bench_decode --device cuda --json "$out/bench-cuda.json" >> "$out/bench.log" 2>&1
bench=$?
cat "$out/machine.txt" "$out/bench.log"
grep -E "Passed|Failed|Skipped|tests passed" "$out/interop.log"
echo "gpu-check: test_interop exit $interop, bench exit $bench; files in $out"
[ $interop -eq 0 ] && [ $bench -eq 0 ]
