// circumplex/session.hpp — the live engine: cursor → affect point → rig outputs and faces.
//
// A Session owns the cursor controller, the identity, the model's manifold and a generator
// running on its own worker thread. Each update(dt) moves the cursor, recomputes the rig
// outputs (AUs, ARKit-52, VRM) and, when the point or identity changed, asks the worker
// for a new face. Requests never queue: the latest one wins, and the caller never waits for
// the generator. Every frame carries a sequence number and the affect point it shows.
//
// Threads: construct, control (set_*, play, update, outputs) from one owner thread at a
// time. latest_frame() may be called from any thread, concurrently with everything else.
//
//   Session s(ModelPackage::load(dir), SessionOptions{});
//   s.set_target({0.8, 0.5, 0});
//   while (running) { s.update(dt); if (auto f = s.latest_frame(); f && f->sequence != shown) show(*f); }
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "circumplex/atlas.hpp"
#include "circumplex/cursor.hpp"
#include "circumplex/expression.hpp"
#include "circumplex/model_package.hpp"
#include "circumplex/paths.hpp"

namespace circumplex {

/// One generated face.
struct Frame {
  std::vector<std::uint8_t> rgba;  ///< width·height·4 bytes, row-major, top row first
  int width = 0, height = 0;
  std::uint64_t sequence = 0;      ///< 1, 2, 3, … in the order frames were finished
  AffectPoint affect;              ///< the point this face shows
  double generator_ms = 0.0;       ///< time the worker spent decoding it
};

/// What the Session's worker draws faces with and encodes identity images with. The Session
/// makes one from its package (the model's Generator); SessionOptions::wrap_faces may wrap it
/// (a test seam: e.g. a source that is slow on purpose, to show the UI does not wait for it).
/// Called from the worker thread and, for encode, from the owner thread; never both at once.
class FaceSource {
 public:
  virtual ~FaceSource() = default;
  virtual int image_size() const = 0;
  /// One latent → S·S·4 RGBA bytes in `rgba` (resized as needed), with `detail` laid on
  /// when given (identity_detail.hpp).
  virtual void decode(const std::vector<float>& latent, std::vector<std::uint8_t>& rgba, const IdentityDetail* detail) = 0;
  /// An RGB(A) image of any size → the identity latent (see Generator::encode).
  virtual std::vector<float> encode(const std::uint8_t* pixels, int width, int height, int channels) = 0;
  /// An identity image (as encode takes it) and the identity encode gave for it → its detail
  /// layer (see Generator::detail).
  virtual std::shared_ptr<const IdentityDetail> detail(const std::uint8_t* pixels, int width, int height, int channels,
                                                       const std::vector<float>& identity) = 0;
};

/// The cursor's path as update() moved it, captured between Session::begin_capture and
/// end_capture: what a designer records live and renders or saves as a walk.
struct PathCapture {
  std::vector<std::array<float, 4>> samples;  ///< {t, v, a, z}; t in seconds from the capture's start
  std::uint64_t dropped = 0;                  ///< updates that found the buffer full
  /// The samples as keyframes for ScriptedPath: strictly increasing times (repeated times,
  /// from dt = 0, keep the first), points inside the unit ball.
  std::vector<Keyframe> keyframes() const;
};

struct SessionOptions {
  int threads = 2;              ///< LibTorch threads of the generator worker
  double half_life = 0.12;      ///< cursor smoothing, seconds
  std::uint64_t identity_seed = 1;
  bool generate_frames = true;  ///< false: rig outputs only, no worker thread
  std::string device = "cpu";   ///< where the generator runs: cpu, cuda or cuda:N (parse_device)
  /// true: identities from an image (a photo, an identity file that keeps its image) keep the
  /// detail the decoder does not draw (identity_detail.hpp): sharper faces, the person's own
  /// hair and glasses, but the judge reads the expressions a little more weakly (README, "The
  /// detail layer"). false (the default): every face is the decoder's alone.
  bool keep_detail = false;
  /// Optional: receives the model's FaceSource and returns the one the worker uses.
  std::function<std::unique_ptr<FaceSource>(std::unique_ptr<FaceSource>)> wrap_faces;
};

class Session {
 public:
  /// Starts the generator worker. The space (2D/3D) is the model manifold's.
  Session(ModelPackage package, const SessionOptions& options);
  ~Session();  ///< stops and joins the worker
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // ---- control (owner thread) ----------------------------------------------------------
  Space space() const { return cursor_.space(); }
  /// Target of the cursor (clamped to the disk/ball); stops a playing path.
  void set_target(AffectPoint p);
  /// Keeps the target's direction and sets its distance from neutral (0 … 1); at neutral it
  /// stays there. Stops a playing path.
  void set_intensity(double intensity);
  /// Puts the cursor (position and target) at `p` at once, no smoothing; stops a playing path.
  void jump_to(AffectPoint p);
  AffectPoint target() const { return cursor_.target(); }
  double half_life() const { return cursor_.half_life(); }
  /// Target = an atlas emotion's direction at `intensity` (0 … 1); throws for unknown names.
  void set_emotion(const std::string& name, double intensity);
  void set_half_life(double seconds) { cursor_.set_half_life(seconds); }
  /// Identity from the model's prior with a seed.
  void set_identity_seed(std::uint64_t seed);
  /// Identity encoded from an image (RGB or RGBA bytes, any size; prepare_photo in photo.hpp
  /// turns a photo into the image the encoder expects), with its detail layer when
  /// SessionOptions::keep_detail is set.
  void set_identity_image(const std::uint8_t* pixels, int width, int height, int channels);
  /// Identity from a latent (e.g. ModelPackage::load_identity); throws when its size is not
  /// the model's latent size. With `image` (the identity's image, [1, 3, S, S], as an identity
  /// file keeps it) the detail layer is made from it when keep_detail is set, as
  /// set_identity_image does.
  void set_identity(std::vector<float> identity, const torch::Tensor& image = {});
  /// The identity latent in use (what recordings draw and identity files keep).
  const std::vector<float>& identity() const { return identity_; }
  /// The identity's detail layer, or null (keep_detail off, seed and bare latent identities).
  /// Recordings and identity files take it with the latent.
  std::shared_ptr<const IdentityDetail> identity_detail() const { return detail_; }
  /// Whether image identities set from now on keep their detail (starts as
  /// SessionOptions::keep_detail). Off drops the current identity's detail at once; on takes
  /// effect with the next image identity (set the image again to add it now).
  void set_keep_detail(bool on);
  bool keep_detail() const { return keep_detail_; }
  std::uint64_t identity_seed() const { return identity_seed_; }
  /// Plays a path (the cursor target follows it); `loop` repeats it. stop_path() ends it.
  void play(std::shared_ptr<const Path> path, bool loop);
  void stop_path() { path_.reset(); }
  bool playing() const { return static_cast<bool>(path_); }

