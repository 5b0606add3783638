// The OSC sink: a liblo receiver on 127.0.0.1 checks the addresses and values of VRChat
// mode (/avatar/parameters/<Name>) and generic mode (<prefix>/<kind>/<Name> + the emotion),
// and updates never stall when nobody listens.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <lo/lo.h>
#include <map>
#include <string>
#include <vector>

#include "circumplex.h"
#include "test_udp.hpp"

namespace {

/// A liblo UDP server that remembers the newest value per address. Its port is the kernel's
/// choice (port "0"): liblo's own pick (no port given) is 10000 + (rand() + time) % 10000 with
/// an unseeded rand(), the same port in every test process started in the same second, so a
/// test that floods a port it has just closed would flood another test's receiver.
class Receiver {
 public:
  Receiver() {
    server_ = lo_server_new_with_proto("0", LO_UDP, [](int, const char* msg, const char* where) {
      MESSAGE("liblo: " << (msg ? msg : "") << " " << (where ? where : ""));
    });
    REQUIRE(server_ != nullptr);
    port_ = test_udp::bound_port(lo_server_get_socket_fd(server_));  // liblo reports 0 here
    REQUIRE(port_ > 0);
    lo_server_add_method(server_, nullptr, nullptr, &Receiver::handle, this);
    lo_server_add_bundle_handlers(server_, &Receiver::bundle_start, &Receiver::bundle_end, this);
  }
  ~Receiver() { lo_server_free(server_); }
  int port() const { return port_; }

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
  std::map<std::string, int> ints;
  std::map<std::string, float> blend;      // /VMC/Ext/Blend/Val (name, value), newest per name
  std::vector<std::string> last_bundle;    // the addresses of the last complete bundle, in order
  long messages = 0, bad_types = 0, bundles = 0, outside_bundles = 0;

