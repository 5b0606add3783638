// circumplex/renderer/interop_decision.hpp — how a generated face reaches the GPU texture.
//
// Two paths exist. The staging buffer (always available): the generator's RGBA8 bytes are
// copied into a host-visible buffer and a command copies them into the texture (FacePass).
// CUDA–Vulkan interop (cuda_interop.hpp, built when CIRCUMPLEX_CUDA_INTEROP is on): Vulkan
// memory is exported as an opaque file descriptor, imported into CUDA, and a kernel writes
// the generator's float output straight into it, ordered by shared semaphores: no copy
// through host memory.
//
// Interop needs all of: the module built in; a CUDA device; a Vulkan device with opaque-fd
// external memory and semaphores; a CUDA device that *is* the Vulkan device (same UUID);
// a LibTorch with CUDA (else the generator's output is in host memory anyway); a generator
// that decodes on that device; and a set-up that succeeded. The choice is a pure function of those probed facts, so every
// branch is unit-tested (tests/test_interop.cpp); the viewer logs its message once and
// shows it in the performance overlay.
//
//   InteropFacts facts = probe_interop(vk.device_uuid(), vk.external_fd(), torch_cuda);
//   InteropDecision d = decide_face_upload(facts);   // d.message: "face upload: staging buffer (no CUDA device: …)"
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace circumplex::renderer {

/// What was found out before choosing the path (probe_interop fills it; tests build it).
struct InteropFacts {
  bool built = false;            ///< compiled with CIRCUMPLEX_CUDA_INTEROP
  int cuda_devices = 0;          ///< CUDA devices the driver reports (0: none, or no driver)
  std::string cuda_error;        ///< why there are none ("libcuda.so.1 not found", a CUresult name)
  bool vulkan_external = false;  ///< the Vulkan device has opaque-fd external memory and semaphores
  bool uuid_match = false;       ///< one of the CUDA devices has the Vulkan device's UUID
  bool torch_cuda = false;       ///< LibTorch has CUDA and sees a device
  bool generator_on_gpu = false; ///< the frames' generator decodes on that device (the session's decodes on the CPU)
  std::string failure;           ///< the interop set-up failed after the facts allowed it (its error)
};

enum class FaceUpload { StagingBuffer, CudaInterop };

struct InteropDecision {
  FaceUpload path = FaceUpload::StagingBuffer;
  std::string message;  ///< one line for the log, starting "face upload: "
  std::string label;    ///< the short form for the overlay: "CUDA interop" or "staging buffer (no CUDA device)"
};

/// The path and why, checking in the order of InteropFacts' fields; pure.
InteropDecision decide_face_upload(const InteropFacts& facts);

/// Probes the CUDA driver (loaded with dlopen, so nothing links CUDA for this) for devices
/// and their UUIDs, and fills the facts for a Vulkan device with `vulkan_uuid`.
InteropFacts probe_interop(const std::array<std::uint8_t, 16>& vulkan_uuid, bool vulkan_external, bool torch_cuda);

}  // namespace circumplex::renderer