  /// Advances time by dt seconds: path, cursor, rig outputs, a capture sample and a frame
  /// request if needed. Never blocks on the generator and never allocates for the capture.
  /// Returns the cursor's position.
  AffectPoint update(double dt);

  /// Starts capturing the cursor's position at every update (a capture in progress is
  /// discarded). The buffer for `max_samples` (≥ 1) is reserved here; updates past it are
  /// counted in `dropped`. Throws std::bad_alloc when it cannot be reserved.
  void begin_capture(std::size_t max_samples);
  bool capturing() const { return capturing_; }
  /// The capture so far (empty when none is running).
  const PathCapture& capture() const { return capture_; }
  /// Ends the capture and hands it over; throws Error when none is running.
  PathCapture end_capture();

  AffectPoint position() const { return cursor_.position(); }
  AffectPoint velocity() const { return cursor_.velocity(); }
  const AuVector& action_units() const { return aus_; }
  const ArkitVector& arkit() const { return arkit_; }
  const VrmVector& vrm() const { return vrm_; }
  const Emotion& nearest() const { return *nearest_; }
  const ModelPackage& package() const { return package_; }

  // ---- frames (any thread) -------------------------------------------------------------
  /// The newest finished frame, or nullptr before the first. The frame is immutable.
  std::shared_ptr<const Frame> latest_frame() const;
  /// Frames requested so far (a request replaces one the worker has not started).
  std::uint64_t requests() const { return requests_.load(); }
  /// Blocks until a frame showing the latest request exists or `timeout_s` passes; for
  /// tools and tests that need a settled frame (never on a real-time path).
  bool wait_for_latest(double timeout_s) const;

 private:
  void request_frame();
  void worker();

  ModelPackage package_;
  CursorController cursor_;
  const ExpressionModel& expression_;
  std::shared_ptr<const Path> path_;
  bool loop_ = false;
  double path_time_ = 0.0;
  bool capturing_ = false;
  double capture_time_ = 0.0;
  PathCapture capture_;
  std::uint64_t identity_seed_ = 1;
  std::vector<float> identity_, latent_;
  std::shared_ptr<const IdentityDetail> detail_;
  bool keep_detail_ = false;
  AffectPoint requested_affect_{1e9, 1e9, 1e9};
  bool identity_changed_ = true;
  AuVector aus_{};
  ArkitVector arkit_{};
  VrmVector vrm_{};
  const Emotion* nearest_ = nullptr;

  // The generator is used by the worker (decode) and by set_identity_image (encode).
  std::unique_ptr<FaceSource> generator_;
  std::mutex generator_mutex_;
  // Worker state, guarded by mutex_.
  mutable std::mutex mutex_;
  mutable std::condition_variable wake_, done_;
  bool stop_ = false, pending_ = false;
  std::vector<float> pending_latent_;
  std::shared_ptr<const IdentityDetail> pending_detail_;
  AffectPoint pending_affect_;
  std::uint64_t pending_id_ = 0, finished_id_ = 0;
  std::shared_ptr<const Frame> latest_;
  std::atomic<std::uint64_t> requests_{0};
  std::thread thread_;
};

}  // namespace circumplex
