// The viewer's lifecycle and frame loop: model, window, Vulkan, ImGui, input, upload, present.
#include <imgui_impl_glfw.h>
#include <imgui_impl_vulkan.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>

#include "circumplex/photo.hpp"
#include "circumplex/error.hpp"
#include "circumplex/renderer/interop_decision.hpp"
#include "circumplex/percentile.hpp"
#include "circumplex/torch_compat.hpp"
#include "viewer_impl.hpp"

namespace circumplex::renderer {
namespace {

// GLFW's joystick callback has no user pointer: the one live viewer with a window.
Viewer::Impl* g_window_viewer = nullptr;
std::string g_glfw_error;

void on_glfw_error(int code, const char* text) { g_glfw_error = std::to_string(code) + ": " + (text ? text : ""); }

void on_imgui_vk_result(VkResult r) {
  if (r != VK_SUCCESS) std::fprintf(stderr, "circumplex view: ImGui Vulkan backend: %s\n", vk_result_name(r));
}

// The basic emotions behind keys 0–7 (AffectNet's expression codes).
constexpr const char* kDigitEmotions[8] = {"neutral", "happy", "sad", "surprised", "fearful", "disgusted", "angry", "contempt"};
// A live path capture holds up to an hour at 240 frames per second (~14 MB, reserved at its start).
constexpr std::size_t kMaxCaptureSamples = 3600 * 240;

// The test seam behind --generator-delay: the Session's own face source, slower by a fixed
// time per face, so a test can show the UI's frame time does not follow the generator.
class SlowFaces final : public FaceSource {
 public:
  SlowFaces(std::unique_ptr<FaceSource> inner, double delay_ms) : inner_(std::move(inner)), delay_ms_(delay_ms) {}
  int image_size() const override { return inner_->image_size(); }
  void decode(const std::vector<float>& latent, std::vector<std::uint8_t>& rgba, const IdentityDetail* detail) override {
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(delay_ms_));
    inner_->decode(latent, rgba, detail);
  }
  std::vector<float> encode(const std::uint8_t* pixels, int width, int height, int channels) override {
    return inner_->encode(pixels, width, height, channels);
  }
  std::shared_ptr<const IdentityDetail> detail(const std::uint8_t* pixels, int width, int height, int channels,
                                               const std::vector<float>& identity) override {
    return inner_->detail(pixels, width, height, channels, identity);
  }

 private:
  std::unique_ptr<FaceSource> inner_;
  double delay_ms_;
};

std::string timestamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

}  // namespace

// ---- lifecycle ---------------------------------------------------------------------------

Viewer::Impl::Impl(const ViewerOptions& options, ViewerHooks h) : opt(options), hooks(std::move(h)) {
  if (opt.headless && opt.frames <= 0) opt.frames = 3;
  if (opt.headless && opt.fixed_dt <= 0) opt.fixed_dt = 1.0 / 60.0;
  if (opt.width < 64 || opt.height < 64 || opt.width > 16384 || opt.height > 16384) {
    throw Error(ErrorKind::InvalidArgument, "view size must be between 64x64 and 16384x16384 pixels");
  }
  std::snprintf(ui.record_dir, sizeof ui.record_dir, "%s", opt.record_dir.c_str());
  ui.seed_input = static_cast<long long>(opt.identity_seed);
  try {
    if (!opt.headless) init_glfw();  // no display: fail before the model loads
    load_model();
    if (!opt.headless) init_window();
    init_vulkan();
    init_imgui();
  } catch (...) {
    shutdown();
    throw;
  }
}

Viewer::Impl::~Impl() { shutdown(); }

void Viewer::Impl::load_model() {
  const std::string fallback = ModelPackage::default_path();
  std::optional<ModelPackage> package;
  if (!opt.model.empty()) {
    try {
      package.emplace(ModelPackage::load(opt.model));
      model_dir = opt.model;
    } catch (const Error& e) {
      if (fallback.empty()) {
        throw Error(ErrorKind::Io, std::string("cannot load the model package: ") + e.what() +
                                       "; no default model is installed to fall back to (assets/models/default, or set "
                                       "$CIRCUMPLEX_MODEL); pass --model PKG with a package `circumplex map` wrote");
      }
      model_notice = std::string("Could not load the model package: ") + e.what() + ". Showing the default model (" + fallback + ") instead.";
      std::fprintf(stderr, "circumplex view: warning: %s\n", model_notice.c_str());
    }
  } else if (fallback.empty()) {
    throw Error(ErrorKind::Io, "no model package given and no default model is installed (assets/models/default, or set "
                               "$CIRCUMPLEX_MODEL); pass --model PKG with a package `circumplex map` wrote");
  }
  if (!package) {
    try {
      package.emplace(ModelPackage::load(fallback));
      model_dir = fallback;
    } catch (const Error& e) {
      throw Error(ErrorKind::Io, std::string("cannot load the default model package either: ") + e.what());
    }
  }
  SessionOptions so;
  so.threads = std::max(1, opt.threads);
  so.device = opt.device;
  so.half_life = opt.half_life;
  so.identity_seed = opt.identity_seed;
  so.keep_detail = opt.keep_detail;
  if (opt.generator_delay_ms > 0.0) {
    so.wrap_faces = [delay = opt.generator_delay_ms](std::unique_ptr<FaceSource> faces) -> std::unique_ptr<FaceSource> {
      return std::make_unique<SlowFaces>(std::move(faces), delay);
    };
  }
  session = std::make_unique<Session>(std::move(*package), so);

  const Space space = session->space();
  if (opt.affect) {
    session->jump_to(clamp_to_unit(project(*opt.affect, space), space));
  } else if (!opt.emotion.empty()) {
    const Atlas& atlas = Atlas::builtin();
    session->jump_to(atlas.at_intensity(atlas.find(opt.emotion), std::clamp(opt.intensity, 0.0, 1.0), space));
  }
  if (!opt.script.empty()) session->play(std::make_shared<ScriptedPath>(ScriptedPath::load_csv(opt.script)), false);
  if (!opt.identity_image.empty()) set_identity_image_file(opt.identity_image);
  session->update(0.0);
  if (!opt.quiet) {
    const VaeConfig& c = session->package().config();
    std::printf("circumplex view: model %s (%s, %d px faces, latent %d)\n", model_dir.c_str(), space_name(space), c.image_size, c.latent);
  }
}

