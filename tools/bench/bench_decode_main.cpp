// circumplex_bench_decode — the decoder part of `circumplex bench` on its own, for bare GPU
// machines (built in every configuration, and alone with -DCIRCUMPLEX_MINIMAL=ON: only
// LibTorch, no OpenCV, window system or ImGui). Prints the decoder table and, with --json,
// writes {"schema": "circumplex-bench-decode", machine, model, decode, peak, efficiency} with
// the members bench.hpp documents.
//
//   circumplex_bench_decode [--model PKG] [--quick] [--threads N] [--device cpu|cuda[:N]] [--json FILE]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "bench/bench_core.hpp"
#include "circumplex/error.hpp"
#include "circumplex/model_package.hpp"
#include "circumplex/torch_compat.hpp"

namespace {
int usage(const std::string& why) {
  std::fprintf(stderr, "circumplex_bench_decode: %s\nUsage: circumplex_bench_decode [--model PKG] [--quick] [--threads N] "
                       "[--device cpu|cuda[:N]] [--json FILE]\n", why.c_str());
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace circumplex;
  std::string model_dir, json_path, device = "cpu";
  bool quick = false;
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> const char* { return i + 1 < argc ? argv[++i] : (usage(std::string(name) + " needs a value"), nullptr); };
    if (a == "--help" || a == "-h") return usage("times the face decoder at batch 1, 8, 32 against the matrix-multiply peak"), 0;
    if (a == "--quick") {
      quick = true;
    } else if (a == "--model" || a == "--json" || a == "--device" || a == "--threads") {
      const char* v = value(a.c_str());
      if (!v) return 2;
      if (a == "--model") model_dir = v;
      if (a == "--json") json_path = v;
      if (a == "--device") device = v;
      if (a == "--threads") {
        char* end = nullptr;
        const long n = std::strtol(v, &end, 10);
        if (*end || n < 1 || n > 256) return usage("option --threads: must be a whole number in 1..256, got '" + std::string(v) + "'");
        threads = static_cast<int>(n);
      }
    } else {
      return usage("unknown option '" + a + "'");
    }
  }
  try {
    (void)circumplex::parse_device(device);  // cpu, cuda or cuda:N; CUDA only where LibTorch has it
  } catch (const circumplex::Error& e) {
    return usage(std::string("option --device: ") + e.what());
  }
  try {
    const std::string scratch = (std::filesystem::temp_directory_path() / ("circumplex-bench-decode-" + std::to_string(getpid()))).string();
    const bench::BenchModel model = bench::resolve_model(model_dir, scratch);
    std::fprintf(stderr, "bench: %s\n", model.note.c_str());
    bench::DecodeOptions d;
    d.threads = threads;
    d.device = device;
    d.warmup = quick ? 1 : 5;
    d.runs = quick ? 4 : 40;
    d.progress = [](const std::string& s) { std::fprintf(stderr, "bench: %s\n", s.c_str()); };
    const bench::Peak peak = bench::measure_matmul_peak(threads, quick, device);
    const bench::DecodeResult r = bench::bench_decode(model, d);
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);

    bench::Json j;
    j["schema"] = "circumplex-bench-decode";
    j["version"] = 1;
    j["quick"] = quick;
    j["machine"] = bench::machine_json(threads);
    j["machine"]["device"] = device;
    j["model"] = {{"source", model.fresh ? "fresh" : "package"}, {"path", model.dir}, {"note", model.note}};
    bench::add_decode_json(j, r, peak);
    std::printf("decoder %.3f GFLOP/face; %s matrix-multiply peak %.1f GFLOP/s (%s)\n", static_cast<double>(r.flops_per_image) * 1e-9,
                device.c_str(), peak.gflops, peak.kind.c_str());
    for (const bench::Json& row : j["decode"]["batches"]) {
      std::printf("  batch %3d: median %8.3f ms  p99 %8.3f ms  %8.1f faces/s  %7.1f GFLOP/s  %5.1f%%\n", row["batch"].get<int>(),
                  row["median_ms"].get<double>(), row["p99_ms"].get<double>(), row["images_per_s"].get<double>(),
                  row["gflops"].get<double>(), 100 * row["efficiency"].get<double>());
    }
    if (!json_path.empty()) {
      std::ofstream out(json_path);
      out << j.dump(2) << "\n";
      if (!out) throw Error(ErrorKind::Io, json_path + ": cannot write");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "circumplex_bench_decode: error: %s\n", e.what());
    return 1;
  }
}
