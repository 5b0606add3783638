#include "circumplex/weights.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>
#include <tuple>
#include <unistd.h>
#include <vector>

#include "circumplex/error.hpp"
#include "circumplex/files.hpp"

namespace circumplex {
namespace {

using nlohmann::json;
constexpr char kMagic[8] = {'C', 'P', 'X', 'W', 'G', 'T', '0', '1'};  // the legacy .cpxw format
// Limits on what a file may ask for, so a hostile file cannot exhaust memory.
constexpr std::uint64_t kMaxFileBytes = 2ULL << 30;      // 2 GiB
constexpr std::uint64_t kMaxHeaderBytes = 16ULL << 20;   // 16 MiB of JSON
constexpr std::size_t kMaxTensors = 100000;
constexpr std::size_t kMaxRank = 8;
constexpr std::uint64_t kMaxElements = 1ULL << 29;       // per tensor (2 GiB of float32)

std::uint64_t fnv1a(const char* data, std::size_t n, std::uint64_t h = 1469598103934665603ULL) {
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex(std::uint64_t x) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
  return buf;
}

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw Error(ErrorKind::BadData, path + ": " + what);
}

}  // namespace

void save_tensors(const std::string& path, const TensorMap& tensors, const std::string& meta_json) {
  json meta;
  try {
    meta = json::parse(meta_json);
  } catch (const json::exception& e) {
    throw Error(ErrorKind::InvalidArgument, std::string("weights meta is not JSON: ") + e.what());
  }
  json header = json::object();
  std::string data;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") throw Error(ErrorKind::InvalidArgument, path + ": '__metadata__' cannot name a tensor");
    const torch::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const std::size_t bytes = static_cast<std::size_t>(t.numel()) * sizeof(float);
    header[name] = {{"dtype", "F32"}, {"shape", t.sizes().vec()}, {"data_offsets", {data.size(), data.size() + bytes}}};
    data.append(reinterpret_cast<const char*>(t.data_ptr<float>()), bytes);
  }
  header["__metadata__"] = {{"circumplex", meta.dump()}, {"fnv1a64", hex(fnv1a(data.data(), data.size()))}};
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  const std::uint64_t len = text.size();
  std::string bytes;
  bytes.reserve(sizeof len + text.size() + data.size());
  bytes.append(reinterpret_cast<const char*>(&len), sizeof len);
  bytes.append(text);
  bytes.append(data);
  write_file_atomic(path, bytes);
}

namespace {

// The legacy format: magic CPXWGT01, u64 header length, JSON header, data (see weights.hpp).
TensorMap parse_cpxw(std::string_view file, const std::string& path, std::string* meta_json) {
  const std::uint64_t size = file.size();
  std::uint64_t len = 0;
  if (size < 16) bad(path, "too short to be a circumplex weights file");
  if (std::memcmp(file.data(), kMagic, 8) != 0) bad(path, "not a circumplex weights file (wrong magic; expected CPXWGT01)");
  std::memcpy(&len, file.data() + 8, 8);
  if (len > size - 16 || len > kMaxHeaderBytes) bad(path, "header length " + std::to_string(len) + " exceeds the file (truncated?)");
  const std::string_view text = file.substr(16, len);
  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& e) {
    bad(path, std::string("corrupt header: ") + e.what());
  }
  if (!header.contains("data_bytes") || !header["data_bytes"].is_number_unsigned() || !header.contains("tensors") ||
      !header["tensors"].is_array() || !header.contains("fnv1a64") || !header["fnv1a64"].is_string()) {
    bad(path, "header lacks data_bytes, tensors or fnv1a64");
  }
  const auto data_bytes = header["data_bytes"].get<std::uint64_t>();
  if (data_bytes != size - 16 - len) {
    bad(path, "holds " + std::to_string(size - 16 - len) + " data bytes, header says " + std::to_string(data_bytes) + " (truncated or padded)");
  }
  const std::string_view data = file.substr(16 + len);
  if (hex(fnv1a(data.data(), data.size())) != header["fnv1a64"].get<std::string>()) bad(path, "data hash mismatch (corrupt file)");

