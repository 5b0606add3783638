#include "osc.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string_view>
#include <utility>
#include <lo/lo.h>

#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"
#include "circumplex/expression.hpp"

namespace circumplex::plugin {

namespace {
const char* const kAffectNames[] = {"valence", "arousal", "z"};
const char* const kKindNames[] = {"au", "arkit", "vrm", "affect"};

const char* output_name(int kind, int i) {
  switch (kind) {
    case 0: return au_key(i);
    case 1: return arkit_names()[static_cast<std::size_t>(i)];
    case 2: return vrm_names()[static_cast<std::size_t>(i)];
    default: return kAffectNames[i];
  }
}

// The VRM 0.x preset of a VRM 1.0 expression; nullptr where 0.x has none ("surprised").
const char* vrm0_name(std::string_view vrm1) {
  static const std::pair<const char*, const char*> kMap[] = {
      {"happy", "Joy"},       {"angry", "Angry"},       {"sad", "Sorrow"},        {"relaxed", "Fun"},         {"aa", "A"},
      {"ih", "I"},            {"ou", "U"},              {"ee", "E"},              {"oh", "O"},                {"blink", "Blink"},
      {"blinkLeft", "Blink_L"}, {"blinkRight", "Blink_R"}, {"lookUp", "LookUp"}, {"lookDown", "LookDown"}, {"lookLeft", "LookLeft"},
      {"lookRight", "LookRight"}, {"neutral", "Neutral"}};
  for (const auto& [from, to] : kMap) {
    if (vrm1 == from) return to;
  }
  return nullptr;
}

// VRChat's synced budget (CPX_OSC_VRCHAT_BUDGET): four floats and the emotion's index.
const char* const kBudgetFloats[] = {"/avatar/parameters/CircumplexValence", "/avatar/parameters/CircumplexArousal",
                                     "/avatar/parameters/CircumplexZ", "/avatar/parameters/CircumplexIntensity"};
const char* const kBudgetEmotion = "/avatar/parameters/CircumplexEmotion";

float output_value(const Outputs& o, int kind, int i) {
  switch (kind) {
    case 0: return o.au[i];
    case 1: return o.arkit[i];
    case 2: return o.vrm[i];
    default: return o.position[i];
  }
}
}  // namespace

OscSender::OscSender(OscConfig config, const SeqLock<Outputs>& snapshot) : config_(std::move(config)), snapshot_(snapshot) {
  switch (config_.mode) {
    case OscMode::VRChat:
    case OscMode::Generic: {
      const bool chosen[4] = {config_.au, config_.arkit, config_.vrm, config_.affect};
      const int counts[4] = {kAuCount, kArkitCount, kVrmCount, 3};
      for (int kind = 0; kind < 4; ++kind) {
        if (!chosen[kind]) continue;
        for (int i = 0; i < counts[kind]; ++i) {
          std::string address = config_.mode == OscMode::VRChat ? std::string("/avatar/parameters/") + output_name(kind, i)
                                                                : config_.prefix + "/" + kKindNames[kind] + "/" + output_name(kind, i);
          targets_.push_back({std::move(address), kind, i});
        }
      }
      if (config_.mode == OscMode::Generic && config_.affect) emotion_address_ = config_.prefix + "/emotion";
      break;
    }
    case OscMode::VRChatBudget:
      break;  // fixed addresses (send_budget)
    case OscMode::Vmc:
      if (config_.vmc_names == VmcNames::Arkit) {
        for (int i = 0; i < kArkitCount; ++i) targets_.push_back({output_name(1, i), 1, i});
      } else {
        for (int i = 0; i < kVrmCount; ++i) {
          const char* name = config_.vmc_names == VmcNames::Vrm1 ? output_name(2, i) : vrm0_name(output_name(2, i));
          if (name) targets_.push_back({name, 2, i});
        }
      }
      break;
  }
  const std::string port = std::to_string(config_.port);
  lo_address address = lo_address_new(config_.host.c_str(), port.c_str());
  if (!address) throw Error(ErrorKind::Io, "OSC: cannot make an address for " + config_.host + ":" + port);
  address_ = address;
  if (sem_init(&wake_, 0, 0) != 0) {
    lo_address_free(address);
    throw Error(ErrorKind::Internal, "OSC: sem_init failed");
  }
  try {
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    sem_destroy(&wake_);
    lo_address_free(address);
    throw;
  }
}

OscSender::~OscSender() {
  stop_.store(true);
  sem_post(&wake_);
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard<std::mutex> lock(flush_mutex_);
    closed_ = true;  // wake flush() waiters: nothing more will be sent
  }
  flushed_.notify_all();
  sem_destroy(&wake_);
  lo_address_free(static_cast<lo_address>(address_));
}

