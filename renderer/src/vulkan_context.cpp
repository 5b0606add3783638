#include "circumplex/renderer/vulkan_context.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#include <dlfcn.h>
#include <link.h>
#endif

namespace circumplex::renderer {
namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                VkDebugUtilsMessageTypeFlagsEXT /*types*/,
                                                const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
    static_cast<std::atomic<int>*>(user)->fetch_add(1);
    std::fprintf(stderr, "vulkan validation error: %s\n", data && data->pMessage ? data->pMessage : "(no message)");
  } else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    std::fprintf(stderr, "vulkan validation warning: %s\n", data && data->pMessage ? data->pMessage : "(no message)");
  }
  return VK_FALSE;
}

VkDebugUtilsMessengerCreateInfoEXT messenger_info(std::atomic<int>* counter) {
  VkDebugUtilsMessengerCreateInfoEXT info{};
  info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
  info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  info.pfnUserCallback = on_debug_message;
  info.pUserData = counter;
  return info;
}

bool has_layer(const char* name) {
  std::uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, nullptr);
  std::vector<VkLayerProperties> layers(n);
  vkEnumerateInstanceLayerProperties(&n, layers.data());
  return std::any_of(layers.begin(), layers.end(), [&](const VkLayerProperties& l) { return !std::strcmp(l.layerName, name); });
}

int type_rank(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
  }
}

#if defined(__SANITIZE_ADDRESS__)
// Sanitizer builds only. The Vulkan loader dlclose()s the driver and the layers when the
// instance goes; their static caches (lavapipe keeps some for the process' lifetime) then
// look leaked to LeakSanitizer at exit, from a module it can no longer name, so no
// suppression can match them. Pinning those modules (RTLD_NODELETE) keeps the caches
// reachable, as they are in a normal build; it changes nothing else.
void pin_vulkan_modules() {
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void*) -> int {
        const char* name = info->dlpi_name;
        if (name && (std::strstr(name, "libvulkan_") || std::strstr(name, "VkLayer_"))) dlopen(name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
        return 0;
      },
      nullptr);
}
#endif

constexpr const char* kNoDriverHint =
    "install a Vulkan driver (Debian: mesa-vulkan-drivers gives lavapipe, which runs on the CPU) "
    "or check VK_ICD_FILENAMES / VK_DRIVER_FILES";

}  // namespace

const char* vk_result_name(VkResult result) {
  switch (result) {
#define CIRCUMPLEX_VK_CASE(x) case x: return #x;
    CIRCUMPLEX_VK_CASE(VK_SUCCESS)
    CIRCUMPLEX_VK_CASE(VK_NOT_READY)
    CIRCUMPLEX_VK_CASE(VK_TIMEOUT)
    CIRCUMPLEX_VK_CASE(VK_INCOMPLETE)
    CIRCUMPLEX_VK_CASE(VK_SUBOPTIMAL_KHR)
    CIRCUMPLEX_VK_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    CIRCUMPLEX_VK_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    CIRCUMPLEX_VK_CASE(VK_ERROR_INITIALIZATION_FAILED)
    CIRCUMPLEX_VK_CASE(VK_ERROR_DEVICE_LOST)
    CIRCUMPLEX_VK_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    CIRCUMPLEX_VK_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    CIRCUMPLEX_VK_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    CIRCUMPLEX_VK_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    CIRCUMPLEX_VK_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    CIRCUMPLEX_VK_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    CIRCUMPLEX_VK_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    CIRCUMPLEX_VK_CASE(VK_ERROR_SURFACE_LOST_KHR)
    CIRCUMPLEX_VK_CASE(VK_ERROR_NATIVE_WINDOW_IN_USE_KHR)
    CIRCUMPLEX_VK_CASE(VK_ERROR_OUT_OF_DATE_KHR)
#undef CIRCUMPLEX_VK_CASE
    default: return "VkResult (unknown)";
  }
}

void vk_check(VkResult result, const char* what) {
  if (result != VK_SUCCESS) throw Error(ErrorKind::Internal, std::string("Vulkan: ") + what + " failed: " + vk_result_name(result));
}

void image_barrier(VkCommandBuffer cmd, VkImage image, VkImageLayout from, VkImageLayout to, VkPipelineStageFlags src_stage,
                   VkAccessFlags src_access, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
  VkImageMemoryBarrier b{};
  b.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER;
  b.srcAccessMask = src_access;
  b.dstAccessMask = dst_access;
  b.oldLayout = from;
  b.newLayout = to;
  b.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.image = image;
  b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 0, nullptr, 0, nullptr, 1, &b);
}

