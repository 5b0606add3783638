// The C ABI's threading model: a game thread steering and updating, an audio thread and a
// network thread reading weights, a render thread reading frames — all at once, for
// thousands of iterations. Readers must never see a torn snapshot (left/right blendshape
// pairs always equal, the update count never going back). `tools/test.sh --tsan` runs this
// suite under ThreadSanitizer (see the plugin section of README.md).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "circumplex.h"

namespace {

cpx_context* make(std::uint32_t flags) {
  cpx_create_info info = CPX_CREATE_INFO_INIT;
  info.model_path = CIRCUMPLEX_TINY_MODEL;
  info.flags = flags;
  info.threads = 1;
  cpx_context* ctx = nullptr;
  const cpx_result r = cpx_create(&info, &ctx);
  REQUIRE_MESSAGE(r == CPX_OK, cpx_last_error(nullptr));
  return ctx;
}

/// Index pairs of ARKit blendshapes "xLeft"/"xRight": the rig is symmetric, so the two
/// are equal in every snapshot — a torn read would mix two updates and break that.
std::vector<std::pair<int, int>> left_right_pairs() {
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < CPX_ARKIT_COUNT; ++i) {
    const char* name = nullptr;
    cpx_output_name(CPX_OUTPUT_ARKIT, i, &name);
    std::string n(name);
    const auto at = n.rfind("Left");
    if (at == std::string::npos || at + 4 != n.size()) continue;
    int j = -1;
    if (cpx_output_index(CPX_OUTPUT_ARKIT, (n.substr(0, at) + "Right").c_str(), &j) == CPX_OK) pairs.emplace_back(i, j);
  }
  return pairs;
}

/// The game thread: changes targets and paths now and then, updates every iteration.
void game(cpx_context* ctx, int iterations, std::atomic<int>& failures) {
  const char* emotions[] = {"happy", "sad", "fearful", "angrily-disgusted", "surprised", "contempt"};
  for (int i = 0; i < iterations; ++i) {
    cpx_result r = CPX_OK;
    switch (i % 997) {
      case 0: r = cpx_play_circle_walk(ctx, 0.4901f, 0.9801f, 0.6f, 0.5f); break;
      case 200: r = cpx_set_emotion(ctx, emotions[(i / 997) % 6], 0.9f); break;
      case 400: r = cpx_play_between(ctx, "happy", "sad", 0.8f, 0.3f, CPX_BETWEEN_SPHERE, 1); break;
      case 600: r = cpx_set_target(ctx, -0.3f, 0.6f, 0.2f); break;
      case 800: r = cpx_play_emotion_axis(ctx, "fear", 1.0f, 0.2f, 0); break;
      case 900: r = cpx_record_begin(ctx, 50); break;
      case 950: r = cpx_record_end(ctx, nullptr, nullptr, nullptr); break;
      default: break;
    }
    if (r != CPX_OK) ++failures;
    cpx_affect p;
    if (cpx_update(ctx, 1.0f / 240.0f, &p) != CPX_OK) ++failures;
  }
}

/// One read by a weight reader (audio or network thread), checking the snapshot.
void read_once(cpx_context* ctx, cpx_output_kind kind, const std::vector<std::pair<int, int>>& pairs,
               std::uint64_t& last_count, std::atomic<int>& failures) {
  float w[CPX_MAX_OUTPUTS];
  if (cpx_get_outputs(ctx, kind, w, CPX_MAX_OUTPUTS) != CPX_OK) ++failures;
  int32_t n = 0;
  cpx_output_count(kind, &n);
  for (int i = 0; i < n; ++i) {
    const float lo = kind == CPX_OUTPUT_AFFECT ? -1.0f : 0.0f;
    if (!(w[i] >= lo && w[i] <= 1.0f)) ++failures;
  }
  if (kind == CPX_OUTPUT_ARKIT) {
    for (const auto& [l, r] : pairs) {
      if (w[l] != w[r]) ++failures;
    }
  }
  cpx_state s;
  s.struct_size = sizeof s;
  if (cpx_get_state(ctx, &s) != CPX_OK || s.update_count < last_count) ++failures;
  last_count = s.update_count;
  const char* name = nullptr;
  if (cpx_nearest_emotion(ctx, &name) != CPX_OK || name == nullptr || !*name) ++failures;
}

/// A weight reader thread's loop.
void reader(cpx_context* ctx, cpx_output_kind kind, const std::atomic<bool>& done, std::atomic<int>& failures,
            std::atomic<long>& reads) {
  const std::vector<std::pair<int, int>> pairs = left_right_pairs();
  std::uint64_t last_count = 0;
  while (!done.load()) {
    read_once(ctx, kind, pairs, last_count, failures);
    ++reads;
  }
}

}  // namespace

