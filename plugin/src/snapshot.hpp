// plugin/src/snapshot.hpp — the rig outputs published by cpx_update, read lock-free.
//
// One writer (cpx_update, serialised by the context's control mutex) and any number of
// readers on other threads (audio, network, OSC sender). A sequence lock: the writer makes
// the counter odd, stores the payload, makes it even again; a reader copies the payload and
// retries when the counter was odd or changed meanwhile. The payload lives in relaxed
// atomic words, so there is no data race in the C++ sense (ThreadSanitizer agrees), and
// neither side ever blocks, allocates or makes a system call.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace circumplex::plugin {

template <class T>
class SeqLock {
  static_assert(std::is_trivially_copyable_v<T>, "the payload is copied as words");
  static constexpr std::size_t kWords = (sizeof(T) + 3) / 4;

 public:
  SeqLock() {
    for (auto& w : words_) w.store(0, std::memory_order_relaxed);
  }

  /// Single writer at a time (the caller serialises writers).
  void publish(const T& value) noexcept {
    std::array<std::uint32_t, kWords> w{};
    std::memcpy(w.data(), &value, sizeof(T));
    const std::uint32_t s = seq_.load(std::memory_order_relaxed);
    seq_.store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    for (std::size_t i = 0; i < kWords; ++i) words_[i].store(w[i], std::memory_order_relaxed);
    seq_.store(s + 2, std::memory_order_release);
  }

  /// Any thread, any number of readers; a consistent copy of one publish().
  T read() const noexcept {
    std::array<std::uint32_t, kWords> w{};
    for (;;) {
      const std::uint32_t s1 = seq_.load(std::memory_order_acquire);
      if (s1 & 1u) continue;  // a publish is in progress (it takes ~100 ns)
      for (std::size_t i = 0; i < kWords; ++i) w[i] = words_[i].load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (seq_.load(std::memory_order_relaxed) == s1) break;
    }
    T value;
    std::memcpy(&value, w.data(), sizeof(T));
    return value;
  }

 private:
  std::atomic<std::uint32_t> seq_{0};
  std::array<std::atomic<std::uint32_t>, kWords> words_;
};

/// What one cpx_update publishes.
struct Outputs {
  float au[17];
  float arkit[52];
  float vrm[18];
  float position[3];
  float target[3];
  float intensity;
  std::int32_t nearest;  // index into Atlas::builtin().emotions()
  std::int32_t playing;
  std::uint64_t update_count;
  double time;
};

}  // namespace circumplex::plugin
