// renderer/src/viewer_impl.hpp — the viewer's state, shared by viewer.cpp (lifecycle, the
// frame loop, Vulkan and input) and ui.cpp (the ImGui panels).
//
// Frame flow (viewer.cpp, Viewer::Impl::frame):
//   input (GLFW or injected) → Session::update(dt) → ImGui panels (ui.cpp) → wait for this
//   slot's fence, flush its deletion queue → acquire → record: face upload if a new frame
//   arrived, render pass (ImGui draws; a draw-list callback draws the face) → submit → present.
// Two frames in flight, each with its own FrameData (vkguide style).
#pragma once

#include <vulkan/vulkan.h>
#define GLFW_INCLUDE_VULKAN  // declares glfwCreateWindowSurface
#include <GLFW/glfw3.h>
#include <imgui.h>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "circumplex/renderer/face_pass.hpp"
#include "circumplex/renderer/render_target.hpp"
#include "circumplex/renderer/viewer.hpp"
#include "circumplex/renderer/vulkan_context.hpp"
#include "circumplex/session.hpp"

namespace circumplex::renderer {

constexpr int kFramesInFlight = 2;

/// Everything one frame in flight owns.
struct FrameData {
  VkCommandPool pool = VK_NULL_HANDLE;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;         ///< signalled when the GPU finished this slot's last frame
  VkSemaphore acquired = VK_NULL_HANDLE;  ///< swapchain image ready (windowed)
  Buffer staging;                         ///< face pixels on their way to the texture
  Buffer readback;                        ///< screenshot pixels on their way back
  bool readback_pending = false;          ///< a copy into `readback` was recorded
  std::string readback_path;              ///< where to write it ("" : keep in memory)
  VkExtent2D readback_extent{0, 0};
  bool readback_bgra = false;
  DeletionQueue deletion;
};

/// A short message shown in the status bar.
struct Toast {
  std::string text;
  double until = 0;  ///< viewer time when it disappears
  bool error = false;
};

/// UI-side state that persists between frames.
struct UiState {
  // Pad and 3D view
  std::deque<std::pair<double, AffectPoint>> trail;  ///< (time, position), newest last
  float yaw = -0.6f, pitch = 0.3f;                   ///< 3D view rotation, radians
  // Identity
  long long seed_input = 1;
  char image_path[512] = "";
  std::string identity_image;  ///< file of the current identity, "" for a seed
  // Record
  int record_mode = 0;  ///< 0 circle walk, 1 live cursor path
  float walk_theta = 0.0f, walk_phi = 0.0f, walk_r = 0.8f, walk_seconds = 4.0f, walk_fps = 30.0f;
  char record_dir[512] = "out/record";
  // Status
  std::vector<Toast> toasts;
  bool show_model_notice = true;
};

/// The window and its input. Windowed: GLFW's window, the gamepad and the keys of this poll;
/// headless: the pointer and keys the public API feeds in.
struct WindowInput {
  bool glfw_ready = false;
  GLFWwindow* glfw = nullptr;  ///< null when headless
  bool framebuffer_resized = false;
  int gamepad = -1;                             ///< joystick id in use, −1 none
  std::string gamepad_name;
  std::array<unsigned char, 15> pad_buttons{};  ///< last frame's gamepad buttons
  bool gamepad_stick_active = false;
  float mouse_x = -1e9f, mouse_y = -1e9f;       ///< headless pointer
  bool mouse_down = false;
  float wheel = 0;
  std::vector<std::pair<int, int>> key_events;        ///< (GLFW key, mods) pressed since the last frame
  std::vector<int> keys_pressed_this_poll;            ///< windowed: keys pressed during this frame's poll
  std::vector<std::array<int, 3>> deferred_releases;  ///< (key, scancode, mods) released in the same poll
};

/// Everything Vulkan: the device, where frames go (swapchain or offscreen target), the face's
/// own pass, ImGui's backend and the per-frame resources.
struct Gpu {
  VulkanContext vk;
  VkSurfaceKHR surface = VK_NULL_HANDLE;
  Swapchain swapchain;
  OffscreenTarget offscreen;
  VkRenderPass render_pass = VK_NULL_HANDLE;
  VkDescriptorPool imgui_pool = VK_NULL_HANDLE;
  FacePass face;
  std::array<FrameData, kFramesInFlight> frames{};
  std::uint64_t frame_number = 0;
  VkCommandBuffer recording_cmd = VK_NULL_HANDLE;  ///< the command buffer being recorded (face callback)
  VkExtent2D extent{0, 0};
  ImGuiContext* imgui = nullptr;
  bool imgui_ready = false, imgui_vulkan_ready = false;
  Rgba last_capture;  ///< the newest read-back frame
};

/// Faces on their way from the Session's worker to the screen, and what that way costs.
struct FaceFeed {
  std::shared_ptr<const Frame> shown;      ///< the face on screen
  std::shared_ptr<const Frame> to_upload;  ///< arrived, not yet uploaded
  std::deque<std::pair<std::uint64_t, AffectPoint>> requests;  ///< (frame, position) of recent face requests
  std::uint64_t session_requests = 0;
  std::string face_upload, face_upload_short;  ///< how faces reach the GPU (interop_decision.hpp)
  double last_upload_ms = 0, last_generator_ms = 0;
  int last_latency = 0;
  std::vector<double> upload_ms, generator_ms, latency;  ///< per face shown
};

struct Viewer::Impl {
  explicit Impl(const ViewerOptions& options, ViewerHooks hooks);
  ~Impl();

