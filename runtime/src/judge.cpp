#include "circumplex/judge.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "circumplex/files.hpp"
#include "circumplex/torch_compat.hpp"
#include "circumplex/weights.hpp"

namespace circumplex {
namespace nn = torch::nn;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr auto kLayout = at::MemoryFormat::ChannelsLast;  // see vae.cpp: ~3.5× faster convolutions here
constexpr int kFormatVersion = 1;

bool power_of_two(int x) { return x > 0 && (x & (x - 1)) == 0; }

// A 3×3 convolution (no bias: BatchNorm follows), BatchNorm and SiLU.
void add_conv(nn::Sequential& seq, int in, int out, int stride) {
  nn::Conv2d conv(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
  {
    torch::NoGradGuard no_grad;
    conv->weight.set_data(conv->weight.contiguous(kLayout));
  }
  seq->push_back(conv);
  seq->push_back(nn::BatchNorm2d(nn::BatchNorm2dOptions(out)));
  seq->push_back(nn::SiLU());
}

// Whether stage s (0-based) has a second, stride-1 convolution: the stages at 16² and above
// (cheap at this width, and they add most of the receptive field for brows and lids).
bool double_stage(const JudgeConfig& c, int stage) { return (c.work_size >> (stage + 1)) >= 16; }

[[noreturn]] void bad(const std::string& where, const std::string& what) { throw Error(ErrorKind::BadData, where + ": " + what); }

}  // namespace

const std::array<JudgeShapeField, 7>& judge_shape_fields() {
  static const std::array<JudgeShapeField, 7> fields = {{{"input_size", &JudgeConfig::input_size},
                                                         {"work_size", &JudgeConfig::work_size},
                                                         {"stem", &JudgeConfig::stem},
                                                         {"width", &JudgeConfig::width},
                                                         {"hidden", &JudgeConfig::hidden},
                                                         {"aus", &JudgeConfig::aus},
                                                         {"factors", &JudgeConfig::factors}}};
  return fields;
}

int JudgeConfig::stages() const {
  int n = 0;
  for (int s = work_size; s > 4; s /= 2) ++n;
  return n;
}

int JudgeConfig::stem_stages() const {
  if (stem == 0) return 0;
  int n = 0;
  for (int s = input_size; s > work_size; s /= 2) ++n;
  return n;
}

int JudgeConfig::channels(int stage) const { return width * std::min(1 << stage, 8); }

void JudgeConfig::validate() const {
  auto fail = [](const std::string& what) { throw Error(ErrorKind::InvalidArgument, "judge " + what); };
  if (!power_of_two(input_size) || input_size < 16 || input_size > 512) fail("input_size must be a power of two in 16..512, got " + std::to_string(input_size));
  if (!power_of_two(work_size) || work_size < 16 || work_size > input_size) {
    fail("work_size must be a power of two in 16..input_size (" + std::to_string(input_size) + "), got " + std::to_string(work_size));
  }
  if (stem < 0 || stem > 64) fail("stem must be 0 (area averaging) or 1..64 channels, got " + std::to_string(stem));
  if (stem > 0 && input_size / work_size > 4) fail("input_size may be at most 4× work_size with a learned stem, got " + std::to_string(input_size) + " and " + std::to_string(work_size));
  if (width < 4 || width > 256) fail("width must be in 4..256, got " + std::to_string(width));
  if (hidden < 8 || hidden > 4096) fail("hidden must be in 8..4096, got " + std::to_string(hidden));
  if (aus < 1 || aus > 256) fail("aus must be in 1..256, got " + std::to_string(aus));
  if (factors < 1 || factors > 1024) fail("factors must be in 1..1024, got " + std::to_string(factors));
}

JudgeNetImpl::JudgeNetImpl(const JudgeConfig& config) : config_(config) {
  config_.validate();
  int in = 3;
  if (config_.stem_stages() > 0) {
    stem_ = nn::Sequential();
    for (int s = 0; s < config_.stem_stages(); ++s) {
      add_conv(stem_, in, config_.stem, 2);
      in = config_.stem;
    }
    register_module("stem", stem_);
  }
  features_ = nn::Sequential();
  for (int s = 0; s < config_.stages(); ++s) {
    const int out = config_.channels(s);
    add_conv(features_, in, out, 2);
    if (double_stage(config_, s)) add_conv(features_, out, out, 1);
    in = out;
  }
  register_module("features", features_);
  hidden_ = register_module("hidden", nn::Linear(in * 16, config_.hidden));
  affect_ = register_module("affect", nn::Linear(config_.hidden, 3));
  aus_ = register_module("aus", nn::Linear(config_.hidden, config_.aus));
  identity_ = register_module("identity", nn::Linear(config_.hidden, config_.factors));
}

torch::Tensor judge_resize(const torch::Tensor& images, int side) {
  if (images.dim() != 4 || images.size(1) != 3) {
    throw Error(ErrorKind::InvalidArgument, "judge input must be [N, 3, S, S] RGB, got " + c10::str(images.sizes()));
  }
  const std::int64_t h = images.size(2), w = images.size(3);
  if (h == side && w == side) return images;
  if (h == w && h > side && h % side == 0) return torch::avg_pool2d(images, h / side);  // exact area average
  namespace F = nn::functional;
  const std::vector<std::int64_t> size = {side, side};
  if (h > side && w > side) return F::interpolate(images, F::InterpolateFuncOptions().size(size).mode(torch::kArea));
  return F::interpolate(images, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false));
}

