// circumplex/renderer/viewer.hpp — the real-time viewer behind `circumplex view`.
//
// One screen, five panels over a Session (runtime/session.hpp):
//   Face        the generated face, large, smoothly scaled (FacePass), with a performance
//               overlay: generator ms, upload ms, frame ms, fps, face latency in frames.
//   Circumplex  the valence × arousal disk: every atlas emotion as a named dot (compound
//               names on hover), the cursor with a fading trail and an intensity ring.
//               Click or drag sets the target, the wheel changes intensity.
//   3D (C2A2)   the atlas in (v, a, z), rotated by dragging, the cursor, a z control
//               (disabled, with a note, when the model is 2D).
//   Readouts    v, a, z, intensity, the nearest emotion, the 17 AU bars, the top ARKit weights.
//   Controls / Record   identity (seed, random, previous/next, an image file), smoothing,
//               snap to an emotion; circle-walk or live-path recordings (MP4 + PNGs + CSV).
// Keys: 1–7 the basic emotions (AffectNet's order), 0 neutral, F12 screenshot, Ctrl+Q quit.
// A gamepad (GLFW's gamepad mapping, hot-plugged): left stick moves the cursor, triggers
// move z, A/B/X/Y and the shoulders snap to emotions, Start toggles live recording.
//
// Windowed, the viewer draws to a GLFW window's swapchain. Headless, the same UI is drawn
// into offscreen images with no window system at all (tests, CI, servers); input then comes
// from mouse()/scroll()/key(), and capture() reads a frame back.
//
//   ViewerOptions opt;  opt.headless = true;  opt.width = 640;  opt.height = 360;
//   Viewer viewer(opt, hooks);                  // model, Vulkan, ImGui: all set up
//   viewer.settle(10.0);                        // the face for the cursor exists
//   Rgba shot = viewer.capture();               // one frame, read back
//   // ~Viewer waits for the GPU and shuts everything down in order
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "circumplex/affect.hpp"
#include "circumplex/paths.hpp"

namespace circumplex {
class ModelPackage;  // model_package.hpp (LibTorch): this header does not need its insides
class IdentityDetail;  // identity_detail.hpp (LibTorch), likewise
}

