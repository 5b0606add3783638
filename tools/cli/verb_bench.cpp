// `circumplex bench`: decoder speed (batch 1, 8, 32) against the machine's matrix-multiply
// peak, engine latency, viewer frame time, plugin calls, synth/prep/train throughput, and
// optionally the same decoder in Python PyTorch (--peer). The JSON schema is in
// tools/bench/bench.hpp.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "args.hpp"
#include "bench/bench.hpp"
#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "circumplex/model_package.hpp"
#include "common/csv.hpp"
#include "circumplex/files.hpp"
#include "prep/prep.hpp"
#include "train/trainer.hpp"
#include "verbs.hpp"

#ifndef CIRCUMPLEX_SOURCE_DIR
#define CIRCUMPLEX_SOURCE_DIR "."
#endif

namespace circumplex::cli {
namespace fs = std::filesystem;
using bench::Json;

/// A scratch folder of this run (removed at the end).
std::string scratch_root();

namespace {

void say(const std::string& what) { std::fprintf(stderr, "bench: %s\n", what.c_str()); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Runs a verb of this program in-process with the given words (after the verb name).
int run_verb(int (*verb)(int, char**), std::vector<std::string> words) {
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  return verb(static_cast<int>(words.size()), argv.data());
}

/// synth → prep → train on small sets in `scratch`, timed; images at the model's size.
Json bench_pipeline(const bench::BenchModel& model, int threads, bool quick) {
  const int size = model.config.image_size;
  const int count = quick ? 16 : 96;
  const fs::path dir = fs::path(scratch_root()) / "pipeline";
  Json j;
  say("synth: " + std::to_string(count) + " faces at " + std::to_string(size) + " px, " + std::to_string(threads) + " jobs");
  auto t0 = std::chrono::steady_clock::now();
  if (run_verb(run_synth, {"synth", "--count", std::to_string(count), "--size", std::to_string(size), "--seed", "5", "--identities", std::to_string(count / 2), "--jobs",
                           std::to_string(threads), "--out", (dir / "synth").string()}) != 0) {
    throw Error(ErrorKind::Internal, "bench: synth failed");
  }
  j["synth_images"] = count;
  j["synth_images_per_s"] = count / seconds_since(t0);

  // prep: an AffectNet-shaped CSV over the synth PNGs, the whole picture as the face box.
  say("prep: the same faces as an AffectNet-shaped table (box detector, CLAHE)");
  std::string csv = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal\n";
  {
    const std::string text = read_text_file((dir / "synth" / "labels.csv").string());
    tools::CsvReader labels(text, "labels.csv");
    std::vector<std::string> row;
    labels.next(row);  // header: file, split, valence, arousal, …
    while (labels.next(row)) {
      csv += row[0] + ",0,0," + std::to_string(size) + "," + std::to_string(size) + ",,1," + row[2] + "," + row[3] + "\n";
    }
  }
  circumplex::write_file_atomic((dir / "affectnet.csv").string(), csv);
  prep::PrepOptions p;
  p.images_dir = (dir / "synth").string();
  p.csv_path = (dir / "affectnet.csv").string();
  p.out_dir = (dir / "prep").string();
  p.detector = prep::parse_detector("box");
  p.size = size;
  p.margin = 0.0;
  p.min_face = 16;
  p.pose = prep::PoseMode::Off;
  p.jobs = threads;
  p.fresh = true;
  p.progress = false;
  t0 = std::chrono::steady_clock::now();
  const prep::PrepSummary s = prep::run_prep(p);
  j["prep_images"] = s.processed;
  j["prep_images_per_s"] = static_cast<double>(s.processed) / seconds_since(t0);

  say("train: one epoch on the synth faces, the model's architecture");
  tools::TrainOptions t;
  t.data = (dir / "synth").string();
  t.out = (dir / "run").string();
  t.model = model.config;
  t.epochs = 1;
  t.batch = quick ? 4 : 16;
  t.threads = threads;
  t.seed = 1;
  t.checkpoint_minutes = 1e6;
  const tools::TrainResult r = tools::train_vae(t);
  j["train_images"] = r.steps * t.batch;
  j["train_images_per_s"] = r.images_per_second;
  j["size"] = size;
  return j;
}

std::string python_for_peer(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("CIRCUMPLEX_PYTHON"); env && *env) return env;
  // Debian's interpreter is the one python3-torch installs into (a pyenv/venv python3
  // earlier on PATH usually lacks it).
  if (fs::exists("/usr/bin/python3")) return "/usr/bin/python3";
  return "python3";
}

void print_table(const Json& r) {
  std::printf("\ncircumplex bench — %s, %d LibTorch threads, load average %.2f at start%s\n",
              r["machine"]["cpu"].get<std::string>().c_str(), r["machine"]["threads"].get<int>(),
              r["machine"]["load_average"].get<double>(), r["quick"].get<bool>() ? " (--quick)" : "");
  std::printf("model: %s\n\n", r["model"]["note"].get<std::string>().c_str());
  std::printf("decoder: %.3f GFLOP per face; matrix-multiply peak %.1f GFLOP/s (%s; torch::mm via the system BLAS %.1f)\n",
              r["decode"]["flops_per_image"].get<double>() * 1e-9, r["peak"]["gflops"].get<double>(),
              r["peak"]["kind"].get<std::string>().c_str(), r["peak"]["blas_gflops"].get<double>());
  std::printf("  %-6s %11s %11s %11s %10s %9s %7s %11s\n", "batch", "median ms", "p99 ms", "ms/face", "faces/s", "GFLOP/s", "eff.", "peer ratio");
  for (const Json& b : r["decode"]["batches"]) {
    std::string ratio = "-";
    for (const Json& p : r["peer"]["batches"]) {
      if (p["batch"] == b["batch"]) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.2fx", p["ratio"].get<double>());
        ratio = buf;
      }
    }
    std::printf("  %-6d %11.2f %11.2f %11.2f %10.1f %9.1f %6.1f%% %11s\n", b["batch"].get<int>(), b["median_ms"].get<double>(),
                b["p99_ms"].get<double>(), b["ms_per_image"].get<double>(), b["images_per_s"].get<double>(),
                b["gflops"].get<double>(), 100.0 * b["efficiency"].get<double>(), ratio.c_str());
  }
  std::printf("  one face through Generator::decode (forward + RGBA8): median %.2f ms, p99 %.2f ms\n",
              r["decode"]["face"]["median_ms"].get<double>(), r["decode"]["face"]["p99_ms"].get<double>());
  if (!r["peer"]["ran"].get<bool>()) std::printf("  peer: not run (%s)\n", r["peer"]["reason"].get<std::string>().c_str());
  std::printf("engine: new target -> finished frame: median %.2f ms, p99 %.2f ms\n",
              r["engine"]["latency"]["median_ms"].get<double>(), r["engine"]["latency"]["p99_ms"].get<double>());
  if (r["photo"]["available"].get<bool>()) {
    const bool fitted = r["photo"]["route"] == "procedural";
    std::printf("photo identity (%dx%d: detect, align, %sencode): median %.1f ms, p99 %.1f ms (goal <= 150 ms)", r["photo"]["width"].get<int>(),
                r["photo"]["height"].get<int>(), fitted ? "fit, " : "", r["photo"]["time"]["median_ms"].get<double>(), r["photo"]["time"]["p99_ms"].get<double>());
    if (fitted) std::printf("; the fit alone %.1f ms", r["photo"]["fit"]["median_ms"].get<double>());
    const auto& d = r["photo"]["detail"];
    std::printf("\n  its detail layer: made in %.1f ms; one face %.2f ms with it, %.2f ms without (median)", d["make"]["median_ms"].get<double>(),
                d["face"]["median_ms"].get<double>(), d["face_without"]["median_ms"].get<double>());
    std::printf("\n");
  } else {
    std::printf("photo identity: not measured (%s)\n", r["photo"]["reason"].get<std::string>().c_str());
  }
  const Json& v = r["viewer"];
  if (v["available"].get<bool>()) {
    std::printf("viewer (%s): frame p50 %.2f ms, p99 %.2f ms; texture upload %.3f ms; generator %.2f ms/face; %s\n",
                v["device"].get<std::string>().c_str(), v["frame_ms_p50"].get<double>(), v["frame_ms_p99"].get<double>(),
                v["upload_ms_mean"].get<double>(), v["generator_ms_mean"].get<double>(), v["face_upload"].get<std::string>().c_str());
  } else {
    std::printf("viewer: not measured (%s)\n", v["reason"].get<std::string>().c_str());
  }
  const Json& pl = r["plugin"];
  if (pl["available"].get<bool>()) {
    std::printf("plugin: cpx_update + 52 ARKit weights %.0f ns (p99 %.0f); cpx_copy_frame %dx%d %.0f ns (p99 %.0f)\n",
                pl["update_arkit_ns"]["median_ns"].get<double>(), pl["update_arkit_ns"]["p99_ns"].get<double>(),
                pl["frame_size"].get<int>(), pl["frame_size"].get<int>(), pl["copy_frame_ns"]["median_ns"].get<double>(),
                pl["copy_frame_ns"]["p99_ns"].get<double>());
  } else {
    std::printf("plugin: not measured (%s)\n", pl["reason"].get<std::string>().c_str());
  }
  const Json& pp = r["pipeline"];
  std::printf("pipeline (%d px): synth %.1f img/s, prep %.1f img/s, train %.1f img/s\n", pp["size"].get<int>(),
              pp["synth_images_per_s"].get<double>(), pp["prep_images_per_s"].get<double>(), pp["train_images_per_s"].get<double>());
}

}  // namespace

