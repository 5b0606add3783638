// circumplex/renderer/render_target.hpp — where a frame is drawn: a window's swapchain, or
// offscreen images when there is no window system at all (headless: tests, CI, servers).
//
// Both hand out colour images with a framebuffer for the one render pass every frame uses
// (create_render_pass). The swapchain handles resizing (recreate on VK_ERROR_OUT_OF_DATE_KHR,
// VK_SUBOPTIMAL_KHR or a new framebuffer size) and minimising (a zero size: no swapchain,
// frames are skipped until the window comes back). Images can be copied out (screenshots):
// the swapchain asks for TRANSFER_SRC usage when the surface allows it.
//
//   Swapchain sc;  sc.init(vk, surface);                 // picks the surface format
//   VkRenderPass pass = create_render_pass(vk.device(), sc.format(), VK_IMAGE_LAYOUT_PRESENT_SRC_KHR);
//   sc.recreate(window_size, pass);                      // again whenever the size changes
//   ...  sc.shutdown();  vkDestroyRenderPass(...);
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <vector>

#include "circumplex/renderer/vulkan_context.hpp"

namespace circumplex::renderer {

/// One image a frame can be drawn into.
struct TargetImage {
  VkImage image = VK_NULL_HANDLE;
  VkImageView view = VK_NULL_HANDLE;
  VkFramebuffer framebuffer = VK_NULL_HANDLE;
};

/// The single-subpass colour pass (clear, store) ending in `final_layout`:
/// PRESENT_SRC_KHR for a swapchain, TRANSFER_SRC_OPTIMAL for offscreen images.
VkRenderPass create_render_pass(VkDevice device, VkFormat format, VkImageLayout final_layout);

/// A window's swapchain (FIFO presentation: vsync, no tearing, always available).
class Swapchain {
 public:
  /// Chooses the surface format (8-bit UNORM, so ImGui's colours come out as designed).
  void init(VulkanContext& vk, VkSurfaceKHR surface);
  /// (Re)creates the swapchain for a framebuffer of `size` pixels. Returns false, with no
  /// swapchain, when the size is zero (a minimised window). Waits for the device first.
  bool recreate(VkExtent2D size, VkRenderPass pass);
  /// Destroys the swapchain and its views, framebuffers and semaphores.
  void shutdown();

  VkFormat format() const { return format_.format; }
  VkExtent2D extent() const { return extent_; }
  bool valid() const { return swapchain_ != VK_NULL_HANDLE; }
  std::uint32_t image_count() const { return static_cast<std::uint32_t>(images_.size()); }
  std::uint32_t min_image_count() const { return min_images_; }
  const TargetImage& image(std::uint32_t i) const { return images_[i]; }
  /// Signalled by the frame's submit, waited on by present; one per image.
  VkSemaphore render_finished(std::uint32_t i) const { return finished_[i]; }
  /// Whether images can be copied out (F12 screenshots).
  bool can_capture() const { return can_capture_; }

  /// Acquires the next image, signalling `signal`. False when out of date (recreate).
  bool acquire(VkSemaphore signal, std::uint32_t& index);
  /// Presents image `index` after its render_finished semaphore. False when out of date
  /// or suboptimal (recreate).
  bool present(std::uint32_t index);

 private:
  void destroy_images();

  VulkanContext* vk_ = nullptr;
  VkSurfaceKHR surface_ = VK_NULL_HANDLE;
  VkSwapchainKHR swapchain_ = VK_NULL_HANDLE;
  VkSurfaceFormatKHR format_{};
  VkExtent2D extent_{0, 0};
  std::uint32_t min_images_ = 2;
  bool can_capture_ = false;
  std::vector<TargetImage> images_;
  std::vector<VkSemaphore> finished_;
};

/// Offscreen colour images (one per frame in flight) for headless rendering.
class OffscreenTarget {
 public:
  /// `count` images of `size` in `format`, usable as colour attachment and copy source.
  void init(VulkanContext& vk, VkExtent2D size, VkFormat format, VkRenderPass pass, std::uint32_t count);
  void shutdown();

  VkFormat format() const { return format_; }
  VkExtent2D extent() const { return extent_; }
  const TargetImage& image(std::uint32_t i) const { return targets_[i]; }

 private:
  VulkanContext* vk_ = nullptr;
  VkFormat format_ = VK_FORMAT_R8G8B8A8_UNORM;
  VkExtent2D extent_{0, 0};
  std::vector<Image> images_;
  std::vector<TargetImage> targets_;
};

}  // namespace circumplex::renderer
