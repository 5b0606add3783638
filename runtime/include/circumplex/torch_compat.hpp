// circumplex/torch_compat.hpp — the one place where LibTorch versions differ for circumplex.
//
// circumplex builds against Debian's LibTorch 1.13 (CPU) and the LibTorch 2.x inside a
// PyTorch wheel (CUDA machines). Everything that differs between them is behind this header.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#include <string>

namespace c10d {
class ProcessGroup;
class Backend;
}  // namespace c10d

namespace circumplex::torch_compat {

/// "1.13.0"-style version of the LibTorch this was compiled against.
inline std::string version() { return TORCH_VERSION; }

/// True when this LibTorch was built with CUDA and a CUDA device is present.
inline bool cuda_available() { return torch::cuda::is_available(); }

/// Sets intra-op threads (LibTorch starts with 1 here: always set it explicitly).
inline void set_threads(int n) {
  torch::set_num_threads(n > 0 ? n : 1);
}

/// Scoped inference mode (no autograd bookkeeping) — the fastest way to run a model.
using InferenceGuard = c10::InferenceMode;

/// The c10d class a concrete process group (ProcessGroupGloo, ProcessGroupNCCL) derives from
/// and whose allreduce/broadcast/barrier training calls: ProcessGroup in 1.x, Backend in 2.x.
/// (Only declared here; tools/train/distributed.cpp includes c10d's headers.)
#if TORCH_VERSION_MAJOR >= 2
using C10dBackend = ::c10d::Backend;
#else
using C10dBackend = ::c10d::ProcessGroup;
#endif

/// Makes all of LibTorch's random generators start from `seed` (CPU and, where present, CUDA).
inline void seed_everything(std::uint64_t seed) { torch::manual_seed(seed); }

}  // namespace circumplex::torch_compat