const char* device_type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
  }
}

void DeletionQueue::flush() {
  for (auto it = fns_.rbegin(); it != fns_.rend(); ++it) (*it)();
  fns_.clear();
}

VulkanContext::VulkanContext() : errors_(std::make_unique<std::atomic<int>>(0)) {}

VulkanContext::~VulkanContext() { shutdown(); }

int VulkanContext::validation_errors() const { return errors_->load(); }

void VulkanContext::init_instance(const InstanceOptions& options) {
  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = "circumplex view";
  app.applicationVersion = VK_MAKE_VERSION(0, 1, 0);
  app.pEngineName = "circumplex";
  app.engineVersion = VK_MAKE_VERSION(0, 1, 0);
  app.apiVersion = VK_API_VERSION_1_1;

  std::vector<const char*> extensions = options.instance_extensions;
  std::vector<const char*> layers;
  validating_ = false;
  if (options.validation) {
    if (has_layer(kValidationLayer)) {
      layers.push_back(kValidationLayer);
      extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
      validating_ = true;
    } else {
      std::fprintf(stderr, "circumplex view: warning: validation asked for, but %s is not installed "
                           "(Debian: vulkan-validationlayers); running without it\n", kValidationLayer);
    }
  }
  VkInstanceCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  info.pApplicationInfo = &app;
  info.enabledExtensionCount = static_cast<std::uint32_t>(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  info.enabledLayerCount = static_cast<std::uint32_t>(layers.size());
  info.ppEnabledLayerNames = layers.data();
  VkDebugUtilsMessengerCreateInfoEXT debug = messenger_info(errors_.get());
  if (validating_) info.pNext = &debug;  // also reports problems of vkCreateInstance itself

  const VkResult r = vkCreateInstance(&info, nullptr, &instance_);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED) {
    instance_ = VK_NULL_HANDLE;
    throw VulkanUnavailable(std::string("no Vulkan driver found (vkCreateInstance: ") + vk_result_name(r) + "); " + kNoDriverHint);
  }
  if (r == VK_ERROR_EXTENSION_NOT_PRESENT) {
    instance_ = VK_NULL_HANDLE;
    throw VulkanUnavailable("the Vulkan driver lacks an instance extension the viewer needs (window-system surfaces or "
                            "debug utils); try --headless, or " + std::string(kNoDriverHint));
  }
  vk_check(r, "vkCreateInstance");
#if defined(__SANITIZE_ADDRESS__)
  pin_vulkan_modules();
#endif
  if (validating_) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(vkGetInstanceProcAddr(instance_, "vkCreateDebugUtilsMessengerEXT"));
    if (create) vk_check(create(instance_, &debug, nullptr, &messenger_), "vkCreateDebugUtilsMessengerEXT");
  }
}

