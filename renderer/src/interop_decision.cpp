#include "circumplex/renderer/interop_decision.hpp"

#include <dlfcn.h>

#include <cstring>

namespace circumplex::renderer {

InteropDecision decide_face_upload(const InteropFacts& f) {
  // `why` is the overlay's short reason; `detail` follows it in the log line.
  auto staging = [](const std::string& why, const std::string& detail = {}) {
    return InteropDecision{FaceUpload::StagingBuffer, "face upload: staging buffer (" + why + (detail.empty() ? "" : ": " + detail) + ")",
                           "staging buffer (" + why + ")"};
  };
  if (!f.built) return staging("built without CUDA interop", "no CUDA toolkit at build time");
  if (f.cuda_devices <= 0) return staging("no CUDA device", f.cuda_error);
  if (!f.vulkan_external) return staging("the Vulkan device lacks opaque-fd external memory and semaphores");
  if (!f.uuid_match) return staging("no CUDA device has the Vulkan device's UUID", "Vulkan draws on another GPU");
  if (!f.torch_cuda) return staging("LibTorch is CPU-only", "the generator's faces are in host memory");
  if (!f.generator_on_gpu) return staging("the generator decodes on the CPU", "its faces are in host memory");
  if (!f.failure.empty()) return staging("CUDA interop failed", f.failure);
  return {FaceUpload::CudaInterop, "face upload: CUDA-Vulkan interop (the generator writes the texture on the GPU)", "CUDA interop"};
}

InteropFacts probe_interop(const std::array<std::uint8_t, 16>& vulkan_uuid, bool vulkan_external, bool torch_cuda) {
  InteropFacts f;
#ifdef CIRCUMPLEX_CUDA_INTEROP
  f.built = true;
#endif
  f.vulkan_external = vulkan_external;
  f.torch_cuda = torch_cuda;
  // The driver API through dlopen: the probe works (and says why not) on machines without
  // a CUDA driver, and the viewer links nothing of CUDA for it. Signatures from cuda.h.
  using CUresult = int;
  using CUdevice = int;
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    f.cuda_error = "no CUDA driver (libcuda.so.1 not found)";
    return f;
  }
  auto init = reinterpret_cast<CUresult (*)(unsigned)>(dlsym(lib, "cuInit"));
  auto count = reinterpret_cast<CUresult (*)(int*)>(dlsym(lib, "cuDeviceGetCount"));
  auto get = reinterpret_cast<CUresult (*)(CUdevice*, int)>(dlsym(lib, "cuDeviceGet"));
  auto uuid = reinterpret_cast<CUresult (*)(unsigned char*, CUdevice)>(dlsym(lib, "cuDeviceGetUuid_v2"));
  if (!uuid) uuid = reinterpret_cast<CUresult (*)(unsigned char*, CUdevice)>(dlsym(lib, "cuDeviceGetUuid"));
  if (!init || !count || !get || !uuid) {
    f.cuda_error = "the CUDA driver lacks cuInit/cuDeviceGetCount/cuDeviceGetUuid";
  } else if (const CUresult r = init(0); r != 0) {
    f.cuda_error = "cuInit failed (CUresult " + std::to_string(r) + (r == 100 ? ", CUDA_ERROR_NO_DEVICE)" : ")");
  } else if (int n = 0; count(&n) != 0 || n <= 0) {
    f.cuda_error = "the CUDA driver reports no device";
  } else {
    f.cuda_devices = n;
    for (int i = 0; i < n && !f.uuid_match; ++i) {
      CUdevice dev = 0;
      unsigned char id[16] = {};
      if (get(&dev, i) == 0 && uuid(id, dev) == 0) f.uuid_match = std::memcmp(id, vulkan_uuid.data(), 16) == 0;
    }
  }
  dlclose(lib);
  return f;
}

}  // namespace circumplex::renderer
