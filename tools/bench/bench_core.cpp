#include "bench/bench_core.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <time.h>

#include "circumplex/error.hpp"
#include "circumplex/model_package.hpp"
#include "circumplex/percentile.hpp"
#include "circumplex/torch_compat.hpp"
#include "circumplex/weights.hpp"

namespace circumplex::bench {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

Timing summarize(const std::vector<double>& ms) {
  Timing t;
  t.runs = static_cast<int>(ms.size());
  if (ms.empty()) return t;
  t.median_ms = percentile(ms, 0.5);
  t.p99_ms = percentile(ms, 0.99);
  t.min_ms = *std::min_element(ms.begin(), ms.end());
  return t;
}

Timing time_runs(const std::function<void()>& fn, int warmup, int runs) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  ms.reserve(static_cast<std::size_t>(std::max(runs, 1)));
  const double cpu0 = process_cpu_ms();
  for (int i = 0; i < std::max(runs, 1); ++i) {
    const auto t0 = Clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  Timing t = summarize(ms);
  t.cpu_ms = (process_cpu_ms() - cpu0) / static_cast<double>(ms.size());
  return t;
}

double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

VaeConfig default_architecture() {
  VaeConfig c;
  c.image_size = 128;
  c.latent = 64;
  c.width = 16;
  c.decoder_width = 0;
  return c;
}

void write_fresh_package(const std::string& dir, const VaeConfig& config, std::uint64_t seed) {
  config.validate();
  fs::create_directories(dir);
  torch_compat::seed_everything(seed);
  BetaVae vae(config);
  save_tensors((fs::path(dir) / "weights.safetensors").string(), module_tensors(*vae), R"({"fresh": true})");
  const auto d = static_cast<std::size_t>(config.latent);
  auto axis = [d](std::size_t k) {
    std::vector<double> v(d, 0.0);
    v[k] = 1.0;
    return v;
  };
  nlohmann::ordered_json m;
  m["format"] = "circumplex-model";
  m["version"] = 1;
  m["model"] = {{"image_size", config.image_size}, {"latent", config.latent}, {"width", config.width},
                {"decoder_width", config.decoder_width}};
  if (config.decoder_refine) m["model"]["decoder_refine"] = config.decoder_refine;
  if (config.decoder_detail) m["model"]["decoder_detail"] = config.decoder_detail;
  m["manifold"] = {{"valence", axis(0)}, {"arousal", axis(1)}, {"origins", {0.0, 0.0}}, {"scales", {1.0, 1.0}}};
  m["identity_prior"] = {{"mean", std::vector<double>(d, 0.0)}, {"std", std::vector<double>(d, 1.0)}};
  m["weights"] = {{"file", "weights.safetensors"}};
  m["provenance"] = {{"note", "freshly initialised weights written by circumplex bench (timing only)"},
                     {"seed", seed}};
  std::ofstream out(fs::path(dir) / "manifest.json");
  out << m.dump(2) << "\n";
  if (!out) throw Error(ErrorKind::Io, dir + "/manifest.json: cannot write");
}

BenchModel resolve_model(const std::string& dir, const std::string& scratch) {
  BenchModel m;
  if (!dir.empty()) {
    m.dir = dir;
    m.config = ModelPackage::load(dir).config();  // throws naming the package when unusable
    m.note = "model package " + dir;
    return m;
  }
  const std::string found = ModelPackage::default_path();
  if (!found.empty()) {
    m.dir = found;
    m.config = ModelPackage::load(found).config();
    m.note = "default model " + found;
    return m;
  }
  m.fresh = true;
  m.config = default_architecture();
  m.dir = (fs::path(scratch) / "fresh-model").string();
  write_fresh_package(m.dir, m.config, 1);
  m.note = "no default model is installed: freshly initialised weights of the default architecture (width " +
           std::to_string(m.config.width) + ", latent " + std::to_string(m.config.latent) +
           "); the timing is the architecture's, not the weights'";
  return m;
}

namespace {
/// Waits for the work queued on `device` (a no-op on the CPU), so GPU timings are complete.
void sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}
}  // namespace

DecodeResult bench_decode(const BenchModel& model, const DecodeOptions& options) {
  const torch::Device device(options.device);
  if (device.is_cuda() && !torch_compat::cuda_available()) {
    throw Error(ErrorKind::InvalidArgument, "device cuda: this LibTorch has no CUDA or no CUDA device is present");
  }
  torch_compat::set_threads(options.threads);
  const ModelPackage pkg = ModelPackage::load(model.dir);
  DecodeResult result;
  BetaVae vae(pkg.config());
  assign_module_tensors(*vae, pkg.weights(), pkg.dir() + "/weights");
  vae->eval();
  vae->to(device);
  result.flops_per_image = vae->decoder->flops_per_image();
  torch_compat::seed_everything(7);
  for (int batch : options.batches) {
    if (options.progress) options.progress("decoder forward, batch " + std::to_string(batch));
    const torch::Tensor z = torch::randn({batch, pkg.config().latent}).to(device);
    torch_compat::InferenceGuard guard;
    // Larger batches take longer per call: fewer timed runs keep the total time similar.
    const int runs = std::max(3, options.runs * 8 / (batch + 7));
    DecodeRow row;
    row.batch = batch;
    row.timing = time_runs([&] {
      const torch::Tensor img = vae->decoder->forward(z);
      sync(device);
    }, options.warmup, runs);
    row.ms_per_image = row.timing.median_ms / batch;
    row.images_per_s = row.timing.median_ms > 0 ? 1000.0 * batch / row.timing.median_ms : 0.0;
    row.gflops = static_cast<double>(result.flops_per_image) * row.images_per_s * 1e-9;
    result.rows.push_back(row);
  }
  if (!device.is_cuda()) {
    if (options.progress) options.progress("generator decode (forward + RGBA8), one face");
    Generator gen(pkg, options.threads);
    const std::vector<float> latent = pkg.identity_from_seed(3);
    std::vector<std::uint8_t> rgba;
    result.face = time_runs([&] { gen.decode(latent, rgba); }, options.warmup, options.runs);
  }
  return result;
}