void Viewer::Impl::init_glfw() {
  glfwSetErrorCallback(on_glfw_error);
  g_glfw_error.clear();
  if (!glfwInit()) {
    const char* display = std::getenv("DISPLAY");
    const char* wayland = std::getenv("WAYLAND_DISPLAY");
    const bool none = (!display || !*display) && (!wayland || !*wayland);
    throw Error(ErrorKind::Io, std::string("cannot open a window: ") +
                                   (none ? "no display ($DISPLAY is unset)" : "the window system refused (GLFW error " + g_glfw_error + ")") +
                                   "; run with --headless to render offscreen");
  }
  win.glfw_ready = true;
  if (!glfwVulkanSupported()) {
    throw VulkanUnavailable("no Vulkan driver is usable with the window system (GLFW found no Vulkan loader or ICD); "
                            "install mesa-vulkan-drivers, or run with --headless");
  }
}

void Viewer::Impl::init_window() {
  glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
  win.glfw = glfwCreateWindow(opt.width, opt.height, "circumplex view", nullptr, nullptr);
  if (!win.glfw) throw Error(ErrorKind::Io, "cannot create the window (GLFW error " + g_glfw_error + "); run with --headless to render offscreen");
  glfwSetWindowUserPointer(win.glfw, this);
  glfwSetWindowSizeLimits(win.glfw, 480, 320, GLFW_DONT_CARE, GLFW_DONT_CARE);
  glfwSetFramebufferSizeCallback(win.glfw, [](GLFWwindow* w, int, int) {
    static_cast<Impl*>(glfwGetWindowUserPointer(w))->win.framebuffer_resized = true;
  });
  glfwSetDropCallback(win.glfw, [](GLFWwindow* w, int count, const char** paths) {
    if (count > 0) static_cast<Impl*>(glfwGetWindowUserPointer(w))->set_identity_image_file(paths[0]);
  });
  g_window_viewer = this;
  glfwSetJoystickCallback([](int jid, int event) {
    Impl* self = g_window_viewer;
    if (!self) return;
    if (event == GLFW_CONNECTED && glfwJoystickIsGamepad(jid)) {
      if (self->win.gamepad < 0) {
        self->win.gamepad = jid;
        self->win.gamepad_name = glfwGetGamepadName(jid) ? glfwGetGamepadName(jid) : "gamepad";
        self->win.pad_buttons.fill(0);
        self->toast("Gamepad connected: " + self->win.gamepad_name);
      }
    } else if (event == GLFW_DISCONNECTED && jid == self->win.gamepad) {
      self->toast("Gamepad disconnected: " + self->win.gamepad_name);
      self->win.gamepad = -1;
      self->win.gamepad_name.clear();
      for (int j = GLFW_JOYSTICK_1; j <= GLFW_JOYSTICK_LAST; ++j) {
        if (glfwJoystickIsGamepad(j)) {
          self->win.gamepad = j;
          self->win.gamepad_name = glfwGetGamepadName(j) ? glfwGetGamepadName(j) : "gamepad";
          break;
        }
      }
    }
  });
  for (int j = GLFW_JOYSTICK_1; j <= GLFW_JOYSTICK_LAST; ++j) {
    if (glfwJoystickIsGamepad(j)) {
      win.gamepad = j;
      win.gamepad_name = glfwGetGamepadName(j) ? glfwGetGamepadName(j) : "gamepad";
      break;
    }
  }
}

