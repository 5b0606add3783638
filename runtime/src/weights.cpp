#include "circumplex/weights.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "circumplex/error.hpp"
#include "circumplex/files.hpp"

namespace circumplex {
namespace {

using nlohmann::json;
constexpr char kMagic[8] = {'C', 'P', 'X', 'W', 'G', 'T', '0', '1'};

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
  json header;
  header["tensors"] = json::array();
  std::string data;
  for (const auto& [name, tensor] : tensors) {
    const torch::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const std::size_t bytes = static_cast<std::size_t>(t.numel()) * sizeof(float);
    header["tensors"].push_back({{"name", name}, {"shape", t.sizes().vec()}, {"offset", data.size()}, {"bytes", bytes}});
    data.append(reinterpret_cast<const char*>(t.data_ptr<float>()), bytes);
  }
  header["data_bytes"] = data.size();
  header["fnv1a64"] = hex(fnv1a(data.data(), data.size()));
  try {
    header["meta"] = json::parse(meta_json);
  } catch (const json::parse_error& e) {
    throw Error(ErrorKind::InvalidArgument, std::string("weights meta is not JSON: ") + e.what());
  }
  const std::string text = header.dump();
  const std::uint64_t len = text.size();

  std::string bytes;
  bytes.reserve(sizeof kMagic + sizeof len + text.size() + data.size());
  bytes.append(kMagic, sizeof kMagic);
  bytes.append(reinterpret_cast<const char*>(&len), sizeof len);
  bytes.append(text);
  bytes.append(data.data(), data.size());
  write_file_atomic(path, bytes);
}

TensorMap load_tensors(const std::string& path, std::string* meta_json) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, path + ": cannot open (" + std::strerror(errno) + ")");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  char magic[8];
  std::uint64_t len = 0;
  if (size < 16 || !in.read(magic, 8) || !in.read(reinterpret_cast<char*>(&len), 8)) bad(path, "too short to be a circumplex weights file");
  if (std::memcmp(magic, kMagic, 8) != 0) bad(path, "not a circumplex weights file (wrong magic; expected CPXWGT01)");
  if (len > size - 16 || len > (64u << 20)) bad(path, "header length " + std::to_string(len) + " exceeds the file (truncated?)");
  std::string text(len, '\0');
  in.read(text.data(), static_cast<std::streamsize>(len));
  json header;
  try {
    header = json::parse(text);
  } catch (const json::parse_error& e) {
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
  std::string data(data_bytes, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data_bytes));
  if (!in) bad(path, "read failed");
  if (hex(fnv1a(data.data(), data.size())) != header["fnv1a64"].get<std::string>()) bad(path, "data hash mismatch (corrupt file)");

  TensorMap out;
  for (const json& t : header["tensors"]) {
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string() || !t.contains("shape") || !t["shape"].is_array() ||
        !t.contains("offset") || !t["offset"].is_number_unsigned() || !t.contains("bytes") || !t["bytes"].is_number_unsigned()) {
      bad(path, "malformed tensor entry in header");
    }
    const std::string name = t["name"].get<std::string>();
    std::vector<std::int64_t> shape;
    std::int64_t numel = 1;
    for (const json& d : t["shape"]) {
      if (!d.is_number_integer() || d.get<std::int64_t>() < 0 || d.get<std::int64_t>() > (1LL << 31)) bad(path, "tensor '" + name + "' has a bad shape");
      shape.push_back(d.get<std::int64_t>());
      numel *= shape.back();
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