void OscSender::signal(std::uint64_t update_count) noexcept {
  signalled_.store(update_count, std::memory_order_release);
  sem_post(&wake_);
}

bool OscSender::flush(double timeout_s) {
  const std::uint64_t want = signalled_.load(std::memory_order_acquire);
  std::unique_lock<std::mutex> lock(flush_mutex_);
  return flushed_.wait_for(lock, std::chrono::duration<double>(timeout_s), [&] { return closed_ || sent_.load() >= want; }) &&
         sent_.load() >= want;
}

OscCounters OscSender::counters() const {
  return {updates_sent_.load(), messages_sent_.load(), send_errors_.load()};
}

void OscSender::run() {
  std::uint64_t last_sent = 0;
  bool sent_any = false;
  while (true) {
    while (sem_wait(&wake_) != 0 && errno == EINTR) {
    }
    while (sem_trywait(&wake_) == 0) {  // coalesce: only the newest state matters
    }
    if (stop_.load()) return;
    const std::uint64_t wanted = signalled_.load(std::memory_order_acquire);
    const Outputs o = snapshot_.read();
    if (!sent_any || o.update_count != last_sent) {  // an update already sent is not sent again
      send_all(o);
      updates_sent_.fetch_add(1);
      last_sent = o.update_count;
      sent_any = true;
    }
    {
      std::lock_guard<std::mutex> lock(flush_mutex_);
      sent_.store(std::max(wanted, o.update_count));
    }
    flushed_.notify_all();
  }
}

void OscSender::count(int result) {
  if (result < 0) {
    send_errors_.fetch_add(1);
  } else {
    messages_sent_.fetch_add(1);
  }
}

void OscSender::send_all(const Outputs& o) {
  if (config_.mode == OscMode::VRChatBudget) return send_budget(o);
  if (config_.mode == OscMode::Vmc) return send_vmc(o);
  const auto address = static_cast<lo_address>(address_);
  auto send = [&](const std::string& path, lo_message m) {
    if (!m) {
      send_errors_.fetch_add(1);
      return;
    }
    count(lo_send_message(address, path.c_str(), m));
    lo_message_free(m);
  };
  for (const Target& t : targets_) {
    lo_message m = lo_message_new();
    if (m) lo_message_add_float(m, output_value(o, t.kind, t.index));
    send(t.address, m);
  }
  if (!emotion_address_.empty()) {
    const auto& emotions = Atlas::builtin().emotions();
    const std::size_t i = static_cast<std::size_t>(o.nearest);
    lo_message m = lo_message_new();
    if (m) lo_message_add_string(m, i < emotions.size() ? emotions[i].name.c_str() : "");
    send(emotion_address_, m);
  }
}

void OscSender::send_budget(const Outputs& o) {
  const auto address = static_cast<lo_address>(address_);
  const float values[4] = {o.position[0], o.position[1], o.position[2], o.intensity};
  for (int i = 0; i < 4; ++i) count(lo_send(address, kBudgetFloats[i], "f", values[i]));
  count(lo_send(address, kBudgetEmotion, "i", static_cast<std::int32_t>(o.nearest)));
}

void OscSender::send_vmc(const Outputs& o) {
  // One bundle, so a receiver applies every value of this update together.
  lo_bundle bundle = lo_bundle_new(LO_TT_IMMEDIATE);
  if (!bundle) {
    send_errors_.fetch_add(1);
    return;
  }
  bool ok = true;
  auto add = [&](const char* path, lo_message m) {
    if (!m || lo_bundle_add_message(bundle, path, m) != 0) {
      if (m) lo_message_free(m);
      ok = false;
    }
  };
  lo_message m = lo_message_new();
  if (m) lo_message_add_int32(m, 1);
  add("/VMC/Ext/OK", m);
  m = lo_message_new();
  if (m) lo_message_add_float(m, static_cast<float>(o.time));
  add("/VMC/Ext/T", m);
  for (const Target& t : targets_) {
    m = lo_message_new();
    if (m) {
      lo_message_add_string(m, t.address.c_str());
      lo_message_add_float(m, output_value(o, t.kind, t.index));
    }
    add("/VMC/Ext/Blend/Val", m);
  }
  add("/VMC/Ext/Blend/Apply", lo_message_new());
  if (ok) {
    count(lo_send_bundle(static_cast<lo_address>(address_), bundle));
  } else {
    send_errors_.fetch_add(1);
  }
  lo_bundle_free_recursive(bundle);
}

}  // namespace circumplex::plugin
