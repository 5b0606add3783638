// circumplex.hpp — a header-only C++17 wrapper over the C ABI (circumplex.h).
//
// RAII and exceptions on the C++ side, nothing else: a cpx::Context owns a cpx_context and
// destroys it; every failing call throws cpx::Error with the result code and the message;
// a cpx::BorrowedFrame releases its frame when it goes out of scope. The threading rules
// are the C ABI's (see circumplex.h): control calls from any thread (serialised inside),
// output readers and frame calls from any thread at any time.
//
//   cpx::Context ctx(cpx::CreateOptions().model("assets/models/default"));
//   ctx.play_circle_walk(0, 0, 0.8f, 4);
//   std::array<float, CPX_ARKIT_COUNT> arkit;
//   for (;;) { ctx.update(1 / 60.f); ctx.outputs(CPX_OUTPUT_ARKIT, arkit); ... }
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "circumplex.h"

namespace cpx {

/// A failed call: the C result code and the library's message.
class Error : public std::runtime_error {
 public:
  Error(cpx_result code, const std::string& message)
      : std::runtime_error(std::string(cpx_result_name(code)) + ": " + message), code_(code) {}
  cpx_result code() const noexcept { return code_; }

 private:
  cpx_result code_;
};

/// Throws Error for any code but CPX_OK, with the message kept for this thread on `ctx`.
inline void check(cpx_result r, const cpx_context* ctx = nullptr) {
  if (r != CPX_OK) throw Error(r, cpx_last_error(ctx));
}

/// Names of the outputs of a kind, in order (static strings of the library).
inline std::vector<std::string> output_names(cpx_output_kind kind) {
  int32_t n = 0;
  check(cpx_output_count(kind, &n));
  std::vector<std::string> names;
  for (int32_t i = 0; i < n; ++i) {
    const char* name = nullptr;
    check(cpx_output_name(kind, i, &name));
    names.emplace_back(name);
  }
  return names;
}

/// Index of a named output; throws Error(CPX_ERROR_UNKNOWN_NAME) for others.
inline int output_index(cpx_output_kind kind, const std::string& name) {
  int32_t i = -1;
  check(cpx_output_index(kind, name.c_str(), &i));
  return i;
}

/// Builder for cpx_create_info.
class CreateOptions {
 public:
  CreateOptions() {
    check(cpx_create_info_init(&info_));  // API 3's fields; this header knows the whole struct
    info_.struct_size = sizeof info_;
  }
  CreateOptions& model(std::string path) {
    path_ = std::move(path);
    has_path_ = true;
    return *this;
  }
  CreateOptions& rig_only(bool on = true) {
    info_.flags = on ? (info_.flags | CPX_CREATE_RIG_ONLY) : (info_.flags & ~CPX_CREATE_RIG_ONLY);
    return *this;
  }
  /// An image identity keeps the image's own detail (CPX_CREATE_KEEP_DETAIL, API 7).
  CreateOptions& keep_detail(bool on = true) {
    info_.flags = on ? (info_.flags | CPX_CREATE_KEEP_DETAIL) : (info_.flags & ~CPX_CREATE_KEEP_DETAIL);
    return *this;
  }
  CreateOptions& frame_size(int32_t pixels) { info_.frame_size = pixels; return *this; }
  CreateOptions& threads(int32_t n) { info_.threads = n; return *this; }
  CreateOptions& half_life(float seconds) { info_.half_life = seconds; return *this; }
  CreateOptions& identity_seed(uint64_t seed) { info_.identity_seed = seed; return *this; }
  /// Where the generator decodes: "cpu" (default), "cuda" or "cuda:N" (API 4).
  CreateOptions& device(std::string name) {
    device_ = std::move(name);
    return *this;
  }
  /// The filled struct; valid while this object lives (it points at the stored path).
  const cpx_create_info& info() {
    info_.model_path = has_path_ ? path_.c_str() : nullptr;
    info_.device = device_.empty() ? nullptr : device_.c_str();
    return info_;
  }