int run_bench(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--json", "FILE", "also write the full report as JSON (schema: tools/bench/bench.hpp)"},
      {"--quick", "", "fewer and smaller runs (seconds, not minutes): a smoke test, noisier numbers"},
      {"--peer", "", "also time the same decoder in Python PyTorch (python3-torch) and print the ratio"},
      {"--model", "PKG", "model package (default: the installed default model; fresh weights when none)"},
      {"--threads", "N", "LibTorch threads, 1..64 (default 2)"},
      {"--device", "D", "where the decoder table runs: cpu (default), cuda or cuda:N (adds batch 256; the peak is that device's)"},
      {"--plugin", "LIB", "libcircumplex.so to time (default: the one built beside this program)"},
      {"--python", "EXE", "interpreter for --peer (default $CIRCUMPLEX_PYTHON, /usr/bin/python3, python3)"},
  };
  const Args args(argc, argv, 1, options);
  if (args.help()) {
    std::printf("Usage: circumplex bench [--json FILE] [--quick] [--peer] [--model PKG] [--threads N]\n\n"
                "Measures, with warm-up and repeated runs (median and p99): the decoder at batch 1, 8 and 32\n"
                "(FLOPs per face, this machine's matrix-multiply peak, efficiency), one face through the\n"
                "generator, engine latency (new target -> finished frame), the headless viewer's frame and\n"
                "texture-upload times, the plugin's cpx_update + 52 weights and frame copy, and synth, prep and\n"
                "train throughput on small sets. Without an installed default model it times freshly\n"
                "initialised weights of the default architecture (and says so).\n\n%s\n"
                "Examples:\n  circumplex bench\n  circumplex bench --quick --json out/bench.json\n"
                "  circumplex bench --peer --threads 2\n",
                format_options(options).c_str());
    return 0;
  }
  const bool quick = args.has("--quick");
  const int threads = static_cast<int>(args.integer_or("--threads", 2, 1, 64));
  const std::string device = args.get_or("--device", "cpu");
  const bool on_gpu = parse_device(device).is_cuda();  // refuses unknown names, and CUDA where there is none, before any work
  if (args.has("--model") && !fs::is_directory(*args.get("--model"))) {
    throw UsageError("option --model: '" + *args.get("--model") + "' is not a folder");
  }
  std::optional<std::string> json_path = args.get("--json");
  if (json_path && json_path->empty()) throw UsageError("option --json: needs a file name");

  const fs::path scratch = scratch_root();
  fs::create_directories(scratch);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{scratch};

  Json report;
  report["schema"] = "circumplex-bench";
  report["version"] = 1;
  report["quick"] = quick;
  report["machine"] = bench::machine_json(threads);
  if (threads > 1 && report["machine"]["load_average"].get<double>() >= static_cast<double>(std::thread::hardware_concurrency()) &&
      report["machine"]["omp_wait_policy"] == "default") {
    // Measured here: with both cores busy, libgomp's spinning threads wait a scheduler tick
    // for each descheduled partner (150 ms instead of 3 per face).
    say("warning: the machine is busy (load average " + std::to_string(report["machine"]["load_average"].get<double>()) +
        "): OpenMP threads spin-waiting for descheduled partners make multi-threaded timings meaningless; "
        "use --threads 1 or OMP_WAIT_POLICY=passive");
  }
  const bench::BenchModel model = bench::resolve_model(args.get_or("--model", ""), scratch.string());
  say(model.note);
  report["model"] = {{"source", model.fresh ? "fresh" : "package"}, {"path", model.dir}, {"note", model.note},
                     {"image_size", model.config.image_size}, {"latent", model.config.latent},
                     {"width", model.config.width}, {"decoder_width", model.config.decoder_width},
                     {"decoder_refine", model.config.decoder_refine}, {"decoder_detail", model.config.decoder_detail}};

  bench::DecodeOptions d;
  d.threads = threads;
  d.device = device;
  if (on_gpu) d.batches.push_back(256);
  d.warmup = quick ? 1 : 5;
  d.runs = quick ? 4 : 40;
  d.progress = [](const std::string& s) { say(s); };
  say("matrix-multiply peak");
  const bench::Peak peak = bench::measure_matmul_peak(threads, quick, device);
  report["machine"]["device"] = device;
  const bench::DecodeResult decode = bench::bench_decode(model, d);
  bench::add_decode_json(report, decode, peak);
  if (args.has("--peer")) {
    say("peer: the same decoder in Python PyTorch");
    report["peer"] = bench::run_peer(python_for_peer(args.get_or("--python", "")),
                                     std::string(CIRCUMPLEX_SOURCE_DIR) + "/tools/bench/peer.py", model.config, d, decode);
  } else {
    report["peer"] = {{"ran", false}, {"reason", "not requested (--peer)"}, {"torch", ""}, {"batches", Json::array()}};
  }
  report["engine"] = bench::bench_engine(model, threads, quick, d.progress);
  report["photo"] = bench::bench_photo(model, threads, quick, std::string(CIRCUMPLEX_SOURCE_DIR) + "/tests/data/photos/london-sample/021_neutral.jpg",
                                       d.progress);
  report["viewer"] = bench::bench_viewer(model, threads, quick, d.progress);
  report["plugin"] = bench::bench_plugin(model, threads, quick, args.get_or("--plugin", ""), d.progress);
  report["pipeline"] = bench_pipeline(model, threads, quick);

  print_table(report);
  if (json_path) {
    circumplex::write_file_atomic(*json_path, report.dump(2) + "\n");
    std::printf("wrote %s\n", json_path->c_str());
  }
  return 0;
}

std::string scratch_root() {
  return (fs::temp_directory_path() / ("circumplex-bench-" + std::to_string(getpid()))).string();
}

}  // namespace circumplex::cli
