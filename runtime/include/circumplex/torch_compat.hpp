// circumplex/torch_compat.hpp — the one place where LibTorch versions differ for circumplex.
//
// circumplex builds against Debian's LibTorch 1.13 (CPU) and the LibTorch 2.x inside a
// PyTorch wheel (CUDA machines). Everything that differs between them is behind this header
// (except c10d's process-group type, which only the distributed trainer uses: it sits in
// tools/train/distributed.cpp).
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#include <string>

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

/// Makes all of LibTorch's random generators start from `seed` (CPU and, where present, CUDA).
inline void seed_everything(std::uint64_t seed) { torch::manual_seed(seed); }

}  // namespace circumplex::torch_compat
