// `circumplex bench`: the JSON report has every member tools/bench/bench.hpp documents, with
// sane values (positive times and rates, consistent counts); usage errors exit 2 naming the
// option; the fresh-weights fallback writes a loadable package of the default architecture.
// Speed itself is never asserted here: that is what the bench is for.
#include "torch_doctest.hpp"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/bench_core.hpp"
#include "circumplex/model_package.hpp"
#include "circumplex/torch_compat.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
/// Every listed member exists in `j`.
void require_members(const json& j, std::initializer_list<const char*> names, const std::string& where) {
  for (const char* n : names) {
    CAPTURE(where);
    CAPTURE(n);
    CHECK(j.contains(n));
  }
}

void check_timing(const json& t, const char* unit, const std::string& where) {
  CAPTURE(where);
  const std::string median = std::string("median_") + unit, p99 = std::string("p99_") + unit;
  REQUIRE(t.contains(median));
  REQUIRE(t.contains(p99));
  REQUIRE(t.contains("runs"));
  CHECK(t[median].get<double>() > 0);
  CHECK(t[p99].get<double>() >= t[median].get<double>());
  CHECK(t["runs"].get<int>() >= 1);
}
}  // namespace

TEST_CASE("circumplex_bench_decode writes the same decode members as the verb") {
  const fs::path out = fresh_dir("bench-decode") / "decode.json";
  const std::string cmd = std::string(CIRCUMPLEX_BENCH_DECODE) + " --quick --threads 1 --model '" + CIRCUMPLEX_TINY_MODEL + "' --json '" + out.string() + "' 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string text;
  for (char buf[4096]; std::fgets(buf, sizeof buf, pipe);) text += buf;
  INFO(text);
  REQUIRE(pclose(pipe) == 0);
  std::ifstream in(out);
  REQUIRE(in.good());
  const json j = json::parse(in);
  CHECK(j["schema"] == "circumplex-bench-decode");
  require_members(j["machine"], {"cpu", "cores", "threads", "torch", "mkldnn", "cuda", "load_average", "omp_wait_policy", "device"}, "machine");
  require_members(j["decode"], {"flops_per_image", "batches", "face"}, "decode");
  REQUIRE(j["decode"]["batches"].size() == 3);
  for (const json& b : j["decode"]["batches"]) {
    require_members(b, {"batch", "median_ms", "p99_ms", "runs", "cpu_ms", "ms_per_image", "images_per_s", "gflops", "efficiency"}, "decode.batches");
  }
  check_timing(j["decode"]["face"], "ms", "decode.face");
  require_members(j["peak"], {"gflops", "kind", "median_ms", "blas_gflops"}, "peak");
  CHECK(j["efficiency"].get<double>() > 0);
}