 private:
  static int handle(const char* path, const char* types, lo_arg** argv, int argc, lo_message, void* user) {
    auto* self = static_cast<Receiver*>(user);
    ++self->messages;
    if (self->in_bundle_) {
      self->current_.push_back(path);
    } else {
      ++self->outside_bundles;
    }
    // liblo packs arguments at 4-byte offsets: read numbers by copying their bytes (the
    // lo_arg union wants 8-byte alignment, which UBSan checks).
    const auto f32 = [&](int i) { float v; std::memcpy(&v, argv[i], sizeof v); return v; };
    const auto i32 = [&](int i) { std::int32_t v; std::memcpy(&v, argv[i], sizeof v); return v; };
    const auto str = [&](int i) { return std::string(reinterpret_cast<const char*>(argv[i])); };
    const std::string t = types;
    if (t == "f") {
      self->floats[path] = f32(0);
    } else if (t == "s") {
      self->strings[path] = str(0);
    } else if (t == "i") {
      self->ints[path] = i32(0);
    } else if (t == "sf" && std::string(path) == "/VMC/Ext/Blend/Val") {
      self->blend[str(0)] = f32(1);
    } else if (!(t.empty() && std::string(path) == "/VMC/Ext/Blend/Apply")) {
      ++self->bad_types;
    }
    (void)argc;
    return 0;
  }
  static int bundle_start(lo_timetag, void* user) {
    auto* self = static_cast<Receiver*>(user);
    self->in_bundle_ = true;
    self->current_.clear();
    return 0;
  }
  static int bundle_end(void* user) {
    auto* self = static_cast<Receiver*>(user);
    self->in_bundle_ = false;
    self->last_bundle = self->current_;
    ++self->bundles;
    return 0;
  }
  bool in_bundle_ = false;
  std::vector<std::string> current_;
  lo_server server_ = nullptr;
  int port_ = 0;
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

TEST_CASE("VMC mode sends one bundle per update: OK, T, every blendshape, Apply last") {
  struct Case {
    cpx_vmc_names names;
    std::size_t count;
    const char* smile;  // the name that carries "happy"
  };
  for (const Case& k : {Case{CPX_VMC_VRM0, 17, "Joy"}, Case{CPX_VMC_VRM1, 18, "happy"}, Case{CPX_VMC_ARKIT, 52, "mouthSmileLeft"}}) {
    CAPTURE(k.smile);
    Receiver rx;
    cpx_context* ctx = make();
    cpx_osc_info osc = CPX_OSC_INFO_INIT;
    osc.mode = CPX_OSC_VMC;
    osc.vmc_names = k.names;
    osc.port = rx.port();
    osc.outputs = 0;  // ignored in VMC mode
    REQUIRE_MESSAGE(cpx_osc_open(ctx, &osc) == CPX_OK, cpx_last_error(ctx));
    REQUIRE(cpx_set_emotion(ctx, "happy", 1.0f) == CPX_OK);
    REQUIRE(cpx_update(ctx, 0.25f, nullptr) == CPX_OK);
    REQUIRE(cpx_osc_flush(ctx, 10.0f) == CPX_OK);
    const std::vector<float> arkit = values(ctx, CPX_OUTPUT_ARKIT), vrm = values(ctx, CPX_OUTPUT_VRM);
    const float expected = k.names == CPX_VMC_ARKIT ? arkit[23] : vrm[0];  // mouthSmileLeft / happy
    REQUIRE(expected > 0.2f);
    CHECK(rx.pump_until([&] { return rx.blend.count(k.smile) && rx.blend[k.smile] == expected && !rx.last_bundle.empty(); }));
    rx.drain(100);
    CHECK(rx.blend.size() == k.count);
    CHECK(rx.outside_bundles == 0);  // everything came in bundles
    REQUIRE(rx.last_bundle.size() == k.count + 3);
    CHECK(rx.last_bundle.front() == "/VMC/Ext/OK");
    CHECK(rx.last_bundle[1] == "/VMC/Ext/T");
    CHECK(rx.last_bundle.back() == "/VMC/Ext/Blend/Apply");
    CHECK(std::count(rx.last_bundle.begin(), rx.last_bundle.end(), "/VMC/Ext/Blend/Val") == static_cast<long>(k.count));
    CHECK(rx.ints["/VMC/Ext/OK"] == 1);
    CHECK(rx.floats["/VMC/Ext/T"] == doctest::Approx(0.25));
    CHECK(rx.bad_types == 0);
    if (k.names == CPX_VMC_VRM0) {
      CHECK(rx.blend.count("Sorrow") == 1);
      CHECK(rx.blend.count("Blink_L") == 1);
      CHECK(rx.blend.count("surprised") == 0);  // no VRM 0.x preset
    }
    cpx_destroy(ctx);
  }
}

TEST_CASE("VRChat budget mode sends four floats and the emotion's index") {
  Receiver rx;
  cpx_context* ctx = make();
  cpx_osc_info osc = CPX_OSC_INFO_INIT;
  osc.mode = CPX_OSC_VRCHAT_BUDGET;
  osc.port = rx.port();
  REQUIRE(cpx_osc_open(ctx, &osc) == CPX_OK);
  REQUIRE(cpx_set_emotion(ctx, "sad", 0.8f) == CPX_OK);
  REQUIRE(cpx_update(ctx, 0.1f, nullptr) == CPX_OK);
  REQUIRE(cpx_osc_flush(ctx, 10.0f) == CPX_OK);
  cpx_affect p{};
  REQUIRE(cpx_update(ctx, 0.0f, &p) == CPX_OK);
  REQUIRE(cpx_osc_flush(ctx, 10.0f) == CPX_OK);
  const std::string v = "/avatar/parameters/CircumplexValence", e = "/avatar/parameters/CircumplexEmotion";
  CHECK(rx.pump_until([&] { return rx.floats.count(v) && rx.floats[v] == p.v && rx.ints.count(e); }));
  rx.drain(100);
  CHECK(p.v < -0.3f);
  CHECK(rx.floats["/avatar/parameters/CircumplexArousal"] == p.a);
  CHECK(rx.floats["/avatar/parameters/CircumplexZ"] == p.z);
  CHECK(rx.floats["/avatar/parameters/CircumplexIntensity"] == doctest::Approx(std::sqrt(p.v * p.v + p.a * p.a + p.z * p.z)).epsilon(0.02));
  const char* nearest = nullptr;
  REQUIRE(cpx_nearest_emotion(ctx, &nearest) == CPX_OK);
  CHECK(std::string(nearest) == "sad");
  const char* sent = nullptr;
  REQUIRE(cpx_emotion_name(rx.ints[e], &sent) == CPX_OK);  // the index names the emotion
  CHECK(std::string(sent) == "sad");
  CHECK(rx.floats.size() == 4);  // nothing per blendshape: it would not fit the synced budget
  CHECK(rx.ints.size() == 1);
  cpx_destroy(ctx);
}

TEST_CASE("a host built against API 1 (smaller cpx_osc_info) still opens a sink, smaller ones are refused") {
  // cpx_osc_info as API 1 declared it: no vmc_names.
  struct osc_info_v1 {
    uint32_t struct_size;
    cpx_osc_mode mode;
    const char* host;
    int32_t port;
    uint32_t outputs;
    const char* prefix;
  };
  static_assert(sizeof(osc_info_v1) < sizeof(cpx_osc_info), "API 2 appended a field");
  Receiver rx;
  cpx_context* ctx = make();
  osc_info_v1 old{static_cast<uint32_t>(sizeof(osc_info_v1)), CPX_OSC_VRCHAT, "127.0.0.1", rx.port(), CPX_OUTPUT_BIT(CPX_OUTPUT_AFFECT), nullptr};
  CHECK(cpx_osc_open(ctx, reinterpret_cast<const cpx_osc_info*>(&old)) == CPX_OK);
  REQUIRE(cpx_update(ctx, 0.1f, nullptr) == CPX_OK);
  REQUIRE(cpx_osc_flush(ctx, 10.0f) == CPX_OK);
  CHECK(rx.pump_until([&] { return rx.floats.count("/avatar/parameters/valence") == 1; }));
  // An API 1 host asking for VMC gets the default names (VRM 0.x).
  old.mode = CPX_OSC_VMC;
  CHECK(cpx_osc_open(ctx, reinterpret_cast<const cpx_osc_info*>(&old)) == CPX_OK);
  REQUIRE(cpx_update(ctx, 0.1f, nullptr) == CPX_OK);
  REQUIRE(cpx_osc_flush(ctx, 10.0f) == CPX_OK);
  CHECK(rx.pump_until([&] { return rx.blend.count("Joy") == 1; }));
  old.struct_size = sizeof(osc_info_v1) - 4;
  CHECK(cpx_osc_open(ctx, reinterpret_cast<const cpx_osc_info*>(&old)) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(cpx_last_error(ctx)).find("struct_size") != std::string::npos);
  // Unknown modes and names are refused.
  cpx_osc_info bad = CPX_OSC_INFO_INIT;
  bad.mode = static_cast<cpx_osc_mode>(7);
  CHECK(cpx_osc_open(ctx, &bad) == CPX_ERROR_INVALID_ARGUMENT);
  bad.mode = CPX_OSC_VMC;
  bad.vmc_names = static_cast<cpx_vmc_names>(9);
  CHECK(cpx_osc_open(ctx, &bad) == CPX_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(cpx_last_error(ctx)).find("vmc_names") != std::string::npos);
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
  const test_udp::UnheardPort nobody;
  cpx_context* ctx = make();
  cpx_osc_info osc = CPX_OSC_INFO_INIT;
  osc.host = "127.0.0.1";
  osc.port = nobody.port();
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
