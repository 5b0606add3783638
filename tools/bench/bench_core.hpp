// tools/bench/bench_core.hpp — timing the face decoder and the machine it runs on.
//
// The part of `circumplex bench` that needs only LibTorch (no OpenCV, window system or
// ImGui), so it also builds in the bare GPU configuration (CIRCUMPLEX_MINIMAL) as the
// program `circumplex_bench_decode`.
//
// How things are timed: `warmup` untimed calls (oneDNN picks and caches its kernels, the
// allocator fills its pools), then `runs` timed calls; each call's wall time goes into the
// list whose median and 99th percentile are reported. A median is robust to the odd
// descheduled run on a shared machine; p99 shows how bad those get.
//
// Efficiency: the decoder's FLOPs per image are counted from the architecture (2 · the
// multiply–adds of its linear layer and convolutions; VaeDecoder::flops_per_image), and the
// machine's peak is what LibTorch's oneDNN matrix multiply (the library the convolutions use)
// reaches on a large GEMM with the same thread count. Efficiency = achieved FLOP/s ÷ peak.
//
//   auto model = resolve_model("", scratch_dir);            // package, or fresh weights
//   auto rows = bench_decode(model, {threads, {1, 8, 32}, 5, 30});
//   auto peak = measure_matmul_peak(threads, false);
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "circumplex/vae.hpp"

namespace circumplex::bench {

/// Wall times of repeated runs, in milliseconds.
struct Timing {
  double median_ms = 0, p99_ms = 0, min_ms = 0;
  /// CPU time of the whole process per run (all its threads): what a run costs, which
  /// other work on a shared machine inflates far less than wall time. 0 when not measured.
  double cpu_ms = 0;
  int runs = 0;
};

/// Calls `fn` `warmup` times untimed, then `runs` times timed (runs ≥ 1).
Timing time_runs(const std::function<void()>& fn, int warmup, int runs);
/// CPU time this process has used so far (all threads), milliseconds.
double process_cpu_ms();
/// Summarises already measured wall times (milliseconds).
Timing summarize(const std::vector<double>& ms);

/// The model a benchmark runs: an installed package, or fresh weights of the default shape.
struct BenchModel {
  std::string dir;        ///< package folder (a scratch one for fresh weights)
  bool fresh = false;     ///< true: freshly initialised weights, no trained model installed
  std::string note;       ///< one line saying which it is
  VaeConfig config;
};

/// The default architecture: 128², latent 64, width 16 (what tools/train-default.sh trains).
VaeConfig default_architecture();
/// Writes a loadable model package with freshly initialised weights (seeded) into `dir`:
/// axis-aligned directions, a standard-normal identity prior. For timing, never for faces.
void write_fresh_package(const std::string& dir, const VaeConfig& config, std::uint64_t seed);
/// `dir` when given (must load); else ModelPackage::default_path(); when no default model
/// is installed, a fresh package of default_architecture() written under `scratch`.
BenchModel resolve_model(const std::string& dir, const std::string& scratch);

struct DecodeOptions {
  int threads = 2;
  std::vector<int> batches = {1, 8, 32};
  int warmup = 5;
  int runs = 30;
  std::string device = "cpu";  ///< "cpu" or "cuda" (LibTorch with CUDA only)
  /// Called before each batch size with a one-line description (progress); may be empty.
  std::function<void(const std::string&)> progress;
};

/// One batch size's decoder timing.
struct DecodeRow {
  int batch = 1;
  Timing timing;              ///< one forward pass of the whole batch
  double images_per_s = 0;
  double ms_per_image = 0;    ///< median / batch
  double gflops = 0;          ///< achieved: FLOPs per image · images/s
};

struct DecodeResult {
  std::int64_t flops_per_image = 0;
  std::vector<DecodeRow> rows;
  Timing face;                ///< Generator::decode of one face: forward + RGBA8 (CPU only)
};

/// Times the decoder of `model` on random latents (normal, seeded) in inference mode.
DecodeResult bench_decode(const BenchModel& model, const DecodeOptions& options);

/// This machine's float32 matrix-multiply rate with LibTorch at `threads` threads. On the
/// CPU the multiply is oneDNN's (a 1×1 convolution is a GEMM: (size·size) × C by C × C), the
/// library the decoder's convolutions run on; LibTorch's torch::mm goes to the system BLAS
/// (Debian's is the unoptimised reference libblas3 unless OpenBLAS is installed), reported
/// beside it. On CUDA, torch::mm of n×n matrices.
struct Peak {
  double gflops = 0;          ///< best run
  int size = 0;               ///< spatial side (CPU) or n (CUDA)
  int channels = 0;           ///< C (CPU)
  std::string kind;           ///< what was multiplied, in words
  double blas_gflops = 0;     ///< torch::mm of n×n (n = 512; 256 quick), best run
  Timing timing;
};
Peak measure_matmul_peak(int threads, bool quick, const std::string& device = "cpu");

using Json = nlohmann::ordered_json;
/// {"median_ms", "p99_ms", "runs", "cpu_ms"} of a timing.
Json timing_json(const Timing& t);
/// The "decode", "peak" and "efficiency" members from measured results.
void add_decode_json(Json& report, const DecodeResult& decode, const Peak& peak);
/// The "machine" member.
Json machine_json(int threads);

/// Model name of the CPU ("/proc/cpuinfo"), or "unknown".
std::string cpu_name();
/// The 1-minute load average (other work on the machine while measuring), or −1.
double load_average();

}  // namespace circumplex::bench
