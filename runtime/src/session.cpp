#include "circumplex/session.hpp"

#include <chrono>
#include <cmath>
#include <string>
#include <utility>

#include "circumplex/error.hpp"

namespace circumplex {
namespace {

// The model's own generator as a FaceSource.
class ModelFaces final : public FaceSource {
 public:
  ModelFaces(const ModelPackage& package, int threads, const std::string& device) : generator_(package, threads, device) {}
  int image_size() const override { return generator_.image_size(); }
  void decode(const std::vector<float>& latent, std::vector<std::uint8_t>& rgba, const IdentityDetail* detail) override {
    generator_.decode(latent, rgba, detail);
  }
  std::vector<float> encode(const std::uint8_t* pixels, int width, int height, int channels) override {
    return generator_.encode(pixels, width, height, channels);
  }
  std::shared_ptr<const IdentityDetail> detail(const std::uint8_t* pixels, int width, int height, int channels,
                                               const std::vector<float>& identity) override {
    return generator_.detail(pixels, width, height, channels, identity);
  }

 private:
  Generator generator_;
};

// [1, 3, S, S] float RGB in [0, 1] → [S, S, 3] bytes.
torch::Tensor image_bytes(const torch::Tensor& image) {
  if (image.dim() != 4 || image.size(0) != 1 || image.size(1) != 3) {
    throw Error(ErrorKind::InvalidArgument, "an identity image must be [1, 3, S, S], not " + c10::str(image.sizes()));
  }
  return image[0].permute({1, 2, 0}).mul(255.0f).round().clamp(0, 255).to(torch::kCPU, torch::kUInt8).contiguous();
}

}  // namespace

Session::Session(ModelPackage package, const SessionOptions& options)
    : package_(std::move(package)), cursor_(package_.manifold().space(), options.half_life),
      expression_(ExpressionModel::builtin()), keep_detail_(options.keep_detail) {
  nearest_ = &Atlas::builtin().nearest({}, space());
  if (options.generate_frames) {
    generator_ = std::make_unique<ModelFaces>(package_, options.threads, options.device);
    if (options.wrap_faces) generator_ = options.wrap_faces(std::move(generator_));
    if (!generator_) throw Error(ErrorKind::InvalidArgument, "SessionOptions::wrap_faces returned no face source");
    thread_ = std::thread([this] { worker(); });
  }
  set_identity_seed(options.identity_seed);
  update(0.0);
}

Session::~Session() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Session::set_target(AffectPoint p) {
  path_.reset();
  cursor_.set_target(p);
}

void Session::set_intensity(double intensity) {
  path_.reset();
  cursor_.set_intensity(intensity);
}

void Session::jump_to(AffectPoint p) {
  path_.reset();
  cursor_.jump_to(p);
}

void Session::set_emotion(const std::string& name, double intensity) {
  const Atlas& atlas = Atlas::builtin();
  set_target(atlas.at_intensity(atlas.find(name), intensity, space()));
}

void Session::set_identity_seed(std::uint64_t seed) {
  identity_seed_ = seed;
  identity_ = package_.identity_from_seed(seed);
  detail_.reset();
  identity_changed_ = true;
}

void Session::set_identity_image(const std::uint8_t* pixels, int width, int height, int channels) {
  if (!generator_) throw Error(ErrorKind::InvalidArgument, "this session generates no frames, so it cannot encode an identity image");
  std::lock_guard<std::mutex> lock(generator_mutex_);
  std::vector<float> identity = generator_->encode(pixels, width, height, channels);
  std::shared_ptr<const IdentityDetail> detail;
  if (keep_detail_) detail = generator_->detail(pixels, width, height, channels, identity);
  identity_ = std::move(identity);
  detail_ = std::move(detail);
  identity_changed_ = true;
}

void Session::set_keep_detail(bool on) {
  keep_detail_ = on;
  if (!on && detail_) {
    detail_.reset();
    identity_changed_ = true;
  }
}

void Session::set_identity(std::vector<float> identity, const torch::Tensor& image) {
  if (identity.size() != identity_.size()) {
    throw Error(ErrorKind::InvalidArgument, "an identity has " + std::to_string(identity_.size()) + " values for this model, not " +
                                                std::to_string(identity.size()));
  }
  std::shared_ptr<const IdentityDetail> detail;
  if (image.defined() && keep_detail_ && generator_) {
    // The file keeps the image as the encoder read it; back to the bytes it came from.
    const torch::Tensor bytes = image_bytes(image);
    std::lock_guard<std::mutex> lock(generator_mutex_);
    detail = generator_->detail(bytes.data_ptr<std::uint8_t>(), static_cast<int>(bytes.size(1)), static_cast<int>(bytes.size(0)), 3, identity);
  }
  identity_ = std::move(identity);
  detail_ = std::move(detail);
  identity_changed_ = true;
}

void Session::play(std::shared_ptr<const Path> path, bool loop) {
  if (!path) throw Error(ErrorKind::InvalidArgument, "path must not be null");
  path_ = std::move(path);
  loop_ = loop;
  path_time_ = 0.0;
  cursor_.set_target(path_->at(0.0));
}

AffectPoint Session::update(double dt) {
  require_range(dt, 0.0, 10.0, "time step dt (seconds)");
  if (path_) {
    path_time_ += dt;
    if (path_time_ > path_->duration()) {
      if (loop_ || path_->periodic()) {
        path_time_ = std::fmod(path_time_, path_->duration());
      } else {
        cursor_.set_target(path_->at(path_->duration()));
        path_.reset();
      }
    }
    if (path_) cursor_.set_target(path_->at(path_time_));
  }
  const AffectPoint p = cursor_.update(dt);
  if (capturing_) {
    capture_time_ += dt;
    auto& samples = capture_.samples;
    if (samples.size() < samples.capacity()) {
      samples.push_back({static_cast<float>(capture_time_), static_cast<float>(p.v), static_cast<float>(p.a), static_cast<float>(p.z)});
    } else {
      ++capture_.dropped;
    }
  }
  aus_ = expression_.action_units(p, space());
  arkit_ = expression_.arkit(aus_);
  vrm_ = expression_.vrm(aus_);
  nearest_ = &Atlas::builtin().nearest(p, space());
  if (generator_ && (identity_changed_ || distance(p, requested_affect_) > 1e-4)) request_frame();
  return p;
}

void Session::begin_capture(std::size_t max_samples) {
  if (max_samples < 1) throw Error(ErrorKind::InvalidArgument, "a path capture needs room for at least 1 sample");
  PathCapture fresh;
  fresh.samples.reserve(max_samples);
  capture_ = std::move(fresh);
  capture_time_ = 0.0;
  capturing_ = true;
}

PathCapture Session::end_capture() {
  if (!capturing_) throw Error(ErrorKind::InvalidArgument, "no path capture in progress: begin_capture first");
  capturing_ = false;
  return std::exchange(capture_, PathCapture{});
}

std::vector<Keyframe> PathCapture::keyframes() const {
  std::vector<Keyframe> keys;
  keys.reserve(samples.size());
  for (const auto& s : samples) {
    if (!keys.empty() && !(s[0] > keys.back().t)) continue;
    keys.push_back({s[0], clamp_to_unit({s[1], s[2], s[3]}, Space::Ball)});
  }
  return keys;
}

void Session::request_frame() {
  const AffectPoint p = cursor_.position();
  package_.manifold().compose_into(identity_.data(), p, latent_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_latent_.swap(latent_);
    pending_detail_ = detail_;
    pending_affect_ = p;
    pending_ = true;
    ++pending_id_;
  }
  wake_.notify_one();
  requested_affect_ = p;
  identity_changed_ = false;
  ++requests_;
}

std::shared_ptr<const Frame> Session::latest_frame() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return latest_;
}

