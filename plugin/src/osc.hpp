// plugin/src/osc.hpp — the OSC sink: a sender thread that sends the published rig outputs
// over UDP with liblo.
//
// cpx_update calls signal() only: an atomic store and a sem_post (no allocation, no lock,
// no wait), so a slow receiver or a full socket never stalls the update. The sender wakes,
// reads the newest snapshot (lock-free) and sends it in the mode's shape (circumplex.h's
// cpx_osc_mode: one message per value, VRChat's synced budget, or one VMC bundle); if updates
// arrive faster than it sends, the ones in between are skipped (the newest state goes out).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <semaphore.h>
#include <string>
#include <thread>
#include <vector>

#include "snapshot.hpp"

namespace circumplex::plugin {

enum class OscMode { VRChat, Generic, VRChatBudget, Vmc };  // cpx_osc_mode
enum class VmcNames { Vrm0, Vrm1, Arkit };                  // cpx_vmc_names

struct OscConfig {
  OscMode mode = OscMode::VRChat;
  VmcNames vmc_names = VmcNames::Vrm0;  // Vmc mode
  std::string host, prefix;    // prefix: generic mode, starts with '/'
  int port = 9000;
  bool au = false, arkit = true, vrm = false, affect = false;
};

struct OscCounters {
  std::uint64_t updates_sent = 0, messages_sent = 0, send_errors = 0;
};

class OscSender {
 public:
  /// Builds the addresses and starts the thread; throws circumplex::Error on a bad config.
  OscSender(OscConfig config, const SeqLock<Outputs>& snapshot);
  ~OscSender();  ///< stops and joins the thread
  OscSender(const OscSender&) = delete;
  OscSender& operator=(const OscSender&) = delete;

  /// Tells the sender that update `update_count` was published. Real-time safe.
  void signal(std::uint64_t update_count) noexcept;
  /// Waits until an update ≥ the last signalled one has been sent, or `timeout_s` passes.
  bool flush(double timeout_s);
  OscCounters counters() const;

 private:
  void run();
  void send_all(const Outputs& o);
  void send_budget(const Outputs& o);
  void send_vmc(const Outputs& o);
  void count(int result);  // a liblo send's result into the counters

  struct Target {
    std::string address;  // OSC address, or the blendshape name in VMC mode
    int kind;   // 0 AU, 1 ARKit, 2 VRM, 3 affect
    int index;
  };

  OscConfig config_;
  const SeqLock<Outputs>& snapshot_;
  std::vector<Target> targets_;
  std::string emotion_address_;  // generic mode with affect: <prefix>/emotion
  void* address_ = nullptr;      // lo_address (kept opaque here)
  sem_t wake_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> signalled_{0}, sent_{0};
  std::atomic<std::uint64_t> updates_sent_{0}, messages_sent_{0}, send_errors_{0};
  std::mutex flush_mutex_;
  std::condition_variable flushed_;
  bool closed_ = false;  // guarded by flush_mutex_
  std::thread thread_;
};

}  // namespace circumplex::plugin