  TensorMap out;
  for (const json& t : header["tensors"]) {
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string() || !t.contains("shape") || !t["shape"].is_array() ||
        !t.contains("offset") || !t["offset"].is_number_unsigned() || !t.contains("bytes") || !t["bytes"].is_number_unsigned()) {
      bad(path, "malformed tensor entry in header");
    }
    const std::string name = t["name"].get<std::string>();
    if (t["shape"].size() > kMaxRank) bad(path, "tensor '" + name + "' has rank " + std::to_string(t["shape"].size()) + ", over the limit of " + std::to_string(kMaxRank));
    std::vector<std::int64_t> shape;
    std::int64_t numel = 1;
    for (const json& d : t["shape"]) {
      if (!d.is_number_integer() || d.get<std::int64_t>() < 0 || d.get<std::int64_t>() > static_cast<std::int64_t>(kMaxElements)) bad(path, "tensor '" + name + "' has a bad shape");
      shape.push_back(d.get<std::int64_t>());
      numel *= shape.back();
      if (numel > static_cast<std::int64_t>(kMaxElements)) bad(path, "tensor '" + name + "' has more than " + std::to_string(kMaxElements) + " elements");
    }
    const auto offset = t["offset"].get<std::uint64_t>(), bytes = t["bytes"].get<std::uint64_t>();
    if (bytes != static_cast<std::uint64_t>(numel) * sizeof(float) || offset > data.size() || bytes > data.size() - offset) {
      bad(path, "tensor '" + name + "' lies outside the data or disagrees with its shape");
    }
    torch::Tensor tensor = torch::empty(shape, torch::kFloat32);
    std::memcpy(tensor.data_ptr<float>(), data.data() + offset, bytes);
    if (!out.emplace(name, tensor).second) bad(path, "tensor '" + name + "' appears twice");
  }
  if (meta_json) *meta_json = header.value("meta", json::object()).dump();
  return out;
}

}  // namespace

namespace {

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, path + ": cannot open (" + std::strerror(errno) + ")");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  if (size > kMaxFileBytes) bad(path, "is " + std::to_string(size) + " bytes, more than the " + std::to_string(kMaxFileBytes >> 20) + " MiB a weights file may have");
  in.seekg(0);
  std::string bytes(size, '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) bad(path, "read failed");
  return bytes;
}