  // ---- lifecycle (viewer.cpp) ----
  void load_model();
  void init_glfw();
  void init_window();
  void init_vulkan();
  void init_imgui();
  void shutdown();
  bool frame(bool capture, const std::string& capture_path);
  // frame()'s steps, in order.
  enum class WindowState { Draw, SkipDrawing, Closed };
  double frame_time();
  WindowState poll_window(double dt);
  void advance(double dt);
  void build_frame_ui(double dt);
  void upload_face(FrameData& f);
  void draw_main(FrameData& f, const TargetImage& target);
  void record_capture(FrameData& f, const TargetImage& target, const std::string& path);
  void submit(FrameData& f, std::uint32_t index);
  void finish_readback(FrameData& f);
  bool idle() const;  ///< windowed: nothing would change without an event
  void recreate_swapchain();
  void poll_gamepad(double dt);
  void handle_shortcuts();
  void step_identity(int delta);
  void take_screenshot();
  void snap_to(const std::string& emotion);
  void toggle_live_capture();
  void start_recording(RecordRequest request);
  void toast(const std::string& text, bool error = false);
  std::shared_ptr<const Frame> latest_face() const;
  void set_identity_image_file(const std::string& path);

  // ---- panels (ui.cpp) ----
  void build_ui();
  void apply_style();
  void load_fonts();
  void panel_face(const ImVec2& pos, const ImVec2& size);
  void panel_controls(const ImVec2& pos, const ImVec2& size);
  void panel_pad(const ImVec2& pos, const ImVec2& size);
  void panel_3d(const ImVec2& pos, const ImVec2& size);
  void panel_readouts(const ImVec2& pos, const ImVec2& size);
  void panel_record(const ImVec2& pos, const ImVec2& size);
  void panel_status(const ImVec2& pos, const ImVec2& size);
  void perf_overlay();
  static void draw_face_callback(const ImDrawList* list, const ImDrawCmd* cmd);

  ViewerOptions opt;
  ViewerHooks hooks;

  // Model and session
  std::string model_dir, model_notice;
  std::unique_ptr<Session> session;

  WindowInput win;
  Gpu gpu;
  FaceFeed feed;

  // Time and the face
  double now = 0;  ///< viewer time, seconds (sum of dt)
  std::chrono::steady_clock::time_point last_frame_start{};
  bool have_last_frame = false;
  ViewerLayout layout;
  PixelRect face_rect;
  bool face_visible = false;
  bool quit = false;
  std::string pending_screenshot;  ///< F12: written from the next frame
  bool announced_ready = false;
  int idle_streak = 0;  ///< consecutive idle frames (3 or more: wait for events)

  // Frame timing
  std::vector<double> frame_ms;
  std::deque<float> recent_frame_ms;

  // Recording (worker thread)
  std::thread record_thread;
  std::atomic<bool> recording{false};
  std::mutex record_mutex;
  std::string record_result;
  bool record_result_error = false, record_result_new = false;

  // Fonts
  ImFont* font_regular = nullptr;
  ImFont* font_small = nullptr;
  ImFont* font_title = nullptr;

  UiState ui;
};

}  // namespace circumplex::renderer
