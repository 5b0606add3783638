#include "osc.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
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
  const bool chosen[4] = {config_.au, config_.arkit, config_.vrm, config_.affect};
  const int counts[4] = {kAuCount, kArkitCount, kVrmCount, 3};
  for (int kind = 0; kind < 4; ++kind) {
    if (!chosen[kind]) continue;
    for (int i = 0; i < counts[kind]; ++i) {
      std::string address = config_.vrchat ? std::string("/avatar/parameters/") + output_name(kind, i)
                                           : config_.prefix + "/" + kKindNames[kind] + "/" + output_name(kind, i);
      targets_.push_back({std::move(address), kind, i});
    }
  }
  if (!config_.vrchat && config_.affect) emotion_address_ = config_.prefix + "/emotion";
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

void OscSender::send_all(const Outputs& o) {
  const auto address = static_cast<lo_address>(address_);
  auto send = [&](const std::string& path, lo_message m) {
    if (!m) {
      send_errors_.fetch_add(1);
      return;
    }
    if (lo_send_message(address, path.c_str(), m) < 0) {
      send_errors_.fetch_add(1);
    } else {
      messages_sent_.fetch_add(1);
    }
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

}  // namespace circumplex::plugin
