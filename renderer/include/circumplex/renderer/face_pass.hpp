// circumplex/renderer/face_pass.hpp — the generated face on the GPU: a texture uploaded
// through a staging buffer, and the pipeline that draws it as a smoothly scaled quad.
//
// Debian's Dear ImGui 1.86 Vulkan backend cannot draw user textures (ImGui::Image), so the
// face has its own pipeline (shaders/face.vert, shaders/face.frag: Catmull-Rom filtering,
// rounded corners). The UI reserves a rectangle and adds an ImDrawList callback there; the
// callback records FacePass::draw into the same render pass, between ImGui's own draws, so
// panels, popups and tooltips stack over the face exactly as ImGui orders them.
//
// The texture changes only when the generator finishes a new frame: upload() copies the
// pixels into the frame's staging buffer and records buffer → image with the barriers
// around it. Uploads of later frames are ordered after earlier frames' reads on the same
// queue, so one texture serves both frames in flight; a size change makes a new texture
// and retires the old one through the frame's deletion queue.
//
//   FacePass face;  face.init(vk, render_pass);
//   if (new_frame) face.upload(cmd, frame.staging, rgba, w, h, frame.deletion);
//   ... inside the render pass:  face.draw(cmd, framebuffer_extent, rect, clip, 6.0f);
//   face.shutdown();
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>

#include "circumplex/renderer/vulkan_context.hpp"

namespace circumplex::renderer {

/// A rectangle in framebuffer pixels (x right, y down).
struct PixelRect {
  float x = 0, y = 0, w = 0, h = 0;
};

class FacePass {
 public:
  /// Creates the sampler, descriptor layout and pool, and the pipeline for `render_pass`.
  void init(VulkanContext& vk, VkRenderPass render_pass);
  /// Destroys everything, the texture included (the device must be idle).
  void shutdown();

  /// Records the upload of an RGBA8 picture (`width`×`height`, top row first). `staging`
  /// must be host-visible and hold width·height·4 bytes; it must stay untouched until
  /// this frame's fence signals. A new size retires the old texture into `deletion`.
  void upload(VkCommandBuffer cmd, Buffer& staging, const std::uint8_t* rgba, int width, int height, DeletionQueue& deletion);
  /// Whether a face has been uploaded (draw() does nothing before).
  bool has_texture() const { return set_ != VK_NULL_HANDLE; }

  /// Records the quad covering `rect`, scissored to `clip`, both in framebuffer pixels,
  /// with corners rounded by `corner_radius` pixels. Binds its own pipeline: callers
  /// drawing after it must bind theirs again (ImGui: ImDrawCallback_ResetRenderState).
  void draw(VkCommandBuffer cmd, VkExtent2D framebuffer, PixelRect rect, PixelRect clip, float corner_radius) const;

 private:
  void destroy_texture(Image& image, VkDescriptorSet set);

  VulkanContext* vk_ = nullptr;
  VkSampler sampler_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
  Image texture_;
  VkDescriptorSet set_ = VK_NULL_HANDLE;
  bool texture_ready_ = false;  // in SHADER_READ_ONLY layout (at least one upload done)
};

}  // namespace circumplex::renderer
