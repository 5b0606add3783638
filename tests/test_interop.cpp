// How faces reach the GPU: the decision between CUDA–Vulkan interop and the staging buffer
// (every branch, from facts built by hand), this machine's probe, and — when this machine
// has a CUDA device that is its Vulkan device — the interop round trip itself: CUDA's kernel
// writes planar floats as RGBA8 into Vulkan memory, Vulkan copies it out after the semaphore.
// Needs only Vulkan (and CUDA when built with it): it also builds with CIRCUMPLEX_MINIMAL.
#include "test_skip.hpp"
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "circumplex/renderer/interop_decision.hpp"
#include "circumplex/renderer/vulkan_context.hpp"
#ifdef CIRCUMPLEX_CUDA_INTEROP
#include "circumplex/renderer/cuda_interop.hpp"
#endif

using namespace circumplex::renderer;

namespace {
/// Facts under which interop is used; each test case breaks one.
InteropFacts all_met() {
  InteropFacts f;
  f.built = true;
  f.cuda_devices = 1;
  f.vulkan_external = true;
  f.uuid_match = true;
  f.torch_cuda = true;
  f.generator_on_gpu = true;
  return f;
}
bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
}  // namespace

TEST_CASE("every condition met: CUDA interop") {
  const InteropDecision d = decide_face_upload(all_met());
  CHECK(d.path == FaceUpload::CudaInterop);
  CHECK(d.message == "face upload: CUDA-Vulkan interop (the generator writes the texture on the GPU)");
  CHECK(d.label == "CUDA interop");
}