void Viewer::Impl::init_vulkan() {
  InstanceOptions io;
  io.validation = opt.validation;
  if (win.glfw) {
    std::uint32_t n = 0;
    const char** names = glfwGetRequiredInstanceExtensions(&n);
    io.instance_extensions.assign(names, names + n);
  }
  gpu.vk.init_instance(io);
  if (win.glfw) vk_check(glfwCreateWindowSurface(gpu.vk.instance(), win.glfw, nullptr, &gpu.surface), "glfwCreateWindowSurface");
  gpu.vk.init_device(gpu.surface, opt.gpu);
  if (!opt.quiet) {
    std::printf("circumplex view: Vulkan device %d: %s (%s)%s\n", gpu.vk.device_info().index, gpu.vk.device_info().name.c_str(),
                device_type_name(gpu.vk.device_info().type), gpu.vk.validating() ? ", validation on" : "");
  }
  // How faces reach the texture (interop_decision.hpp): said once here, shown in the overlay.
  {
    // The session's Generator hands over host RGBA8 frames, also with --device cuda (one
    // device-to-host copy per face, on the worker): the CUDA kernel that would write the
    // decoder's output into the shared buffer is not wired to it, so generator_on_gpu stays
    // false and a machine that meets every other condition still uses the staging buffer, and
    // says why.
    const InteropFacts facts = probe_interop(gpu.vk.device_uuid(), gpu.vk.external_fd(), torch_compat::cuda_available());
    const InteropDecision d = decide_face_upload(facts);
    feed.face_upload = d.message;
    feed.face_upload_short = d.label;
    if (!opt.quiet) std::printf("circumplex view: %s\n", feed.face_upload.c_str());
  }
  VkDevice device = gpu.vk.device();
  if (win.glfw) {
    gpu.swapchain.init(gpu.vk, gpu.surface);
    gpu.render_pass = create_render_pass(device, gpu.swapchain.format(), VK_IMAGE_LAYOUT_PRESENT_SRC_KHR);
    int w = 0, h = 0;
    glfwGetFramebufferSize(win.glfw, &w, &h);
    gpu.swapchain.recreate({static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(h)}, gpu.render_pass);
    gpu.extent = gpu.swapchain.extent();
  } else {
    gpu.extent = {static_cast<std::uint32_t>(opt.width), static_cast<std::uint32_t>(opt.height)};
    gpu.render_pass = create_render_pass(device, VK_FORMAT_R8G8B8A8_UNORM, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    gpu.offscreen.init(gpu.vk, gpu.extent, VK_FORMAT_R8G8B8A8_UNORM, gpu.render_pass, kFramesInFlight);
  }
  for (FrameData& f : gpu.frames) {
    VkCommandPoolCreateInfo pool{};
    pool.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
    pool.queueFamilyIndex = gpu.vk.queue_family();
    vk_check(vkCreateCommandPool(device, &pool, nullptr, &f.pool), "vkCreateCommandPool");
    VkCommandBufferAllocateInfo alloc{};
    alloc.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    alloc.commandPool = f.pool;
    alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc.commandBufferCount = 1;
    vk_check(vkAllocateCommandBuffers(device, &alloc, &f.cmd), "vkAllocateCommandBuffers");
    VkFenceCreateInfo fence{};
    fence.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    fence.flags = VK_FENCE_CREATE_SIGNALED_BIT;
    vk_check(vkCreateFence(device, &fence, nullptr, &f.fence), "vkCreateFence");
    VkSemaphoreCreateInfo sem{};
    sem.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO;
    vk_check(vkCreateSemaphore(device, &sem, nullptr, &f.acquired), "vkCreateSemaphore");
  }
  gpu.face.init(gpu.vk, gpu.render_pass);
  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 8};
  VkDescriptorPoolCreateInfo pool{};
  pool.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
  pool.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
  pool.maxSets = 8;
  pool.poolSizeCount = 1;
  pool.pPoolSizes = &size;
  vk_check(vkCreateDescriptorPool(device, &pool, nullptr, &gpu.imgui_pool), "vkCreateDescriptorPool (ImGui)");
}

void Viewer::Impl::init_imgui() {
  IMGUI_CHECKVERSION();
  gpu.imgui = ImGui::CreateContext();  // one per viewer; made current whenever this viewer works
  ImGui::SetCurrentContext(gpu.imgui);  // CreateContext keeps an existing current context current
  gpu.imgui_ready = true;
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // a fixed layout: nothing to remember between runs
  io.LogFilename = nullptr;
  load_fonts();
  apply_style();
  if (win.glfw) {
    ImGui_ImplGlfw_InitForVulkan(win.glfw, true);
    // Keys go through on_key: ImGui 1.86 reads key state once per frame, so a press and
    // release that arrive in the same poll (a quick tap at a low frame rate, xdotool) would
    // be lost. on_key queues shortcuts and holds such releases until after NewFrame.
    glfwSetKeyCallback(win.glfw, [](GLFWwindow* w, int key, int scancode, int action, int mods) {
      Impl* self = static_cast<Impl*>(glfwGetWindowUserPointer(w));
      if (action == GLFW_PRESS) {
        self->win.key_events.emplace_back(key, mods);
        self->win.keys_pressed_this_poll.push_back(key);
      } else if (action == GLFW_RELEASE &&
                 std::find(self->win.keys_pressed_this_poll.begin(), self->win.keys_pressed_this_poll.end(), key) != self->win.keys_pressed_this_poll.end()) {
        self->win.deferred_releases.push_back({key, scancode, mods});
        return;
      }
      ImGui_ImplGlfw_KeyCallback(w, key, scancode, action, mods);
    });
  } else {
    io.BackendPlatformName = "circumplex_headless";
    io.DisplaySize = ImVec2(static_cast<float>(gpu.extent.width), static_cast<float>(gpu.extent.height));
  }
  ImGui_ImplVulkan_InitInfo info{};
  info.Instance = gpu.vk.instance();
  info.PhysicalDevice = gpu.vk.physical_device();
  info.Device = gpu.vk.device();
  info.QueueFamily = gpu.vk.queue_family();
  info.Queue = gpu.vk.queue();
  info.DescriptorPool = gpu.imgui_pool;
  info.Subpass = 0;
  info.MinImageCount = 2;
  // ImGui rotates its vertex buffers over ImageCount frames: at least the frames in flight.
  info.ImageCount = std::max<std::uint32_t>(kFramesInFlight, win.glfw ? gpu.swapchain.image_count() : 0);
  info.MSAASamples = VK_SAMPLE_COUNT_1_BIT;
  info.CheckVkResultFn = on_imgui_vk_result;
  ImGui_ImplVulkan_Init(&info, gpu.render_pass);
  gpu.imgui_vulkan_ready = true;
  gpu.vk.immediate_submit([](VkCommandBuffer cmd) { ImGui_ImplVulkan_CreateFontsTexture(cmd); });
  ImGui_ImplVulkan_DestroyFontUploadObjects();
}

