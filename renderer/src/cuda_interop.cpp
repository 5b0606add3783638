#include "circumplex/renderer/cuda_interop.hpp"

#include <cuda_runtime.h>

#include <unistd.h>

#include <cstring>
#include <string>

#include "circumplex/error.hpp"

namespace circumplex::renderer {

cudaError_t launch_planar_to_rgba8(const float* rgb, void* rgba, int width, int height, cudaStream_t stream);

namespace {
void cuda_check(cudaError_t e, const char* step) {
  if (e != cudaSuccess) throw Error(ErrorKind::Internal, std::string("CUDA interop: ") + step + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}
// CUDA owns an imported file descriptor only once the import succeeds: close it otherwise.
void cuda_import(cudaError_t e, int fd, const char* step) {
  if (e != cudaSuccess) close(fd);
  cuda_check(e, step);
}
}  // namespace

CudaVulkanInterop::~CudaVulkanInterop() { shutdown(); }

void CudaVulkanInterop::init(VulkanContext& vk, int width, int height) {
  shutdown();
  vk_ = &vk;
  width_ = width;
  height_ = height;
  try {
    // 1. Extensions.
    if (!vk.external_fd()) throw Error(ErrorKind::Internal, "CUDA interop: the Vulkan device lacks VK_KHR_external_memory_fd/VK_KHR_external_semaphore_fd");
    VkDevice dev = vk.device();
    auto get_memory_fd = reinterpret_cast<PFN_vkGetMemoryFdKHR>(vkGetDeviceProcAddr(dev, "vkGetMemoryFdKHR"));
    auto get_semaphore_fd = reinterpret_cast<PFN_vkGetSemaphoreFdKHR>(vkGetDeviceProcAddr(dev, "vkGetSemaphoreFdKHR"));
    if (!get_memory_fd || !get_semaphore_fd) throw Error(ErrorKind::Internal, "CUDA interop: vkGetMemoryFdKHR/vkGetSemaphoreFdKHR not found");

    // 2. The CUDA device with the Vulkan device's UUID.
    int n = 0;
    cuda_check(cudaGetDeviceCount(&n), "cudaGetDeviceCount");
    for (int i = 0; i < n && cuda_device_ < 0; ++i) {
      cudaDeviceProp prop{};
      cuda_check(cudaGetDeviceProperties(&prop, i), "cudaGetDeviceProperties");
      if (std::memcmp(prop.uuid.bytes, vk.device_uuid().data(), 16) == 0) cuda_device_ = i;
    }
    if (cuda_device_ < 0) throw Error(ErrorKind::Internal, "CUDA interop: no CUDA device has the Vulkan device's UUID");
    cuda_check(cudaSetDevice(cuda_device_), "cudaSetDevice");

    // 3. Exportable buffer memory, imported into CUDA and mapped.
    const VkDeviceSize size = static_cast<VkDeviceSize>(width) * static_cast<VkDeviceSize>(height) * 4;
    VkExternalMemoryBufferCreateInfo ext_buffer{};
    ext_buffer.sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO;
    ext_buffer.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
    VkBufferCreateInfo binfo{};
    binfo.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    binfo.pNext = &ext_buffer;
    binfo.size = size;
    binfo.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
    binfo.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    vk_check(vkCreateBuffer(dev, &binfo, nullptr, &buffer_), "vkCreateBuffer (exportable)");
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(dev, buffer_, &req);
    const std::uint32_t type = vk.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    VkExportMemoryAllocateInfo export_info{};
    export_info.sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO;
    export_info.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
    VkMemoryAllocateInfo ainfo{};
    ainfo.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    ainfo.pNext = &export_info;
    ainfo.allocationSize = req.size;
    ainfo.memoryTypeIndex = type;
    vk_check(vkAllocateMemory(dev, &ainfo, nullptr, &memory_), "vkAllocateMemory (exportable)");
    vk_check(vkBindBufferMemory(dev, buffer_, memory_, 0), "vkBindBufferMemory");
    VkMemoryGetFdInfoKHR fd_info{};
    fd_info.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR;
    fd_info.memory = memory_;
    fd_info.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;
    int memory_fd = -1;
    vk_check(get_memory_fd(dev, &fd_info, &memory_fd), "vkGetMemoryFdKHR");
    cudaExternalMemoryHandleDesc mdesc{};
    mdesc.type = cudaExternalMemoryHandleTypeOpaqueFd;
    mdesc.handle.fd = memory_fd;  // owned by CUDA once imported
    mdesc.size = req.size;
    cudaExternalMemory_t ext_memory = nullptr;
    cuda_import(cudaImportExternalMemory(&ext_memory, &mdesc), memory_fd, "cudaImportExternalMemory");
    ext_memory_ = ext_memory;
    cudaExternalMemoryBufferDesc bdesc{};
    bdesc.offset = 0;
    bdesc.size = size;
    cuda_check(cudaExternalMemoryGetMappedBuffer(&mapped_, ext_memory, &bdesc), "cudaExternalMemoryGetMappedBuffer");

    // 4. The two semaphores, exportable, imported into CUDA.
    auto make_semaphore = [&](VkSemaphore& sem, void*& ext, const char* name) {
      VkExportSemaphoreCreateInfo esinfo{};
      esinfo.sType = VK_STRUCTURE_TYPE_EXPORT_SEMAPHORE_CREATE_INFO;
      esinfo.handleTypes = VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_OPAQUE_FD_BIT;
      VkSemaphoreCreateInfo sinfo{};
      sinfo.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO;
      sinfo.pNext = &esinfo;
      vk_check(vkCreateSemaphore(dev, &sinfo, nullptr, &sem), name);
      VkSemaphoreGetFdInfoKHR sfd{};
      sfd.sType = VK_STRUCTURE_TYPE_SEMAPHORE_GET_FD_INFO_KHR;
      sfd.semaphore = sem;
      sfd.handleType = VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_OPAQUE_FD_BIT;
      int fd = -1;
      vk_check(get_semaphore_fd(dev, &sfd, &fd), "vkGetSemaphoreFdKHR");
      cudaExternalSemaphoreHandleDesc sdesc{};
      sdesc.type = cudaExternalSemaphoreHandleTypeOpaqueFd;
      sdesc.handle.fd = fd;
      cudaExternalSemaphore_t s = nullptr;
      cuda_import(cudaImportExternalSemaphore(&s, &sdesc), fd, "cudaImportExternalSemaphore");
      ext = s;
    };
    make_semaphore(cuda_done_, ext_cuda_done_, "vkCreateSemaphore (cuda_done)");
    make_semaphore(vulkan_done_, ext_vulkan_done_, "vkCreateSemaphore (vulkan_done)");

    // 5. The stream.
    cudaStream_t stream = nullptr;
    cuda_check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
    stream_ = stream;
    ready_ = true;
  } catch (...) {
    shutdown();
    throw;
  }
}

void CudaVulkanInterop::write_planar(const float* device_rgb) {
  if (!ready_) throw Error(ErrorKind::Internal, "CUDA interop: write_planar before init");
  auto stream = static_cast<cudaStream_t>(stream_);
  if (copy_pending_) {
    // Vulkan's copy of the previous face must finish before the buffer is overwritten.
    cudaExternalSemaphoreWaitParams wait{};
    auto sem = static_cast<cudaExternalSemaphore_t>(ext_vulkan_done_);
    cuda_check(cudaWaitExternalSemaphoresAsync(&sem, &wait, 1, stream), "cudaWaitExternalSemaphoresAsync");
    copy_pending_ = false;
  }
  cuda_check(launch_planar_to_rgba8(device_rgb, mapped_, width_, height_, stream), "planar_to_rgba8 kernel");
  cudaExternalSemaphoreSignalParams signal{};
  auto done = static_cast<cudaExternalSemaphore_t>(ext_cuda_done_);
  cuda_check(cudaSignalExternalSemaphoresAsync(&done, &signal, 1, stream), "cudaSignalExternalSemaphoresAsync");
}

void CudaVulkanInterop::write_planar_host(const float* host_rgb) {
  if (!ready_) throw Error(ErrorKind::Internal, "CUDA interop: write_planar_host before init");
  const std::size_t bytes = static_cast<std::size_t>(width_) * static_cast<std::size_t>(height_) * 3 * sizeof(float);
  if (!scratch_) cuda_check(cudaMalloc(reinterpret_cast<void**>(&scratch_), bytes), "cudaMalloc");
  cuda_check(cudaMemcpyAsync(scratch_, host_rgb, bytes, cudaMemcpyHostToDevice, static_cast<cudaStream_t>(stream_)), "cudaMemcpyAsync");
  write_planar(scratch_);
}

void CudaVulkanInterop::synchronize() {
  if (stream_) cuda_check(cudaStreamSynchronize(static_cast<cudaStream_t>(stream_)), "cudaStreamSynchronize");
}

void CudaVulkanInterop::shutdown() {
  // The documented order: idle both sides, CUDA's imports, then Vulkan's objects, then the stream.
  if (stream_) cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
  if (vk_ && vk_->device()) vkQueueWaitIdle(vk_->queue());
  if (ext_cuda_done_) cudaDestroyExternalSemaphore(static_cast<cudaExternalSemaphore_t>(ext_cuda_done_));
  if (ext_vulkan_done_) cudaDestroyExternalSemaphore(static_cast<cudaExternalSemaphore_t>(ext_vulkan_done_));
  ext_cuda_done_ = ext_vulkan_done_ = nullptr;
  if (mapped_) cudaFree(mapped_);
  mapped_ = nullptr;
  if (ext_memory_) cudaDestroyExternalMemory(static_cast<cudaExternalMemory_t>(ext_memory_));
  ext_memory_ = nullptr;
  if (scratch_) cudaFree(scratch_);
  scratch_ = nullptr;
  if (vk_ && vk_->device()) {
    VkDevice dev = vk_->device();
    if (cuda_done_) vkDestroySemaphore(dev, cuda_done_, nullptr);
    if (vulkan_done_) vkDestroySemaphore(dev, vulkan_done_, nullptr);
    if (buffer_) vkDestroyBuffer(dev, buffer_, nullptr);
    if (memory_) vkFreeMemory(dev, memory_, nullptr);
  }
  cuda_done_ = vulkan_done_ = VK_NULL_HANDLE;
  buffer_ = VK_NULL_HANDLE;
  memory_ = VK_NULL_HANDLE;
  if (stream_) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
  stream_ = nullptr;
  ready_ = copy_pending_ = false;
  cuda_device_ = -1;
}

}  // namespace circumplex::renderer