torch::Tensor JudgeNetImpl::input(const torch::Tensor& images) const {
  return (judge_resize(images, config_.first_side()) * 2.0 - 1.0).contiguous(kLayout);
}

torch::Tensor JudgeNetImpl::forward(const torch::Tensor& images) {
  torch::Tensor x = input(images);
  if (stem_) x = stem_->forward(x);
  torch::Tensor h = features_->forward(x).contiguous().flatten(1);
  if (dropout_ > 0) h = torch::dropout(h, dropout_, is_training());
  h = torch::silu(hidden_->forward(h));
  if (dropout_ > 0) h = torch::dropout(h, dropout_, is_training());
  return torch::cat({affect_->forward(h), aus_->forward(h), identity_->forward(h)}, 1);
}

std::vector<torch::Tensor> JudgeNetImpl::activations(const torch::Tensor& images) {
  torch::Tensor x = input(images);
  std::vector<torch::Tensor> out;
  for (torch::nn::Sequential seq : {stem_, features_}) {  // holders: shared pointers
    if (!seq) continue;
    for (auto& layer : *seq) {
      x = layer.forward(x);
      if (layer.ptr()->as<torch::nn::SiLU>()) out.push_back(x);  // each convolution ends in its SiLU
    }
  }
  return out;
}

std::int64_t JudgeNetImpl::flops_per_image() const {
  std::int64_t macs = 0, side = config_.first_side();
  int in = 3;
  for (int s = 0; s < config_.stem_stages(); ++s) {
    side /= 2;
    macs += side * side * 9LL * in * config_.stem;
    in = config_.stem;
  }
  for (int s = 0; s < config_.stages(); ++s) {
    side /= 2;
    const int out = config_.channels(s);
    macs += side * side * 9LL * in * out;
    if (double_stage(config_, s)) macs += side * side * 9LL * out * out;
    in = out;
  }
  macs += 16LL * in * config_.hidden + static_cast<std::int64_t>(config_.hidden) * config_.outputs();
  return 2 * macs;
}

