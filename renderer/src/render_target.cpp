#include "circumplex/renderer/render_target.hpp"

#include <algorithm>

namespace circumplex::renderer {

VkRenderPass create_render_pass(VkDevice device, VkFormat format, VkImageLayout final_layout) {
  VkAttachmentDescription colour{};
  colour.format = format;
  colour.samples = VK_SAMPLE_COUNT_1_BIT;
  colour.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
  colour.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
  colour.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
  colour.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
  colour.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  colour.finalLayout = final_layout;
  VkAttachmentReference ref{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
  VkSubpassDescription subpass{};
  subpass.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
  subpass.colorAttachmentCount = 1;
  subpass.pColorAttachments = &ref;
  // In: the acquire semaphore (waited at colour output) and an earlier copy-out of the
  // same image (a read) must finish before the clear writes. Out: copies after the pass
  // (screenshots) see the colour writes.
  VkSubpassDependency deps[2]{};
  deps[0].srcSubpass = VK_SUBPASS_EXTERNAL;
  deps[0].dstSubpass = 0;
  deps[0].srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  deps[0].dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  deps[0].srcAccessMask = 0;
  deps[0].dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | VK_ACCESS_COLOR_ATTACHMENT_READ_BIT;
  deps[1].srcSubpass = 0;
  deps[1].dstSubpass = VK_SUBPASS_EXTERNAL;
  deps[1].srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  deps[1].dstStageMask = VK_PIPELINE_STAGE_TRANSFER_BIT;
  deps[1].srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
  deps[1].dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
  VkRenderPassCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO;
  info.attachmentCount = 1;
  info.pAttachments = &colour;
  info.subpassCount = 1;
  info.pSubpasses = &subpass;
  info.dependencyCount = 2;
  info.pDependencies = deps;
  VkRenderPass pass = VK_NULL_HANDLE;
  vk_check(vkCreateRenderPass(device, &info, nullptr, &pass), "vkCreateRenderPass");
  return pass;
}

namespace {
VkFramebuffer make_framebuffer(VkDevice device, VkRenderPass pass, VkImageView view, VkExtent2D extent) {
  VkFramebufferCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO;
  info.renderPass = pass;
  info.attachmentCount = 1;
  info.pAttachments = &view;
  info.width = extent.width;
  info.height = extent.height;
  info.layers = 1;
  VkFramebuffer fb = VK_NULL_HANDLE;
  vk_check(vkCreateFramebuffer(device, &info, nullptr, &fb), "vkCreateFramebuffer");
  return fb;
}
}  // namespace

// ---- Swapchain ---------------------------------------------------------------------------

void Swapchain::init(VulkanContext& vk, VkSurfaceKHR surface) {
  vk_ = &vk;
  surface_ = surface;
  std::uint32_t n = 0;
  vkGetPhysicalDeviceSurfaceFormatsKHR(vk.physical_device(), surface, &n, nullptr);
  std::vector<VkSurfaceFormatKHR> formats(n);
  vkGetPhysicalDeviceSurfaceFormatsKHR(vk.physical_device(), surface, &n, formats.data());
  if (formats.empty()) throw VulkanUnavailable("the Vulkan device reports no formats for this window");
  format_ = formats[0];
  for (VkFormat want : {VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM}) {
    auto it = std::find_if(formats.begin(), formats.end(), [&](const VkSurfaceFormatKHR& f) {
      return f.format == want && f.colorSpace == VK_COLOR_SPACE_SRGB_NONLINEAR_KHR;
    });
    if (it != formats.end()) {
      format_ = *it;
      break;
    }
  }
}

void Swapchain::destroy_images() {
  VkDevice device = vk_->device();
  for (TargetImage& t : images_) {
    if (t.framebuffer) vkDestroyFramebuffer(device, t.framebuffer, nullptr);
    if (t.view) vkDestroyImageView(device, t.view, nullptr);
  }
  images_.clear();
  for (VkSemaphore s : finished_) vkDestroySemaphore(device, s, nullptr);
  finished_.clear();
}

bool Swapchain::recreate(VkExtent2D size, VkRenderPass pass) {
  VkDevice device = vk_->device();
  vkDeviceWaitIdle(device);
  destroy_images();
  VkSurfaceCapabilitiesKHR caps;
  vk_check(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(vk_->physical_device(), surface_, &caps), "vkGetPhysicalDeviceSurfaceCapabilitiesKHR");
  VkExtent2D extent = caps.currentExtent;
  if (extent.width == UINT32_MAX) {
    extent.width = std::clamp(size.width, caps.minImageExtent.width, caps.maxImageExtent.width);
    extent.height = std::clamp(size.height, caps.minImageExtent.height, caps.maxImageExtent.height);
  }
  if (extent.width == 0 || extent.height == 0 || size.width == 0 || size.height == 0) {
    if (swapchain_) vkDestroySwapchainKHR(device, swapchain_, nullptr);
    swapchain_ = VK_NULL_HANDLE;
    extent_ = {0, 0};
    return false;
  }
  min_images_ = std::max(2u, caps.minImageCount);
  std::uint32_t count = std::max(caps.minImageCount + 1, 2u);
  if (caps.maxImageCount > 0) count = std::min(count, caps.maxImageCount);
  can_capture_ = (caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_SRC_BIT) != 0;

  VkSwapchainCreateInfoKHR info{};
  info.sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR;
  info.surface = surface_;
  info.minImageCount = count;
  info.imageFormat = format_.format;
  info.imageColorSpace = format_.colorSpace;
  info.imageExtent = extent;
  info.imageArrayLayers = 1;
  info.imageUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | (can_capture_ ? VkImageUsageFlags{VK_IMAGE_USAGE_TRANSFER_SRC_BIT} : VkImageUsageFlags{0});
  info.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE;
  info.preTransform = (caps.supportedTransforms & VK_SURFACE_TRANSFORM_IDENTITY_BIT_KHR) ? VK_SURFACE_TRANSFORM_IDENTITY_BIT_KHR : caps.currentTransform;
  info.compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR;
  for (VkCompositeAlphaFlagBitsKHR a : {VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR, VK_COMPOSITE_ALPHA_INHERIT_BIT_KHR, VK_COMPOSITE_ALPHA_PRE_MULTIPLIED_BIT_KHR,
                                        VK_COMPOSITE_ALPHA_POST_MULTIPLIED_BIT_KHR}) {
    if (caps.supportedCompositeAlpha & a) {
      info.compositeAlpha = a;
      break;
    }
  }
  info.presentMode = VK_PRESENT_MODE_FIFO_KHR;
  info.clipped = VK_TRUE;
  info.oldSwapchain = swapchain_;
  VkSwapchainKHR fresh = VK_NULL_HANDLE;
  vk_check(vkCreateSwapchainKHR(device, &info, nullptr, &fresh), "vkCreateSwapchainKHR");
  if (swapchain_) vkDestroySwapchainKHR(device, swapchain_, nullptr);
  swapchain_ = fresh;
  extent_ = extent;

  std::uint32_t n = 0;
  vkGetSwapchainImagesKHR(device, swapchain_, &n, nullptr);
  std::vector<VkImage> images(n);
  vkGetSwapchainImagesKHR(device, swapchain_, &n, images.data());
  images_.resize(n);
  finished_.resize(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    images_[i].image = images[i];
    VkImageViewCreateInfo view{};
    view.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO;
    view.image = images[i];
    view.viewType = VK_IMAGE_VIEW_TYPE_2D;
    view.format = format_.format;
    view.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vk_check(vkCreateImageView(device, &view, nullptr, &images_[i].view), "vkCreateImageView (swapchain)");
    images_[i].framebuffer = make_framebuffer(device, pass, images_[i].view, extent_);
    VkSemaphoreCreateInfo sem{};
    sem.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO;
    vk_check(vkCreateSemaphore(device, &sem, nullptr, &finished_[i]), "vkCreateSemaphore");
  }
  return true;
}

void Swapchain::shutdown() {
  if (!vk_) return;
  vkDeviceWaitIdle(vk_->device());
  destroy_images();
  if (swapchain_) vkDestroySwapchainKHR(vk_->device(), swapchain_, nullptr);
  swapchain_ = VK_NULL_HANDLE;
  vk_ = nullptr;
}

bool Swapchain::acquire(VkSemaphore signal, std::uint32_t& index) {
  const VkResult r = vkAcquireNextImageKHR(vk_->device(), swapchain_, UINT64_MAX, signal, VK_NULL_HANDLE, &index);
  if (r == VK_ERROR_OUT_OF_DATE_KHR) return false;
  if (r != VK_SUBOPTIMAL_KHR) vk_check(r, "vkAcquireNextImageKHR");
  return true;  // suboptimal still signals the semaphore: draw, then recreate after present
}

bool Swapchain::present(std::uint32_t index) {
  VkPresentInfoKHR info{};
  info.sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR;
  info.waitSemaphoreCount = 1;
  info.pWaitSemaphores = &finished_[index];
  info.swapchainCount = 1;
  info.pSwapchains = &swapchain_;
  info.pImageIndices = &index;
  const VkResult r = vkQueuePresentKHR(vk_->queue(), &info);
  if (r == VK_ERROR_OUT_OF_DATE_KHR || r == VK_SUBOPTIMAL_KHR) return false;
  vk_check(r, "vkQueuePresentKHR");
  return true;
}

// ---- OffscreenTarget ---------------------------------------------------------------------

void OffscreenTarget::init(VulkanContext& vk, VkExtent2D size, VkFormat format, VkRenderPass pass, std::uint32_t count) {
  vk_ = &vk;
  format_ = format;
  extent_ = size;
  for (std::uint32_t i = 0; i < count; ++i) {
    images_.push_back(vk.create_image(size, format, VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT));
    TargetImage t;
    t.image = images_.back().image;
    t.view = images_.back().view;
    t.framebuffer = make_framebuffer(vk.device(), pass, t.view, size);
    targets_.push_back(t);
  }
}

void OffscreenTarget::shutdown() {
  if (!vk_) return;
  for (TargetImage& t : targets_) vkDestroyFramebuffer(vk_->device(), t.framebuffer, nullptr);
  for (Image& im : images_) vk_->destroy(im);
  targets_.clear();
  images_.clear();
  vk_ = nullptr;
}

}  // namespace circumplex::renderer