bool Session::wait_for_latest(double timeout_s) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return done_.wait_for(lock, std::chrono::duration<double>(timeout_s), [this] { return finished_id_ == pending_id_; });
}

void Session::worker() {
  std::vector<float> latent;
  std::vector<std::uint8_t> rgba;
  std::uint64_t sequence = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stop_ || pending_; });
    if (stop_) return;
    latent.swap(pending_latent_);
    const std::shared_ptr<const IdentityDetail> detail = pending_detail_;
    const AffectPoint affect = pending_affect_;
    const std::uint64_t id = pending_id_;
    pending_ = false;
    // Decode with the lock held only for the generator's own use: requests may still
    // arrive (they replace pending_), and readers take latest_ under the same mutex briefly.
    lock.unlock();
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<Frame> frame;
    try {
      std::lock_guard<std::mutex> gen_lock(generator_mutex_);
      generator_->decode(latent, rgba, detail.get());
      frame = std::make_unique<Frame>();
      frame->rgba = rgba;
      frame->width = frame->height = generator_->image_size();
      frame->affect = affect;
      frame->generator_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    } catch (const std::exception&) {
      frame.reset();  // a failed decode publishes nothing; the next request tries again
    }
    lock.lock();
    if (frame) {
      frame->sequence = ++sequence;
      latest_ = std::move(frame);
    }
    finished_id_ = id;
    done_.notify_all();
  }
}

}  // namespace circumplex
