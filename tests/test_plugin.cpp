// The C ABI (plugin/include/circumplex.h) against the tiny model: tables, create and its
// failures, targets, paths, rig outputs checked against the runtime, frames (poll, copy,
// borrow, resize), identity, recording, video export, several contexts, the C++ wrapper,
// and misuse of every function (NULL handle, NULL pointers, NaN/Inf, unknown names,
// small buffers, zero sizes) — always a result code, never a crash.
#include <doctest/doctest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "circumplex.h"
#include "circumplex.hpp"  // the C++ wrapper (plugin/bindings/cpp)
#include "circumplex/atlas.hpp"
#include "circumplex/expression.hpp"

namespace fs = std::filesystem;
using circumplex::AffectPoint;

namespace {

using Handle = std::unique_ptr<cpx_context, void (*)(cpx_context*)>;

Handle make(std::uint32_t flags = CPX_CREATE_RIG_ONLY, int frame_size = 0, float half_life = 0.12f) {
  cpx_create_info info = CPX_CREATE_INFO_INIT;
  info.model_path = CIRCUMPLEX_TINY_MODEL;
  info.flags = flags;
  info.frame_size = frame_size;
  info.threads = 1;
  info.half_life = half_life;
  cpx_context* ctx = nullptr;
  const cpx_result r = cpx_create(&info, &ctx);
  REQUIRE_MESSAGE(r == CPX_OK, cpx_result_name(r), ": ", cpx_last_error(nullptr));
  REQUIRE(ctx != nullptr);
  return Handle(ctx, cpx_destroy);
}

fs::path out_dir(const std::string& name) {
  const fs::path d = fs::path(CIRCUMPLEX_BINARY_DIR) / "test-output" / "plugin" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<float> outputs(cpx_context* ctx, cpx_output_kind kind) {
  int32_t n = 0;
  REQUIRE(cpx_output_count(kind, &n) == CPX_OK);
  std::vector<float> v(static_cast<std::size_t>(n));
  REQUIRE(cpx_get_outputs(ctx, kind, v.data(), n) == CPX_OK);
  return v;
}

circumplex::Space space_of(cpx_context* ctx) {
  cpx_context_info info{};
  info.struct_size = sizeof info;
  REQUIRE(cpx_get_info(ctx, &info) == CPX_OK);
  return info.dimensions == 3 ? circumplex::Space::Ball : circumplex::Space::Plane;
}

/// Updates at 60 Hz until a frame newer than `since` exists (the generator runs on its own
/// thread); returns its sequence.
std::uint64_t wait_frame(cpx_context* ctx, std::uint64_t since) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until) {
    int32_t is_new = 0;
    std::uint64_t latest = 0;
    REQUIRE(cpx_poll_frame(ctx, since, &is_new, &latest) == CPX_OK);
    if (is_new) return latest;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL("no new frame within 60 s");
  return 0;
}

// The face for the latest cpx_update (cpx_wait_frame); returns its sequence. It shows the
// cursor's position. (Waiting for a face whose affect matches the cursor is not enough: an
// identity change keeps the point, and under a sanitizer the new face can take long enough
// for the old one to look settled.)
std::uint64_t wait_settled(cpx_context* ctx) {
  REQUIRE(cpx_wait_frame(ctx, 60.0f) == CPX_OK);
  cpx_state s{};
  s.struct_size = sizeof s;
  REQUIRE(cpx_get_state(ctx, &s) == CPX_OK);
  cpx_frame f{};
  f.struct_size = sizeof f;
  REQUIRE(cpx_borrow_frame(ctx, &f) == CPX_OK);
  CHECK(std::abs(f.affect.v - s.position.v) <= 1e-4f);  // an update that moves the cursor less asks for no face
  CHECK(std::abs(f.affect.a - s.position.a) <= 1e-4f);
  CHECK(std::abs(f.affect.z - s.position.z) <= 1e-4f);
  REQUIRE(cpx_release_frame(ctx, f.pixels) == CPX_OK);
  return f.sequence;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool has(const char* message, const char* part) { return std::string(message).find(part) != std::string::npos; }

}  // namespace

TEST_CASE("versions and result names") {
  CHECK(cpx_version() == CPX_VERSION);
  CHECK(cpx_version() == CPX_MAKE_VERSION(CPX_VERSION_MAJOR, CPX_VERSION_MINOR, CPX_VERSION_PATCH));
  CHECK(std::string(cpx_version_string()) ==
        std::to_string(CPX_VERSION_MAJOR) + "." + std::to_string(CPX_VERSION_MINOR) + "." + std::to_string(CPX_VERSION_PATCH));
  CHECK(cpx_api_version() == CPX_API_VERSION);
  CHECK(std::string(cpx_result_name(CPX_OK)) == "CPX_OK");
  CHECK(std::string(cpx_result_name(CPX_ERROR_UNKNOWN_NAME)) == "CPX_ERROR_UNKNOWN_NAME");
  for (int r = 0; r <= CPX_ERROR_INTERNAL; ++r) CHECK(std::string(cpx_result_name(static_cast<cpx_result>(r))) != "CPX_RESULT_UNKNOWN");
  CHECK(std::string(cpx_result_name(static_cast<cpx_result>(999))) == "CPX_RESULT_UNKNOWN");
  CHECK(cpx_last_error(nullptr) != nullptr);
}

TEST_CASE("output tables match the expression model") {
  int32_t n = 0;
  REQUIRE(cpx_output_count(CPX_OUTPUT_ARKIT, &n) == CPX_OK);
  CHECK(n == 52);
  for (int i = 0; i < n; ++i) {
    const char* name = nullptr;
    REQUIRE(cpx_output_name(CPX_OUTPUT_ARKIT, i, &name) == CPX_OK);
    CHECK(std::string(name) == circumplex::arkit_names()[static_cast<std::size_t>(i)]);
    int32_t back = -1;
    CHECK(cpx_output_index(CPX_OUTPUT_ARKIT, name, &back) == CPX_OK);
    CHECK(back == i);
  }
  REQUIRE(cpx_output_count(CPX_OUTPUT_VRM, &n) == CPX_OK);
  CHECK(n == 18);
  const char* name = nullptr;
  REQUIRE(cpx_output_name(CPX_OUTPUT_VRM, 0, &name) == CPX_OK);
  CHECK(std::string(name) == circumplex::vrm_names()[0]);
  REQUIRE(cpx_output_count(CPX_OUTPUT_AU, &n) == CPX_OK);
  CHECK(n == 17);
  REQUIRE(cpx_output_name(CPX_OUTPUT_AU, 8, &name) == CPX_OK);
  CHECK(std::string(name) == "AU12");
  int32_t i = -1;
  CHECK(cpx_output_index(CPX_OUTPUT_AU, "12", &i) == CPX_OK);
  CHECK(i == 8);
  CHECK(cpx_output_index(CPX_OUTPUT_AU, "au12", &i) == CPX_OK);
  REQUIRE(cpx_output_count(CPX_OUTPUT_AFFECT, &n) == CPX_OK);
  CHECK(n == 3);
  CHECK(cpx_output_index(CPX_OUTPUT_AFFECT, "arousal", &i) == CPX_OK);
  CHECK(i == 1);
  CHECK(cpx_output_index(CPX_OUTPUT_ARKIT, "jawopen", &i) == CPX_ERROR_UNKNOWN_NAME);  // case-sensitive
  CHECK(has(cpx_last_error(nullptr), "jawopen"));
  CHECK(cpx_output_index(CPX_OUTPUT_ARKIT, "jawOpen", &i) == CPX_OK);
  CHECK(i == 17);  // the banner example of circumplex.h relies on this

  REQUIRE(cpx_emotion_count(&n) == CPX_OK);
  CHECK(static_cast<std::size_t>(n) == circumplex::Atlas::builtin().emotions().size());
  REQUIRE(cpx_emotion_name(0, &name) == CPX_OK);
  CHECK(std::string(name) == circumplex::Atlas::builtin().emotions()[0].name);
}

TEST_CASE("create reads the model and reports its facts") {
  Handle ctx = make(0, 0);
  cpx_context_info info{};
  info.struct_size = sizeof info;
  REQUIRE(cpx_get_info(ctx.get(), &info) == CPX_OK);
  CHECK((info.dimensions == 2 || info.dimensions == 3));
  CHECK(info.model_image_size == 32);
  CHECK(info.frame_width == 32);
  CHECK(info.frame_height == 32);
  CHECK(info.rig_only == 0);
  CHECK(has(info.model_path, "pkg"));

  Handle rig = make(CPX_CREATE_RIG_ONLY);
  REQUIRE(cpx_get_info(rig.get(), &info) == CPX_OK);
  CHECK(info.rig_only == 1);
  CHECK(info.frame_width == 0);

  cpx_state s{};
  s.struct_size = sizeof s;
  REQUIRE(cpx_get_state(rig.get(), &s) == CPX_OK);
  CHECK(s.update_count == 0);
  CHECK(s.intensity == 0.0f);
  const char* nearest = nullptr;
  REQUIRE(cpx_nearest_emotion(rig.get(), &nearest) == CPX_OK);
  CHECK(std::string(nearest) == "neutral");
  for (float x : outputs(rig.get(), CPX_OUTPUT_ARKIT)) CHECK(x == doctest::Approx(0.0).epsilon(1e-6));
}

TEST_CASE("a failed create leaves a NULL handle and a thread-local message") {
  cpx_create_info info = CPX_CREATE_INFO_INIT;
  info.model_path = "/nonexistent/circumplex-model";
  cpx_context* ctx = reinterpret_cast<cpx_context*>(0x1);  // must be overwritten with NULL
  CHECK(cpx_create(&info, &ctx) == CPX_ERROR_MODEL);
  CHECK(ctx == nullptr);
  CHECK(has(cpx_last_error(nullptr), "/nonexistent/circumplex-model"));
  // The message is per thread: another thread sees its own (empty) one.
  std::string other = "unset";
  std::thread([&] { other = cpx_last_error(nullptr); }).join();
  CHECK(other.empty());

  // Every call on the NULL handle is a result code.
  cpx_affect p{};
  CHECK(cpx_update(ctx, 0.016f, &p) == CPX_ERROR_INVALID_HANDLE);
  CHECK(has(cpx_last_error(nullptr), "NULL"));
  float w[52];
  CHECK(cpx_get_outputs(ctx, CPX_OUTPUT_ARKIT, w, 52) == CPX_ERROR_INVALID_HANDLE);
  cpx_destroy(ctx);

  // Bad create infos.
  info = cpx_create_info CPX_CREATE_INFO_INIT;
  info.model_path = CIRCUMPLEX_TINY_MODEL;
  cpx_create_info bad = info;
  bad.struct_size = 8;
  CHECK(cpx_create(&bad, &ctx) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(has(cpx_last_error(nullptr), "struct_size"));
  bad = info;
  bad.flags = 0x80;
  CHECK(cpx_create(&bad, &ctx) == CPX_ERROR_INVALID_ARGUMENT);
  bad = info;
  bad.frame_size = 3;
  CHECK(cpx_create(&bad, &ctx) == CPX_ERROR_INVALID_ARGUMENT);
  bad = info;
  bad.threads = -1;
  CHECK(cpx_create(&bad, &ctx) == CPX_ERROR_INVALID_ARGUMENT);
  bad = info;
  bad.half_life = std::numeric_limits<float>::quiet_NaN();
  CHECK(cpx_create(&bad, &ctx) == CPX_ERROR_INVALID_ARGUMENT);
  bad = info;
  bad.half_life = std::numeric_limits<float>::infinity();
  CHECK(cpx_create(&bad, &ctx) == CPX_ERROR_INVALID_ARGUMENT);
  bad = info;
  bad.reserved = 1;
  CHECK(cpx_create(&bad, &ctx) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(ctx == nullptr);
  CHECK(cpx_create(&info, nullptr) == CPX_ERROR_NULL_POINTER);

  // A corrupt package: a folder with a broken manifest.
  const fs::path broken = out_dir("broken-model");
  std::ofstream(broken / "manifest.json") << "{\"format\": \"circumplex-model\", \"version\": ";
  bad = info;
  const std::string broken_path = broken.string();
  bad.model_path = broken_path.c_str();
  CHECK(cpx_create(&bad, &ctx) == CPX_ERROR_MODEL);
  CHECK(has(cpx_last_error(nullptr), "manifest.json"));

  // The device (API 4): unknown names are refused; CUDA where this LibTorch has none is not
  // supported, and says so; an API 3 host (struct_size without the field) gets the CPU.
  for (const char* name : {"gpu", "cuda:", "cuda:x", "cuda:1234", ""}) {
    bad = info;
    bad.device = name;
    CAPTURE(name);
    CHECK(cpx_create(&bad, &ctx) == CPX_ERROR_INVALID_ARGUMENT);
    CHECK(has(cpx_last_error(nullptr), "info->device"));
  }
  bad = info;
  bad.device = "cuda";
  const cpx_result on_cuda = cpx_create(&bad, &ctx);
  CHECK((on_cuda == CPX_OK || on_cuda == CPX_ERROR_NOT_SUPPORTED));  // OK on a machine with a CUDA LibTorch and a GPU
  if (on_cuda == CPX_ERROR_NOT_SUPPORTED) {
    CHECK(has(cpx_last_error(nullptr), "no CUDA"));
    bad.flags = CPX_CREATE_RIG_ONLY;  // nothing to decode: the device does not matter
    CHECK(cpx_create(&bad, &ctx) == CPX_OK);
  }
  cpx_destroy(ctx);
  bad = info;
  bad.device = "cuda";  // beyond an API 3 host's struct_size: not read
  bad.struct_size = static_cast<std::uint32_t>(offsetof(cpx_create_info, device));
  REQUIRE(cpx_create(&bad, &ctx) == CPX_OK);
  cpx_destroy(ctx);
  bad = info;
  bad.device = "cpu";
  REQUIRE(cpx_create(&bad, &ctx) == CPX_OK);
  cpx_destroy(ctx);

  // A struct from a newer host (larger struct_size) is accepted; the extra bytes are ignored.
  struct Newer {
    cpx_create_info v1;
    std::uint64_t future_field;
  } newer{info, 42};
  newer.v1.struct_size = sizeof newer;
  newer.v1.flags = CPX_CREATE_RIG_ONLY;
  CHECK(cpx_create(&newer.v1, &ctx) == CPX_OK);
  cpx_destroy(ctx);
}

TEST_CASE("NULL model path uses the shipped default package") {
  const char* saved = std::getenv("CIRCUMPLEX_MODEL");
  const std::string keep = saved ? saved : "";
  cpx_create_info info = CPX_CREATE_INFO_INIT;
  info.model_path = nullptr;
  info.flags = CPX_CREATE_RIG_ONLY;
  cpx_context* ctx = nullptr;

  // $CIRCUMPLEX_MODEL names the default package.
  setenv("CIRCUMPLEX_MODEL", CIRCUMPLEX_TINY_MODEL, 1);
  CHECK(cpx_create(&info, &ctx) == CPX_OK);
  cpx_destroy(ctx);
  ctx = nullptr;
  setenv("CIRCUMPLEX_MODEL", "/nonexistent/default-model", 1);
  CHECK(cpx_create(&info, &ctx) == CPX_ERROR_MODEL);
  CHECK(has(cpx_last_error(nullptr), "/nonexistent/default-model"));

  // Without it, the shipped assets/models/default — which this build may not have yet.
  unsetenv("CIRCUMPLEX_MODEL");
  const cpx_result r = cpx_create(&info, &ctx);
  if (fs::exists(fs::path(CIRCUMPLEX_SOURCE_DIR) / "assets/models/default/manifest.json")) {
    CHECK(r == CPX_OK);
  } else {
    CHECK(r == CPX_ERROR_MODEL);
    CHECK(ctx == nullptr);
    CHECK(has(cpx_last_error(nullptr), "no model package"));
    CHECK(has(cpx_last_error(nullptr), "assets/models/default"));
  }
  cpx_destroy(ctx);
  if (saved) setenv("CIRCUMPLEX_MODEL", keep.c_str(), 1);
}

TEST_CASE("a circle walk drives the rig outputs exactly as the runtime computes them") {
  Handle ctx = make(CPX_CREATE_RIG_ONLY, 0, 0.05f);
  const circumplex::Space space = space_of(ctx.get());
  REQUIRE(cpx_play_circle_walk(ctx.get(), 0.0f, 0.0f, 0.8f, 4.0f) == CPX_OK);
  const auto& model = circumplex::ExpressionModel::builtin();
  const auto& atlas = circumplex::Atlas::builtin();
  double max_smile = 0.0, min_v = 1.0, max_v = -1.0;
  for (int i = 1; i <= 8 * 60; ++i) {
    cpx_affect p{};
    REQUIRE(cpx_update(ctx.get(), 1.0f / 60.0f, &p) == CPX_OK);
    const std::vector<float> arkit = outputs(ctx.get(), CPX_OUTPUT_ARKIT);
    const std::vector<float> aus = outputs(ctx.get(), CPX_OUTPUT_AU);
    const std::vector<float> vrm = outputs(ctx.get(), CPX_OUTPUT_VRM);
    const std::vector<float> affect = outputs(ctx.get(), CPX_OUTPUT_AFFECT);
    CHECK(affect[0] == p.v);
    CHECK(affect[1] == p.a);
    const AffectPoint q{p.v, p.a, p.z};
    const circumplex::AuVector expected_au = model.action_units(q, space);
    const circumplex::ArkitVector expected = model.arkit(expected_au);
    const circumplex::VrmVector expected_vrm = model.vrm(expected_au);
    for (std::size_t k = 0; k < expected.size(); ++k) CHECK(arkit[k] == doctest::Approx(expected[k]).epsilon(1e-4));
    for (std::size_t k = 0; k < expected_au.size(); ++k) CHECK(aus[k] == doctest::Approx(expected_au[k]).epsilon(1e-4));
    for (std::size_t k = 0; k < expected_vrm.size(); ++k) CHECK(vrm[k] == doctest::Approx(expected_vrm[k]).epsilon(1e-4));
    for (float x : arkit) CHECK((x >= 0.0f && x <= 1.0f));
    if (i > 120) {  // settled on the circle
      CHECK(std::hypot(p.v, p.a) == doctest::Approx(0.8).epsilon(0.05));
      min_v = std::min(min_v, static_cast<double>(p.v));
      max_v = std::max(max_v, static_cast<double>(p.v));
    }
    max_smile = std::max(max_smile, static_cast<double>(arkit[23]));  // mouthSmileLeft
    const char* nearest = nullptr;
    REQUIRE(cpx_nearest_emotion(ctx.get(), &nearest) == CPX_OK);
    CHECK(std::string(nearest) == atlas.nearest(q, space).name);
  }
  CHECK(min_v < -0.7);  // it went all the way round
  CHECK(max_v > 0.7);
  CHECK(max_smile > 0.2);
  cpx_state s{};
  s.struct_size = sizeof s;
  REQUIRE(cpx_get_state(ctx.get(), &s) == CPX_OK);
  CHECK(s.update_count == 480);
  CHECK(s.time == doctest::Approx(8.0).epsilon(1e-4));
  CHECK(s.playing == 1);
  CHECK(s.intensity == doctest::Approx(0.8).epsilon(0.05));
  REQUIRE(cpx_stop_path(ctx.get()) == CPX_OK);
  REQUIRE(cpx_update(ctx.get(), 0.016f, nullptr) == CPX_OK);  // out_point is optional
  REQUIRE(cpx_get_state(ctx.get(), &s) == CPX_OK);
  CHECK(s.playing == 0);
}

TEST_CASE("emotion targets by name with intensity") {
  Handle ctx = make(CPX_CREATE_RIG_ONLY, 0, 0.0f);
  REQUIRE(cpx_set_emotion(ctx.get(), "Joy", 1.0f) == CPX_OK);  // alias, any case
  cpx_affect p{};
  REQUIRE(cpx_update(ctx.get(), 0.016f, &p) == CPX_OK);
  const char* nearest = nullptr;
  REQUIRE(cpx_nearest_emotion(ctx.get(), &nearest) == CPX_OK);
  CHECK(std::string(nearest) == "happy");
  const std::vector<float> arkit = outputs(ctx.get(), CPX_OUTPUT_ARKIT);
  CHECK(arkit[23] > 0.3f);  // mouthSmileLeft
  CHECK(arkit[23] == arkit[24]);
  const std::vector<float> vrm = outputs(ctx.get(), CPX_OUTPUT_VRM);
  CHECK(vrm[0] > 0.3f);  // happy

  // A compound, any separator; at its own radius the cursor sits on its atlas point.
  const circumplex::Space space = space_of(ctx.get());
  const AffectPoint sadly_angry = circumplex::Atlas::builtin().find("sadly-angry").point(space);
  const float r = static_cast<float>(circumplex::radius(sadly_angry, space));
  REQUIRE(cpx_set_emotion(ctx.get(), "sadly angry", r) == CPX_OK);
  REQUIRE(cpx_update(ctx.get(), 0.016f, &p) == CPX_OK);
  CHECK(std::hypot(p.v, p.a, p.z) == doctest::Approx(r).epsilon(1e-3));
  CHECK(p.v == doctest::Approx(sadly_angry.v).epsilon(1e-3));
  REQUIRE(cpx_nearest_emotion(ctx.get(), &nearest) == CPX_OK);
  CHECK(std::string(nearest) == "sadly-angry");
  REQUIRE(cpx_set_emotion(ctx.get(), "sadly-angry", 0.5f) == CPX_OK);
  REQUIRE(cpx_update(ctx.get(), 0.016f, &p) == CPX_OK);
  CHECK(std::hypot(p.v, p.a, p.z) == doctest::Approx(0.5).epsilon(1e-3));

  CHECK(cpx_set_emotion(ctx.get(), "hapy", 1.0f) == CPX_ERROR_UNKNOWN_NAME);
  CHECK(has(cpx_last_error(ctx.get()), "happy"));  // the closest names are suggested
  CHECK(cpx_set_emotion(ctx.get(), "", 1.0f) == CPX_ERROR_UNKNOWN_NAME);
  CHECK(cpx_set_emotion(ctx.get(), "happy", 1.5f) == CPX_ERROR_INVALID_ARGUMENT);

  // A target outside the disk/ball is clamped onto it.
  REQUIRE(cpx_set_target(ctx.get(), 3.0f, 0.0f, 0.0f) == CPX_OK);
  REQUIRE(cpx_update(ctx.get(), 0.016f, &p) == CPX_OK);
  CHECK(p.v == doctest::Approx(1.0));
  // Smoothing: with a half-life, a step covers half the way in one half-life.
  REQUIRE(cpx_set_half_life(ctx.get(), 0.5f) == CPX_OK);
  REQUIRE(cpx_set_target(ctx.get(), 0.0f, 0.0f, 0.0f) == CPX_OK);
  REQUIRE(cpx_update(ctx.get(), 0.5f, &p) == CPX_OK);
  CHECK(p.v == doctest::Approx(0.5).epsilon(0.01));
}

TEST_CASE("interpolation paths play and stop") {
  Handle ctx = make(CPX_CREATE_RIG_ONLY, 0, 0.0f);
  const circumplex::Space space = space_of(ctx.get());
  const auto& atlas = circumplex::Atlas::builtin();
  cpx_state s{};
  s.struct_size = sizeof s;
  cpx_affect p{};

  // Neutral → fear along its axis; held at the end.
  REQUIRE(cpx_play_emotion_axis(ctx.get(), "fear", 0.9f, 1.0f, 0) == CPX_OK);
  for (int i = 0; i < 90; ++i) REQUIRE(cpx_update(ctx.get(), 1.0f / 60.0f, &p) == CPX_OK);
  const AffectPoint fear = atlas.at_intensity(atlas.find("fearful"), 0.9, space);
  CHECK(p.v == doctest::Approx(fear.v).epsilon(1e-3));
  CHECK(p.a == doctest::Approx(fear.a).epsilon(1e-3));
  REQUIRE(cpx_get_state(ctx.get(), &s) == CPX_OK);
  CHECK(s.playing == 0);

  // Happy → sad along the sphere, looping.
  REQUIRE(cpx_play_between(ctx.get(), "happy", "sad", 0.8f, 2.0f, CPX_BETWEEN_SPHERE, 1) == CPX_OK);
  for (int i = 0; i < 300; ++i) {
    REQUIRE(cpx_update(ctx.get(), 1.0f / 60.0f, &p) == CPX_OK);
    CHECK(std::hypot(p.v, p.a, p.z) == doctest::Approx(0.8).epsilon(0.01));
  }
  REQUIRE(cpx_get_state(ctx.get(), &s) == CPX_OK);
  CHECK(s.playing == 1);
  REQUIRE(cpx_play_between(ctx.get(), "happy", "sad", 0.8f, 2.0f, CPX_BETWEEN_STRAIGHT, 0) == CPX_OK);
  CHECK(cpx_play_between(ctx.get(), "happy", "sad", 0.8f, 2.0f, static_cast<cpx_between_style>(7), 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_play_between(ctx.get(), "happy", "sadd", 0.8f, 2.0f, CPX_BETWEEN_STRAIGHT, 0) == CPX_ERROR_UNKNOWN_NAME);

  // A scripted CSV path.
  const fs::path dir = out_dir("csv-path");
  std::ofstream(dir / "path.csv") << "t,v,a\n0,0,0\n1,0.5,0.5\n";
  REQUIRE(cpx_play_csv(ctx.get(), (dir / "path.csv").c_str(), 0) == CPX_OK);
  for (int i = 0; i < 120; ++i) REQUIRE(cpx_update(ctx.get(), 1.0f / 60.0f, &p) == CPX_OK);
  CHECK(p.v == doctest::Approx(0.5).epsilon(1e-3));
  std::ofstream(dir / "bad.csv") << "t,v,a\n0,0,0\n1,nan,0.5\n";
  CHECK(cpx_play_csv(ctx.get(), (dir / "bad.csv").c_str(), 0) == CPX_ERROR_BAD_DATA);
  CHECK(has(cpx_last_error(ctx.get()), "3"));  // names the line
  CHECK(cpx_play_csv(ctx.get(), (dir / "missing.csv").c_str(), 0) == CPX_ERROR_IO);

  // A target stops the path.
  REQUIRE(cpx_play_circle_walk(ctx.get(), 1.177f, 5.974f, 1.0f, 3.0f) == CPX_OK);
  REQUIRE(cpx_update(ctx.get(), 0.1f, &p) == CPX_OK);
  REQUIRE(cpx_set_target(ctx.get(), 0.1f, 0.1f, 0.0f) == CPX_OK);
  REQUIRE(cpx_update(ctx.get(), 0.1f, &p) == CPX_OK);
  REQUIRE(cpx_get_state(ctx.get(), &s) == CPX_OK);
  CHECK(s.playing == 0);
  CHECK(p.v == doctest::Approx(0.1));
}

TEST_CASE("frames can be polled copied and borrowed") {
  Handle ctx = make(0);
  cpx_context_info info{};
  info.struct_size = sizeof info;
  REQUIRE(cpx_get_info(ctx.get(), &info) == CPX_OK);
  const std::size_t bytes = static_cast<std::size_t>(info.frame_width) * static_cast<std::size_t>(info.frame_height) * 4;
  REQUIRE(cpx_set_target(ctx.get(), 0.7f, 0.4f, 0.0f) == CPX_OK);
  REQUIRE(cpx_update(ctx.get(), 1.0f, nullptr) == CPX_OK);
  const std::uint64_t seq = wait_frame(ctx.get(), 0);
  CHECK(seq >= 1);

  std::vector<std::uint8_t> pixels(bytes, 0);
  cpx_frame f{};
  f.struct_size = sizeof f;
  REQUIRE(cpx_copy_frame(ctx.get(), pixels.data(), pixels.size(), &f) == CPX_OK);
  CHECK(f.width == info.frame_width);
  CHECK(f.height == info.frame_height);
  CHECK(f.stride == f.width * 4);
  CHECK(f.sequence >= seq);
  CHECK(f.pixels == nullptr);
  int distinct = 0;
  for (std::size_t i = 4; i < bytes; i += 4) distinct += pixels[i] != pixels[0];
  CHECK(distinct > 10);  // a face, not a flat fill
  for (std::size_t i = 3; i < bytes; i += 4) REQUIRE(pixels[i] == 255);
  CHECK(cpx_copy_frame(ctx.get(), pixels.data(), bytes - 1, &f) == CPX_ERROR_BUFFER_TOO_SMALL);
  CHECK(has(cpx_last_error(ctx.get()), "too small"));
  CHECK(cpx_copy_frame(ctx.get(), pixels.data(), 0, nullptr) == CPX_ERROR_BUFFER_TOO_SMALL);
  REQUIRE(cpx_copy_frame(ctx.get(), pixels.data(), pixels.size(), nullptr) == CPX_OK);

  // The face of the last request shows the cursor's point (within the 1e-4 that asks for a new face).
  cpx_affect p{};
  for (int i = 0; i < 30; ++i) REQUIRE(cpx_update(ctx.get(), 0.1f, &p) == CPX_OK);
  cpx_frame settled{};
  settled.struct_size = sizeof settled;
  REQUIRE(cpx_wait_frame(ctx.get(), 60.0f) == CPX_OK);
  REQUIRE(cpx_copy_frame(ctx.get(), pixels.data(), pixels.size(), &settled) == CPX_OK);
  CHECK(settled.affect.v == doctest::Approx(p.v).epsilon(1e-4));
  CHECK(settled.affect.a == doctest::Approx(p.a).epsilon(1e-4));

  // Borrowed pixels stay valid and unchanged while newer frames arrive.
  cpx_frame b{};
  b.struct_size = sizeof b;
  REQUIRE(cpx_borrow_frame(ctx.get(), &b) == CPX_OK);
  REQUIRE(b.pixels != nullptr);
  const std::vector<std::uint8_t> before(b.pixels, b.pixels + bytes);
  REQUIRE(cpx_set_target(ctx.get(), -0.7f, -0.4f, 0.0f) == CPX_OK);
  REQUIRE(cpx_update(ctx.get(), 1.0f, nullptr) == CPX_OK);
  wait_frame(ctx.get(), b.sequence);
  CHECK(std::equal(before.begin(), before.end(), b.pixels));
  REQUIRE(cpx_release_frame(ctx.get(), b.pixels) == CPX_OK);
  CHECK(cpx_release_frame(ctx.get(), b.pixels) == CPX_ERROR_INVALID_ARGUMENT);  // twice

  // At most CPX_MAX_BORROWS at once.
  std::vector<const std::uint8_t*> held;
  for (int i = 0; i < CPX_MAX_BORROWS; ++i) {
    REQUIRE(cpx_borrow_frame(ctx.get(), &b) == CPX_OK);
    held.push_back(b.pixels);
  }
  CHECK(cpx_borrow_frame(ctx.get(), &b) == CPX_ERROR_LIMIT);
  for (const std::uint8_t* px : held) REQUIRE(cpx_release_frame(ctx.get(), px) == CPX_OK);
  // Borrows still held at destroy are released by it (ASan would see a leak otherwise).
  REQUIRE(cpx_borrow_frame(ctx.get(), &b) == CPX_OK);
}

TEST_CASE("frames are resized to the requested frame size") {
  Handle ctx = make(0, 64);
  cpx_context_info info{};
  info.struct_size = sizeof info;
  REQUIRE(cpx_get_info(ctx.get(), &info) == CPX_OK);
  CHECK(info.frame_width == 64);
  CHECK(info.model_image_size == 32);
  REQUIRE(cpx_set_emotion(ctx.get(), "surprised", 0.8f) == CPX_OK);
  REQUIRE(cpx_update(ctx.get(), 1.0f, nullptr) == CPX_OK);
  wait_settled(ctx.get());
  std::vector<std::uint8_t> pixels(64 * 64 * 4);
  cpx_frame f{};
  f.struct_size = sizeof f;
  CHECK(cpx_copy_frame(ctx.get(), pixels.data(), 32 * 32 * 4, &f) == CPX_ERROR_BUFFER_TOO_SMALL);
  REQUIRE(cpx_copy_frame(ctx.get(), pixels.data(), pixels.size(), &f) == CPX_OK);
  CHECK(f.width == 64);
  CHECK(f.stride == 256);
  cpx_frame b{};
  b.struct_size = sizeof b;
  REQUIRE(cpx_borrow_frame(ctx.get(), &b) == CPX_OK);
  CHECK(b.width == 64);
  CHECK(std::equal(pixels.begin(), pixels.end(), b.pixels));  // the same resized frame
  REQUIRE(cpx_release_frame(ctx.get(), b.pixels) == CPX_OK);
}

TEST_CASE("identity by seed and from an image") {
  Handle ctx = make(0);
  const std::size_t bytes = 32 * 32 * 4;
  std::vector<std::uint8_t> a(bytes), b(bytes), c(bytes);
  cpx_frame f{};
  f.struct_size = sizeof f;
  REQUIRE(cpx_set_target(ctx.get(), 0.5f, 0.5f, 0.0f) == CPX_OK);
  REQUIRE(cpx_update(ctx.get(), 1.0f, nullptr) == CPX_OK);
  std::uint64_t seq = wait_settled(ctx.get());
  REQUIRE(cpx_copy_frame(ctx.get(), a.data(), bytes, &f) == CPX_OK);
  CHECK(f.sequence == seq);

  REQUIRE(cpx_set_identity_seed(ctx.get(), 12345) == CPX_OK);
  REQUIRE(cpx_update(ctx.get(), 0.0f, nullptr) == CPX_OK);  // same point, new identity: new frame
  REQUIRE(cpx_wait_frame(ctx.get(), 60.0f) == CPX_OK);      // no polling: the new face is there at once
  REQUIRE(cpx_copy_frame(ctx.get(), b.data(), bytes, &f) == CPX_OK);
  CHECK(f.sequence > seq);
  CHECK(a != b);
  seq = f.sequence;

  // Identity from an RGBA image (here the first face, with a padded stride).
  std::vector<std::uint8_t> padded(32 * 160);
  for (int y = 0; y < 32; ++y) std::copy_n(&a[static_cast<std::size_t>(y) * 128], 128, &padded[static_cast<std::size_t>(y) * 160]);
  REQUIRE(cpx_set_identity_image(ctx.get(), padded.data(), 32, 32, 4, 160) == CPX_OK);
  REQUIRE(cpx_update(ctx.get(), 0.0f, nullptr) == CPX_OK);
  wait_frame(ctx.get(), seq);
  REQUIRE(cpx_copy_frame(ctx.get(), c.data(), bytes, &f) == CPX_OK);
  CHECK(c != b);
  CHECK(cpx_set_identity_image(ctx.get(), padded.data(), 32, 32, 4, 100) == CPX_ERROR_INVALID_ARGUMENT);  // stride < row
  CHECK(cpx_set_identity_image(ctx.get(), padded.data(), 32, 32, 2, 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_set_identity_image(ctx.get(), padded.data(), 4, 32, 4, 0) == CPX_ERROR_INVALID_ARGUMENT);

  Handle rig = make(CPX_CREATE_RIG_ONLY);
  CHECK(cpx_set_identity_image(rig.get(), a.data(), 32, 32, 4, 0) == CPX_ERROR_NOT_SUPPORTED);
  CHECK(cpx_set_identity_seed(rig.get(), 3) == CPX_OK);
}

TEST_CASE("cpx_set_identity_image on a real photo: the face is found and aligned, no face is refused and the identity stays") {
  cpx_create_info info = CPX_CREATE_INFO_INIT;
  const std::string model = std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/models/default";  // states its framing
  info.model_path = model.c_str();
  info.threads = 1;
  cpx_context* raw = nullptr;
  REQUIRE(cpx_create(&info, &raw) == CPX_OK);
  Handle ctx(raw, cpx_destroy);
  const cv::Mat bgr = cv::imread(std::string(CIRCUMPLEX_SOURCE_DIR) + "/tests/data/photos/london-sample/021_smiling.jpg");
  REQUIRE(!bgr.empty());
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  // Choices made on the caller's behalf are in cpx_identity_notes: a portrait lying on its side
  // is turned upright, two people give the larger face; an upright portrait needs no note.
  cv::Mat lying, pair;
  cv::rotate(rgb, lying, cv::ROTATE_90_CLOCKWISE);
  REQUIRE(cpx_set_identity_image(ctx.get(), lying.data, lying.cols, lying.rows, 3, static_cast<int32_t>(lying.step)) == CPX_OK);
  CHECK(std::string(cpx_identity_notes(ctx.get())) == "cpx_set_identity_image: the face was lying on its side; it was turned a quarter anticlockwise");
  cv::Mat smaller;
  cv::resize(rgb, smaller, {rgb.cols * 3 / 4, rgb.rows * 3 / 4});
  cv::copyMakeBorder(smaller, smaller, 0, rgb.rows - smaller.rows, 0, 0, cv::BORDER_CONSTANT, cv::Scalar(255, 255, 255));
  cv::hconcat(std::vector<cv::Mat>{rgb, smaller}, pair);
  REQUIRE(cpx_set_identity_image(ctx.get(), pair.data, pair.cols, pair.rows, 3, static_cast<int32_t>(pair.step)) == CPX_OK);
  CHECK(std::string(cpx_identity_notes(ctx.get())).find("2 faces found; the largest is used") != std::string::npos);
  REQUIRE(cpx_set_identity_image(ctx.get(), rgb.data, rgb.cols, rgb.rows, 3, static_cast<int32_t>(rgb.step)) == CPX_OK);
  CHECK(std::string(cpx_identity_notes(ctx.get())).empty());
  CHECK(std::string(cpx_identity_notes(nullptr)).empty());
  REQUIRE(cpx_update(ctx.get(), 1.0f, nullptr) == CPX_OK);
  wait_settled(ctx.get());
  cpx_frame f{};
  f.struct_size = sizeof f;
  std::vector<std::uint8_t> before(128 * 128 * 4), after(before.size());
  REQUIRE(cpx_copy_frame(ctx.get(), before.data(), before.size(), &f) == CPX_OK);
  const cv::Mat wall(240, 320, CV_8UC3, cv::Scalar(230, 230, 230));
  CHECK(cpx_set_identity_image(ctx.get(), wall.data, wall.cols, wall.rows, 3, 0) == CPX_ERROR_BAD_DATA);
  CHECK(std::string(cpx_last_error(ctx.get())).find("cpx_set_identity_image: no face found") != std::string::npos);
  REQUIRE(cpx_update(ctx.get(), 0.0f, nullptr) == CPX_OK);
  wait_settled(ctx.get());
  REQUIRE(cpx_copy_frame(ctx.get(), after.data(), after.size(), &f) == CPX_OK);
  CHECK(after == before);  // the photo's identity is still the one drawn

  // Saved once, reused: another context loads the file and draws the same face; a seed's
  // identity file is refused by a context of another package (the tiny model).
  const fs::path dir = out_dir("identity-file");
  const std::string file = (dir / "visitor.safetensors").string();
  REQUIRE(cpx_save_identity(ctx.get(), file.c_str()) == CPX_OK);
  REQUIRE(cpx_create(&info, &raw) == CPX_OK);
  Handle other(raw, cpx_destroy);
  REQUIRE(cpx_load_identity(other.get(), file.c_str()) == CPX_OK);
  REQUIRE(cpx_update(other.get(), 1.0f, nullptr) == CPX_OK);
  wait_settled(other.get());
  std::vector<std::uint8_t> reused(before.size());
  REQUIRE(cpx_copy_frame(other.get(), reused.data(), reused.size(), &f) == CPX_OK);
  CHECK(reused == before);
  Handle tiny = make(CPX_CREATE_RIG_ONLY);
  CHECK(cpx_load_identity(tiny.get(), file.c_str()) == CPX_ERROR_BAD_DATA);
  CHECK(std::string(cpx_last_error(tiny.get())).find("visitor.safetensors: this identity was saved for another model package") != std::string::npos);
  CHECK(cpx_load_identity(tiny.get(), (dir / "missing.safetensors").c_str()) == CPX_ERROR_IO);
  CHECK(cpx_load_identity(tiny.get(), nullptr) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_save_identity(ctx.get(), (dir / "visitor.safetensors" / "inside-a-file.safetensors").c_str()) == CPX_ERROR_IO);
}

TEST_CASE("CPX_CREATE_KEEP_DETAIL: an image identity keeps its detail, and its identity file keeps the image") {
  // A striped RGB image the tiny decoder could never draw.
  std::vector<std::uint8_t> image(32 * 32 * 3);
  for (std::size_t i = 0; i < image.size(); ++i) image[i] = static_cast<std::uint8_t>(((i / 3) % 32) % 4 < 2 ? 40 + i % 3 * 60 : 200);
  const auto frame_at = [](cpx_context* ctx, float v, float a) {
    REQUIRE(cpx_set_target(ctx, v, a, 0.0f) == CPX_OK);
    REQUIRE(cpx_update(ctx, 0.0f, nullptr) == CPX_OK);
    wait_settled(ctx);
    std::vector<std::uint8_t> rgba(32 * 32 * 4);
    cpx_frame f{};
    f.struct_size = sizeof f;
    REQUIRE(cpx_copy_frame(ctx, rgba.data(), rgba.size(), &f) == CPX_OK);
    return rgba;
  };
  const auto worst_from_image = [&](const std::vector<std::uint8_t>& rgba) {
    int worst = 0;
    for (std::size_t p = 0; p < 32 * 32; ++p) {
      for (std::size_t c = 0; c < 3; ++c) worst = std::max(worst, std::abs(int(rgba[4 * p + c]) - int(image[3 * p + c])));
    }
    return worst;
  };
  Handle kept = make(CPX_CREATE_KEEP_DETAIL, 0, 0.0f), plain = make(0, 0, 0.0f);
  REQUIRE(cpx_set_identity_image(kept.get(), image.data(), 32, 32, 3, 0) == CPX_OK);
  REQUIRE(cpx_set_identity_image(plain.get(), image.data(), 32, 32, 3, 0) == CPX_OK);
  // At neutral the kept face is the image itself, up to rounding; the decoder alone is far from it.
  CHECK(worst_from_image(frame_at(kept.get(), 0.0f, 0.0f)) <= 1);
  CHECK(worst_from_image(frame_at(plain.get(), 0.0f, 0.0f)) > 40);
  const std::vector<std::uint8_t> happy = frame_at(kept.get(), 0.9f, 0.3f);
  CHECK(happy != frame_at(plain.get(), 0.9f, 0.3f));

  // The identity file keeps the image: a context with the flag draws the same faces from it,
  // one without it the decoder's face of the same latent.
  const fs::path dir = out_dir("detail-identity");
  const std::string file = (dir / "visitor.safetensors").string();
  REQUIRE(cpx_save_identity(kept.get(), file.c_str()) == CPX_OK);
  Handle again = make(CPX_CREATE_KEEP_DETAIL, 0, 0.0f);
  REQUIRE(cpx_load_identity(again.get(), file.c_str()) == CPX_OK);
  CHECK(frame_at(again.get(), 0.9f, 0.3f) == happy);
  CHECK(worst_from_image(frame_at(again.get(), 0.0f, 0.0f)) <= 1);
  REQUIRE(cpx_load_identity(plain.get(), file.c_str()) == CPX_OK);
  CHECK(worst_from_image(frame_at(plain.get(), 0.0f, 0.0f)) > 40);
  // A seed has no image: the flag changes nothing there.
  REQUIRE(cpx_set_identity_seed(kept.get(), 77) == CPX_OK);
  REQUIRE(cpx_set_identity_seed(plain.get(), 77) == CPX_OK);
  CHECK(frame_at(kept.get(), 0.5f, 0.5f) == frame_at(plain.get(), 0.5f, 0.5f));

  // Bits past the defined flags are refused by name.
  cpx_create_info info = CPX_CREATE_INFO_INIT;
  info.model_path = CIRCUMPLEX_TINY_MODEL;
  info.flags = CPX_CREATE_KEEP_DETAIL | 0x4u;
  cpx_context* raw = nullptr;
  CHECK(cpx_create(&info, &raw) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(raw == nullptr);
  CHECK(std::string(cpx_last_error(nullptr)).find("info->flags holds unknown bits") != std::string::npos);
}

TEST_CASE("recording the path and the live cursor to CSV") {
  Handle ctx = make(CPX_CREATE_RIG_ONLY, 0, 0.0f);
  const fs::path dir = out_dir("record");
  CHECK(cpx_export_path_csv(ctx.get(), (dir / "none.csv").c_str(), 30.0f) == CPX_ERROR_INVALID_STATE);
  REQUIRE(cpx_play_circle_walk(ctx.get(), 0.0f, 0.0f, 0.8f, 2.0f) == CPX_OK);
  REQUIRE(cpx_export_path_csv(ctx.get(), (dir / "path.csv").c_str(), 30.0f) == CPX_OK);
  const std::string csv = read_text(dir / "path.csv");
  CHECK(csv.rfind("t,v,a,z\n", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 61);  // header + 60 frames (periodic: no end frame)

  REQUIRE(cpx_record_begin(ctx.get(), 100) == CPX_OK);
  for (int i = 0; i < 150; ++i) REQUIRE(cpx_update(ctx.get(), 0.01f, nullptr) == CPX_OK);
  std::uint64_t kept = 0, dropped = 0;
  REQUIRE(cpx_record_end(ctx.get(), (dir / "live.csv").c_str(), &kept, &dropped) == CPX_OK);
  CHECK(kept == 100);
  CHECK(dropped == 50);
  const std::string live = read_text(dir / "live.csv");
  CHECK(std::count(live.begin(), live.end(), '\n') == 101);
  CHECK(live.find("\n0.010000,0.7") != std::string::npos);  // t since begin, on the circle
  CHECK(cpx_record_end(ctx.get(), nullptr, nullptr, nullptr) == CPX_ERROR_INVALID_STATE);
  REQUIRE(cpx_record_begin(ctx.get(), 10) == CPX_OK);
  REQUIRE(cpx_record_end(ctx.get(), nullptr, &kept, nullptr) == CPX_OK);  // discard
  CHECK(kept == 0);
  CHECK(cpx_record_begin(ctx.get(), 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_export_path_csv(ctx.get(), (dir / "path.csv").c_str(), 0.0f) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_export_path_csv(ctx.get(), "/proc/cannot/write/here.csv", 30.0f) == CPX_ERROR_IO);
}

TEST_CASE("the played path renders to video") {
  Handle ctx = make(CPX_CREATE_RIG_ONLY);
  const fs::path dir = out_dir("video");
  CHECK(cpx_export_path_video(ctx.get(), dir.c_str(), 10.0f, 0, nullptr) == CPX_ERROR_INVALID_STATE);
  REQUIRE(cpx_play_emotion_axis(ctx.get(), "happy", 0.9f, 0.5f, 0) == CPX_OK);
  std::uint64_t frames = 0;
  REQUIRE_MESSAGE(cpx_export_path_video(ctx.get(), dir.c_str(), 10.0f, 48, &frames) == CPX_OK, cpx_last_error(ctx.get()));
  CHECK(frames == 6);  // 0.5 s at 10 fps, both ends
  CHECK(fs::file_size(dir / "walk.mp4") > 0);
  CHECK(fs::exists(dir / "frames" / "frame_00005.png"));
  CHECK(fs::exists(dir / "path.csv"));
  CHECK(cpx_export_path_video(ctx.get(), dir.c_str(), 0.0f, 48, nullptr) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_export_path_video(ctx.get(), dir.c_str(), 10.0f, 5, nullptr) == CPX_ERROR_INVALID_ARGUMENT);
  // A folder that cannot be created is the file system's failure (CPX_ERROR_IO), naming it.
  CHECK(cpx_export_path_video(ctx.get(), "/proc/cannot/make/this", 10.0f, 48, nullptr) == CPX_ERROR_IO);
  CHECK(std::string(cpx_last_error(ctx.get())).find("/proc/cannot/make/this") != std::string::npos);
}

TEST_CASE("several contexts live side by side") {
  Handle one = make(CPX_CREATE_RIG_ONLY, 0, 0.0f);
  Handle two = make(CPX_CREATE_RIG_ONLY, 0, 0.0f);
  REQUIRE(cpx_set_emotion(one.get(), "happy", 1.0f) == CPX_OK);
  REQUIRE(cpx_set_emotion(two.get(), "sad", 1.0f) == CPX_OK);
  REQUIRE(cpx_update(one.get(), 0.1f, nullptr) == CPX_OK);
  REQUIRE(cpx_update(two.get(), 0.1f, nullptr) == CPX_OK);
  const char* a = nullptr;
  const char* b = nullptr;
  REQUIRE(cpx_nearest_emotion(one.get(), &a) == CPX_OK);
  REQUIRE(cpx_nearest_emotion(two.get(), &b) == CPX_OK);
  CHECK(std::string(a) == "happy");
  CHECK(std::string(b) == "sad");
  // Errors are kept per context (and per thread).
  CHECK(cpx_set_emotion(one.get(), "nope", 1.0f) == CPX_ERROR_UNKNOWN_NAME);
  CHECK(has(cpx_last_error(one.get()), "nope"));
  CHECK(std::string(cpx_last_error(two.get())).empty());
  std::string other = "unset";
  std::thread([&] { other = cpx_last_error(one.get()); }).join();
  CHECK(other.empty());
}

TEST_CASE("the C++ wrapper turns result codes into exceptions") {
  cpx::Context ctx(cpx::CreateOptions().model(CIRCUMPLEX_TINY_MODEL).threads(1).half_life(0.0f));
  CHECK(ctx.info().frame_width == 32);
  const circumplex::Space space = ctx.info().dimensions == 3 ? circumplex::Space::Ball : circumplex::Space::Plane;
  const float r = static_cast<float>(circumplex::radius(circumplex::Atlas::builtin().find("angry").point(space), space));
  ctx.set_emotion("angry", r);  // exactly on the atlas point
  ctx.update(0.1f);
  CHECK(ctx.nearest_emotion() == "angry");
  std::array<float, CPX_ARKIT_COUNT> arkit{};
  ctx.outputs(CPX_OUTPUT_ARKIT, arkit);
  CHECK(arkit[static_cast<std::size_t>(cpx::output_index(CPX_OUTPUT_ARKIT, "browDownLeft"))] > 0.3f);
  CHECK(ctx.outputs(CPX_OUTPUT_VRM).size() == 18);
  CHECK(cpx::output_names(CPX_OUTPUT_AU).at(16) == "AU43");
  try {
    ctx.set_emotion("grumpy", 1.0f);
    FAIL("no exception");
  } catch (const cpx::Error& e) {
    CHECK(e.code() == CPX_ERROR_UNKNOWN_NAME);
    CHECK(has(e.what(), "grumpy"));
  }
  CHECK_THROWS_AS(ctx.update(-1.0f), cpx::Error);
  CHECK_THROWS_AS(cpx::Context(cpx::CreateOptions().model("/nonexistent")), cpx::Error);
  std::vector<std::uint8_t> pixels;
  ctx.wait_frame(60.0f);
  CHECK(ctx.copy_frame(pixels));  // the face of the last update is there: no polling
  CHECK(pixels.size() == 32u * 32u * 4u);
  try {
    ctx.wait_frame(-1.0f);
    FAIL("no exception");
  } catch (const cpx::Error& e) {
    CHECK(e.code() == CPX_ERROR_INVALID_ARGUMENT);
  }
  {
    cpx::BorrowedFrame frame = ctx.borrow_frame();
    REQUIRE(frame);
    CHECK(frame.info().width == 32);
    cpx::BorrowedFrame moved = std::move(frame);
    CHECK(!frame);
    CHECK(moved.pixels() != nullptr);
  }  // released here
  std::vector<cpx::BorrowedFrame> many;
  for (int i = 0; i < CPX_MAX_BORROWS; ++i) many.push_back(ctx.borrow_frame());  // all slots free again
  CHECK_THROWS_AS(ctx.borrow_frame(), cpx::Error);
  many.clear();
  cpx::Context moved = std::move(ctx);
  CHECK(moved.handle() != nullptr);
  CHECK(ctx.handle() == nullptr);
}

TEST_CASE("misuse of every function returns a result code") {
  Handle live = make(0);
  cpx_context* ctx = live.get();
  cpx_context* dead = nullptr;  // what a failed create leaves
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  float w[CPX_MAX_OUTPUTS];
  int32_t n = 0;
  const char* name = nullptr;
  cpx_affect p{};
  cpx_context_info info{};
  info.struct_size = sizeof info;
  cpx_state state{};
  state.struct_size = sizeof state;
  cpx_frame frame{};
  frame.struct_size = sizeof frame;
  cpx_osc_stats stats{};
  stats.struct_size = sizeof stats;
  cpx_osc_info osc = CPX_OSC_INFO_INIT;
  std::uint8_t px[64] = {};
  std::uint64_t u64 = 0;
  const fs::path dir = out_dir("misuse");
  const std::string csv = (dir / "x.csv").string();

  // Library-level calls.
  CHECK(cpx_output_count(CPX_OUTPUT_ARKIT, nullptr) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_output_count(static_cast<cpx_output_kind>(9), &n) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_output_name(CPX_OUTPUT_ARKIT, 52, &name) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_output_name(CPX_OUTPUT_ARKIT, -1, &name) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_output_name(CPX_OUTPUT_ARKIT, 0, nullptr) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_output_name(static_cast<cpx_output_kind>(4), 0, &name) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_output_index(CPX_OUTPUT_VRM, nullptr, &n) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_output_index(CPX_OUTPUT_VRM, "happy", nullptr) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_output_index(CPX_OUTPUT_VRM, "", &n) == CPX_ERROR_UNKNOWN_NAME);
  CHECK(cpx_output_index(CPX_OUTPUT_AU, "AU99", &n) == CPX_ERROR_UNKNOWN_NAME);
  CHECK(cpx_emotion_count(nullptr) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_emotion_name(-1, &name) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_emotion_name(100000, &name) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_emotion_name(0, nullptr) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_create_info_init(nullptr) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_create(nullptr, nullptr) == CPX_ERROR_NULL_POINTER);
  cpx_destroy(nullptr);
  cpx_destroy(dead);

  // Every context call on the NULL handle a failed create leaves.
  CHECK(cpx_get_info(dead, &info) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_set_target(dead, 0, 0, 0) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_set_emotion(dead, "happy", 1) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_set_half_life(dead, 0.1f) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_update(dead, 0.1f, &p) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_set_identity_seed(dead, 1) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_set_identity_image(dead, px, 8, 8, 1, 0) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_play_circle_walk(dead, 0, 0, 0.5f, 1) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_play_emotion_axis(dead, "happy", 1, 1, 0) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_play_between(dead, "happy", "sad", 1, 1, CPX_BETWEEN_SPHERE, 0) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_play_csv(dead, csv.c_str(), 0) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_stop_path(dead) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_get_outputs(dead, CPX_OUTPUT_ARKIT, w, 52) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_get_state(dead, &state) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_nearest_emotion(dead, &name) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_poll_frame(dead, 0, &n, &u64) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_wait_frame(dead, 1) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_copy_frame(dead, px, sizeof px, &frame) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_borrow_frame(dead, &frame) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_release_frame(dead, px) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_export_path_csv(dead, csv.c_str(), 30) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_export_path_video(dead, dir.c_str(), 30, 0, &u64) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_record_begin(dead, 10) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_record_end(dead, csv.c_str(), &u64, &u64) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_osc_open(dead, &osc) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_osc_close(dead) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_osc_get_stats(dead, &stats) == CPX_ERROR_INVALID_HANDLE);
  CHECK(cpx_osc_flush(dead, 1) == CPX_ERROR_INVALID_HANDLE);
  CHECK(has(cpx_last_error(nullptr), "ctx is NULL"));
  CHECK(std::string(cpx_last_error(ctx)).empty());  // none of that touched the live context

  // NULL out-pointers, NaN/Inf, out-of-range numbers, unknown names, bad struct sizes.
  CHECK(cpx_get_info(ctx, nullptr) == CPX_ERROR_NULL_POINTER);
  cpx_context_info small_info{};
  CHECK(cpx_get_info(ctx, &small_info) == CPX_ERROR_INVALID_ARGUMENT);  // struct_size 0
  CHECK(has(cpx_last_error(ctx), "struct_size"));
  CHECK(cpx_set_target(ctx, nan, 0, 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_set_target(ctx, 0, inf, 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_set_target(ctx, 0, 0, -inf) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_set_emotion(ctx, nullptr, 1) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_set_emotion(ctx, "happy", nan) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_set_emotion(ctx, "happy", -0.1f) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_set_emotion(ctx, "xyzzy", 1) == CPX_ERROR_UNKNOWN_NAME);
  CHECK(cpx_set_half_life(ctx, nan) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_set_half_life(ctx, -1) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_set_half_life(ctx, inf) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_update(ctx, nan, &p) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_update(ctx, inf, &p) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_update(ctx, -0.01f, &p) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_update(ctx, 11.0f, &p) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_set_identity_image(ctx, nullptr, 8, 8, 4, 0) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_set_identity_image(ctx, px, 0, 8, 4, 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_set_identity_image(ctx, px, 8, 0, 4, 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_set_identity_image(ctx, px, 8, 8, 0, 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_set_identity_image(ctx, px, 8, 8, 3, -5) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_play_circle_walk(ctx, nan, 0, 0.5f, 1) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_play_circle_walk(ctx, 0, inf, 0.5f, 1) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_play_circle_walk(ctx, 0, 0, 0, 1) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_play_circle_walk(ctx, 0, 0, 1.5f, 1) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_play_circle_walk(ctx, 0, 0, 0.5f, 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_play_circle_walk(ctx, 0, 0, 0.5f, nan) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_play_emotion_axis(ctx, nullptr, 1, 1, 0) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_play_emotion_axis(ctx, "blorp", 1, 1, 0) == CPX_ERROR_UNKNOWN_NAME);
  CHECK(cpx_play_emotion_axis(ctx, "happy", nan, 1, 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_play_emotion_axis(ctx, "happy", 1, 0, 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_play_emotion_axis(ctx, "happy", 1, inf, 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_play_between(ctx, nullptr, "sad", 1, 1, CPX_BETWEEN_SPHERE, 0) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_play_between(ctx, "happy", nullptr, 1, 1, CPX_BETWEEN_SPHERE, 0) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_play_between(ctx, "happy", "sad", nan, 1, CPX_BETWEEN_SPHERE, 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_play_between(ctx, "happy", "sad", 1, -1, CPX_BETWEEN_SPHERE, 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_play_csv(ctx, nullptr, 0) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_get_outputs(ctx, CPX_OUTPUT_ARKIT, nullptr, 52) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_get_outputs(ctx, CPX_OUTPUT_ARKIT, w, 51) == CPX_ERROR_BUFFER_TOO_SMALL);
  CHECK(cpx_get_outputs(ctx, CPX_OUTPUT_ARKIT, w, 0) == CPX_ERROR_BUFFER_TOO_SMALL);
  CHECK(cpx_get_outputs(ctx, CPX_OUTPUT_ARKIT, w, -3) == CPX_ERROR_BUFFER_TOO_SMALL);
  CHECK(cpx_get_outputs(ctx, static_cast<cpx_output_kind>(12), w, 52) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_get_outputs(ctx, CPX_OUTPUT_AU, w, 17) == CPX_OK);  // exactly the count is enough
  CHECK(cpx_get_state(ctx, nullptr) == CPX_ERROR_NULL_POINTER);
  cpx_state small_state{};
  CHECK(cpx_get_state(ctx, &small_state) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_nearest_emotion(ctx, nullptr) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_poll_frame(ctx, 0, nullptr, &u64) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_wait_frame(ctx, nan) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_wait_frame(ctx, -1) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_wait_frame(ctx, 61) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(has(cpx_last_error(ctx), "timeout_s"));
  CHECK(cpx_poll_frame(ctx, 0, &n, nullptr) == CPX_OK);  // out_latest_sequence is optional
  CHECK(cpx_copy_frame(ctx, nullptr, 4096, &frame) == CPX_ERROR_NULL_POINTER);
  cpx_frame small_frame{};
  CHECK(cpx_copy_frame(ctx, px, sizeof px, &small_frame) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_borrow_frame(ctx, nullptr) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_borrow_frame(ctx, &small_frame) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_release_frame(ctx, nullptr) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_release_frame(ctx, px) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_export_path_csv(ctx, nullptr, 30) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_export_path_csv(ctx, csv.c_str(), nan) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_export_path_video(ctx, nullptr, 30, 0, &u64) == CPX_ERROR_NULL_POINTER);
  CHECK(cpx_export_path_video(ctx, dir.c_str(), inf, 0, &u64) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_record_begin(ctx, 0) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_record_begin(ctx, 0xFFFFFFFFu) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_record_end(ctx, csv.c_str(), &u64, &u64) == CPX_ERROR_INVALID_STATE);
  CHECK(cpx_osc_open(ctx, nullptr) == CPX_ERROR_NULL_POINTER);
  cpx_osc_info bad = osc;
  bad.struct_size = 0;
  CHECK(cpx_osc_open(ctx, &bad) == CPX_ERROR_INVALID_ARGUMENT);
  bad = osc;
  bad.host = nullptr;
  CHECK(cpx_osc_open(ctx, &bad) == CPX_ERROR_NULL_POINTER);
  bad = osc;
  bad.host = "";
  CHECK(cpx_osc_open(ctx, &bad) == CPX_ERROR_INVALID_ARGUMENT);
  bad = osc;
  bad.port = 0;
  CHECK(cpx_osc_open(ctx, &bad) == CPX_ERROR_INVALID_ARGUMENT);
  bad = osc;
  bad.port = 70000;
  CHECK(cpx_osc_open(ctx, &bad) == CPX_ERROR_INVALID_ARGUMENT);
  bad = osc;
  bad.outputs = 0;
  CHECK(cpx_osc_open(ctx, &bad) == CPX_ERROR_INVALID_ARGUMENT);
  bad = osc;
  bad.outputs = 0x100;
  CHECK(cpx_osc_open(ctx, &bad) == CPX_ERROR_INVALID_ARGUMENT);
  bad = osc;
  bad.mode = static_cast<cpx_osc_mode>(5);
  CHECK(cpx_osc_open(ctx, &bad) == CPX_ERROR_INVALID_ARGUMENT);
  bad = osc;
  bad.mode = CPX_OSC_GENERIC;
  for (const char* prefix : {"", "/", "face", "/face/", "/fa ce", "/face#", "/a*b"}) {
    bad.prefix = prefix;
    CHECK(cpx_osc_open(ctx, &bad) == CPX_ERROR_INVALID_ARGUMENT);
  }
  CHECK(cpx_osc_get_stats(ctx, nullptr) == CPX_ERROR_NULL_POINTER);
  REQUIRE(cpx_osc_get_stats(ctx, &stats) == CPX_OK);
  CHECK(stats.open == 0);
  CHECK(cpx_osc_flush(ctx, 1) == CPX_ERROR_INVALID_STATE);
  CHECK(cpx_osc_flush(ctx, nan) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(cpx_osc_close(ctx) == CPX_OK);  // no sink: nothing to do

  // Frame calls on a rig-only context.
  Handle rig = make(CPX_CREATE_RIG_ONLY);
  CHECK(cpx_poll_frame(rig.get(), 0, &n, &u64) == CPX_ERROR_NOT_SUPPORTED);
  CHECK(cpx_wait_frame(rig.get(), 1) == CPX_ERROR_NOT_SUPPORTED);
  CHECK(cpx_copy_frame(rig.get(), px, sizeof px, nullptr) == CPX_ERROR_NOT_SUPPORTED);
  CHECK(cpx_borrow_frame(rig.get(), &frame) == CPX_ERROR_NOT_SUPPORTED);
  CHECK(has(cpx_last_error(rig.get()), "RIG_ONLY"));

  // After all that the context still works.
  REQUIRE(cpx_set_emotion(ctx, "happy", 1) == CPX_OK);
  REQUIRE(cpx_update(ctx, 0.5f, &p) == CPX_OK);
  CHECK(p.v > 0.3f);
}