 private:
  cpx_create_info info_{};
  std::string path_, device_;
  bool has_path_ = false;
};

class Context;

/// A frame lent by the context; released when this object dies. Move-only.
class BorrowedFrame {
 public:
  BorrowedFrame() = default;
  BorrowedFrame(BorrowedFrame&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)), frame_(o.frame_) {}
  BorrowedFrame& operator=(BorrowedFrame&& o) noexcept {
    if (this != &o) {
      release();
      ctx_ = std::exchange(o.ctx_, nullptr);
      frame_ = o.frame_;
    }
    return *this;
  }
  BorrowedFrame(const BorrowedFrame&) = delete;
  BorrowedFrame& operator=(const BorrowedFrame&) = delete;
  ~BorrowedFrame() { release(); }

  explicit operator bool() const noexcept { return ctx_ != nullptr; }
  const cpx_frame& info() const noexcept { return frame_; }
  const uint8_t* pixels() const noexcept { return frame_.pixels; }
  /// Gives the frame back now (the destructor does it otherwise).
  void release() noexcept {
    if (ctx_) cpx_release_frame(ctx_, frame_.pixels);
    ctx_ = nullptr;
  }

 private:
  friend class Context;
  BorrowedFrame(cpx_context* ctx, const cpx_frame& frame) : ctx_(ctx), frame_(frame) {}
  cpx_context* ctx_ = nullptr;
  cpx_frame frame_{};
};