void VulkanContext::init_device(VkSurfaceKHR surface, int gpu) {
  std::uint32_t count = 0;
  vkEnumeratePhysicalDevices(instance_, &count, nullptr);
  std::vector<VkPhysicalDevice> physical(count);
  if (count) vkEnumeratePhysicalDevices(instance_, &count, physical.data());
  if (physical.empty()) throw VulkanUnavailable(std::string("no Vulkan device found; ") + kNoDriverHint);

  devices_.clear();
  int best = -1, best_rank = -1;
  std::vector<std::uint32_t> families(physical.size(), UINT32_MAX);
  for (std::size_t i = 0; i < physical.size(); ++i) {
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(physical[i], &props);
    DeviceInfo d;
    d.index = static_cast<int>(i);
    d.name = props.deviceName;
    d.type = props.deviceType;
    d.api_version = props.apiVersion;
    devices_.push_back(d);
    std::uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(physical[i], &nq, nullptr);
    std::vector<VkQueueFamilyProperties> queues(nq);
    vkGetPhysicalDeviceQueueFamilyProperties(physical[i], &nq, queues.data());
    for (std::uint32_t q = 0; q < nq; ++q) {
      if (!(queues[q].queueFlags & VK_QUEUE_GRAPHICS_BIT)) continue;
      VkBool32 present = VK_TRUE;
      if (surface) vkGetPhysicalDeviceSurfaceSupportKHR(physical[i], q, surface, &present);
      if (present) {
        families[i] = q;
        break;
      }
    }
    if (families[i] == UINT32_MAX || props.apiVersion < VK_API_VERSION_1_1) continue;
    if (type_rank(d.type) > best_rank) best = static_cast<int>(i), best_rank = type_rank(d.type);
  }
  auto listing = [&] {
    std::string s;
    for (const DeviceInfo& d : devices_) s += "\n  " + std::to_string(d.index) + ": " + d.name + " (" + device_type_name(d.type) + ")";
    return s;
  };
  if (gpu >= 0) {
    if (gpu >= static_cast<int>(physical.size())) {
      throw VulkanUnavailable("--gpu " + std::to_string(gpu) + ": there are only " + std::to_string(physical.size()) + " Vulkan devices:" + listing());
    }
    if (families[static_cast<std::size_t>(gpu)] == UINT32_MAX) {
      throw VulkanUnavailable("--gpu " + std::to_string(gpu) + ": that device cannot draw" + std::string(surface ? " to this window" : "") + ":" + listing());
    }
    best = gpu;
  }
  if (best < 0) throw VulkanUnavailable(std::string("no Vulkan 1.1 device can draw") + (surface ? " to this window" : "") + ":" + listing());

  physical_ = physical[static_cast<std::size_t>(best)];
  info_ = devices_[static_cast<std::size_t>(best)];
  queue_family_ = families[static_cast<std::size_t>(best)];
  vkGetPhysicalDeviceMemoryProperties(physical_, &memory_);

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qinfo{};
  qinfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  qinfo.queueFamilyIndex = queue_family_;
  qinfo.queueCount = 1;
  qinfo.pQueuePriorities = &priority;
  std::vector<const char*> extensions;
  if (surface) extensions.push_back(VK_KHR_SWAPCHAIN_EXTENSION_NAME);
  // CUDA–Vulkan interop (cuda_interop.hpp) shares memory and semaphores as opaque file
  // descriptors: enable those extensions whenever the device has them (cheap when unused).
  std::uint32_t next = 0;
  vkEnumerateDeviceExtensionProperties(physical_, nullptr, &next, nullptr);
  std::vector<VkExtensionProperties> available(next);
  if (next) vkEnumerateDeviceExtensionProperties(physical_, nullptr, &next, available.data());
  auto has = [&](const char* name) {
    return std::any_of(available.begin(), available.end(), [&](const VkExtensionProperties& e) { return std::strcmp(e.extensionName, name) == 0; });
  };
  external_fd_ = has(VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME) && has(VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME);
  if (external_fd_) {
    extensions.push_back(VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME);
    extensions.push_back(VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME);
  }
  VkPhysicalDeviceIDProperties id{};
  id.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES;
  VkPhysicalDeviceProperties2 props2{};
  props2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
  props2.pNext = &id;
  vkGetPhysicalDeviceProperties2(physical_, &props2);
  std::memcpy(uuid_.data(), id.deviceUUID, VK_UUID_SIZE);
  VkDeviceCreateInfo dinfo{};
  dinfo.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  dinfo.queueCreateInfoCount = 1;
  dinfo.pQueueCreateInfos = &qinfo;
  dinfo.enabledExtensionCount = static_cast<std::uint32_t>(extensions.size());
  dinfo.ppEnabledExtensionNames = extensions.data();
  vk_check(vkCreateDevice(physical_, &dinfo, nullptr, &device_), "vkCreateDevice");
  vkGetDeviceQueue(device_, queue_family_, 0, &queue_);

  VkCommandPoolCreateInfo pool{};
  pool.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  pool.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
  pool.queueFamilyIndex = queue_family_;
  vk_check(vkCreateCommandPool(device_, &pool, nullptr, &upload_pool_), "vkCreateCommandPool");
}

void VulkanContext::shutdown() {
  if (device_) {
    vkDeviceWaitIdle(device_);
    if (upload_pool_) vkDestroyCommandPool(device_, upload_pool_, nullptr);
    upload_pool_ = VK_NULL_HANDLE;
    vkDestroyDevice(device_, nullptr);
    device_ = VK_NULL_HANDLE;
  }
  if (messenger_) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(instance_, messenger_, nullptr);
    messenger_ = VK_NULL_HANDLE;
  }
  if (instance_) {
    vkDestroyInstance(instance_, nullptr);
    instance_ = VK_NULL_HANDLE;
  }
  physical_ = VK_NULL_HANDLE;
}