// safetensors: u64 header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, …,
// "__metadata__": {string: string}}, then the data block the offsets index.
TensorMap parse_safetensors(std::string_view file, const std::string& path, std::string* meta_json) {
  if (file.size() < 8) bad(path, "too short to be a safetensors or circumplex weights file");
  std::uint64_t len = 0;
  std::memcpy(&len, file.data(), 8);
  if (len > kMaxHeaderBytes) bad(path, "header length " + std::to_string(len) + " is over the limit of " + std::to_string(kMaxHeaderBytes) + " bytes");
  if (len > file.size() - 8) bad(path, "header length " + std::to_string(len) + " exceeds the file (truncated?)");
  json header;
  try {
    header = json::parse(file.substr(8, static_cast<std::size_t>(len)));
  } catch (const json::exception& e) {
    bad(path, std::string("header is not JSON: ") + e.what());
  }
  if (!header.is_object()) bad(path, "header is not a JSON object");
  const char* data = file.data() + 8 + len;
  const std::uint64_t data_size = file.size() - 8 - len;
  if (header.size() > kMaxTensors + 1) bad(path, "holds " + std::to_string(header.size()) + " entries, over the limit of " + std::to_string(kMaxTensors) + " tensors");
  TensorMap out;
  std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> spans;
  std::uint64_t indexed = 0;
  for (const auto& [name, t] : header.items()) {
    if (name == "__metadata__") continue;
    if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") || !t.contains("data_offsets") || !t["shape"].is_array() ||
        !t["data_offsets"].is_array() || t["data_offsets"].size() != 2 || !t["data_offsets"][0].is_number_unsigned() ||
        !t["data_offsets"][1].is_number_unsigned()) {
      bad(path, "tensor '" + name + "' lacks dtype, shape or data_offsets [begin, end]");
    }
    if (t["dtype"] != "F32") bad(path, "tensor '" + name + "' is " + t["dtype"].dump() + "; circumplex reads F32 tensors");
    if (t["shape"].size() > kMaxRank) bad(path, "tensor '" + name + "' has rank " + std::to_string(t["shape"].size()) + ", over the limit of " + std::to_string(kMaxRank));
    std::vector<std::int64_t> shape;
    std::uint64_t numel = 1;
    for (const json& d : t["shape"]) {
      if (!d.is_number_unsigned() || d.get<std::uint64_t>() > kMaxElements) bad(path, "tensor '" + name + "' has a bad shape " + t["shape"].dump());
      shape.push_back(d.get<std::int64_t>());
      numel *= d.get<std::uint64_t>();
      if (numel > kMaxElements) bad(path, "tensor '" + name + "' has more than " + std::to_string(kMaxElements) + " elements");
    }
    const auto begin = t["data_offsets"][0].get<std::uint64_t>(), end = t["data_offsets"][1].get<std::uint64_t>();
    if (begin > end || end > data_size) bad(path, "tensor '" + name + "' lies outside the data (truncated?)");
    if (end - begin != numel * sizeof(float)) bad(path, "tensor '" + name + "' has " + std::to_string(end - begin) + " bytes, its shape needs " + std::to_string(numel * sizeof(float)));
    spans.emplace_back(begin, end, name);
    indexed += end - begin;
    torch::Tensor tensor = torch::empty(shape, torch::kFloat32);
    if (numel) std::memcpy(tensor.data_ptr<float>(), data + begin, end - begin);
    out.emplace(name, tensor);
  }
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i) {
    if (std::get<0>(spans[i]) < std::get<1>(spans[i - 1])) bad(path, "tensors '" + std::get<2>(spans[i - 1]) + "' and '" + std::get<2>(spans[i]) + "' overlap");
  }
  if (indexed != data_size) bad(path, "holds " + std::to_string(data_size) + " data bytes, its tensors index " + std::to_string(indexed) + " (truncated or padded)");
  const json meta = header.value("__metadata__", json::object());
  if (!meta.is_object()) bad(path, "__metadata__ is not an object of strings");
  if (meta.contains("fnv1a64") && (!meta["fnv1a64"].is_string() || hex(fnv1a(data, data_size)) != meta["fnv1a64"].get<std::string>())) {
    bad(path, "data hash mismatch (corrupt file)");
  }
  if (meta_json) {
    *meta_json = "{}";
    if (meta.contains("circumplex") && meta["circumplex"].is_string()) {
      try {
        *meta_json = json::parse(meta["circumplex"].get<std::string>()).dump();
      } catch (const json::exception&) {
        bad(path, "__metadata__.circumplex is not JSON");
      }
    }
  }
  return out;
}

}  // namespace

TensorMap parse_tensors(std::string_view bytes, const std::string& origin, std::string* meta_json) {
  // The legacy format (circumplex 0.1's .cpxw) starts with its magic; a safetensors header
  // length can never spell it (it would be ~3.5e18 bytes).
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kMagic, 8) == 0) return parse_cpxw(bytes, origin, meta_json);
  return parse_safetensors(bytes, origin, meta_json);
}

TensorMap load_tensors(const std::string& path, std::string* meta_json) { return parse_tensors(read_whole(path), path, meta_json); }

TensorMap module_tensors(const torch::nn::Module& module) {
  TensorMap out;
  for (const auto& p : module.named_parameters(true)) out[p.key()] = p.value();
  for (const auto& b : module.named_buffers(true)) out[b.key()] = b.value();
  return out;
}

void assign_module_tensors(torch::nn::Module& module, const TensorMap& tensors, const std::string& origin) {
  torch::NoGradGuard no_grad;
  std::size_t used = 0;
  auto assign = [&](const std::string& name, torch::Tensor& target) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw Error(ErrorKind::BadData, origin + ": missing tensor '" + name + "'");
    if (it->second.sizes() != target.sizes()) {
      throw Error(ErrorKind::BadData, origin + ": tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                                          ", the model expects " + c10::str(target.sizes()));
    }
    target.copy_(it->second);
    ++used;
  };
  for (auto& p : module.named_parameters(true)) assign(p.key(), p.value());
  for (auto& b : module.named_buffers(true)) assign(b.key(), b.value());
  if (used != tensors.size()) {
    const TensorMap mine = module_tensors(module);
    for (const auto& [name, t] : tensors) {
      if (!mine.count(name)) throw Error(ErrorKind::BadData, origin + ": unexpected tensor '" + name + "' (different architecture?)");
    }
  }
}

}  // namespace circumplex