/// Owns one cpx_context. Move-only; destroying it destroys the context (borrowed frames
/// must be released first).
class Context {
 public:
  explicit Context(CreateOptions options = CreateOptions()) {
    const cpx_create_info& info = options.info();
    check(cpx_create(&info, &ctx_));
  }
  Context(Context&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
  Context& operator=(Context&& o) noexcept {
    if (this != &o) {
      cpx_destroy(ctx_);
      ctx_ = std::exchange(o.ctx_, nullptr);
    }
    return *this;
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() { cpx_destroy(ctx_); }

  /// The C handle, for calls this wrapper does not cover.
  cpx_context* handle() const noexcept { return ctx_; }

  cpx_context_info info() const {
    cpx_context_info i{};
    i.struct_size = sizeof i;
    call(cpx_get_info(ctx_, &i));
    return i;
  }

  // Control.
  void set_target(float v, float a, float z = 0.0f) { call(cpx_set_target(ctx_, v, a, z)); }
  void set_emotion(const std::string& name, float intensity) { call(cpx_set_emotion(ctx_, name.c_str(), intensity)); }
  void set_half_life(float seconds) { call(cpx_set_half_life(ctx_, seconds)); }
  cpx_affect update(float dt) {
    cpx_affect p{};
    call(cpx_update(ctx_, dt, &p));
    return p;
  }
  void set_identity_seed(uint64_t seed) { call(cpx_set_identity_seed(ctx_, seed)); }
  /// Saves / restores the identity (a visitor's photo encoded once), for this model package.
  void save_identity(const std::string& path) { call(cpx_save_identity(ctx_, path.c_str())); }
  void load_identity(const std::string& path) { call(cpx_load_identity(ctx_, path.c_str())); }
  /// The identity from a photo; returns what was chosen on your behalf (several faces, a face
  /// turned upright, eyes not found), one sentence each.
  std::vector<std::string> set_identity_image(const uint8_t* pixels, int32_t width, int32_t height, int32_t channels, int32_t stride = 0) {
    call(cpx_set_identity_image(ctx_, pixels, width, height, channels, stride));
    std::vector<std::string> notes;
    std::string all = cpx_identity_notes(ctx_);
    for (std::size_t at = 0; !all.empty();) {
      at = all.find('\n');
      notes.push_back(all.substr(0, at));
      all = at == std::string::npos ? std::string() : all.substr(at + 1);
    }
    return notes;
  }
  void play_circle_walk(float theta, float phi, float radius, float period) {
    call(cpx_play_circle_walk(ctx_, theta, phi, radius, period));
  }
  void play_emotion_axis(const std::string& emotion, float intensity, float duration, bool loop = false) {
    call(cpx_play_emotion_axis(ctx_, emotion.c_str(), intensity, duration, loop ? 1 : 0));
  }
  void play_between(const std::string& from, const std::string& to, float intensity, float duration,
                    cpx_between_style style = CPX_BETWEEN_SPHERE, bool loop = false) {
    call(cpx_play_between(ctx_, from.c_str(), to.c_str(), intensity, duration, style, loop ? 1 : 0));
  }
  void play_csv(const std::string& path, bool loop = false) { call(cpx_play_csv(ctx_, path.c_str(), loop ? 1 : 0)); }
  void stop_path() { call(cpx_stop_path(ctx_)); }

  // Readers (any thread).
  /// Fills `out` (at least the kind's count) with the current outputs; no allocation.
  template <std::size_t N>
  void outputs(cpx_output_kind kind, std::array<float, N>& out) const {
    call(cpx_get_outputs(ctx_, kind, out.data(), static_cast<int32_t>(N)));
  }
  std::vector<float> outputs(cpx_output_kind kind) const {
    int32_t n = 0;
    check(cpx_output_count(kind, &n));
    std::vector<float> out(static_cast<std::size_t>(n));
    call(cpx_get_outputs(ctx_, kind, out.data(), n));
    return out;
  }
  cpx_state state() const {
    cpx_state s{};
    s.struct_size = sizeof s;
    call(cpx_get_state(ctx_, &s));
    return s;
  }
  std::string nearest_emotion() const {
    const char* name = nullptr;
    call(cpx_nearest_emotion(ctx_, &name));
    return name;
  }

  // Frames (any thread).
  /// The newest frame's sequence if it is newer than `since`, else 0.
  uint64_t poll_frame(uint64_t since) const {
    int32_t is_new = 0;
    uint64_t latest = 0;
    call(cpx_poll_frame(ctx_, since, &is_new, &latest));
    return is_new ? latest : 0;
  }
  /// Waits until the face asked for by the latest update is finished (API 6); throws
  /// circumplex::Error with CPX_ERROR_TIMEOUT after `timeout_s`. Not for the frame loop.
  void wait_frame(float timeout_s = 10.0f) const { call(cpx_wait_frame(ctx_, timeout_s)); }
  /// Copies the newest frame into `pixels` (resized to fit); false when there is none yet.
  bool copy_frame(std::vector<uint8_t>& pixels, cpx_frame* frame = nullptr) const {
    const cpx_context_info i = info();
    pixels.resize(static_cast<std::size_t>(i.frame_width) * static_cast<std::size_t>(i.frame_height) * 4);
    cpx_frame f{};
    f.struct_size = sizeof f;
    const cpx_result r = cpx_copy_frame(ctx_, pixels.data(), pixels.size(), &f);
    if (r == CPX_ERROR_NO_FRAME) return false;
    call(r);
    if (frame) *frame = f;
    return true;
  }
  /// Borrows the newest frame; an empty BorrowedFrame when there is none yet.
  BorrowedFrame borrow_frame() const {
    cpx_frame f{};
    f.struct_size = sizeof f;
    const cpx_result r = cpx_borrow_frame(ctx_, &f);
    if (r == CPX_ERROR_NO_FRAME) return BorrowedFrame();
    call(r);
    return BorrowedFrame(ctx_, f);
  }

  // Recording.
  void export_path_csv(const std::string& path, float fps) { call(cpx_export_path_csv(ctx_, path.c_str(), fps)); }
  uint64_t export_path_video(const std::string& dir, float fps, int32_t size = 0) {
    uint64_t frames = 0;
    call(cpx_export_path_video(ctx_, dir.c_str(), fps, size, &frames));
    return frames;
  }
  void record_begin(uint32_t max_samples) { call(cpx_record_begin(ctx_, max_samples)); }
  /// Ends the recording, writing it to `csv_path` (empty: discard); returns samples kept.
  uint64_t record_end(const std::string& csv_path) {
    uint64_t kept = 0;
    call(cpx_record_end(ctx_, csv_path.empty() ? nullptr : csv_path.c_str(), &kept, nullptr));
    return kept;
  }

  // OSC.
  void osc_open(const cpx_osc_info& info) { call(cpx_osc_open(ctx_, &info)); }
  void osc_close() { call(cpx_osc_close(ctx_)); }
  cpx_osc_stats osc_stats() const {
    cpx_osc_stats s{};
    s.struct_size = sizeof s;
    call(cpx_osc_get_stats(ctx_, &s));
    return s;
  }
  void osc_flush(float timeout_s) { call(cpx_osc_flush(ctx_, timeout_s)); }

 private:
  void call(cpx_result r) const { check(r, ctx_); }
  cpx_context* ctx_ = nullptr;
};

}  // namespace cpx
