// circumplex/weights.hpp — tensors to and from disk, as data only.
//
// Model weights are stored as plain float32 tensors in circumplex's own file format, so
// that loading a model never executes code from a file (a TorchScript/pickle archive can).
// Format (little-endian):
//   8 bytes   magic "CPXWGT01"
//   8 bytes   u64 length H of the JSON header
//   H bytes   JSON: {"tensors": [{"name", "shape": [...], "offset", "bytes"}...],
//                    "data_bytes": N, "fnv1a64": "<hex of the data's FNV-1a 64-bit hash>",
//                    "meta": {...free-form...}}
//   N bytes   the tensors' float32 data, each at its offset (from the start of this block)
// A short file, a wrong magic, a bad header, a hash mismatch, a missing or extra tensor or
// a shape mismatch is refused with circumplex::Error naming the file and the problem.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

namespace circumplex {

/// Named tensors in a stable order.
using TensorMap = std::map<std::string, torch::Tensor>;

/// Writes tensors (converted to contiguous CPU float32) to `path` atomically.
/// `meta_json` is an optional JSON object text stored in the header.
void save_tensors(const std::string& path, const TensorMap& tensors, const std::string& meta_json = "{}");
/// Reads every tensor of a file written by save_tensors. `meta_json` receives the meta object.
TensorMap load_tensors(const std::string& path, std::string* meta_json = nullptr);

/// Every parameter and buffer of `module` by its dotted name.
TensorMap module_tensors(const torch::nn::Module& module);
/// Copies `tensors` into `module`'s parameters and buffers; every one must be present with
/// the same shape, and no extra may be left over. `origin` names the source in errors.
void assign_module_tensors(torch::nn::Module& module, const TensorMap& tensors, const std::string& origin);

}  // namespace circumplex
