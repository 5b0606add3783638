// The conversion kernel of cuda_interop.hpp: planar float RGB [3, H, W] in [0, 1] → RGBA8.
#include <cuda_runtime.h>

#include <cstdint>

namespace circumplex::renderer {

namespace {
__device__ unsigned char to_byte(float v) {
  // Generator::decode's mul(255).round().clamp(0, 255): round half to even, like __float2int_rn.
  const int q = __float2int_rn(v * 255.0f);
  return static_cast<unsigned char>(min(max(q, 0), 255));
}

__global__ void planar_to_rgba8(const float* __restrict__ rgb, uchar4* __restrict__ rgba, int width, int height) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= width || y >= height) return;
  const int plane = width * height, i = y * width + x;
  rgba[i] = make_uchar4(to_byte(rgb[i]), to_byte(rgb[plane + i]), to_byte(rgb[2 * plane + i]), 255);
}
}  // namespace

cudaError_t launch_planar_to_rgba8(const float* rgb, void* rgba, int width, int height, cudaStream_t stream) {
  const dim3 block(16, 16), grid((width + 15) / 16, (height + 15) / 16);
  planar_to_rgba8<<<grid, block, 0, stream>>>(rgb, static_cast<uchar4*>(rgba), width, height);
  return cudaGetLastError();
}

}  // namespace circumplex::renderer