std::string tensors_fingerprint(const std::map<std::string, torch::Tensor>& tensors) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const auto& [name, tensor] : tensors) {
    for (char c : name) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
    const torch::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const auto* p = reinterpret_cast<const unsigned char*>(t.data_ptr<float>());
    const std::size_t n = static_cast<std::size_t>(t.numel()) * sizeof(float);
    for (std::size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ULL;
    }
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void JudgePackage::save(const std::string& dir, const JudgeConfig& config, const std::vector<JudgeOutput>& outputs,
                        const std::map<std::string, torch::Tensor>& tensors, const std::string& extra_json) {
  config.validate();
  if (static_cast<int>(outputs.size()) != config.outputs()) {
    throw Error(ErrorKind::InvalidArgument, "judge package: " + std::to_string(outputs.size()) + " outputs described, the network has " +
                                                std::to_string(config.outputs()));
  }
  json extra;
  try {
    extra = json::parse(extra_json);
  } catch (const json::exception& e) {
    throw Error(ErrorKind::InvalidArgument, std::string("judge package extra fields are not JSON: ") + e.what());
  }
  json m = extra.is_object() ? extra : json::object();
  m["format"] = "circumplex-judge";
  m["version"] = kFormatVersion;
  m["model"] = json::object();
  for (const JudgeShapeField& f : judge_shape_fields()) m["model"][f.key] = config.*f.member;
  json outs = json::array();
  for (const JudgeOutput& o : outputs) {
    outs.push_back({{"name", o.name}, {"group", o.group}, {"mean", o.mean}, {"std", o.stdev}, {"constant", o.constant}});
  }
  m["outputs"] = outs;
  m["weights"] = {{"file", "weights.safetensors"}, {"fingerprint", tensors_fingerprint(tensors)}};
  const fs::path root(dir);
  fs::create_directories(root);
  std::vector<std::string> names;
  for (const JudgeOutput& o : outputs) names.push_back(o.name);
  save_tensors((root / "weights.safetensors").string(), tensors, json{{"format", "circumplex-judge"}, {"outputs", names}}.dump());
  write_file_atomic((root / "manifest.json").string(), m.dump(1) + "\n");
}

JudgeManifest parse_judge_manifest(std::string_view text, const std::string& where) {
  JudgeManifest out;
  if (text.size() > kMaxJudgeManifestBytes) {
    bad(where, "larger than the limit of " + std::to_string(kMaxJudgeManifestBytes) + " bytes for a judge manifest");
  }
  json m;
  try {
    m = json::parse(text);
  } catch (const json::exception& e) {
    bad(where, std::string("malformed JSON (truncated?): ") + e.what());
  }
  if (!m.is_object() || !m.contains("format") || m["format"] != "circumplex-judge") {
    bad(where, "'format' must be \"circumplex-judge\" (is this a model package? evaluate takes it as --model)");
  }
  if (!m.contains("version") || !m["version"].is_number_integer() || m["version"] != kFormatVersion) {
    bad(where, "'version' must be " + std::to_string(kFormatVersion) + " (this build reads version 1 judge packages)");
  }
  {
    const std::string shape = "'model' must give input_size, work_size, stem, width, hidden, aus and factors";
    if (!m.contains("model") || !m["model"].is_object()) bad(where, shape + " (it is not an object)");
    const json& c = m["model"];
    // Integers within int's range only: get<int>() would wrap a larger one, or cast a huge
    // double, which is undefined.
    auto field = [&](const char* key) {
      if (!c.contains(key)) bad(where, shape + " ('" + key + "' is missing)");
      const json& v = c[key];
      const bool fits = v.is_number_unsigned() ? v.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT_MAX)
                                               : v.is_number_integer() && v.get<std::int64_t>() >= INT_MIN && v.get<std::int64_t>() <= INT_MAX;
      if (!fits) bad(where, shape + " ('" + key + "' must be an integer in int's range)");
      return static_cast<int>(v.get<std::int64_t>());
    };
    for (const JudgeShapeField& f : judge_shape_fields()) out.config.*f.member = field(f.key);
  }
  try {
    out.config.validate();
  } catch (const Error& e) {
    bad(where, e.what());
  }

  if (!m.contains("outputs") || !m["outputs"].is_array()) bad(where, "'outputs' must be an array");
  const json& outputs = m["outputs"];
  if (outputs.size() != static_cast<std::size_t>(out.config.outputs())) {  // outputs() <= 1283 (validate)
    bad(where, "'outputs' lists " + std::to_string(outputs.size()) + " outputs, the model shape has " + std::to_string(out.config.outputs()));
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const json& o = outputs[i];
    const std::string at = "output " + std::to_string(i);
    if (!o.is_object() || !o.contains("name") || !o["name"].is_string() || !o.contains("group") || !o["group"].is_string()) {
      bad(where, at + " must have a name and a group");
    }
    JudgeOutput jo;
    jo.name = o["name"].get<std::string>();
    jo.group = o["group"].get<std::string>();
    for (const char* key : {"mean", "std"}) {
      if (!o.contains(key) || !o[key].is_number() || !std::isfinite(o[key].get<double>())) {
        bad(where, at + " ('" + jo.name + "'): '" + key + "' must be a finite number");
      }
    }
    jo.mean = o["mean"].get<double>();
    jo.stdev = o["std"].get<double>();
    if (!(jo.stdev > 0)) bad(where, at + " ('" + jo.name + "'): 'std' must be > 0");
    if (o.contains("constant")) {
      if (!o["constant"].is_boolean()) bad(where, at + " ('" + jo.name + "'): 'constant' must be true or false");
      jo.constant = o["constant"].get<bool>();
    }
    const int n = static_cast<int>(i);
    const std::string expect = n < 3 ? "affect" : n < 3 + out.config.aus ? "au" : "identity";
    if (jo.group != expect) bad(where, at + " ('" + jo.name + "') must be in group '" + expect + "', not '" + jo.group + "'");
    if (n < 3 && jo.name != std::vector<std::string>{"valence", "arousal", "z"}[i]) bad(where, "the first three outputs must be valence, arousal, z");
    if (!seen.insert(jo.name).second) bad(where, "output '" + jo.name + "' appears twice");
    out.outputs.push_back(jo);
  }

  if (!m.contains("weights") || !m["weights"].is_object() || !m["weights"].contains("file") || !m["weights"]["file"].is_string()) {
    bad(where, "'weights' must name its file");
  }
  out.weights_file = m["weights"]["file"].get<std::string>();
  if (out.weights_file.empty() || out.weights_file.find('/') != std::string::npos || out.weights_file.find("..") != std::string::npos) {
    bad(where, "weights file must lie inside the package");
  }
  if (m["weights"].contains("fingerprint")) {
    if (!m["weights"]["fingerprint"].is_string()) bad(where, "'weights.fingerprint' must be a string (16 hex digits)");
    out.fingerprint = m["weights"]["fingerprint"].get<std::string>();
  }
  return out;
}