TEST_CASE("each missing condition falls back to the staging buffer and says which") {
  struct Case {
    const char* name;
    void (*breakit)(InteropFacts&);
    const char* message;
    const char* label;  ///< the overlay's short form
  };
  const Case cases[] = {
      {"not built", [](InteropFacts& f) { f.built = false; },
       "face upload: staging buffer (built without CUDA interop: no CUDA toolkit at build time)", "staging buffer (built without CUDA interop)"},
      {"no device", [](InteropFacts& f) { f.cuda_devices = 0; f.cuda_error = "no CUDA driver (libcuda.so.1 not found)"; },
       "face upload: staging buffer (no CUDA device: no CUDA driver (libcuda.so.1 not found))", "staging buffer (no CUDA device)"},
      {"no device, no reason", [](InteropFacts& f) { f.cuda_devices = 0; }, "face upload: staging buffer (no CUDA device)", "staging buffer (no CUDA device)"},
      {"no external memory", [](InteropFacts& f) { f.vulkan_external = false; },
       "face upload: staging buffer (the Vulkan device lacks opaque-fd external memory and semaphores)",
       "staging buffer (the Vulkan device lacks opaque-fd external memory and semaphores)"},
      {"other GPU", [](InteropFacts& f) { f.uuid_match = false; },
       "face upload: staging buffer (no CUDA device has the Vulkan device's UUID: Vulkan draws on another GPU)",
       "staging buffer (no CUDA device has the Vulkan device's UUID)"},
      {"CPU LibTorch", [](InteropFacts& f) { f.torch_cuda = false; },
       "face upload: staging buffer (LibTorch is CPU-only: the generator's faces are in host memory)", "staging buffer (LibTorch is CPU-only)"},
      {"set-up failed", [](InteropFacts& f) { f.failure = "cudaImportExternalMemory: cudaErrorInvalidValue"; },
       "face upload: staging buffer (CUDA interop failed: cudaImportExternalMemory: cudaErrorInvalidValue)", "staging buffer (CUDA interop failed)"},
      {"CPU generator", [](InteropFacts& f) { f.generator_on_gpu = false; },
       "face upload: staging buffer (the generator decodes on the CPU: its faces are in host memory)", "staging buffer (the generator decodes on the CPU)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    InteropFacts f = all_met();
    c.breakit(f);
    const InteropDecision d = decide_face_upload(f);
    CHECK(d.path == FaceUpload::StagingBuffer);
    CHECK(d.message == c.message);
    CHECK(d.label == c.label);
  }
}

TEST_CASE("the first unmet condition is the one reported") {
  InteropFacts f;  // nothing met: not built comes first
  CHECK(starts_with(decide_face_upload(f).message, "face upload: staging buffer (built without CUDA interop"));
  f.built = true;  // then the device
  CHECK(starts_with(decide_face_upload(f).message, "face upload: staging buffer (no CUDA device"));
}

TEST_CASE("this machine's probe decides consistently") {
  std::array<std::uint8_t, 16> uuid{};
  const InteropFacts f = probe_interop(uuid, true, false);
#ifdef CIRCUMPLEX_CUDA_INTEROP
  CHECK(f.built);
#else
  CHECK_FALSE(f.built);
#endif
  const InteropDecision d = decide_face_upload(f);
  MESSAGE(d.message);
  CHECK(d.path == FaceUpload::StagingBuffer);  // LibTorch CPU-only was given
  if (f.built && f.cuda_devices == 0) {
    // No CUDA device here (a CPU-only machine): the fallback says so, with the driver's reason.
    CHECK(starts_with(d.message, "face upload: staging buffer (no CUDA device: "));
    CHECK_FALSE(f.cuda_error.empty());
  }
  CHECK_FALSE(f.uuid_match);  // an all-zero UUID is no device's
}

#ifdef CIRCUMPLEX_CUDA_INTEROP
TEST_CASE("CUDA writes the face into Vulkan memory ordered by the semaphores") {
  VulkanContext vk;
  try {
    vk.init_instance({});
    vk.init_device(VK_NULL_HANDLE, -1);
  } catch (const VulkanUnavailable& e) {
    CIRCUMPLEX_SKIP(std::string("no Vulkan device: ") + e.what());
  }
  const InteropFacts f = probe_interop(vk.device_uuid(), vk.external_fd(), true);
  if (f.cuda_devices == 0 || !f.vulkan_external || !f.uuid_match) {
    vk.shutdown();
    CIRCUMPLEX_SKIP("no GPU shared by CUDA and Vulkan here: " + decide_face_upload(f).message);
  }
  const int w = 37, h = 23;  // odd sizes: the kernel's edge blocks
  std::vector<float> planar(static_cast<std::size_t>(3 * w * h));
  {
    CudaVulkanInterop interop;
    interop.init(vk, w, h);
    REQUIRE(interop.ready());
    Buffer readback = vk.create_buffer(static_cast<VkDeviceSize>(w * h * 4), VK_BUFFER_USAGE_TRANSFER_DST_BIT, true);
    for (int round = 0; round < 2; ++round) {  // the second write waits on Vulkan's first copy
      // Other values each round: a copy that read the first round's bytes would fail.
      for (std::size_t i = 0; i < planar.size(); ++i) planar[i] = static_cast<float>((i * 37 + static_cast<std::size_t>(round) * 101) % 300) / 280.0f - 0.03f;
      interop.write_planar_host(planar.data());
      VkCommandPoolCreateInfo pinfo{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, nullptr, 0, vk.queue_family()};
      VkCommandPool pool = VK_NULL_HANDLE;
      REQUIRE(vkCreateCommandPool(vk.device(), &pinfo, nullptr, &pool) == VK_SUCCESS);
      VkCommandBufferAllocateInfo ainfo{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, nullptr, pool, VK_COMMAND_BUFFER_LEVEL_PRIMARY, 1};
      VkCommandBuffer cmd = VK_NULL_HANDLE;
      REQUIRE(vkAllocateCommandBuffers(vk.device(), &ainfo, &cmd) == VK_SUCCESS);
      VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, nullptr, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT, nullptr};
      vkBeginCommandBuffer(cmd, &begin);
      VkBufferCopy region{0, 0, static_cast<VkDeviceSize>(w * h * 4)};
      vkCmdCopyBuffer(cmd, interop.buffer(), readback.buffer, 1, &region);
      vkEndCommandBuffer(cmd);
      VkSemaphore wait = interop.cuda_done(), signal = interop.vulkan_done();
      VkPipelineStageFlags stage = VK_PIPELINE_STAGE_TRANSFER_BIT;
      VkSubmitInfo submit{};
      submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
      submit.waitSemaphoreCount = 1;
      submit.pWaitSemaphores = &wait;
      submit.pWaitDstStageMask = &stage;
      submit.commandBufferCount = 1;
      submit.pCommandBuffers = &cmd;
      submit.signalSemaphoreCount = 1;
      submit.pSignalSemaphores = &signal;
      REQUIRE(vkQueueSubmit(vk.queue(), 1, &submit, VK_NULL_HANDLE) == VK_SUCCESS);
      interop.copy_submitted();
      vkQueueWaitIdle(vk.queue());
      vkDestroyCommandPool(vk.device(), pool, nullptr);
      const auto* px = static_cast<const std::uint8_t*>(readback.mapped);
      int wrong = 0;
      for (int i = 0; i < w * h; ++i) {
        for (int c = 0; c < 3; ++c) {
          const float v = planar[static_cast<std::size_t>(c * w * h + i)];
          const int expect = static_cast<int>(std::min(255.0f, std::max(0.0f, std::nearbyint(v * 255.0f))));
          wrong += px[4 * i + c] != expect;
        }
        wrong += px[4 * i + 3] != 255;
      }
      CHECK(wrong == 0);
    }
    vk.destroy(readback);
    interop.shutdown();  // the documented order; the Vulkan device outlives it
  }
  vk.shutdown();
}
#endif