void Viewer::Impl::shutdown() {
  if (record_thread.joinable()) {
    if (recording && !opt.quiet) std::printf("circumplex view: waiting for the recording to finish…\n");
    record_thread.join();
  }
  if (gpu.vk.device()) {
    vkDeviceWaitIdle(gpu.vk.device());
    for (FrameData& f : gpu.frames) {
      if (f.readback_pending) finish_readback(f);
    }
  }
  if (gpu.imgui) ImGui::SetCurrentContext(gpu.imgui);
  if (gpu.imgui_vulkan_ready) ImGui_ImplVulkan_Shutdown();
  gpu.imgui_vulkan_ready = false;
  if (gpu.imgui_ready) {
    if (win.glfw) ImGui_ImplGlfw_Shutdown();
    ImGui::DestroyContext(gpu.imgui);
  }
  gpu.imgui_ready = false;
  gpu.imgui = nullptr;
  if (gpu.vk.device()) {
    VkDevice device = gpu.vk.device();
    for (FrameData& f : gpu.frames) {
      f.deletion.flush();
      gpu.vk.destroy(f.staging);
      gpu.vk.destroy(f.readback);
      if (f.fence) vkDestroyFence(device, f.fence, nullptr);
      if (f.acquired) vkDestroySemaphore(device, f.acquired, nullptr);
      if (f.pool) vkDestroyCommandPool(device, f.pool, nullptr);
      f = FrameData{};
    }
    gpu.face.shutdown();
    if (gpu.imgui_pool) vkDestroyDescriptorPool(device, gpu.imgui_pool, nullptr);
    gpu.imgui_pool = VK_NULL_HANDLE;
    gpu.swapchain.shutdown();
    gpu.offscreen.shutdown();
    if (gpu.render_pass) vkDestroyRenderPass(device, gpu.render_pass, nullptr);
    gpu.render_pass = VK_NULL_HANDLE;
  }
  if (gpu.surface) vkDestroySurfaceKHR(gpu.vk.instance(), gpu.surface, nullptr);
  gpu.surface = VK_NULL_HANDLE;
  gpu.vk.shutdown();
  if (win.glfw) glfwDestroyWindow(win.glfw);
  win.glfw = nullptr;
  if (g_window_viewer == this) {
    glfwSetJoystickCallback(nullptr);
    g_window_viewer = nullptr;
  }
  if (win.glfw_ready) glfwTerminate();
  win.glfw_ready = false;
  session.reset();
}

// ---- helpers -----------------------------------------------------------------------------

void Viewer::Impl::toast(const std::string& text, bool error) {
  ui.toasts.push_back({text, now + (error ? 8.0 : 4.0), error});
  if (ui.toasts.size() > 4) ui.toasts.erase(ui.toasts.begin());
  if (error) std::fprintf(stderr, "circumplex view: %s\n", text.c_str());
  else if (!opt.quiet) std::printf("circumplex view: %s\n", text.c_str());
  std::fflush(stdout);
}

std::shared_ptr<const Frame> Viewer::Impl::latest_face() const {
  return session->latest_frame();
}

void Viewer::Impl::set_identity_image_file(const std::string& path) {
  if (!hooks.load_image) return toast("Loading images is not available in this host", true);
  try {
    const Rgba img = hooks.load_image(path);
    const PreparedPhoto photo = prepare_photo(img.pixels.data(), img.width, img.height, 4, static_cast<std::size_t>(img.width) * 4,
                                              session->package(), path);
    session->set_identity_image(photo.rgb.data(), photo.size, photo.size, 3);
    ui.identity_image = path;
    std::snprintf(ui.image_path, sizeof ui.image_path, "%s", path.c_str());
    std::string said;
    for (const std::string& n : photo.notes) said += "\n" + n;
    toast("Identity encoded from " + path + said, !photo.notes.empty());
  } catch (const std::exception& e) {
    toast(std::string("Cannot use that image: ") + e.what(), true);
  }
}

void Viewer::Impl::take_screenshot() {
  if (!hooks.write_png) return toast("Screenshots are not available in this host", true);
  if (win.glfw && !gpu.swapchain.can_capture()) return toast("This window's swapchain cannot be read back (no TRANSFER_SRC)", true);
  pending_screenshot = opt.screenshot.empty() ? "out/view-" + timestamp() + ".png" : opt.screenshot;
}

void Viewer::Impl::start_recording(RecordRequest request) {
  if (recording) return toast("A recording is already being rendered", true);
  if (!hooks.record) return toast("Recording is not available in this host", true);
  if (record_thread.joinable()) record_thread.join();
  request.package = std::make_shared<const ModelPackage>(session->package());
  request.identity = session->identity();
  request.detail = session->identity_detail();
  recording = true;
  toast(request.live_path ? "Rendering the live path, frame by frame…" : "Rendering the circle walk, frame by frame…");
  record_thread = std::thread([this, request] {
    std::string text;
    bool error = false;
    try {
      text = hooks.record(request);
    } catch (const std::exception& e) {
      text = std::string("Recording failed: ") + e.what();
      error = true;
    }
    std::lock_guard<std::mutex> lock(record_mutex);
    record_result = text;
    record_result_error = error;
    record_result_new = true;
    recording = false;
  });
}

void Viewer::Impl::recreate_swapchain() {
  int w = 0, h = 0;
  glfwGetFramebufferSize(win.glfw, &w, &h);
  win.framebuffer_resized = false;
  if (w <= 0 || h <= 0) return;  // minimised: try again when the window is back
  gpu.swapchain.recreate({static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(h)}, gpu.render_pass);
  gpu.extent = gpu.swapchain.extent();
}

