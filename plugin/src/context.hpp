// plugin/src/context.hpp — what a cpx_context is, and the guards every entry point uses.
//
// Locks (never taken in another order): control → osc_mutex; frame_mutex and error_mutex
// alone. Readers of the rig outputs take none (SeqLock).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "circumplex.h"
#include "circumplex/session.hpp"
#include "osc.hpp"
#include "snapshot.hpp"

namespace circumplex::plugin {

constexpr std::uint32_t kMagic = 0x43505843u;  // "CPXC"

/// A failure to report through the C ABI: a result code and a message for people.
class ApiError : public std::runtime_error {
 public:
  ApiError(cpx_result code, const std::string& message) : std::runtime_error(message), code_(code) {}
  cpx_result code() const noexcept { return code_; }

 private:
  cpx_result code_;
};

[[noreturn]] inline void fail(cpx_result code, const std::string& message) { throw ApiError(code, message); }

}  // namespace circumplex::plugin

struct cpx_context {
  std::uint32_t magic = circumplex::plugin::kMagic;

  // Fixed at create.
  std::string model_path;
  int dimensions = 2, model_size = 0, frame_size = 0, threads = 2;
  bool rig_only = false;

  // Control state: guarded by `control`.
  std::mutex control;
  std::unique_ptr<circumplex::Session> session;
  std::shared_ptr<const circumplex::Path> last_path;
  std::uint64_t updates = 0;
  double time = 0.0;

  // Published by cpx_update, read lock-free by any thread.
  circumplex::plugin::SeqLock<circumplex::plugin::Outputs> snapshot;

  // OSC sink: replaced under control + osc_mutex; update reads it under control; stats and
  // flush copy it under osc_mutex.
  std::mutex osc_mutex;
  std::shared_ptr<circumplex::plugin::OscSender> osc;

  // Frames handed out: resized copy of the newest frame, and borrowed frames.
  std::mutex frame_mutex;
  std::shared_ptr<const circumplex::Frame> resized;
  std::uint64_t resized_from = 0;
  std::array<std::shared_ptr<const circumplex::Frame>, CPX_MAX_BORROWS> borrows;

  // Last error message per calling thread.
  mutable std::mutex error_mutex;
  mutable std::unordered_map<std::thread::id, std::string> errors;
  // The notes of the last successful cpx_set_identity_image per calling thread (same mutex).
  mutable std::unordered_map<std::thread::id, std::string> identity_notes;

  ~cpx_context() {
    if (osc) osc.reset();  // stop the sender before the snapshot it reads goes away
  }
};

namespace circumplex::plugin {

/// Renders `path` to video with render_walk (export_video.cpp). Throws on failure.
std::uint64_t export_video(const ModelPackage& package, int threads, const std::vector<float>& identity, const IdentityDetail* detail,
                           const Path& path, double fps, int size, const std::string& out_dir);

}  // namespace circumplex::plugin
