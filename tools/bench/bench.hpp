// tools/bench/bench.hpp — `circumplex bench`: what a face costs, from the decoder to the screen.
//
// Each part returns its piece of the report as JSON; the verb (tools/cli/verb_bench.cpp)
// runs them in order, prints a table and writes the whole report with --json. Timing rules
// are bench_core.hpp's: warm-up, then repeated runs, median and p99.
//
// JSON report (schema "circumplex-bench", version 1). Times are milliseconds (`*_ms`) or
// nanoseconds (`*_ns`); a timing object is {"median_ms"|"median_ns", "p99_ms"|"p99_ns", "runs"},
// in milliseconds also "cpu_ms": the process's CPU time per run (all threads), which other
// work on a shared machine inflates far less than the wall times.
//   schema, version           "circumplex-bench", 1
//   quick                     true when --quick (fewer, smaller runs)
//   machine                   cpu (model name), cores (logical), threads (LibTorch threads
//                             used), torch (LibTorch version), mkldnn (oneDNN available),
//                             cuda (LibTorch has CUDA and a device), load_average (1 min,
//                             when the run started: other work on the machine),
//                             omp_wait_policy ($OMP_WAIT_POLICY, or "default")
//   model                     source ("package" | "fresh"), path, note, image_size, latent,
//                             width, decoder_width
//   decode                    flops_per_image (counted from the architecture);
//                             batches: [{batch, median_ms, p99_ms, runs, cpu_ms, ms_per_image,
//                             images_per_s, gflops, efficiency}] for batch 1, 8, 32
//                             (ms_per_image = median ÷ batch; gflops from the median);
//                             face: timing of Generator::decode (forward + RGBA8, batch 1)
//   peak                      gflops (best run of oneDNN's GEMM, the library the decoder's
//                             convolutions use, at the same threads), kind (what was
//                             multiplied), median_ms, blas_gflops (torch::mm, the system BLAS)
//   efficiency                the best batch's achieved GFLOP/s ÷ peak gflops
//   engine                    latency: timing from Session::set_target to the finished frame
//                             of that point (the session's own worker, threads as above)
//   viewer                    available (false: no Vulkan; reason says why), reason, device,
//                             frames, frame_ms_p50, frame_ms_p99, upload_ms_mean (texture
//                             upload, CPU side), generator_ms_mean, faces_shown, face_upload
//                             (how faces reach the GPU: CUDA interop or the staging buffer, why)
//   plugin                    available (false: libcircumplex.so not found; reason), library,
//                             update_arkit_ns (cpx_update + reading the 52 ARKit weights, per
//                             call, generator running), copy_frame_ns (cpx_copy_frame of one
//                             frame_size² RGBA8 face), frame_size
//   pipeline                  synth_images_per_s, prep_images_per_s, train_images_per_s and
//                             the image counts synth_images, prep_images, train_images, size
//   peer                      ran (false: no --peer, or python3 cannot import torch; reason),
//                             reason, torch (PyTorch version), batches: [{batch, median_ms,
//                             p99_ms, runs, cpu_ms, images_per_s, ratio, cpu_ratio}] where
//                             ratio = the peer's median ÷ ours (> 1: circumplex is faster) and
//                             cpu_ratio the same for CPU time per run
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/bench_core.hpp"

namespace circumplex::bench {

using ProgressFn = std::function<void(const std::string&)>;

/// Session latency: new target → finished frame of it.
Json bench_engine(const BenchModel& model, int threads, bool quick, const ProgressFn& progress);
/// A photo as identity (photo.hpp: detection, alignment, the package's route — the procedural
/// fit, or the luminance match — then the encoder), on the decoded RGB of `photo`: "time", and
/// "fit" (the fit alone; null on the photo route); {"available": false, "reason": …} for a
/// package without framing.
Json bench_photo(const BenchModel& model, int threads, bool quick, const std::string& photo, const ProgressFn& progress);
/// The headless viewer following a moving cursor with the generator running; without
/// Vulkan, {"available": false, "reason": …}.
Json bench_viewer(const BenchModel& model, int threads, bool quick, const ProgressFn& progress);
/// libcircumplex through its C ABI (dlopen: `library`, or found beside this executable's
/// build tree, or $CIRCUMPLEX_PLUGIN); without it, {"available": false, "reason": …}.
Json bench_plugin(const BenchModel& model, int threads, bool quick, const std::string& library,
                  const ProgressFn& progress);
/// Runs tools/bench/peer.py (`script`) with `python` on the same architecture, batches,
/// threads, warm-up and runs, and fills "peer" with the ratios to `decode`.
Json run_peer(const std::string& python, const std::string& script, const VaeConfig& config,
              const DecodeOptions& options, const DecodeResult& decode);

}  // namespace circumplex::bench
