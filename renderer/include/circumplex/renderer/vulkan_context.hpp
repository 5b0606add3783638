// circumplex/renderer/vulkan_context.hpp — the Vulkan instance, device, queue and the few
// allocation helpers the viewer draws with.
//
// VulkanContext makes the instance (with the validation layer and a debug-utils messenger
// that counts errors when validation is on), picks a physical device — a discrete GPU, then
// an integrated one, then a virtual one, then a CPU driver such as Mesa's lavapipe, or the
// one the caller names by index — and creates one graphics queue. Buffers and images are
// plain allocations: the viewer owns a handful, so no allocator library is needed.
//
// Init and shutdown are explicit, in two steps because a window's surface needs the
// instance before the device can be chosen:
//   VulkanContext vk;
//   InstanceOptions opt;  opt.validation = true;  opt.instance_extensions = glfw_extensions;
//   vk.init_instance(opt);
//   VkSurfaceKHR surface = make_surface(vk.instance());        // or VK_NULL_HANDLE: headless
//   vk.init_device(surface, /*gpu=*/-1);
//   ...
//   vk.shutdown();                                             // after everything it made
#pragma once

#include <vulkan/vulkan.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "circumplex/error.hpp"

namespace circumplex::renderer {

/// No usable Vulkan driver or device: a clear message and exit 1, never a crash.
class VulkanUnavailable : public Error {
 public:
  explicit VulkanUnavailable(const std::string& message) : Error(ErrorKind::Io, message) {}
};

/// Name of a VkResult ("VK_ERROR_DEVICE_LOST") for messages.
const char* vk_result_name(VkResult result);
/// Throws Error(Internal) naming `what` and the result unless `result` is VK_SUCCESS.
void vk_check(VkResult result, const char* what);
/// Records a layout transition of a single-mip, single-layer colour image into `cmd`.
void image_barrier(VkCommandBuffer cmd, VkImage image, VkImageLayout from, VkImageLayout to, VkPipelineStageFlags src_stage,
                   VkAccessFlags src_access, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access);

/// A buffer and its memory; `mapped` is non-null for host-visible buffers (persistently mapped).
struct Buffer {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  void* mapped = nullptr;
  VkDeviceSize size = 0;
};

/// A 2D image, its memory and a colour view.
struct Image {
  VkImage image = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkImageView view = VK_NULL_HANDLE;
  VkFormat format = VK_FORMAT_UNDEFINED;
  VkExtent2D extent{0, 0};
};

/// One physical device as the selection saw it.
struct DeviceInfo {
  int index = -1;                 ///< position in vkEnumeratePhysicalDevices' list (--gpu N)
  std::string name;               ///< "llvmpipe (LLVM 15.0.6, 256 bits)"
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  std::uint32_t api_version = 0;
};
/// "discrete GPU", "integrated GPU", "virtual GPU", "CPU" or "other".
const char* device_type_name(VkPhysicalDeviceType type);

/// How to create the instance.
struct InstanceOptions {
  bool validation = false;                       ///< VK_LAYER_KHRONOS_validation + error counting
  std::vector<const char*> instance_extensions;  ///< e.g. glfwGetRequiredInstanceExtensions()
};

/// The instance, the chosen device and its graphics queue.
class VulkanContext {
 public:
  VulkanContext();
  ~VulkanContext();  ///< calls shutdown() if the owner did not
  VulkanContext(const VulkanContext&) = delete;
  VulkanContext& operator=(const VulkanContext&) = delete;

  /// Creates the instance (and the messenger when validating). Throws VulkanUnavailable
  /// when the loader finds no driver.
  void init_instance(const InstanceOptions& options);
  /// Picks the device (`gpu` ≥ 0: that index; −1: best type) that can draw and, when
  /// `surface` is given, present to it; creates the device and queue. Throws
  /// VulkanUnavailable when there is none, naming what was found.
  void init_device(VkSurfaceKHR surface, int gpu);
  /// Destroys the device, messenger and instance (the caller destroyed its objects first).
  void shutdown();

  VkInstance instance() const { return instance_; }
  VkPhysicalDevice physical_device() const { return physical_; }
  VkDevice device() const { return device_; }
  VkQueue queue() const { return queue_; }
  std::uint32_t queue_family() const { return queue_family_; }
  const DeviceInfo& device_info() const { return info_; }
  /// Every device the loader reported, in --gpu order.
  const std::vector<DeviceInfo>& devices() const { return devices_; }
  /// Whether the device has opaque-fd external memory and semaphores enabled (CUDA interop).
  bool external_fd() const { return external_fd_; }
  /// The device's UUID (VkPhysicalDeviceIDProperties::deviceUUID), which CUDA reports too.
  const std::array<std::uint8_t, 16>& device_uuid() const { return uuid_; }
  /// Whether the validation layer is active (it may be missing even when asked for).
  bool validating() const { return validating_; }
  /// Validation errors reported so far (0 when not validating).
  int validation_errors() const;

  /// A buffer of `size` bytes; host-visible ones are coherent and stay mapped.
  Buffer create_buffer(VkDeviceSize size, VkBufferUsageFlags usage, bool host_visible);
  void destroy(Buffer& buffer);
  /// A device-local 2D image with a colour view.
  Image create_image(VkExtent2D extent, VkFormat format, VkImageUsageFlags usage);
  void destroy(Image& image);
  /// Records `record` into a one-off command buffer, submits it and waits (setup only).
  void immediate_submit(const std::function<void(VkCommandBuffer)>& record);
  /// The first memory type in `bits` with all of `flags`; throws circumplex::Error when none.
  std::uint32_t memory_type(std::uint32_t bits, VkMemoryPropertyFlags flags) const;

 private:

  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  std::uint32_t queue_family_ = 0;
  VkCommandPool upload_pool_ = VK_NULL_HANDLE;
  VkPhysicalDeviceMemoryProperties memory_{};
  DeviceInfo info_;
  std::vector<DeviceInfo> devices_;
  bool validating_ = false;
  bool external_fd_ = false;
  std::array<std::uint8_t, 16> uuid_{};
  // Counted by the messenger callback (any thread), so it lives at a fixed address.
  std::unique_ptr<std::atomic<int>> errors_;
};

/// Functions to run later, in reverse order of registration (vkguide's deletion queue):
/// each frame in flight owns one and flushes it once its fence says the GPU is done.
class DeletionQueue {
 public:
  void push(std::function<void()> fn) { fns_.push_back(std::move(fn)); }
  void flush();
  bool empty() const { return fns_.empty(); }

 private:
  std::vector<std::function<void()>> fns_;
};

}  // namespace circumplex::renderer
