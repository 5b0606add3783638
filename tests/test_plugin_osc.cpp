// The OSC sink: a liblo receiver on 127.0.0.1 checks the addresses and values of VRChat
// mode (/avatar/parameters/<Name>) and generic mode (<prefix>/<kind>/<Name> + the emotion),
// and updates never stall when nobody listens.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <lo/lo.h>
#include <map>
#include <string>
#include <vector>

#include "circumplex.h"

namespace {

/// A liblo UDP server on a free port that remembers the newest value per address.
class Receiver {
 public:
  Receiver() {
    server_ = lo_server_new_with_proto(nullptr, LO_UDP, [](int, const char* msg, const char* where) {
      MESSAGE("liblo: " << (msg ? msg : "") << " " << (where ? where : ""));
    });
    REQUIRE(server_ != nullptr);
    lo_server_add_method(server_, nullptr, nullptr, &Receiver::handle, this);
  }
  ~Receiver() { lo_server_free(server_); }
  int port() const { return lo_server_get_port(server_); }

  /// Receives until `done()` holds or 20 s pass.
  template <class F>
  bool pump_until(F done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) return false;
      lo_server_recv_noblock(server_, 10);
    }
    return true;
  }
  /// Receives whatever arrives within `ms`.
  void drain(int ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) lo_server_recv_noblock(server_, 5);
  }

  std::map<std::string, float> floats;
  std::map<std::string, std::string> strings;
  long messages = 0, bad_types = 0;

 private:
  static int handle(const char* path, const char* types, lo_arg** argv, int argc, lo_message, void* user) {
    auto* self = static_cast<Receiver*>(user);
    ++self->messages;
    if (argc == 1 && types[0] == 'f') {
      self->floats[path] = argv[0]->f;
    } else if (argc == 1 && types[0] == 's') {
      self->strings[path] = &argv[0]->s;
    } else {
      ++self->bad_types;
    }
    return 0;
  }
  lo_server server_ = nullptr;
};

cpx_context* make() {
  cpx_create_info info = CPX_CREATE_INFO_INIT;
  info.model_path = CIRCUMPLEX_TINY_MODEL;
  info.flags = CPX_CREATE_RIG_ONLY;
  info.half_life = 0.0f;
  cpx_context* ctx = nullptr;
  REQUIRE_MESSAGE(cpx_create(&info, &ctx) == CPX_OK, cpx_last_error(nullptr));
  return ctx;
}

std::vector<std::string> names(cpx_output_kind kind) {
  int32_t n = 0;
  cpx_output_count(kind, &n);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    const char* name = nullptr;
    cpx_output_name(kind, i, &name);
    out.emplace_back(name);
  }
  return out;
}

std::vector<float> values(cpx_context* ctx, cpx_output_kind kind) {
  std::vector<float> v(CPX_MAX_OUTPUTS);
  REQUIRE(cpx_get_outputs(ctx, kind, v.data(), CPX_MAX_OUTPUTS) == CPX_OK);
  int32_t n = 0;
  cpx_output_count(kind, &n);
  v.resize(static_cast<std::size_t>(n));
  return v;
}

}  // namespace

TEST_CASE("VRChat mode sends every chosen output as an avatar parameter") {
  Receiver rx;
  cpx_context* ctx = make();
  cpx_osc_info osc = CPX_OSC_INFO_INIT;
  osc.mode = CPX_OSC_VRCHAT;
  osc.host = "127.0.0.1";
  osc.port = rx.port();
  osc.outputs = CPX_OUTPUT_BIT(CPX_OUTPUT_ARKIT) | CPX_OUTPUT_BIT(CPX_OUTPUT_VRM);
  REQUIRE(cpx_osc_open(ctx, &osc) == CPX_OK);
  REQUIRE(cpx_set_emotion(ctx, "happy", 1.0f) == CPX_OK);
  REQUIRE(cpx_update(ctx, 0.1f, nullptr) == CPX_OK);
  REQUIRE(cpx_osc_flush(ctx, 10.0f) == CPX_OK);

  const std::vector<float> arkit = values(ctx, CPX_OUTPUT_ARKIT), vrm = values(ctx, CPX_OUTPUT_VRM);
  const std::string smile = "/avatar/parameters/mouthSmileLeft";
  REQUIRE(arkit[23] > 0.3f);
  CHECK(rx.pump_until([&] { return rx.floats.count(smile) && rx.floats[smile] == arkit[23] && rx.floats.size() >= 70; }));
  rx.drain(100);
  const std::vector<std::string> arkit_names = names(CPX_OUTPUT_ARKIT), vrm_names = names(CPX_OUTPUT_VRM);
  for (std::size_t i = 0; i < arkit_names.size(); ++i) {
    const std::string address = "/avatar/parameters/" + arkit_names[i];
    REQUIRE_MESSAGE(rx.floats.count(address), address);
    CHECK(rx.floats[address] == arkit[i]);
  }
  for (std::size_t i = 0; i < vrm_names.size(); ++i) {
    const std::string address = "/avatar/parameters/" + vrm_names[i];
    REQUIRE_MESSAGE(rx.floats.count(address), address);
    CHECK(rx.floats[address] == vrm[i]);
  }
  CHECK(rx.floats.size() == 70);  // nothing else: no AUs, no affect
  CHECK(rx.strings.empty());
  CHECK(rx.bad_types == 0);
  cpx_osc_stats stats;
  stats.struct_size = sizeof stats;
  REQUIRE(cpx_osc_get_stats(ctx, &stats) == CPX_OK);
  CHECK(stats.open == 1);
  CHECK(stats.messages_sent >= 70);
  CHECK(stats.updates_sent >= 1);
  CHECK(stats.send_errors == 0);

  // The values follow the cursor.
  REQUIRE(cpx_set_emotion(ctx, "sad", 1.0f) == CPX_OK);
  REQUIRE(cpx_update(ctx, 0.1f, nullptr) == CPX_OK);
  REQUIRE(cpx_osc_flush(ctx, 10.0f) == CPX_OK);
  const std::vector<float> sad = values(ctx, CPX_OUTPUT_ARKIT);
  const std::string frown = "/avatar/parameters/mouthFrownLeft";
  CHECK(sad[25] > 0.2f);
  CHECK(rx.pump_until([&] { return rx.floats[frown] == sad[25] && rx.floats[smile] == sad[23]; }));

  REQUIRE(cpx_osc_close(ctx) == CPX_OK);
  REQUIRE(cpx_osc_get_stats(ctx, &stats) == CPX_OK);
  CHECK(stats.open == 0);
  cpx_destroy(ctx);
}