JudgePackage JudgePackage::load(const std::string& dir) {
  JudgePackage pkg;
  pkg.dir_ = dir;
  if (!fs::is_directory(dir)) throw Error(ErrorKind::Io, dir + ": no such judge package folder");
  const std::string where = (fs::path(dir) / "manifest.json").string();
  if (!fs::exists(where)) throw Error(ErrorKind::Io, where + ": not found (not a judge package, or its training has not finished)");
  pkg.manifest_ = read_text_file(where, kMaxJudgeManifestBytes);
  JudgeManifest mf = parse_judge_manifest(pkg.manifest_, where);
  pkg.config_ = mf.config;
  pkg.outputs_ = std::move(mf.outputs);

  const std::string weights_path = (fs::path(dir) / mf.weights_file).string();
  if (!fs::exists(weights_path)) throw Error(ErrorKind::Io, weights_path + ": not found (the manifest names it)");
  std::string meta_text;
  pkg.weights_ = load_tensors(weights_path, &meta_text);  // checks magic, size and hash
  JudgeNet probe(pkg.config_);
  const TensorMap mine = module_tensors(*probe);
  for (const auto& [name, t] : mine) {
    const auto it = pkg.weights_.find(name);
    if (it == pkg.weights_.end()) bad(weights_path, "missing tensor '" + name + "' (the manifest's model shape does not match)");
    if (it->second.sizes() != t.sizes()) bad(weights_path, "tensor '" + name + "' does not match the manifest's model shape");
  }
  if (mine.size() != pkg.weights_.size()) bad(weights_path, "holds tensors the manifest's model does not have");
  const json meta = json::parse(meta_text, nullptr, false);
  if (meta.is_object() && meta.contains("outputs")) {
    std::vector<std::string> names;
    for (const JudgeOutput& o : pkg.outputs_) names.push_back(o.name);
    if (meta["outputs"] != json(names)) bad(weights_path, "its outputs differ from the manifest's (weights of another judge?)");
  }
  if (mf.fingerprint && *mf.fingerprint != tensors_fingerprint(pkg.weights_)) {
    bad(weights_path, "fingerprint differs from the manifest's (weights of another judge, or a stale manifest)");
  }
  return pkg;
}

int JudgePackage::index(const std::string& name) const {
  for (std::size_t i = 0; i < outputs_.size(); ++i) {
    if (outputs_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::vector<int> JudgePackage::group(const std::string& name) const {
  std::vector<int> out;
  for (std::size_t i = 0; i < outputs_.size(); ++i) {
    if (outputs_[i].group == name) out.push_back(static_cast<int>(i));
  }
  return out;
}

Judge::Judge(const JudgePackage& package, int threads) : package_(package) {
  torch_compat::set_threads(threads);
  net_ = JudgeNet(package_.config());
  assign_module_tensors(*net_, package_.weights(), package_.dir() + "/weights");
  net_->eval();
  std::vector<float> mean, sd;
  for (const JudgeOutput& o : package_.outputs()) {
    mean.push_back(static_cast<float>(o.mean));
    sd.push_back(o.constant ? 0.0f : static_cast<float>(o.stdev));
  }
  mean_ = torch::tensor(mean).unsqueeze(0);
  std_ = torch::tensor(sd).unsqueeze(0);
}

torch::Tensor Judge::predict(const torch::Tensor& images) {
  torch_compat::InferenceGuard guard;
  const std::int64_t n = images.size(0);
  std::vector<torch::Tensor> parts;
  for (std::int64_t lo = 0; lo < n; lo += 64) {
    const torch::Tensor x = images.narrow(0, lo, std::min<std::int64_t>(64, n - lo)).to(torch::kFloat32);
    parts.push_back(net_->forward(x) * std_ + mean_);
  }
  if (parts.empty()) return torch::empty({0, package_.config().outputs()});
  return torch::cat(parts, 0);
}

}  // namespace circumplex