void Viewer::Impl::poll_gamepad(double dt) {
  if (win.gamepad < 0) return;
  GLFWgamepadstate st;
  if (!glfwGetGamepadState(win.gamepad, &st)) return;
  const Space space = session->space();
  AffectPoint target = session->target();
  bool changed = false;
  // Left stick: the target follows the stick (GLFW's y points down); released: back to neutral.
  const AffectPoint stick = stick_to_affect(st.axes[GLFW_GAMEPAD_AXIS_LEFT_X], -st.axes[GLFW_GAMEPAD_AXIS_LEFT_Y]);
  const bool active = radius(stick, Space::Plane) > 0.0;
  if (active || win.gamepad_stick_active) {
    target.v = stick.v;
    target.a = stick.a;
    changed = true;
  }
  win.gamepad_stick_active = active;
  // Triggers (rest at −1): right raises z, left lowers it, at up to 1.2 units per second.
  if (space == Space::Ball) {
    const double lt = (st.axes[GLFW_GAMEPAD_AXIS_LEFT_TRIGGER] + 1.0) * 0.5, rt = (st.axes[GLFW_GAMEPAD_AXIS_RIGHT_TRIGGER] + 1.0) * 0.5;
    if (std::abs(rt - lt) > 0.05) {
      target.z = std::clamp(target.z + (rt - lt) * 1.2 * dt, -1.0, 1.0);
      changed = true;
    }
  }
  if (changed) session->set_target(clamp_to_unit(target, space));
  auto pressed = [&](int b) { return st.buttons[b] == GLFW_PRESS && win.pad_buttons[static_cast<std::size_t>(b)] != GLFW_PRESS; };
  const std::pair<int, const char*> snaps[] = {
      {GLFW_GAMEPAD_BUTTON_A, "happy"},         {GLFW_GAMEPAD_BUTTON_B, "angry"},           {GLFW_GAMEPAD_BUTTON_X, "sad"},
      {GLFW_GAMEPAD_BUTTON_Y, "surprised"},     {GLFW_GAMEPAD_BUTTON_LEFT_BUMPER, "fearful"}, {GLFW_GAMEPAD_BUTTON_RIGHT_BUMPER, "disgusted"},
      {GLFW_GAMEPAD_BUTTON_DPAD_UP, "contempt"}, {GLFW_GAMEPAD_BUTTON_DPAD_DOWN, "neutral"}};
  for (const auto& [button, name] : snaps) {
    if (pressed(button)) snap_to(name);
  }
  if (pressed(GLFW_GAMEPAD_BUTTON_START)) toggle_live_capture();
  for (int b = 0; b <= GLFW_GAMEPAD_BUTTON_LAST; ++b) win.pad_buttons[static_cast<std::size_t>(b)] = st.buttons[b];
}

void Viewer::Impl::snap_to(const std::string& name) {
  const double current = radius(session->target(), session->space());
  session->set_emotion(name, current > 0.05 ? current : std::clamp(opt.intensity, 0.05, 1.0));
}

void Viewer::Impl::toggle_live_capture() {
  if (!session->capturing()) {
    if (recording) return toast("A recording is already being rendered", true);
    session->begin_capture(kMaxCaptureSamples);
    toast("Capturing the live cursor path (Start/the button again renders it)");
    return;
  }
  RecordRequest r;
  r.keys = session->end_capture().keyframes();
  if (r.keys.size() < 2) return toast("The captured path is too short to render", true);
  r.live_path = true;
  r.fps = ui.walk_fps;
  r.out_dir = std::string(ui.record_dir) + "/live-" + timestamp();
  start_recording(r);
}

// [ and ]: the previous and next identity seed (an image identity gives way to its seed's neighbour).
void Viewer::Impl::step_identity(int delta) {
  const auto seed = static_cast<long long>(session->identity_seed()) + delta;
  session->set_identity_seed(static_cast<std::uint64_t>(std::clamp<long long>(seed, 0, 2147483647)));
  ui.identity_image.clear();
}

void Viewer::Impl::handle_shortcuts() {
  const bool typing = ImGui::GetIO().WantTextInput;
  for (const auto& [key, mods] : win.key_events) {
    if (key == GLFW_KEY_Q && (mods & GLFW_MOD_CONTROL)) quit = true;
    else if (key == GLFW_KEY_F12) take_screenshot();
    else if (!typing && !mods && key >= GLFW_KEY_0 && key <= GLFW_KEY_7) snap_to(kDigitEmotions[key - GLFW_KEY_0]);
    else if (!typing && !mods && key >= GLFW_KEY_KP_0 && key <= GLFW_KEY_KP_7) snap_to(kDigitEmotions[key - GLFW_KEY_KP_0]);
    else if (!typing && !mods && (key == GLFW_KEY_LEFT_BRACKET || key == GLFW_KEY_RIGHT_BRACKET)) step_identity(key == GLFW_KEY_RIGHT_BRACKET ? 1 : -1);
  }
  win.key_events.clear();
}

// ---- the frame ---------------------------------------------------------------------------