TEST_CASE("bench --quick writes every documented field with sane values") {
  const fs::path dir = fresh_dir("bench-quick");
  const fs::path out = dir / "bench.json";
  const CliResult r = run_cli("bench --quick --peer --threads 1 --model '" + std::string(CIRCUMPLEX_TINY_MODEL) + "' --json '" + out.string() + "'");
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("decoder:") != std::string::npos);  // the printed table
  std::ifstream in(out);
  REQUIRE(in.good());
  const json j = json::parse(in);

  require_members(j, {"schema", "version", "quick", "machine", "model", "decode", "peak", "efficiency", "engine", "photo",
                      "viewer", "plugin", "pipeline", "peer"}, "report");
  // The tiny model's 32-px faces are too small for the face detector: no framing, so the photo
  // path is not measured, and the report says why.
  CHECK(j["photo"]["available"] == false);
  CHECK(j["photo"]["reason"].get<std::string>().find("framing") != std::string::npos);
  CHECK(j["schema"] == "circumplex-bench");
  CHECK(j["version"] == 1);
  CHECK(j["quick"] == true);

  require_members(j["machine"], {"cpu", "cores", "threads", "torch", "mkldnn", "cuda", "load_average", "omp_wait_policy"}, "machine");
  CHECK(j["machine"]["threads"] == 1);
  CHECK(j["machine"]["cores"].get<int>() >= 1);
  CHECK_FALSE(j["machine"]["torch"].get<std::string>().empty());

  require_members(j["model"], {"source", "path", "note", "image_size", "latent", "width", "decoder_width"}, "model");
  CHECK(j["model"]["source"] == "package");
  CHECK(j["model"]["image_size"] == 32);  // the tiny model
  CHECK(j["model"]["latent"] == 8);

  const json& d = j["decode"];
  require_members(d, {"flops_per_image", "batches", "face"}, "decode");
  CHECK(d["flops_per_image"].get<double>() > 0);
  REQUIRE(d["batches"].size() == 3);
  const int expected_batches[] = {1, 8, 32};
  for (std::size_t i = 0; i < 3; ++i) {
    const json& b = d["batches"][i];
    require_members(b, {"batch", "median_ms", "p99_ms", "runs", "cpu_ms", "ms_per_image", "images_per_s", "gflops", "efficiency"},
                    "decode.batches");
    CHECK(b["cpu_ms"].get<double>() > 0);
    CHECK(b["batch"] == expected_batches[i]);
    check_timing(b, "ms", "decode.batches");
    CHECK(b["ms_per_image"].get<double>() == doctest::Approx(b["median_ms"].get<double>() / b["batch"].get<double>()));
    CHECK(b["images_per_s"].get<double>() == doctest::Approx(1000.0 / b["ms_per_image"].get<double>()).epsilon(1e-6));
    CHECK(b["gflops"].get<double>() > 0);
    CHECK(b["efficiency"].get<double>() > 0);
  }
  check_timing(d["face"], "ms", "decode.face");
  CHECK(d["face"]["cpu_ms"].get<double>() > 0);

  require_members(j["peak"], {"gflops", "kind", "median_ms", "blas_gflops"}, "peak");
  CHECK(j["peak"]["gflops"].get<double>() > 0);
  CHECK(j["peak"]["blas_gflops"].get<double>() > 0);
  CHECK_FALSE(j["peak"]["kind"].get<std::string>().empty());
  CHECK(j["efficiency"].get<double>() > 0);

  require_members(j["engine"], {"latency"}, "engine");
  check_timing(j["engine"]["latency"], "ms", "engine.latency");
  CHECK(j["engine"]["latency"]["cpu_ms"].get<double>() > 0);  // the generator's work, timed by time_runs

  const json& v = j["viewer"];
  require_members(v, {"available", "reason"}, "viewer");
  if (v["available"].get<bool>()) {
    require_members(v, {"device", "frames", "frame_ms_p50", "frame_ms_p99", "upload_ms_mean", "generator_ms_mean", "faces_shown",
                        "face_upload"}, "viewer");
    CHECK(v["frames"].get<int>() > 0);
    CHECK(v["frame_ms_p50"].get<double>() > 0);
    CHECK(v["frame_ms_p99"].get<double>() >= v["frame_ms_p50"].get<double>());
    CHECK(v["upload_ms_mean"].get<double>() >= 0);
    CHECK(v["faces_shown"].get<int>() >= 1);
    CHECK(v["face_upload"].get<std::string>().rfind("face upload: ", 0) == 0);
  } else {
    CHECK_FALSE(v["reason"].get<std::string>().empty());
  }

  const json& p = j["plugin"];
  require_members(p, {"available", "reason"}, "plugin");
  REQUIRE(p["available"].get<bool>());  // the test depends on the plugin target: it is built
  require_members(p, {"library", "update_arkit_ns", "copy_frame_ns", "frame_size"}, "plugin");
  check_timing(p["update_arkit_ns"], "ns", "plugin.update_arkit_ns");
  check_timing(p["copy_frame_ns"], "ns", "plugin.copy_frame_ns");
  CHECK(p["frame_size"] == 32);

  const json& pl = j["pipeline"];
  require_members(pl, {"synth_images", "synth_images_per_s", "prep_images", "prep_images_per_s", "train_images",
                       "train_images_per_s", "size"}, "pipeline");
  CHECK(pl["size"] == 32);
  for (const char* k : {"synth_images", "prep_images", "train_images"}) CHECK(pl[k].get<int>() > 0);
  for (const char* k : {"synth_images_per_s", "prep_images_per_s", "train_images_per_s"}) CHECK(pl[k].get<double>() > 0);

  const json& peer = j["peer"];
  require_members(peer, {"ran", "reason", "torch", "batches"}, "peer");
  if (peer["ran"].get<bool>()) {
    REQUIRE(peer["batches"].size() == 3);
    for (const json& b : peer["batches"]) {
      require_members(b, {"batch", "median_ms", "p99_ms", "runs", "cpu_ms", "images_per_s", "ratio", "cpu_ratio"}, "peer.batches");
      check_timing(b, "ms", "peer.batches");
      CHECK(b["ratio"].get<double>() > 0);
      CHECK(b["cpu_ratio"].get<double>() > 0);
    }
  } else {
    MESSAGE("peer not run: " << peer["reason"].get<std::string>());
    CHECK_FALSE(peer["reason"].get<std::string>().empty());
  }
}

