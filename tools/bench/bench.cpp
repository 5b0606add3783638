#include "bench/bench.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <type_traits>

#include "circumplex.h"
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "circumplex/error.hpp"
#include "circumplex/photo.hpp"
#include "circumplex/renderer/viewer.hpp"
#include "circumplex/renderer/vulkan_context.hpp"
#include "circumplex/session.hpp"
#include "circumplex/torch_compat.hpp"

namespace circumplex::bench {
namespace fs = std::filesystem;

namespace {
Json ns_json(const Timing& t) { return {{"median_ns", t.median_ms * 1e6}, {"p99_ns", t.p99_ms * 1e6}, {"runs", t.runs}}; }

/// Per-call times of `fn`, measured over batches of `per_batch` calls (a single call is
/// shorter than the clock's resolution is trustworthy for).
Timing per_call(const std::function<void()>& fn, int batches, int per_batch) {
  Timing t = time_runs([&] { for (int i = 0; i < per_batch; ++i) fn(); }, 4, batches);
  for (double* ms : {&t.median_ms, &t.p99_ms, &t.min_ms, &t.cpu_ms}) *ms /= per_batch;
  return t;
}

std::string self_dir() {
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return ".";
  exe[n] = '\0';
  return fs::path(exe).parent_path().string();
}
}  // namespace

Json bench_engine(const BenchModel& model, int threads, bool quick, const ProgressFn& progress) {
  if (progress) progress("engine latency (Session: new target -> finished frame)");
  SessionOptions opt;
  opt.threads = threads;
  Session session(ModelPackage::load(model.dir), opt);
  const AffectPoint points[] = {{0.8, 0.5, 0}, {-0.6, -0.4, 0}, {-0.5, 0.7, 0}, {0.5, -0.6, 0}, {0.0, 0.0, 0}};
  int k = 0;
  const Timing latency = time_runs([&] {
    session.set_target(points[k++ % 5]);
    session.update(2.0);  // 16 half-lives: the cursor is at the target
    if (!session.wait_for_latest(30.0)) throw Error(ErrorKind::Internal, "bench: the session's generator produced no frame within 30 s");
  }, quick ? 1 : 3, quick ? 4 : 25);
  return {{"latency", timing_json(latency)}};
}

Json bench_photo(const BenchModel& model, int threads, bool quick, const std::string& photo, const ProgressFn& progress) {
  const ModelPackage package = ModelPackage::load(model.dir);
  if (!package.framing()) return {{"available", false}, {"reason", "the package states no framing (made before circumplex 0.2)"}};
  const std::string route = package.framing()->procedural ? "procedural" : "photo";
  if (progress) progress("photo identity (detect, align, " + std::string(route == "procedural" ? "fit, " : "") + "encode)");
  PhotoFile file;
  try {
    file = read_photo_file(photo);
  } catch (const Error& e) {
    return {{"available", false}, {"reason", e.what()}};
  }
  const std::size_t stride = static_cast<std::size_t>(file.width) * 3;
  Generator generator(package, threads);
  const Timing t = time_runs([&] {
    const PreparedPhoto p = prepare_photo(file.rgb.data(), file.width, file.height, 3, stride, package, photo);
    (void)generator.encode(p.rgb.data(), p.size, p.size, 3);
  }, quick ? 1 : 2, quick ? 3 : 15);
  // The fit alone (procedural route), on the aligned photo.
  const PreparedPhoto p = prepare_photo(file.rgb.data(), file.width, file.height, 3, stride, package, photo);
  Json fit = nullptr;
  if (route == "procedural") {
    fit = timing_json(time_runs([&] { (void)fit_procedural_person(p.aligned_photo.data(), p.size); }, quick ? 1 : 2, quick ? 3 : 15));
  }
  // The detail layer (identity_detail.hpp): made once per identity, then laid on every face.
  const std::vector<float> identity = generator.encode(p.rgb.data(), p.size, p.size, 3);
  const std::vector<float> happy = package.manifold().compose(identity, {0.8, 0.4, 0.0});
  std::shared_ptr<const IdentityDetail> detail;
  const Timing make = time_runs([&] { detail = generator.detail(p.rgb.data(), p.size, p.size, 3, identity); }, quick ? 1 : 2, quick ? 3 : 15);
  std::vector<std::uint8_t> rgba;
  const Timing plain = time_runs([&] { generator.decode(happy, rgba); }, quick ? 2 : 10, quick ? 10 : 100);
  const Timing with = time_runs([&] { generator.decode(happy, rgba, detail.get()); }, quick ? 2 : 10, quick ? 10 : 100);
  return {{"available", true}, {"photo", fs::path(photo).filename().string()}, {"width", file.width}, {"height", file.height},
          {"route", route}, {"time", timing_json(t)}, {"fit", fit},
          {"detail", {{"make", timing_json(make)}, {"face", timing_json(with)}, {"face_without", timing_json(plain)}}}};
}

Json bench_viewer(const BenchModel& model, int threads, bool quick, const ProgressFn& progress) {
  if (progress) progress("viewer (headless, generator running)");
  Json j = {{"available", false}, {"reason", ""}};
  const fs::path script = fs::temp_directory_path() / ("circumplex-bench-walk-" + std::to_string(getpid()) + ".csv");
  {
    std::ofstream out(script);
    out << "t,v,a\n";
    for (int i = 0; i <= 240; ++i) {
      const double t = i / 30.0, th = 6.283185307179586 * t / 2.0;
      out << t << "," << 0.8 * std::cos(th) << "," << 0.8 * std::sin(th) << "\n";
    }
  }
  try {
    renderer::ViewerOptions opt;
    opt.model = model.dir;
    opt.headless = true;
    opt.width = 960;
    opt.height = 540;
    opt.threads = threads;
    opt.script = script.string();
    opt.quiet = true;
    opt.frames = quick ? 20 : 240;
    renderer::Viewer viewer(opt);
    for (int i = 0; i < opt.frames; ++i) {
      if (!viewer.frame()) break;
    }
    const renderer::ViewerStats s = viewer.stats();
    j["available"] = true;
    j["device"] = viewer.device_name();
    j["frames"] = s.frames;
    j["frame_ms_p50"] = s.frame_ms_p50;
    j["frame_ms_p99"] = s.frame_ms_p99;
    j["upload_ms_mean"] = s.upload_ms_mean;
    j["generator_ms_mean"] = s.generator_ms_mean;
    j["faces_shown"] = s.faces_shown;
    j["face_upload"] = s.face_upload;
  } catch (const renderer::VulkanUnavailable& e) {
    j["reason"] = std::string("no Vulkan: ") + e.what();
  }
  std::error_code ec;
  fs::remove(script, ec);
  return j;
}

Json bench_plugin(const BenchModel& model, int threads, bool quick, const std::string& library, const ProgressFn& progress) {
  if (progress) progress("plugin (libcircumplex C ABI)");
  Json j = {{"available", false}, {"reason", ""}};
  std::vector<std::string> candidates;
  if (!library.empty()) candidates.push_back(library);
  if (const char* env = std::getenv("CIRCUMPLEX_PLUGIN"); env && *env) candidates.push_back(env);
  candidates.push_back((fs::path(self_dir()) / "../plugin/libcircumplex.so").lexically_normal().string());
  candidates.push_back((fs::path(self_dir()) / "libcircumplex.so").string());
  void* lib = nullptr;
  std::string path, errors;
  for (const std::string& c : candidates) {
    if (!fs::exists(c)) continue;
    lib = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib) {
      path = c;
      break;
    }
    errors += std::string(" ") + dlerror();
  }
  if (!lib) {
    j["reason"] = "libcircumplex.so not found (build the circumplex_plugin target, or set $CIRCUMPLEX_PLUGIN)" + errors;
    return j;
  }
  struct Api {
    decltype(&cpx_create) create;
    decltype(&cpx_destroy) destroy;
    decltype(&cpx_update) update;
    decltype(&cpx_get_outputs) get_outputs;
    decltype(&cpx_set_target) set_target;
    decltype(&cpx_poll_frame) poll_frame;
    decltype(&cpx_copy_frame) copy_frame;
    decltype(&cpx_last_error) last_error;
  } api{};
  auto sym = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    if (!fn) throw Error(ErrorKind::Internal, path + ": lacks " + name);
  };
  sym(api.create, "cpx_create");
  sym(api.destroy, "cpx_destroy");
  sym(api.update, "cpx_update");
  sym(api.get_outputs, "cpx_get_outputs");
  sym(api.set_target, "cpx_set_target");
  sym(api.poll_frame, "cpx_poll_frame");
  sym(api.copy_frame, "cpx_copy_frame");
  sym(api.last_error, "cpx_last_error");

  cpx_create_info info = CPX_CREATE_INFO_INIT;
  info.model_path = model.dir.c_str();
  info.threads = threads;
  cpx_context* ctx = nullptr;
  if (api.create(&info, &ctx) != CPX_OK) {
    const std::string why = api.last_error(nullptr);
    dlclose(lib);
    throw Error(ErrorKind::Internal, path + ": cpx_create failed: " + why);
  }
  const int batches = quick ? 20 : 300, per_batch = 64;
  float arkit[52];
  cpx_affect point{};
  int step = 0;
  // The target swings every 32 updates, so the cursor moves and the generator keeps working.
  const Timing update = per_call([&] {
    if ((++step & 31) == 0) api.set_target(ctx, (step & 64) ? 0.8f : -0.6f, (step & 128) ? 0.5f : -0.4f, 0.0f);
    api.update(ctx, 1.0f / 60.0f, &point);
    api.get_outputs(ctx, CPX_OUTPUT_ARKIT, arkit, 52);
  }, batches, per_batch);
  // A frame must exist before copies can be timed.
  int is_new = 0;
  for (int i = 0; i < 3000 && !is_new; ++i) {
    api.poll_frame(ctx, 0, &is_new, nullptr);
    if (!is_new) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const int size = model.config.image_size;
  std::vector<std::uint8_t> buffer(static_cast<std::size_t>(size) * static_cast<std::size_t>(size) * 4);
  cpx_frame frame{};
  frame.struct_size = sizeof frame;
  Timing copy;
  if (is_new) {
    copy = per_call([&] { api.copy_frame(ctx, buffer.data(), buffer.size(), &frame); }, batches, per_batch);
  }
  api.destroy(ctx);
  dlclose(lib);
  j["available"] = true;
  j["library"] = path;
  j["update_arkit_ns"] = ns_json(update);
  j["copy_frame_ns"] = ns_json(copy);
  j["frame_size"] = size;
  if (!is_new) j["reason"] = "no frame within 30 s: copy_frame not timed";
  return j;
}