namespace circumplex::renderer {

/// An RGBA8 picture in memory, top row first.
struct Rgba {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  ///< width·height·4 bytes
};

/// A recording the Record panel asks for (rendered by ViewerHooks::record, off the UI thread).
struct RecordRequest {
  bool live_path = false;          ///< false: the circle walk (θ, φ, r); true: `keys`
  double theta = 0.0, phi = 0.0, radius = 0.8, seconds = 4.0, fps = 30.0;
  std::vector<Keyframe> keys;      ///< the live cursor's (t, v, a, z) samples, t from 0
  std::string out_dir;             ///< folder for video, frames/, path.csv, contact sheet
  std::shared_ptr<const ModelPackage> package;  ///< the package the live session draws with (not read from disk again)
  std::vector<float> identity;     ///< the identity latent the live session draws
  std::shared_ptr<const IdentityDetail> detail;  ///< its detail layer (identity_detail.hpp), or null
};

/// Services the viewer borrows from its host, so the renderer needs no image codecs
/// (the CLI passes OpenCV-based ones). Any may be empty: that feature is then off.
struct ViewerHooks {
  /// Writes a PNG (creating folders); throws circumplex::Error on failure.
  std::function<void(const std::string& path, const Rgba& image)> write_png;
  /// Reads an image file as RGBA; throws circumplex::Error naming the file.
  std::function<Rgba(const std::string& path)> load_image;
  /// Renders a recording frame by frame; returns a one-line summary of what it wrote.
  std::function<std::string(const RecordRequest& request)> record;
};

/// How the viewer starts. Defaults give the windowed tool at 1280×720.
struct ViewerOptions {
  std::string model;                   ///< package folder; "" → ModelPackage::default_path()
  std::optional<AffectPoint> affect;   ///< start point (the cursor starts there, no glide)
  std::string emotion;                 ///< or start at this emotion…
  double intensity = 0.85;             ///< …at this radius; also what snapping uses
  int width = 1280, height = 720;      ///< window or offscreen size in pixels
  bool headless = false;               ///< no window system: offscreen images
  int frames = 0;                      ///< stop after N frames (0: until closed; headless: 3)
  std::string screenshot;              ///< headless: last frame as PNG; windowed: where F12 writes
  std::string script;                  ///< CSV t,v,a[,z] the cursor's target follows (reproducible runs)
  int gpu = -1;                        ///< Vulkan device index; −1 picks discrete, integrated, then CPU
  bool validation = false;             ///< Vulkan validation layer; errors make run() return 1
  int threads = 1;                     ///< LibTorch threads of the generator
  std::string device = "cpu";          ///< where the generator decodes: cpu, cuda or cuda:N (parse_device)
  std::uint64_t identity_seed = 1;     ///< identity from the model's prior
  std::string identity_image;          ///< a photo whose face becomes the identity at start (photo.hpp); without a face: a notice, and the seed's identity
  bool keep_detail = false;            ///< photo identities keep their detail layer (SessionOptions::keep_detail)
  double half_life = 0.12;             ///< cursor smoothing, seconds
  double fixed_dt = 0.0;               ///< seconds per frame; 0: the wall clock (headless: 1/60)
  double generator_delay_ms = 0.0;     ///< testing: extra time the generator spends per face
  std::string record_dir = "out/record";  ///< default folder of the Record panel
  bool quiet = false;                  ///< no progress lines on stdout (errors still on stderr)
};

/// What the viewer measured (milliseconds unless named otherwise).
struct ViewerStats {
  std::size_t frames = 0;              ///< frames drawn
  double frame_ms_p50 = 0, frame_ms_p99 = 0, frame_ms_mean = 0;  ///< time between frame starts
  double generator_ms_mean = 0;        ///< the worker's time per face
  double upload_ms_mean = 0;           ///< CPU time per face upload (staging copy + commands)
  std::size_t faces_shown = 0;         ///< new faces uploaded
  std::string face_upload;             ///< how faces reach the GPU and why (interop_decision.hpp)
  double latency_frames_mean = 0;      ///< UI frames from a cursor position to its face on screen
  int latency_frames_max = 0;
};

/// Where things are on screen, in framebuffer pixels (x right, y down).
struct ViewerLayout {
  float face_x = 0, face_y = 0, face_w = 0, face_h = 0;  ///< the face picture
  float pad_cx = 0, pad_cy = 0, pad_radius = 0;          ///< the pad's unit disk
  float record_x = 0, record_y = 0, record_w = 0, record_h = 0;  ///< the Record panel's button
  float detail_x = 0, detail_y = 0, detail_w = 0, detail_h = 0;  ///< the "keep the image's detail" box
  /// Pixel of an affect point on the pad (valence right, arousal up).
  void pad_pixel(AffectPoint p, float& x, float& y) const {
    x = pad_cx + static_cast<float>(p.v) * pad_radius;
    y = pad_cy - static_cast<float>(p.a) * pad_radius;
  }
};

class Viewer {
 public:
  /// Loads the model (a missing or corrupt one falls back to the default, with a notice in
  /// the UI and on stderr), opens the window or offscreen target, and sets up Vulkan and
  /// ImGui. Throws circumplex::Error with a clear message when there is no model at all,
  /// no display (windowed) or no Vulkan device (VulkanUnavailable).
  explicit Viewer(const ViewerOptions& options, ViewerHooks hooks = {});
  ~Viewer();  ///< waits for the GPU and any recording, then shuts down in reverse order
  Viewer(const Viewer&) = delete;
  Viewer& operator=(const Viewer&) = delete;

  /// Runs until the window closes, Ctrl+Q, or `frames` frames; writes the headless
  /// screenshot; prints a summary. Returns the exit code: 0, or 1 after validation errors.
  int run();
  /// Draws one frame (input, cursor, UI, upload, present). False when the viewer should stop.
  bool frame();

  // ---- headless input (windowed input comes from GLFW) ---------------------------------
  /// Moves the mouse to (x, y) pixels with the left button up or down (takes effect next frame).
  void mouse(float x, float y, bool left_down);
  /// Turns the mouse wheel by `steps` (positive: away from the user).
  void scroll(float steps);
  /// Presses a key (GLFW_KEY_*, with GLFW_MOD_* bits) for the next frame; e.g. F12, Ctrl+Q.
  void key(int glfw_key, int glfw_mods = 0);

  /// Blocks until the face of the cursor's current position has been generated (tools
  /// and tests; never on the real-time path). False on timeout.
  bool settle(double timeout_s);
  /// Draws one frame and returns it as RGBA.
  Rgba capture();

  ViewerLayout layout() const;
  ViewerStats stats() const;
  int validation_errors() const;
  AffectPoint cursor() const;         ///< the cursor's position
  AffectPoint target() const;         ///< where it is going
  std::string nearest() const;        ///< the nearest atlas emotion's name
  bool keeps_detail() const;          ///< whether image identities keep their detail layer (the box)
  bool identity_has_detail() const;   ///< whether the identity drawn now has a detail layer
  std::uint64_t face_sequence() const;  ///< sequence number of the face on screen (0: none yet)
  /// Why the requested model is not the one shown ("" when it is).
  const std::string& model_notice() const;
  std::string device_name() const;    ///< the Vulkan device in use, with its type

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace circumplex::renderer