TEST_CASE("bench usage errors exit 2 and name the option") {
  const CliResult threads = run_cli("bench --threads 0");
  CHECK(threads.code == 2);
  CHECK(threads.out.find("--threads") != std::string::npos);
  const CliResult model = run_cli("bench --model /nonexistent/package");
  CHECK(model.code == 2);
  CHECK(model.out.find("--model") != std::string::npos);
  const CliResult unknown = run_cli("bench --fast");
  CHECK(unknown.code == 2);
  CHECK(unknown.out.find("--fast") != std::string::npos);
  const CliResult help = run_cli("bench --help");
  CHECK(help.code == 0);
  CHECK(help.out.find("--peer") != std::string::npos);
  const CliResult tpu = run_cli("bench --quick --device tpu");
  CHECK(tpu.code != 0);
  CHECK(tpu.out.find("device 'tpu'") != std::string::npos);
  CHECK(tpu.out.find("matrix-multiply peak") == std::string::npos);  // refused before any work
  if (!circumplex::torch_compat::cuda_available()) {
    const CliResult cuda = run_cli("bench --quick --device cuda");
    CHECK(cuda.code != 0);
    CHECK(cuda.out.find("has no CUDA") != std::string::npos);
    FILE* p = popen((std::string(CIRCUMPLEX_BENCH_DECODE) + " --quick --device cuda:0 2>&1").c_str(), "r");
    REQUIRE(p != nullptr);
    std::string text;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) text += buf;
    CHECK(pclose(p) != 0);
    CHECK(text.find("device 'cuda:0'") != std::string::npos);
  }
}

TEST_CASE("the fresh-weights fallback is a loadable package of the default architecture") {
  const fs::path dir = fresh_dir("bench-fresh") / "pkg";
  const circumplex::VaeConfig config = circumplex::bench::default_architecture();
  CHECK(config.image_size == 128);
  CHECK(config.latent == 64);
  CHECK(config.width == 16);
  circumplex::bench::write_fresh_package(dir.string(), config, 1);
  const circumplex::ModelPackage pkg = circumplex::ModelPackage::load(dir.string());
  CHECK(pkg.config().latent == 64);
  CHECK(pkg.config().width == 16);
  circumplex::Generator gen(pkg, 1);
  std::vector<std::uint8_t> rgba;
  gen.decode(pkg.identity_from_seed(1), rgba);
  CHECK(rgba.size() == 128u * 128u * 4u);
  // Named packages win over the default lookup.
  const circumplex::bench::BenchModel m = circumplex::bench::resolve_model(dir.string(), (dir.parent_path() / "scratch").string());
  CHECK_FALSE(m.fresh);
  CHECK(m.dir == dir.string());
}

TEST_CASE("the decoder's inference path gives the autograd path's images") {
  // Inference calls oneDNN directly and applies SiLU in place (vae.cpp); with autograd on,
  // the modules' own forward runs. Both must give the same pictures, at batch 1 and 8.
  torch::manual_seed(3);
  circumplex::VaeDecoder dec(circumplex::bench::default_architecture());
  dec->eval();
  for (const std::int64_t n : {1, 8}) {
    CAPTURE(n);
    const torch::Tensor z = torch::randn({n, 64});
    const torch::Tensor trained = dec->forward(z).detach();
    torch::Tensor inferred;
    {
      circumplex::torch_compat::InferenceGuard guard;
      inferred = dec->forward(z).clone();
    }
    REQUIRE(inferred.sizes() == trained.sizes());
    CHECK((inferred - trained).abs().max().item<double>() < 1e-5);
  }
}
