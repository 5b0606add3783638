#include "delayed_generator.hpp"

#include <chrono>

namespace circumplex::renderer {

DelayedGenerator::DelayedGenerator(const ModelPackage& package, int threads, double delay_ms)
    : generator_(package, threads), delay_ms_(delay_ms) {
  thread_ = std::thread([this] { worker(); });
}

DelayedGenerator::~DelayedGenerator() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DelayedGenerator::request(const std::vector<float>& latent, AffectPoint affect) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    latent_ = latent;
    affect_ = affect;
    pending_ = true;
    ++pending_id_;
  }
  wake_.notify_one();
}

std::shared_ptr<const Frame> DelayedGenerator::latest() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return latest_;
}

bool DelayedGenerator::wait_for_latest(double timeout_s) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return done_.wait_for(lock, std::chrono::duration<double>(timeout_s), [this] { return finished_id_ == pending_id_; });
}

void DelayedGenerator::worker() {
  std::vector<float> latent;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stop_ || pending_; });
    if (stop_) return;
    latent.swap(latent_);
    const AffectPoint affect = affect_;
    const std::uint64_t id = pending_id_;
    pending_ = false;
    lock.unlock();
    const auto t0 = std::chrono::steady_clock::now();
    auto frame = std::make_shared<Frame>();
    bool ok = true;
    try {
      generator_.decode(latent, frame->rgba);
    } catch (const std::exception&) {
      ok = false;
    }
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(delay_ms_));
    frame->width = frame->height = generator_.image_size();
    frame->affect = affect;
    frame->generator_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    lock.lock();
    if (ok) {
      frame->sequence = ++sequence_;
      latest_ = std::move(frame);
    }
    finished_id_ = id;
    done_.notify_all();
  }
}

}  // namespace circumplex::renderer