Peak measure_matmul_peak(int threads, bool quick, const std::string& device_name) {
  const torch::Device device(device_name);
  torch_compat::set_threads(threads);
  Peak p;
  torch_compat::InferenceGuard guard;
  torch_compat::seed_everything(11);
  const int warmup = quick ? 2 : 3, runs = quick ? 5 : 15;
  // The fastest run is the machine's capability; medians would count other work on it.
  auto rate = [](double flops, const Timing& t) { return t.min_ms > 0 ? flops / (t.min_ms * 1e-3) * 1e-9 : 0.0; };
  const int n = quick ? 256 : (device.is_cuda() ? 8192 : 512);
  const torch::Tensor a = torch::randn({n, n}).to(device), b = torch::randn({n, n}).to(device);
  torch::Tensor c = torch::empty({n, n}, a.options());
  const Timing mm = time_runs([&] {
    torch::mm_out(c, a, b);
    sync(device);
  }, warmup, device.is_cuda() ? runs : std::min(runs, 5));
  p.blas_gflops = rate(2.0 * std::pow(static_cast<double>(n), 3.0), mm);
  if (device.is_cuda() || !at::hasMKLDNN()) {
    p.size = n;
    p.kind = "torch::mm " + std::to_string(n) + "x" + std::to_string(n);
    p.timing = mm;
    p.gflops = p.blas_gflops;
    return p;
  }
  p.size = quick ? 16 : 32;
  p.channels = quick ? 256 : 512;
  const torch::Tensor x = torch::randn({1, p.channels, p.size, p.size}).contiguous(at::MemoryFormat::ChannelsLast);
  const torch::Tensor w = torch::randn({p.channels, p.channels, 1, 1}).contiguous(at::MemoryFormat::ChannelsLast);
  p.timing = time_runs([&] { const torch::Tensor y = at::mkldnn_convolution(x, w, {}, {0, 0}, {1, 1}, {1, 1}, 1); }, warmup, runs);
  const double m = static_cast<double>(p.size) * p.size, k = p.channels;
  p.gflops = rate(2.0 * m * k * k, p.timing);
  p.kind = "oneDNN GEMM (1x1 convolution) " + std::to_string(p.size * p.size) + "x" + std::to_string(p.channels) + " by " +
           std::to_string(p.channels) + "x" + std::to_string(p.channels);
  return p;
}

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double x = -1;
  if (!(in >> x)) return -1;
  return x;
}

Json timing_json(const Timing& t) {
  return {{"median_ms", t.median_ms}, {"p99_ms", t.p99_ms}, {"runs", t.runs}, {"cpu_ms", t.cpu_ms}};
}

Json machine_json(int threads) {
  Json m;
  m["cpu"] = cpu_name();
  m["cores"] = std::thread::hardware_concurrency();
  m["threads"] = threads;
  m["torch"] = torch_compat::version();
  m["mkldnn"] = torch::globalContext().userEnabledMkldnn() && at::hasMKLDNN();
  m["cuda"] = torch_compat::cuda_available();
  m["load_average"] = load_average();
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  m["omp_wait_policy"] = policy && *policy ? policy : "default";
  return m;
}

void add_decode_json(Json& report, const DecodeResult& decode, const Peak& peak) {
  Json d;
  d["flops_per_image"] = decode.flops_per_image;
  d["batches"] = Json::array();
  double best = 0;
  for (const DecodeRow& r : decode.rows) {
    const double eff = peak.gflops > 0 ? r.gflops / peak.gflops : 0.0;
    best = std::max(best, eff);
    d["batches"].push_back({{"batch", r.batch}, {"median_ms", r.timing.median_ms}, {"p99_ms", r.timing.p99_ms},
                            {"runs", r.timing.runs}, {"cpu_ms", r.timing.cpu_ms}, {"ms_per_image", r.ms_per_image},
                            {"images_per_s", r.images_per_s}, {"gflops", r.gflops}, {"efficiency", eff}});
  }
  d["face"] = timing_json(decode.face);
  report["decode"] = d;
  report["peak"] = {{"gflops", peak.gflops}, {"kind", peak.kind}, {"median_ms", peak.timing.median_ms},
                    {"blas_gflops", peak.blas_gflops}};
  report["efficiency"] = best;
}

}  // namespace circumplex::bench
