// circumplex/renderer/cuda_interop.hpp — CUDA writes the face into Vulkan memory directly.
//
// Built only with CIRCUMPLEX_CUDA_INTEROP (the CUDA toolkit found at build time); uses the
// CUDA runtime and Vulkan, nothing else. interop_decision.hpp says when it is used.
//
// Set-up (init), in this order:
//   1. The Vulkan device has VK_KHR_external_memory_fd and VK_KHR_external_semaphore_fd
//      enabled (VulkanContext does so whenever they exist: external_fd()).
//   2. The CUDA device is the Vulkan device: the one whose cudaDeviceProp::uuid equals
//      VkPhysicalDeviceIDProperties::deviceUUID (vk.device_uuid()). No match: error.
//   3. A VkBuffer of width·height·4 bytes (transfer source) whose memory is allocated
//      exportable (VkExportMemoryAllocateInfo, opaque fd), exported (vkGetMemoryFdKHR),
//      imported into CUDA (cudaImportExternalMemory; CUDA then owns the fd) and mapped
//      (cudaExternalMemoryGetMappedBuffer) — the same bytes, seen by both APIs.
//   4. Two binary semaphores, exportable and imported into CUDA:
//        cuda_done    CUDA signals it after writing a face; Vulkan's copy waits on it;
//        vulkan_done  Vulkan signals it after copying; CUDA waits on it before the next write.
//      So CUDA's writes come before Vulkan's reads, and Vulkan's reads before the next write.
//   5. A CUDA stream for the conversion kernel.
// Per face: write_planar() enqueues on the stream [wait vulkan_done if a copy is pending] →
// kernel: planar float RGB [3, H, W] in [0, 1] → RGBA8 (round to nearest, alpha 255, the
// same bytes as Generator::decode) → signal cuda_done. The caller then submits a command
// buffer copying buffer() into the texture that waits on cuda_done() (transfer stage) and
// signals vulkan_done(), and calls copy_submitted().
// Teardown (shutdown), in this order: synchronise the stream and wait for the Vulkan queue;
// destroy the CUDA external semaphores; free the mapped pointer and destroy the CUDA
// external memory; destroy the Vulkan semaphores, buffer and memory; destroy the stream.
//
//   CudaVulkanInterop interop;
//   interop.init(vk, 128, 128);                  // throws circumplex::Error naming the failed step
//   interop.write_planar_host(rgb.data());       // or write_planar(device_pointer)
//   submit copy(interop.buffer() → texture), wait interop.cuda_done(), signal interop.vulkan_done();
//   interop.copy_submitted();
//   interop.shutdown();
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>

#include "circumplex/renderer/vulkan_context.hpp"

namespace circumplex::renderer {

class CudaVulkanInterop {
 public:
  CudaVulkanInterop() = default;
  ~CudaVulkanInterop();  ///< shutdown() if the owner did not
  CudaVulkanInterop(const CudaVulkanInterop&) = delete;
  CudaVulkanInterop& operator=(const CudaVulkanInterop&) = delete;

  /// Steps 1–5 above for a width×height face. Throws Error naming the step that failed
  /// (what has been made is torn down again).
  void init(VulkanContext& vk, int width, int height);
  /// Converts planar float RGB (a CUDA device pointer, 3·H·W floats) into the shared buffer.
  void write_planar(const float* device_rgb);
  /// The same from host memory (copied to the device first): tests and callers without CUDA tensors.
  void write_planar_host(const float* host_rgb);
  /// The caller submitted a Vulkan copy that waits on cuda_done() and signals vulkan_done().
  void copy_submitted() { copy_pending_ = true; }
  /// Waits until the stream's work is finished.
  void synchronize();
  void shutdown();

  bool ready() const { return ready_; }
  VkBuffer buffer() const { return buffer_; }
  VkSemaphore cuda_done() const { return cuda_done_; }
  VkSemaphore vulkan_done() const { return vulkan_done_; }
  int cuda_device() const { return cuda_device_; }
  int width() const { return width_; }
  int height() const { return height_; }

 private:
  VulkanContext* vk_ = nullptr;
  int width_ = 0, height_ = 0, cuda_device_ = -1;
  bool ready_ = false, copy_pending_ = false;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  VkSemaphore cuda_done_ = VK_NULL_HANDLE, vulkan_done_ = VK_NULL_HANDLE;
  // CUDA handles, opaque here so this header needs no CUDA headers.
  void* ext_memory_ = nullptr;     // cudaExternalMemory_t
  void* ext_cuda_done_ = nullptr;  // cudaExternalSemaphore_t
  void* ext_vulkan_done_ = nullptr;
  void* mapped_ = nullptr;         // device pointer into the shared buffer
  void* stream_ = nullptr;         // cudaStream_t
  float* scratch_ = nullptr;       // device copy of host input (write_planar_host)
};

}  // namespace circumplex::renderer
