// renderer/src/delayed_generator.hpp — a test seam: a latest-wins generator worker that
// spends an extra, fixed time on every face (ViewerOptions::generator_delay_ms).
//
// It behaves like Session's own worker (requests never queue, the caller never waits) but
// lets a test make the generator slow on purpose and check that the UI's frame time does
// not follow. The viewer uses it instead of the Session's worker only when a delay is set.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "circumplex/session.hpp"

namespace circumplex::renderer {

class DelayedGenerator {
 public:
  /// Loads its own Generator from `package` and starts the worker.
  DelayedGenerator(const ModelPackage& package, int threads, double delay_ms);
  ~DelayedGenerator();  ///< stops and joins the worker
  DelayedGenerator(const DelayedGenerator&) = delete;
  DelayedGenerator& operator=(const DelayedGenerator&) = delete;

  /// Asks for the face of `latent` (showing `affect`); replaces a request not yet started.
  void request(const std::vector<float>& latent, AffectPoint affect);
  /// The newest finished frame, or nullptr.
  std::shared_ptr<const Frame> latest() const;
  /// Blocks until the latest request is finished or `timeout_s` passes.
  bool wait_for_latest(double timeout_s) const;

 private:
  void worker();

  Generator generator_;
  double delay_ms_;
  mutable std::mutex mutex_;
  mutable std::condition_variable wake_, done_;
  bool stop_ = false, pending_ = false;
  std::vector<float> latent_;
  AffectPoint affect_;
  std::uint64_t pending_id_ = 0, finished_id_ = 0, sequence_ = 0;
  std::shared_ptr<const Frame> latest_;
  std::thread thread_;
};

}  // namespace circumplex::renderer