TEST_CASE("game audio and network threads share a rig-only context") {
  cpx_context* ctx = make(CPX_CREATE_RIG_ONLY);
  REQUIRE(left_right_pairs().size() >= 15);
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<long> audio_reads{0}, network_reads{0};
  std::atomic<int> own_errors{0};
  std::thread audio([&] { reader(ctx, CPX_OUTPUT_ARKIT, done, failures, audio_reads); });
  std::thread network([&] {
    // Reads VRM and AUs, and makes control calls of its own (serialised with the game
    // thread's): some fail on purpose, and their messages stay this thread's.
    const std::vector<std::pair<int, int>> pairs = left_right_pairs();
    std::uint64_t last_count = 0;
    int i = 0;
    while (!done.load()) {
      read_once(ctx, (i % 2) ? CPX_OUTPUT_VRM : CPX_OUTPUT_AU, pairs, last_count, failures);
      float w[CPX_AFFECT_COUNT];
      if (cpx_get_outputs(ctx, CPX_OUTPUT_AFFECT, w, CPX_AFFECT_COUNT) != CPX_OK) ++failures;
      if (i % 50 == 0) {
        if (cpx_set_half_life(ctx, 0.05f + 0.01f * static_cast<float>(i % 7)) != CPX_OK) ++failures;
        if (cpx_set_emotion(ctx, "network-made-up", 1.0f) != CPX_ERROR_UNKNOWN_NAME) ++failures;
        if (!std::strstr(cpx_last_error(ctx), "network-made-up")) ++own_errors;
      }
      ++network_reads;
      ++i;
    }
  });
  game(ctx, 20000, failures);
  done = true;
  audio.join();
  network.join();
  CHECK(failures.load() == 0);
  CHECK(own_errors.load() == 0);
  CHECK(std::string(cpx_last_error(ctx)).empty());  // the game thread never failed
  CHECK(audio_reads.load() > 100);
  CHECK(network_reads.load() > 100);
  cpx_state s;
  s.struct_size = sizeof s;
  REQUIRE(cpx_get_state(ctx, &s) == CPX_OK);
  CHECK(s.update_count == 20000);
  MESSAGE("reads during 20000 updates: audio " << audio_reads.load() << ", network " << network_reads.load());
  cpx_destroy(ctx);
}

TEST_CASE("game render and audio threads share a frame context with an OSC sink") {
  cpx_context* ctx = make(0);
  cpx_osc_info osc = CPX_OSC_INFO_INIT;
  osc.port = 9;  // discard port: nobody listens, the sender copes
  osc.outputs = CPX_OUTPUT_BIT(CPX_OUTPUT_ARKIT) | CPX_OUTPUT_BIT(CPX_OUTPUT_AFFECT);
  REQUIRE(cpx_osc_open(ctx, &osc) == CPX_OK);
  cpx_context_info info{};
  info.struct_size = sizeof info;
  REQUIRE(cpx_get_info(ctx, &info) == CPX_OK);
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<long> audio_reads{0}, frames_seen{0};
  std::thread audio([&] { reader(ctx, CPX_OUTPUT_ARKIT, done, failures, audio_reads); });
  std::thread render([&] {
    std::vector<std::uint8_t> pixels(static_cast<std::size_t>(info.frame_width) * static_cast<std::size_t>(info.frame_height) * 4);
    std::uint64_t shown = 0;
    while (!done.load()) {
      int32_t is_new = 0;
      std::uint64_t latest = 0;
      if (cpx_poll_frame(ctx, shown, &is_new, &latest) != CPX_OK) ++failures;
      if (!is_new) {
        std::this_thread::yield();
        continue;
      }
      cpx_frame f;
      f.struct_size = sizeof f;
      if (cpx_copy_frame(ctx, pixels.data(), pixels.size(), &f) != CPX_OK || f.sequence < latest || pixels[3] != 255) ++failures;
      cpx_frame b;
      b.struct_size = sizeof b;
      if (cpx_borrow_frame(ctx, &b) != CPX_OK || b.sequence < f.sequence) ++failures;
      if (b.pixels[b.stride * b.height - 1] != 255) ++failures;  // alpha of the last pixel
      if (cpx_release_frame(ctx, b.pixels) != CPX_OK) ++failures;
      shown = f.sequence;
      ++frames_seen;
    }
  });
  game(ctx, 5000, failures);
  // Let the render thread see the last frames.
  for (int i = 0; i < 200 && frames_seen.load() < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  done = true;
  audio.join();
  render.join();
  CHECK(failures.load() == 0);
  CHECK(frames_seen.load() >= 1);
  CHECK(audio_reads.load() > 10);
  cpx_osc_stats stats;
  stats.struct_size = sizeof stats;
  REQUIRE(cpx_osc_get_stats(ctx, &stats) == CPX_OK);
  CHECK(stats.updates_sent >= 1);
  MESSAGE("frames seen by the render thread: " << frames_seen.load() << "; OSC updates sent: " << stats.updates_sent);
  cpx_destroy(ctx);  // with the sink still open
}

TEST_CASE("contexts on separate threads do not interfere") {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([t, &failures] {
      cpx_create_info info = CPX_CREATE_INFO_INIT;
      info.model_path = CIRCUMPLEX_TINY_MODEL;
      info.flags = CPX_CREATE_RIG_ONLY;
      info.half_life = 0.0f;
      cpx_context* ctx = nullptr;
      if (cpx_create(&info, &ctx) != CPX_OK) {
        ++failures;
        return;
      }
      const float v = 0.3f * static_cast<float>(t) - 0.3f;
      for (int i = 0; i < 3000; ++i) {
        cpx_affect p;
        if (cpx_set_target(ctx, v, 0.5f, 0.0f) != CPX_OK || cpx_update(ctx, 0.01f, &p) != CPX_OK) ++failures;
        if (std::abs(p.v - v) > 1e-6f) ++failures;
      }
      cpx_destroy(ctx);
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures.load() == 0);
}