TEST_CASE("generic mode uses the prefix and sends the emotion") {
  Receiver rx;
  cpx_context* ctx = make();
  cpx_osc_info osc = CPX_OSC_INFO_INIT;
  osc.mode = CPX_OSC_GENERIC;
  osc.prefix = "/face";
  osc.port = rx.port();
  osc.outputs = CPX_OUTPUT_BIT(CPX_OUTPUT_AU) | CPX_OUTPUT_BIT(CPX_OUTPUT_AFFECT);
  REQUIRE(cpx_osc_open(ctx, &osc) == CPX_OK);
  REQUIRE(cpx_set_target(ctx, 0.5f, 0.3f, 0.0f) == CPX_OK);
  REQUIRE(cpx_update(ctx, 0.1f, nullptr) == CPX_OK);
  REQUIRE(cpx_osc_flush(ctx, 10.0f) == CPX_OK);
  const char* nearest = nullptr;
  REQUIRE(cpx_nearest_emotion(ctx, &nearest) == CPX_OK);
  CHECK(rx.pump_until([&] { return rx.floats["/face/affect/valence"] == 0.5f && rx.strings.count("/face/emotion"); }));
  rx.drain(100);
  CHECK(rx.floats["/face/affect/arousal"] == 0.3f);
  CHECK(rx.floats.count("/face/affect/z"));
  CHECK(rx.strings["/face/emotion"] == nearest);
  const std::vector<float> au = values(ctx, CPX_OUTPUT_AU);
  const std::vector<std::string> au_names = names(CPX_OUTPUT_AU);
  for (std::size_t i = 0; i < au_names.size(); ++i) {
    const std::string address = "/face/au/" + au_names[i];
    REQUIRE_MESSAGE(rx.floats.count(address), address);
    CHECK(rx.floats[address] == au[i]);
  }
  CHECK(rx.floats.size() == 17 + 3);
  for (const auto& [address, value] : rx.floats) CHECK(address.rfind("/face/", 0) == 0);

  // The default prefix.
  osc.prefix = nullptr;
  osc.outputs = CPX_OUTPUT_BIT(CPX_OUTPUT_AFFECT);
  REQUIRE(cpx_osc_open(ctx, &osc) == CPX_OK);  // replaces the open sink
  REQUIRE(cpx_update(ctx, 0.1f, nullptr) == CPX_OK);
  REQUIRE(cpx_osc_flush(ctx, 10.0f) == CPX_OK);
  CHECK(rx.pump_until([&] { return rx.floats.count("/circumplex/affect/valence") > 0; }));
  cpx_destroy(ctx);  // with the sink open
}

TEST_CASE("a missing receiver never stalls the update") {
  int port = 0;
  {
    Receiver gone;  // take a free port, then close it: nobody listens there
    port = gone.port();
  }
  cpx_context* ctx = make();
  cpx_osc_info osc = CPX_OSC_INFO_INIT;
  osc.port = port;
  osc.outputs = CPX_OUTPUT_BIT(CPX_OUTPUT_ARKIT) | CPX_OUTPUT_BIT(CPX_OUTPUT_VRM) | CPX_OUTPUT_BIT(CPX_OUTPUT_AU) |
                CPX_OUTPUT_BIT(CPX_OUTPUT_AFFECT);
  REQUIRE(cpx_osc_open(ctx, &osc) == CPX_OK);
  REQUIRE(cpx_play_circle_walk(ctx, 0.0f, 0.0f, 0.8f, 1.0f) == CPX_OK);
  std::vector<double> us;
  for (int i = 0; i < 20000; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(cpx_update(ctx, 1.0f / 60.0f, nullptr) == CPX_OK);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  MESSAGE("cpx_update with a 90-value OSC sink and no receiver: median " << us[us.size() / 2] << " us, 99.9% "
                                                                        << us[us.size() * 999 / 1000] << " us");
  CHECK(us[us.size() / 2] < 1000.0);
  REQUIRE(cpx_osc_flush(ctx, 20.0f) == CPX_OK);
  cpx_osc_stats stats;
  stats.struct_size = sizeof stats;
  REQUIRE(cpx_osc_get_stats(ctx, &stats) == CPX_OK);
  CHECK(stats.updates_sent >= 1);
  CHECK(stats.updates_sent <= 20001);  // the sender may skip updates, never invents any
  CHECK(stats.messages_sent + stats.send_errors == stats.updates_sent * 90);
  cpx_destroy(ctx);
}