Json run_peer(const std::string& python, const std::string& script, const VaeConfig& config, const DecodeOptions& options,
              const DecodeResult& decode) {
  Json j = {{"ran", false}, {"reason", ""}, {"torch", ""}, {"batches", Json::array()}};
  if (!fs::exists(script)) {
    j["reason"] = script + ": peer script not found";
    return j;
  }
  std::string batches;
  for (int b : options.batches) batches += (batches.empty() ? "" : ",") + std::to_string(b);
  const std::string cmd = python + " '" + script + "' --image-size " + std::to_string(config.image_size) + " --latent " +
                          std::to_string(config.latent) + " --width " + std::to_string(config.width) + " --decoder-width " +
                          std::to_string(config.decoder_width) + " --decoder-refine " + std::to_string(config.decoder_refine) +
                          " --decoder-detail " + std::to_string(config.decoder_detail) + " --threads " + std::to_string(options.threads) +
                          " --batches " + batches + " --warmup " + std::to_string(options.warmup) + " --runs " +
                          std::to_string(options.runs);
  FILE* pipe = popen(cmd.c_str(), "r");  // stderr passes through: the peer's progress lines
  if (!pipe) {
    j["reason"] = "cannot run " + python;
    return j;
  }
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int rc = pclose(pipe);
  Json peer;
  try {
    peer = Json::parse(out);
  } catch (const Json::exception&) {
    j["reason"] = python + " " + script + " failed (exit " + std::to_string(rc) + "): " + out.substr(0, 300);
    return j;
  }
  if (!peer.value("ran", false)) {
    j["reason"] = peer.value("reason", std::string("the peer did not run"));
    return j;
  }
  j["ran"] = true;
  j["torch"] = peer.value("torch", std::string());
  for (const Json& row : peer["batches"]) {
    Json r = row;
    double ours = 0;
    for (const DecodeRow& d : decode.rows) {
      if (d.batch == row.value("batch", 0)) ours = d.timing.median_ms;
    }
    double ours_cpu = 0;
    for (const DecodeRow& d : decode.rows) {
      if (d.batch == row.value("batch", 0)) ours_cpu = d.timing.cpu_ms;
    }
    r["ratio"] = ours > 0 ? row.value("median_ms", 0.0) / ours : 0.0;
    r["cpu_ratio"] = ours_cpu > 0 ? row.value("cpu_ms", 0.0) / ours_cpu : 0.0;
    j["batches"].push_back(r);
  }
  return j;
}

}  // namespace circumplex::bench