// One frame, vkguide's shape: time → window → advance the engine → build the UI → record
// (face upload, UI, optional capture) → submit and present. False when the viewer should close.
bool Viewer::Impl::frame(bool capture, const std::string& capture_path) {
  const double dt = frame_time();
  ImGui::SetCurrentContext(gpu.imgui);
  if (win.glfw) {
    const WindowState state = poll_window(dt);
    if (state == WindowState::Closed) return false;
    if (state == WindowState::SkipDrawing) return true;
  }
  now += dt;
  advance(dt);
  build_frame_ui(dt);

  // GPU: this slot's previous frame must be done before its command buffer, staging
  // buffer and deletion queue are touched again.
  FrameData& f = gpu.frames[gpu.frame_number % kFramesInFlight];
  VkDevice device = gpu.vk.device();
  vk_check(vkWaitForFences(device, 1, &f.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  if (f.readback_pending) finish_readback(f);
  f.deletion.flush();
  std::uint32_t index = static_cast<std::uint32_t>(gpu.frame_number % kFramesInFlight);
  if (win.glfw && !gpu.swapchain.acquire(f.acquired, index)) {
    recreate_swapchain();
    return true;
  }
  vk_check(vkResetFences(device, 1, &f.fence), "vkResetFences");
  vk_check(vkResetCommandPool(device, f.pool, 0), "vkResetCommandPool");
  VkCommandBufferBeginInfo begin{};
  begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vk_check(vkBeginCommandBuffer(f.cmd, &begin), "vkBeginCommandBuffer");
  if (feed.to_upload) upload_face(f);
  const TargetImage& target = win.glfw ? gpu.swapchain.image(index) : gpu.offscreen.image(index);
  draw_main(f, target);
  std::string shot_path = capture_path;
  if (!capture && !pending_screenshot.empty()) {
    capture = true;
    shot_path = pending_screenshot;
  }
  pending_screenshot.clear();
  if (capture) record_capture(f, target, shot_path);
  vk_check(vkEndCommandBuffer(f.cmd), "vkEndCommandBuffer");
  submit(f, index);
  ++gpu.frame_number;
  idle_streak = idle() ? idle_streak + 1 : 0;

  if (win.glfw && !announced_ready && !opt.quiet) {
    announced_ready = true;
    std::printf("circumplex view: ready: pad centre %.0f,%.0f radius %.0f px; face %.0f,%.0f %.0fx%.0f px\n", layout.pad_cx, layout.pad_cy,
                layout.pad_radius, layout.face_x, layout.face_y, layout.face_w, layout.face_h);
    std::fflush(stdout);
  }
  return !quit;
}

// The time step of this frame (opt.fixed_dt, else the wall time since the last frame,
// clamped), and the frame-time statistics.
double Viewer::Impl::frame_time() {
  const auto start = std::chrono::steady_clock::now();
  double dt = opt.fixed_dt;
  if (have_last_frame) {
    const double ms = std::chrono::duration<double, std::milli>(start - last_frame_start).count();
    if (gpu.frame_number >= 3) frame_ms.push_back(ms);  // the first frames include one-off setup
    recent_frame_ms.push_back(static_cast<float>(ms));
    if (recent_frame_ms.size() > 120) recent_frame_ms.pop_front();
    if (dt <= 0) dt = ms / 1000.0;
  } else if (dt <= 0) {
    dt = 1.0 / 60.0;
  }
  last_frame_start = start;
  have_last_frame = true;
  return std::clamp(dt, 0.0, 0.25);
}

// Events, minimised windows, swapchain size and the gamepad.
Viewer::Impl::WindowState Viewer::Impl::poll_window(double dt) {
  win.keys_pressed_this_poll.clear();
  // Nothing moving, loading or animating: sleep until an event (or a quiet refresh), so
  // an idle viewer leaves the CPU (lavapipe draws on it) to the generator and the rest.
  if (idle_streak >= 3) {
    glfwWaitEventsTimeout(0.5);
    have_last_frame = false;  // the wait is not frame time
  } else {
    glfwPollEvents();
  }
  if (glfwWindowShouldClose(win.glfw) || quit) return WindowState::Closed;
  int w = 0, h = 0;
  glfwGetFramebufferSize(win.glfw, &w, &h);
  if (w == 0 || h == 0) {  // minimised: keep the cursor moving, draw nothing, sleep a little
    now += dt;
    session->update(dt);
    glfwWaitEventsTimeout(0.05);
    return WindowState::SkipDrawing;
  }
  if (win.framebuffer_resized || !gpu.swapchain.valid() || static_cast<std::uint32_t>(w) != gpu.extent.width ||
      static_cast<std::uint32_t>(h) != gpu.extent.height) {
    recreate_swapchain();
    if (!gpu.swapchain.valid()) return WindowState::SkipDrawing;
  }
  poll_gamepad(dt);
  return WindowState::Draw;
}

// The engine's step: cursor, rig outputs and (when it moved) a face request, never waiting
// for the generator (the Session samples a live path capture); the trail and the newest
// finished face.
void Viewer::Impl::advance(double dt) {
  const AffectPoint position = session->update(dt);
  if (session->requests() != feed.session_requests) {
    feed.session_requests = session->requests();
    feed.requests.emplace_back(gpu.frame_number, position);
  }
  while (feed.requests.size() > 600) feed.requests.pop_front();
  ui.trail.emplace_back(now, position);
  while (!ui.trail.empty() && now - ui.trail.front().first > 1.5) ui.trail.pop_front();
  if (auto latest = latest_face(); latest && (!feed.shown || latest->sequence != feed.shown->sequence)) feed.to_upload = latest;
  {
    std::lock_guard<std::mutex> lock(record_mutex);
    if (record_result_new) {
      record_result_new = false;
      toast(record_result, record_result_error);
    }
  }
}

void Viewer::Impl::build_frame_ui(double dt) {
  ImGuiIO& io = ImGui::GetIO();
  ImGui_ImplVulkan_NewFrame();
  if (win.glfw) {
    ImGui_ImplGlfw_NewFrame();
  } else {
    io.DisplaySize = ImVec2(static_cast<float>(gpu.extent.width), static_cast<float>(gpu.extent.height));
    io.DeltaTime = static_cast<float>(std::max(dt, 1e-4));
    io.MousePos = ImVec2(win.mouse_x, win.mouse_y);
    io.MouseDown[0] = win.mouse_down;
    io.MouseWheel = win.wheel;
    win.wheel = 0;
  }
  ImGui::NewFrame();
  for (const auto& k : win.deferred_releases) ImGui_ImplGlfw_KeyCallback(win.glfw, k[0], k[1], GLFW_RELEASE, k[2]);
  win.deferred_releases.clear();
  handle_shortcuts();
  build_ui();
  ImGui::Render();
}

// A new face: the staging copy and upload commands, with the upload and latency statistics.
void Viewer::Impl::upload_face(FrameData& f) {
  const auto t0 = std::chrono::steady_clock::now();
  const Frame& fr = *feed.to_upload;
  const VkDeviceSize bytes = static_cast<VkDeviceSize>(fr.width) * static_cast<VkDeviceSize>(fr.height) * 4;
  if (f.staging.size < bytes) {
    gpu.vk.destroy(f.staging);  // this slot's fence has signalled: nothing reads it any more
    f.staging = gpu.vk.create_buffer(bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, true);
  }
  gpu.face.upload(f.cmd, f.staging, fr.rgba.data(), fr.width, fr.height, f.deletion);
  feed.last_upload_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  feed.upload_ms.push_back(feed.last_upload_ms);
  feed.last_generator_ms = fr.generator_ms;
  feed.generator_ms.push_back(fr.generator_ms);
  for (auto it = feed.requests.rbegin(); it != feed.requests.rend(); ++it) {
    if (distance(it->second, fr.affect) < 1e-9) {
      feed.last_latency = static_cast<int>(gpu.frame_number - it->first);
      feed.latency.push_back(feed.last_latency);
      break;
    }
  }
  feed.shown = std::move(feed.to_upload);
  feed.to_upload.reset();
}

// The render pass: the clear, then ImGui's draw lists (the face is drawn by its callback).
void Viewer::Impl::draw_main(FrameData& f, const TargetImage& target) {
  VkClearValue clear{};
  clear.color = {{0.055f, 0.063f, 0.078f, 1.0f}};
  VkRenderPassBeginInfo pass{};
  pass.sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO;
  pass.renderPass = gpu.render_pass;
  pass.framebuffer = target.framebuffer;
  pass.renderArea = {{0, 0}, gpu.extent};
  pass.clearValueCount = 1;
  pass.pClearValues = &clear;
  vkCmdBeginRenderPass(f.cmd, &pass, VK_SUBPASS_CONTENTS_INLINE);
  gpu.recording_cmd = f.cmd;  // the face callback records into it
  ImGui_ImplVulkan_RenderDrawData(ImGui::GetDrawData(), f.cmd);
  gpu.recording_cmd = VK_NULL_HANDLE;
  vkCmdEndRenderPass(f.cmd);

}

// Copies the finished image into this slot's readback buffer; finish_readback writes it.
void Viewer::Impl::record_capture(FrameData& f, const TargetImage& target, const std::string& path) {
  const VkDeviceSize bytes = VkDeviceSize{gpu.extent.width} * gpu.extent.height * 4;
  if (f.readback.size < bytes) {
    gpu.vk.destroy(f.readback);
    f.readback = gpu.vk.create_buffer(bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT, true);
  }
  if (win.glfw) {
    image_barrier(f.cmd, target.image, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                  VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                  VK_ACCESS_TRANSFER_READ_BIT);
  }
  VkBufferImageCopy region{};
  region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
  region.imageExtent = {gpu.extent.width, gpu.extent.height, 1};
  vkCmdCopyImageToBuffer(f.cmd, target.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, f.readback.buffer, 1, &region);
  if (win.glfw) {
    image_barrier(f.cmd, target.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
                  VK_PIPELINE_STAGE_TRANSFER_BIT, 0, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0);
  }
  VkBufferMemoryBarrier host{};
  host.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER;
  host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  host.srcQueueFamilyIndex = host.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  host.buffer = f.readback.buffer;
  host.size = VK_WHOLE_SIZE;
  vkCmdPipelineBarrier(f.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 0, nullptr, 1, &host, 0, nullptr);
  f.readback_pending = true;
  f.readback_path = path;
  f.readback_extent = gpu.extent;
  f.readback_bgra = (win.glfw ? gpu.swapchain.format() : VK_FORMAT_R8G8B8A8_UNORM) == VK_FORMAT_B8G8R8A8_UNORM;
}

void Viewer::Impl::submit(FrameData& f, std::uint32_t index) {
  VkSubmitInfo submit{};
  submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  const VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  VkSemaphore finished = VK_NULL_HANDLE;
  if (win.glfw) {
    finished = gpu.swapchain.render_finished(index);
    submit.waitSemaphoreCount = 1;
    submit.pWaitSemaphores = &f.acquired;
    submit.pWaitDstStageMask = &wait_stage;
    submit.signalSemaphoreCount = 1;
    submit.pSignalSemaphores = &finished;
  }
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &f.cmd;
  vk_check(vkQueueSubmit(gpu.vk.queue(), 1, &submit, f.fence), "vkQueueSubmit");
  if (win.glfw && (!gpu.swapchain.present(index) || win.framebuffer_resized)) recreate_swapchain();
}

bool Viewer::Impl::idle() const {
  if (!win.glfw || win.gamepad >= 0 || recording || session->capturing() || session->playing() || !ui.toasts.empty()) return false;
  if (feed.to_upload || !pending_screenshot.empty()) return false;
  for (const FrameData& f : gpu.frames) {
    if (f.readback_pending) return false;
  }
  const AffectPoint p = session->position();
  if (distance(p, session->target()) > 1e-6 || radius(session->velocity()) > 1e-6) return false;
  if (!feed.requests.empty() && (!feed.shown || distance(feed.requests.back().second, feed.shown->affect) > 1e-9)) return false;  // a face is on its way
  if (ui.trail.size() > 1 && distance(ui.trail.front().second, ui.trail.back().second) > 1e-6) return false;  // the trail is fading
  const ImGuiIO& io = ImGui::GetIO();
  return !io.MouseDown[0] && !io.MouseDown[1] && io.MouseWheel == 0.0f && io.MouseDelta.x == 0.0f && io.MouseDelta.y == 0.0f;
}

void Viewer::Impl::finish_readback(FrameData& f) {
  f.readback_pending = false;
  Rgba img;
  img.width = static_cast<int>(f.readback_extent.width);
  img.height = static_cast<int>(f.readback_extent.height);
  const std::size_t bytes = static_cast<std::size_t>(img.width) * static_cast<std::size_t>(img.height) * 4;
  const auto* src = static_cast<const std::uint8_t*>(f.readback.mapped);
  img.pixels.assign(src, src + bytes);
  for (std::size_t i = 0; i < bytes; i += 4) {
    if (f.readback_bgra) std::swap(img.pixels[i], img.pixels[i + 2]);
    img.pixels[i + 3] = 255;
  }
  if (f.readback_path.empty()) {
    gpu.last_capture = std::move(img);
    return;
  }
  try {
    hooks.write_png(f.readback_path, img);
    toast("Screenshot saved: " + f.readback_path);
  } catch (const std::exception& e) {
    toast(std::string("Screenshot failed: ") + e.what(), true);
  }
}

// ---- Viewer ------------------------------------------------------------------------------

Viewer::Viewer(const ViewerOptions& options, ViewerHooks hooks) : impl_(std::make_unique<Impl>(options, std::move(hooks))) {}

Viewer::~Viewer() = default;

bool Viewer::frame() { return impl_->frame(false, ""); }

void Viewer::mouse(float x, float y, bool left_down) {
  impl_->win.mouse_x = x;
  impl_->win.mouse_y = y;
  impl_->win.mouse_down = left_down;
}

void Viewer::scroll(float steps) { impl_->win.wheel += steps; }

void Viewer::key(int glfw_key, int glfw_mods) { impl_->win.key_events.emplace_back(glfw_key, glfw_mods); }

bool Viewer::settle(double timeout_s) {
  return impl_->session->wait_for_latest(timeout_s);
}

Rgba Viewer::capture() {
  Impl& m = *impl_;
  m.gpu.last_capture = Rgba{};
  if (!m.frame(true, "")) return {};
  FrameData& f = m.gpu.frames[(m.gpu.frame_number + kFramesInFlight - 1) % kFramesInFlight];
  if (!f.readback_pending) return {};
  vk_check(vkWaitForFences(m.gpu.vk.device(), 1, &f.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  m.finish_readback(f);
  return std::move(m.gpu.last_capture);
}

int Viewer::run() {
  Impl& m = *impl_;
  const ViewerOptions& opt = m.opt;
  if (opt.headless) {
    for (int i = 0; i < opt.frames; ++i) {
      const bool last = i + 1 == opt.frames;
      if (last && !settle(60.0)) std::fprintf(stderr, "circumplex view: warning: the generator did not finish the last face in 60 s\n");
      if (last && !opt.screenshot.empty()) {
        if (!m.hooks.write_png) throw Error(ErrorKind::Internal, "no PNG writer to save the screenshot with");
        const Rgba shot = capture();
        m.hooks.write_png(opt.screenshot, shot);
        if (!opt.quiet) std::printf("circumplex view: wrote %s (%dx%d)\n", opt.screenshot.c_str(), shot.width, shot.height);
      } else {
        frame();
      }
    }
  } else {
    int n = 0;
    while (true) {
      if (opt.frames > 0 && n + 1 == opt.frames && !opt.screenshot.empty()) m.pending_screenshot = opt.screenshot;
      if (!frame()) break;
      if (opt.frames > 0 && ++n >= opt.frames) break;
    }
    if (m.gpu.vk.device()) {
      vkDeviceWaitIdle(m.gpu.vk.device());
      for (FrameData& f : m.gpu.frames) {
        if (f.readback_pending) m.finish_readback(f);
      }
    }
  }
  const ViewerStats s = stats();
  if (!opt.quiet) {
    const AffectPoint p = cursor();
    char timing[96] = "frame ms n/a (too few frames)";
    if (s.frame_ms_mean > 0) {
      std::snprintf(timing, sizeof timing, "frame ms p50 %.1f p99 %.1f (%.0f fps)", s.frame_ms_p50, s.frame_ms_p99, 1000.0 / s.frame_ms_mean);
    }
    std::printf("circumplex view: %zu frames; %s; generator %.1f ms/face; upload %.2f ms/face; %zu faces, latency %.1f frames (max %d)\n",
                s.frames, timing, s.generator_ms_mean, s.upload_ms_mean, s.faces_shown, s.latency_frames_mean, s.latency_frames_max);
    std::printf("circumplex view: final cursor v=%.3f a=%.3f z=%.3f nearest=%s\n", p.v, p.a, p.z, nearest().c_str());
  }
  const int errors = validation_errors();
  if (errors > 0) {
    std::fprintf(stderr, "circumplex view: %d Vulkan validation error%s (see above)\n", errors, errors == 1 ? "" : "s");
    return 1;
  }
  return 0;
}

ViewerLayout Viewer::layout() const { return impl_->layout; }

ViewerStats Viewer::stats() const {
  const Impl& m = *impl_;
  ViewerStats s;
  s.frames = m.gpu.frame_number;
  s.frame_ms_p50 = percentile(m.frame_ms, 0.5);
  s.frame_ms_p99 = percentile(m.frame_ms, 0.99);
  for (double x : m.frame_ms) s.frame_ms_mean += x / static_cast<double>(m.frame_ms.size());
  for (double x : m.feed.generator_ms) s.generator_ms_mean += x / static_cast<double>(m.feed.generator_ms.size());
  for (double x : m.feed.upload_ms) s.upload_ms_mean += x / static_cast<double>(m.feed.upload_ms.size());
  s.faces_shown = m.feed.upload_ms.size();
  s.face_upload = m.feed.face_upload;
  for (double x : m.feed.latency) {
    s.latency_frames_mean += x / static_cast<double>(m.feed.latency.size());
    s.latency_frames_max = std::max(s.latency_frames_max, static_cast<int>(x));
  }
  return s;
}

int Viewer::validation_errors() const { return impl_->gpu.vk.validation_errors(); }
AffectPoint Viewer::cursor() const { return impl_->session->position(); }
AffectPoint Viewer::target() const { return impl_->session->target(); }
std::string Viewer::nearest() const { return impl_->session->nearest().name; }
bool Viewer::keeps_detail() const { return impl_->session->keep_detail(); }
bool Viewer::identity_has_detail() const { return impl_->session->identity_detail() != nullptr; }
std::uint64_t Viewer::face_sequence() const { return impl_->feed.shown ? impl_->feed.shown->sequence : 0; }
const std::string& Viewer::model_notice() const { return impl_->model_notice; }
std::string Viewer::device_name() const {
  return impl_->gpu.vk.device_info().name + " (" + device_type_name(impl_->gpu.vk.device_info().type) + ")";
}

}  // namespace circumplex::renderer
