// circumplex/weights.hpp — tensors to and from disk, as data only.
//
// Model weights are stored as plain float32 tensors in safetensors files (the format PyTorch
// users exchange weights in), so loading a model never executes code from a file (a
// TorchScript/pickle archive can). Layout (little-endian):
//   8 bytes   u64 length N of the JSON header
//   N bytes   JSON: {"<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, …,
//                    "__metadata__": {"circumplex": "<the meta JSON, as a string>",
//                                     "fnv1a64": "<hex FNV-1a 64 of the data block>"}}
//             (padded with spaces to a multiple of 8)
//   …         the data block: each tensor's float32 values at [begin, end)
// Any safetensors file of F32 tensors loads (plugin/bindings/python/circumplex_weights.py
// writes them with numpy alone); the hash is checked when present. Files of circumplex 0.1's
// own format (magic "CPXWGT01", `.cpxw`) still load.
// Refused with circumplex::Error naming the file and the problem: a short or truncated file,
// a header that is not JSON or longer than the file or than 16 MiB, a dtype other than F32,
// a shape that disagrees with its bytes, offsets outside the data, overlapping tensors,
// unindexed bytes, a hash mismatch, more than 100 000 tensors, rank above 8, a tensor above
// 2^29 elements or a file above 2 GiB; and, when assigned to a module, a missing or extra
// tensor or a shape mismatch.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <string_view>

namespace circumplex {

/// Named tensors in a stable order.
using TensorMap = std::map<std::string, torch::Tensor>;

/// Writes tensors (converted to contiguous CPU float32) to `path` atomically.
/// `meta_json` is an optional JSON object text stored in the header's __metadata__.
void save_tensors(const std::string& path, const TensorMap& tensors, const std::string& meta_json = "{}");
/// Reads every tensor of a safetensors file (or a legacy .cpxw). `meta_json` receives the meta
/// object ("{}" when the file has none).
TensorMap load_tensors(const std::string& path, std::string* meta_json = nullptr);
/// The same from bytes in memory; `origin` names them in errors (the fuzz target's entry).
TensorMap parse_tensors(std::string_view bytes, const std::string& origin, std::string* meta_json = nullptr);

/// Every parameter and buffer of `module` by its dotted name.
TensorMap module_tensors(const torch::nn::Module& module);
/// Copies `tensors` into `module`'s parameters and buffers; every one must be present with
/// the same shape, and no extra may be left over. `origin` names the source in errors.
void assign_module_tensors(torch::nn::Module& module, const TensorMap& tensors, const std::string& origin);

}  // namespace circumplex
