// `circumplex view`: the real-time viewer (renderer/), windowed or headless. This file parses
// the options and lends the viewer OpenCV-based image I/O and the `render walk` recorder.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "args.hpp"
#include "circumplex/error.hpp"
#include "circumplex/photo.hpp"
#include "circumplex/renderer/viewer.hpp"
#include "plot/plot.hpp"
#include "render/render.hpp"
#include "verbs.hpp"

namespace circumplex::cli {
namespace {

renderer::ViewerHooks opencv_hooks(int threads, const std::string& device) {
  renderer::ViewerHooks hooks;
  hooks.write_png = [](const std::string& path, const renderer::Rgba& image) {
    const cv::Mat rgba(image.height, image.width, CV_8UC4, const_cast<std::uint8_t*>(image.pixels.data()));
    cv::Mat bgr;
    cv::cvtColor(rgba, bgr, cv::COLOR_RGBA2BGR);
    plot::write_image_atomic(path, bgr);
  };
  hooks.load_image = [](const std::string& path) {
    PhotoFile file = read_photo_file(path);
    cv::Mat rgba;
    cv::cvtColor(cv::Mat(file.height, file.width, CV_8UC3, file.rgb.data()), rgba, cv::COLOR_RGB2RGBA);
    renderer::Rgba out;
    out.width = rgba.cols;
    out.height = rgba.rows;
    out.pixels.assign(rgba.data, rgba.data + rgba.total() * 4);
    return out;
  };
  // Recordings render from the path, frame by frame, with their own generator: the live
  // session's model package and identity (neither read nor encoded again), so nothing depends
  // on the screen's frame rate.
  hooks.record = [threads, device](const renderer::RecordRequest& r) {
    tools::RenderContext ctx(*r.package, threads, device);
    ctx.identity = r.identity;
    ctx.detail = r.detail;
    std::unique_ptr<Path> path;
    if (r.live_path) path = std::make_unique<ScriptedPath>(r.keys);
    else path = std::make_unique<CircleWalk>(r.theta, r.phi, r.radius, r.seconds);
    const int cell = std::max(ctx.generator.image_size(), 256);
    const WalkRecording f = tools::render_walk(ctx, *path, r.fps, cell, r.out_dir);
    return "Recorded " + std::to_string(f.frames) + " frames into " + r.out_dir + " (walk.mp4, frames/, path.csv, contact_sheet.png)";
  };
  return hooks;
}

void parse_size(const std::string& text, int& w, int& h) {
  const auto x = text.find_first_of("xX");
  try {
    std::size_t used = 0;
    if (x == std::string::npos) throw std::invalid_argument("no x");
    w = std::stoi(text.substr(0, x), &used);
    if (used != x) throw std::invalid_argument("width");
    const std::string hs = text.substr(x + 1);
    h = std::stoi(hs, &used);
    if (used != hs.size()) throw std::invalid_argument("height");
  } catch (const std::exception&) {
    throw UsageError("--size must be WIDTHxHEIGHT in pixels, e.g. 1280x720 (got '" + text + "')");
  }
  if (w < 320 || h < 200 || w > 8192 || h > 8192) throw UsageError("--size must be between 320x200 and 8192x8192 (got '" + text + "')");
}

}  // namespace

int run_view(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--model", "PKG", "model package (default: the shipped assets/models/default); a bad one falls back to it"},
      {"--affect", "V,A[,Z]", "start the cursor at this affect point"},
      {"--emotion", "NAME", "start at this atlas emotion (at --intensity)"},
      {"--intensity", "R", "radius for --emotion and for snapping from neutral, 0..1 (default 0.85)"},
      {"--size", "WxH", "window or headless image size in pixels (default 1280x720)"},
      {"--headless", "", "no window system: draw offscreen (tests, CI, servers)"},
      {"--frames", "N", "stop after N frames (headless default 3; windowed default: until closed)"},
      {"--screenshot", "FILE", "headless: write the last frame as PNG; windowed: where F12 writes (default out/view-<time>.png)"},
      {"--script", "CSV", "the cursor's target follows this t,v,a[,z] path (a reproducible run)"},
      {"--gpu", "N", "Vulkan device index (default: discrete GPU, then integrated, then CPU/lavapipe)"},
      {"--identity", "SEED", "identity from the model's prior with this seed (default 1)"},
      {"--image", "FILE", "identity from this photo's face (found and aligned to the model's framing); without a face: a notice and the seed"},
      {"--detail", "", "photo identities (--image, dropped or loaded photos) keep the detail the decoder does not draw (README: the detail layer)"},
      {"--half-life", "S", "cursor smoothing half-life in seconds (default 0.12)"},
      {"--threads", "N", "LibTorch threads of the generator (default 1)"},
      {"--device", "D", "where the generator decodes: cpu (default), cuda or cuda:N (a CUDA build of LibTorch)"},
      {"--record-dir", "DIR", "default folder of the Record panel (default out/record)"},
      {"--validation", "", "Vulkan validation layer on; any validation error makes the exit status 1 (default in debug builds)"},
      {"--no-validation", "", "validation layer off, also in debug builds"},
      {"--generator-delay", "MS", "testing: make the generator spend MS more per face (the UI must not slow down)"},
      {"--quiet", "", "no progress lines on stdout"},
  };
  const Args args(argc, argv, 1, options);
  if (args.help()) {
    std::printf(
        "Usage: circumplex view [--model PKG] [--affect v,a[,z] | --emotion NAME] [--size WxH]\n"
        "                       [--headless --frames N --screenshot FILE] [--script PATH.csv] [--gpu N]\n\n"
        "The real-time viewer: the generated face, the circumplex pad (click/drag the cursor, wheel for\n"
        "intensity), the C2A2 3D view, readouts (v, a, z, nearest emotion, AUs, ARKit), identity,\n"
        "smoothing, snapping (keys 1-7, 0 neutral), gamepad (left stick, triggers for z, face buttons,\n"
        "Start records), recordings (circle walk or the live path: MP4 + PNGs + CSV) and F12 screenshots.\n"
        "Headless, the same UI is drawn offscreen with no window system and read back to PNG.\n\n%s\n"
        "Examples:\n  circumplex view --model out/model\n"
        "  circumplex view --headless --affect 0.8,0.5 --size 1280x720 --screenshot out/view.png\n"
        "  circumplex view --headless --script path.csv --frames 120 --screenshot out/scripted.png\n",
        format_options(options).c_str());
    return 0;
  }
  renderer::ViewerOptions opt;
  opt.model = args.get_or("--model", "");
  opt.affect = args.affect("--affect");
  opt.emotion = args.get_or("--emotion", "");
  if (opt.affect && !opt.emotion.empty()) throw UsageError("give --affect or --emotion, not both");
  opt.intensity = args.number_or("--intensity", 0.85, 0.0, 1.0);
  if (args.has("--size")) parse_size(*args.get("--size"), opt.width, opt.height);
  opt.headless = args.has("--headless");
  opt.frames = static_cast<int>(args.integer_or("--frames", opt.headless ? 3 : 0, opt.headless ? 1 : 0, 10000000));
  opt.screenshot = args.get_or("--screenshot", "");
  opt.script = args.get_or("--script", "");
  opt.gpu = static_cast<int>(args.integer_or("--gpu", -1, -1, 64));
  opt.identity_seed = static_cast<std::uint64_t>(args.integer_or("--identity", 1, 0, 2147483647));
  opt.identity_image = args.get_or("--image", "");
  opt.keep_detail = args.has("--detail");
  opt.half_life = args.number_or("--half-life", 0.12, 0.0, 60.0);
  opt.threads = static_cast<int>(args.integer_or("--threads", 1, 1, 256));
  opt.device = args.get_or("--device", "cpu");
  opt.record_dir = args.get_or("--record-dir", "out/record");
  opt.generator_delay_ms = args.number_or("--generator-delay", 0.0, 0.0, 60000.0);
  opt.quiet = args.has("--quiet");
  if (args.has("--validation") && args.has("--no-validation")) throw UsageError("give --validation or --no-validation, not both");
#ifdef NDEBUG
  opt.validation = args.has("--validation");
#else
  opt.validation = !args.has("--no-validation");
#endif
  if (!opt.script.empty() && !std::filesystem::exists(opt.script)) throw Error(ErrorKind::Io, opt.script + ": no such script file");

  renderer::Viewer viewer(opt, opencv_hooks(opt.threads, opt.device));
  return viewer.run();
}

}  // namespace circumplex::cli