std::uint32_t VulkanContext::memory_type(std::uint32_t bits, VkMemoryPropertyFlags flags) const {
  for (std::uint32_t i = 0; i < memory_.memoryTypeCount; ++i) {
    if ((bits & (1u << i)) && (memory_.memoryTypes[i].propertyFlags & flags) == flags) return i;
  }
  throw Error(ErrorKind::Internal, "Vulkan: no memory type with the properties the viewer needs");
}

Buffer VulkanContext::create_buffer(VkDeviceSize size, VkBufferUsageFlags usage, bool host_visible) {
  Buffer b;
  b.size = size;
  VkBufferCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  info.size = size;
  info.usage = usage;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  vk_check(vkCreateBuffer(device_, &info, nullptr, &b.buffer), "vkCreateBuffer");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device_, b.buffer, &req);
  VkMemoryAllocateInfo alloc{};
  alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = memory_type(req.memoryTypeBits, host_visible ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
                                                                       : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  vk_check(vkAllocateMemory(device_, &alloc, nullptr, &b.memory), "vkAllocateMemory (buffer)");
  vk_check(vkBindBufferMemory(device_, b.buffer, b.memory, 0), "vkBindBufferMemory");
  if (host_visible) vk_check(vkMapMemory(device_, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped), "vkMapMemory");
  return b;
}

void VulkanContext::destroy(Buffer& b) {
  if (b.buffer) vkDestroyBuffer(device_, b.buffer, nullptr);
  if (b.memory) vkFreeMemory(device_, b.memory, nullptr);  // unmaps implicitly
  b = Buffer{};
}

Image VulkanContext::create_image(VkExtent2D extent, VkFormat format, VkImageUsageFlags usage) {
  Image im;
  im.format = format;
  im.extent = extent;
  VkImageCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
  info.imageType = VK_IMAGE_TYPE_2D;
  info.format = format;
  info.extent = {extent.width, extent.height, 1};
  info.mipLevels = 1;
  info.arrayLayers = 1;
  info.samples = VK_SAMPLE_COUNT_1_BIT;
  info.tiling = VK_IMAGE_TILING_OPTIMAL;
  info.usage = usage;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  info.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  vk_check(vkCreateImage(device_, &info, nullptr, &im.image), "vkCreateImage");
  VkMemoryRequirements req;
  vkGetImageMemoryRequirements(device_, im.image, &req);
  VkMemoryAllocateInfo alloc{};
  alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  vk_check(vkAllocateMemory(device_, &alloc, nullptr, &im.memory), "vkAllocateMemory (image)");
  vk_check(vkBindImageMemory(device_, im.image, im.memory, 0), "vkBindImageMemory");
  VkImageViewCreateInfo view{};
  view.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO;
  view.image = im.image;
  view.viewType = VK_IMAGE_VIEW_TYPE_2D;
  view.format = format;
  view.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  vk_check(vkCreateImageView(device_, &view, nullptr, &im.view), "vkCreateImageView");
  return im;
}

void VulkanContext::destroy(Image& im) {
  if (im.view) vkDestroyImageView(device_, im.view, nullptr);
  if (im.image) vkDestroyImage(device_, im.image, nullptr);
  if (im.memory) vkFreeMemory(device_, im.memory, nullptr);
  im = Image{};
}

void VulkanContext::immediate_submit(const std::function<void(VkCommandBuffer)>& record) {
  VkCommandBufferAllocateInfo alloc{};
  alloc.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  alloc.commandPool = upload_pool_;
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  vk_check(vkAllocateCommandBuffers(device_, &alloc, &cmd), "vkAllocateCommandBuffers");
  VkCommandBufferBeginInfo begin{};
  begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vk_check(vkBeginCommandBuffer(cmd, &begin), "vkBeginCommandBuffer");
  record(cmd);
  vk_check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
  VkSubmitInfo submit{};
  submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &cmd;
  vk_check(vkQueueSubmit(queue_, 1, &submit, VK_NULL_HANDLE), "vkQueueSubmit");
  vk_check(vkQueueWaitIdle(queue_), "vkQueueWaitIdle");
  vkFreeCommandBuffers(device_, upload_pool_, 1, &cmd);
}

}  // namespace circumplex::renderer
