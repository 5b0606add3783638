#include "circumplex/model_package.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <dlfcn.h>
#include <unistd.h>

#include "circumplex/assets.hpp"
#include "circumplex/judge.hpp"
#include "circumplex/error.hpp"
#include "circumplex/files.hpp"
#include "circumplex/torch_compat.hpp"
#include "circumplex/weights.hpp"

namespace circumplex {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what) { throw Error(ErrorKind::BadData, where + ": " + what); }

std::vector<double> numbers(const json& j, const std::string& where, const char* key, std::size_t size) {
  if (!j.contains(key) || !j[key].is_array()) bad(where, std::string("'") + key + "' must be an array");
  if (j[key].size() != size) bad(where, std::string("'") + key + "' has " + std::to_string(j[key].size()) + " values, expected " + std::to_string(size));
  std::vector<double> out;
  for (const json& x : j[key]) {
    if (!x.is_number() || !std::isfinite(x.get<double>())) bad(where, std::string("'") + key + "' holds a value that is not a finite number");
    out.push_back(x.get<double>());
  }
  return out;
}

// An int field: a float, a string or a value beyond int's range is refused (get<int>() would
// wrap it, or cast a huge double, which is undefined).
int int_field(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object() || !obj.contains(key)) bad(where, std::string("'") + key + "' is missing");
  const json& v = obj[key];
  if (!v.is_number_integer()) bad(where, std::string("'") + key + "' must be an integer");
  if (v.is_number_unsigned() ? v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT_MAX)
                             : (v.get<std::int64_t>() < INT_MIN || v.get<std::int64_t>() > INT_MAX)) {
    bad(where, std::string("'") + key + "' is out of range");
  }
  return static_cast<int>(v.get<std::int64_t>());
}

}  // namespace

ModelManifest parse_model_manifest(std::string_view text, const std::string& manifest_path) {
  ModelManifest out;
  if (text.size() > kMaxManifestBytes) bad(manifest_path, "larger than the limit of " + std::to_string(kMaxManifestBytes) + " bytes for a manifest");
  json m;
  try {
    m = json::parse(text);
  } catch (const json::exception& e) {
    bad(manifest_path, std::string("malformed JSON (truncated?): ") + e.what());
  }
  if (!m.is_object() || !m.contains("format") || m["format"] != "circumplex-model") bad(manifest_path, "'format' must be \"circumplex-model\"");
  if (!m.contains("version") || !m["version"].is_number_integer() || m["version"] != 1) {
    bad(manifest_path, "'version' must be 1 (this build reads version 1 packages)");
  }
  if (!m.contains("model") || !m["model"].is_object()) bad(manifest_path, "'model' must give image_size, latent, width and decoder_width (it is not an object)");
  {
    const json& c = m["model"];
    const std::string where = manifest_path + ": 'model' must give image_size, latent, width and decoder_width";
    out.config.image_size = int_field(c, "image_size", where);
    out.config.latent = int_field(c, "latent", where);
    out.config.width = int_field(c, "width", where);
    out.config.decoder_width = int_field(c, "decoder_width", where);
    if (c.contains("decoder_refine")) out.config.decoder_refine = int_field(c, "decoder_refine", where);
    if (c.contains("decoder_detail")) out.config.decoder_detail = int_field(c, "decoder_detail", where);
    if (c.contains("encoder_width")) out.config.encoder_width = int_field(c, "encoder_width", where);
    if (c.contains("encoder_depth")) out.config.encoder_depth = int_field(c, "encoder_depth", where);
    if (c.contains("affect_head")) {
      const json& h = c["affect_head"];
      const std::string hwhere = manifest_path + ": 'model.affect_head' must give input_size, work_size, stem, width, hidden, aus, factors and dims";
      if (!h.is_object()) bad(hwhere, "it is not an object");
      JudgeConfig jc;
      for (const JudgeShapeField& f : judge_shape_fields()) jc.*f.member = int_field(h, f.key, hwhere);
      out.config.affect_head_dims = int_field(h, "dims", hwhere);
      const int members = h.contains("members") ? int_field(h, "members", hwhere) : 1;
      if (members < 1 || members > 8) bad(hwhere, "'members' must be in 1..8, got " + std::to_string(members));
      out.config.affect_heads.assign(static_cast<std::size_t>(members), jc);
      // Members of other shapes than the first's: "member_shapes", one object per member.
      if (h.contains("member_shapes")) {
        const json& shapes = h["member_shapes"];
        if (!shapes.is_array() || shapes.size() != static_cast<std::size_t>(members)) bad(hwhere, "'member_shapes' must be an array of 'members' objects");
        for (std::size_t k = 0; k < shapes.size(); ++k) {
          const std::string kwhere = hwhere + " (member_shapes[" + std::to_string(k) + "])";
          if (!shapes[k].is_object()) bad(kwhere, "it is not an object");
          for (const JudgeShapeField& f : judge_shape_fields()) out.config.affect_heads[k].*f.member = int_field(shapes[k], f.key, kwhere);
        }
      }
      if (h.contains("mirror")) {
        if (!h["mirror"].is_boolean()) bad(hwhere, "'mirror' must be true or false");
        out.config.affect_head_mirror = h["mirror"].get<bool>();
      }
    }
  }
  try {
    out.config.validate();
  } catch (const Error& e) {
    bad(manifest_path, e.what());
  }
  const auto d = static_cast<std::size_t>(out.config.latent);

  if (!m.contains("manifold") || !m["manifold"].is_object()) bad(manifest_path, "'manifold' must be an object");
  const json& mf = m["manifold"];
  const std::string mwhere = manifest_path + ": manifold";
  std::vector<std::vector<double>> dirs = {numbers(mf, mwhere, "valence", d), numbers(mf, mwhere, "arousal", d)};
  std::size_t k = 2;
  if (mf.contains("z")) {
    dirs.push_back(numbers(mf, mwhere, "z", d));
    k = 3;
  }
  try {
    out.manifold = std::make_shared<Manifold>(dirs, numbers(mf, mwhere, "origins", k), numbers(mf, mwhere, "scales", k));
  } catch (const Error& e) {
    bad(mwhere, e.what());
  }
  if (!m.contains("identity_prior") || !m["identity_prior"].is_object()) bad(manifest_path, "'identity_prior' must be an object");
  for (double x : numbers(m["identity_prior"], manifest_path + ": identity_prior", "mean", d)) out.prior_mean.push_back(static_cast<float>(x));
  for (double x : numbers(m["identity_prior"], manifest_path + ": identity_prior", "std", d)) {
    if (x <= 0) bad(manifest_path, "identity_prior std values must be > 0");
    out.prior_std.push_back(static_cast<float>(x));
  }
  if (m["identity_prior"].contains("people")) {
    const json& p = m["identity_prior"]["people"];
    const std::string where = manifest_path + ": identity_prior.people";
    if (!p.is_object() || !p.contains("file") || !p["file"].is_string() || !p.contains("count") || !p["count"].is_number_integer() ||
        p["count"] < 1) {
      bad(where, "must be {\"file\": name, \"count\": people >= 1}");
    }
    if (p["count"] > kMaxPeople) bad(where, "'count' is above the limit of " + std::to_string(kMaxPeople) + " people");
    out.people_file = p["file"].get<std::string>();
    out.people_count = p["count"].get<std::int64_t>();
    if (out.people_file.empty() || out.people_file.find('/') != std::string::npos || out.people_file.find("..") != std::string::npos) {
      bad(where, "the file must lie inside the package");
    }
  }

  if (m.contains("framing")) {
    const json& f = m["framing"];
    const std::string where = manifest_path + ": framing";
    if (!f.is_object()) bad(where, "must be an object");
    const std::vector<double> box = numbers(f, where, "face_box", 3), luma = numbers(f, where, "luma", 2);
    if (box[2] <= 0.05 || box[2] > 2 || std::fabs(box[0]) > 2 || std::fabs(box[1]) > 2) bad(where, "face_box must be [left, top, side] with 0.05 < side <= 2");
    if (luma[0] < 0 || luma[0] > 1 || luma[1] <= 0 || luma[1] > 1) bad(where, "luma must be [mean, std] within 0 ... 1");
    if (!f.contains("faces") || !f["faces"].is_number_integer() || f["faces"] < 1 || f["faces"] > INT_MAX) {
      bad(where, "'faces' must be a count in 1 ... " + std::to_string(INT_MAX));
    }
    out.framing = Framing{box[0], box[1], box[2], luma[0], luma[1], f["faces"].get<int>()};
    if (f.contains("identity_route")) {
      if (!f["identity_route"].is_string() || (f["identity_route"] != "procedural" && f["identity_route"] != "photo")) {
        bad(where, "'identity_route' must be \"procedural\" or \"photo\"");
      }
      out.framing->procedural = f["identity_route"] == "procedural";
    }
  }

  if (!m.contains("weights") || !m["weights"].is_object() || !m["weights"].contains("file") || !m["weights"]["file"].is_string()) {
    bad(manifest_path, "'weights' must name its file");
  }
  out.weights_file = m["weights"]["file"].get<std::string>();
  if (out.weights_file.empty() || out.weights_file.find('/') != std::string::npos || out.weights_file.find("..") != std::string::npos) {
    bad(manifest_path, "weights file must lie inside the package");
  }
  return out;
}

void ModelPackage::save(const std::string& dir, const std::string& manifest_json, const std::map<std::string, torch::Tensor>& weights,
                        const std::string& weights_metadata, const torch::Tensor& people, const std::string& people_metadata) {
  const fs::path folder(dir);
  const ModelManifest mf = parse_model_manifest(manifest_json, (folder / "manifest.json").string() + " (being written)");
  {
    BetaVae check(mf.config);  // the weights must be the network the manifest describes
    assign_module_tensors(*check, weights, (folder / mf.weights_file).string() + " (being written)");
  }
  if (mf.people_file.empty() != !people.defined() ||
      (people.defined() && (people.dim() != 2 || people.size(0) != mf.people_count || people.size(1) != mf.config.latent))) {
    throw Error(ErrorKind::InvalidArgument, (folder / "manifest.json").string() + ": the people given do not match the manifest's identity_prior.people");
  }
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw Error(ErrorKind::Io, folder.string() + ": cannot create the folder (" + ec.message() + ")");
  if (people.defined()) save_tensors((folder / mf.people_file).string(), {{"people", people.to(torch::kFloat).contiguous()}}, people_metadata);
  save_tensors((folder / mf.weights_file).string(), weights, weights_metadata);
  write_file_atomic((folder / "manifest.json").string(), manifest_json);
}

ModelPackage ModelPackage::load(const std::string& dir) {
  ModelPackage pkg;
  pkg.dir_ = dir;
  const std::string manifest_path = (fs::path(dir) / "manifest.json").string();
  if (!fs::is_directory(dir)) throw Error(ErrorKind::Io, dir + ": no such model package folder");
  pkg.manifest_ = read_text_file(manifest_path, kMaxManifestBytes);
  ModelManifest mf = parse_model_manifest(pkg.manifest_, manifest_path);
  pkg.config_ = mf.config;
  pkg.manifold_ = std::move(mf.manifold);
  pkg.prior_mean_ = std::move(mf.prior_mean);
  pkg.prior_std_ = std::move(mf.prior_std);
  pkg.framing_ = mf.framing;
  const auto d = static_cast<std::int64_t>(pkg.config_.latent);
  if (!mf.people_file.empty()) {
    const std::string people_path = (fs::path(dir) / mf.people_file).string();
    const TensorMap t = load_tensors(people_path);  // checks magic, size and hash
    const auto it = t.find("people");
    const std::int64_t count = mf.people_count;
    if (it == t.end() || t.size() != 1) bad(people_path, "must hold exactly one tensor, 'people'");
    if (it->second.dim() != 2 || it->second.size(0) != count || it->second.size(1) != d || it->second.scalar_type() != torch::kFloat) {
      bad(people_path, "tensor 'people' has shape " + c10::str(it->second.sizes()) + ", the manifest says " + std::to_string(count) + " x " + std::to_string(d) + " float32");
    }
    if (!torch::isfinite(it->second).all().item<bool>()) bad(people_path, "tensor 'people' holds values that are not finite");
    const torch::Tensor rows = it->second.contiguous();
    pkg.people_.assign(rows.data_ptr<float>(), rows.data_ptr<float>() + rows.numel());
  }

  const std::string weights_path = (fs::path(dir) / mf.weights_file).string();
  pkg.weights_ = load_tensors(weights_path);  // checks magic, size and hash
  // The architecture must match the tensors: build one and check every name and shape.
  BetaVae probe(pkg.config_);
  TensorMap mine = module_tensors(*probe);
  for (const auto& [name, t] : mine) {
    const auto it = pkg.weights_.find(name);
    if (it == pkg.weights_.end()) bad(weights_path, "missing tensor '" + name + "' (the manifest's model shape does not match)");
    if (it->second.sizes() != t.sizes()) bad(weights_path, "tensor '" + name + "' does not match the manifest's model shape");
  }
  if (mine.size() != pkg.weights_.size()) bad(weights_path, "holds tensors the manifest's model does not have");
  return pkg;
}

namespace {
void locate_marker() {}  // an address inside this binary, for dladdr
}  // namespace

std::string ModelPackage::default_path() {
  if (const char* env = std::getenv("CIRCUMPLEX_MODEL"); env && *env) return env;
  std::vector<fs::path> candidates;
  // The binary this code lives in (libcircumplex.so inside an engine, or the circumplex
  // executable): an installed prefix keeps the model in share/ beside its lib/ or bin/.
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&locate_marker), &self) != 0 && self.dli_fname != nullptr) {
    candidates.push_back(fs::absolute(self.dli_fname).parent_path() / "../share/circumplex/models/default");
  }
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    const fs::path bin = fs::path(exe).parent_path();
    candidates.push_back(bin / "../share/circumplex/models/default");
    for (fs::path p = bin; !p.empty() && p != p.parent_path(); p = p.parent_path()) candidates.push_back(p / "assets/models/default");
  }
#ifdef CIRCUMPLEX_SOURCE_ASSETS
  candidates.push_back(fs::path(CIRCUMPLEX_SOURCE_ASSETS) / "models/default");
#endif
  for (const fs::path& c : candidates) {
    std::error_code ec;
    if (fs::exists(c / "manifest.json", ec)) return fs::weakly_canonical(c, ec).string();
  }
  return {};
}

bool is_device_name(const std::string& name) {
  if (name == "cpu" || name == "cuda") return true;
  return name.size() > 5 && name.size() <= 8 && name.rfind("cuda:", 0) == 0 && name.find_first_not_of("0123456789", 5) == std::string::npos;
}

torch::Device parse_device(const std::string& name) {
  if (!is_device_name(name)) throw Error(ErrorKind::InvalidArgument, "device '" + name + "': use cpu, cuda or cuda:N (N a GPU index)");
  if (name == "cpu") return torch::Device(torch::kCPU);
  const int index = name.size() > 5 ? std::stoi(name.substr(5)) : 0;
  if (!torch_compat::cuda_available()) {
    throw Error(ErrorKind::InvalidArgument, "device '" + name + "': this LibTorch (" + torch_compat::version() +
                                                ") has no CUDA, or no GPU is visible; use cpu");
  }
  if (index >= static_cast<int>(torch::cuda::device_count())) {
    throw Error(ErrorKind::InvalidArgument, "device '" + name + "': only " + std::to_string(torch::cuda::device_count()) + " GPU(s) are visible");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

Generator::Generator(const ModelPackage& package, int threads, const std::string& device)
    : manifold_(package.manifold()), config_(package.config()), threads_(threads), device_(parse_device(device)) {
  torch_compat::set_threads(threads_);
  vae_ = BetaVae(config_);
  assign_module_tensors(*vae_, package.weights(), package.dir() + "/weights");
  vae_->to(device_);
  vae_->eval();
}

void Generator::decode(const std::vector<float>& latent, std::vector<std::uint8_t>& rgba, const IdentityDetail* detail) {
  std::vector<std::vector<std::uint8_t>> out(1);
  decode_batch({latent}, out, detail);
  rgba.swap(out[0]);
}

torch::Tensor Generator::latents_tensor(const std::vector<std::vector<float>>& latents) const {
  const auto n = static_cast<std::int64_t>(latents.size());
  torch::Tensor z = torch::empty({n, config_.latent});
  for (std::int64_t i = 0; i < n; ++i) {
    const auto& l = latents[static_cast<std::size_t>(i)];
    if (l.size() != latent_size()) throw Error(ErrorKind::InvalidArgument, "latent has " + std::to_string(l.size()) + " values, the model " + std::to_string(latent_size()));
    for (float x : l) require_finite(x, "latent");
    std::memcpy(z[i].data_ptr<float>(), l.data(), l.size() * sizeof(float));
  }
  return z.to(device_);
}

void Generator::decode_batch(const std::vector<std::vector<float>>& latents, std::vector<std::vector<std::uint8_t>>& rgba, const IdentityDetail* detail) {
  const auto n = static_cast<std::int64_t>(latents.size());
  if (n == 0) return;
  const torch::Tensor z = latents_tensor(latents);
  torch_compat::InferenceGuard guard;
  torch::Tensor img = vae_->decoder->forward(z);  // [N, 3, S, S]
  if (detail) img = detail->apply(img);
  // Bytes on the device, then one copy to host memory (a no-op on the CPU).
  const torch::Tensor bytes = img.mul(255.0f).round_().clamp_(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous().to(torch::kCPU);
  const std::size_t pixels = static_cast<std::size_t>(config_.image_size) * static_cast<std::size_t>(config_.image_size);
  rgba.resize(latents.size());
  for (std::int64_t i = 0; i < n; ++i) {
    auto& out = rgba[static_cast<std::size_t>(i)];
    out.resize(pixels * 4);
    const std::uint8_t* src = bytes[i].data_ptr<std::uint8_t>();
    for (std::size_t p = 0; p < pixels; ++p) {
      out[4 * p] = src[3 * p];
      out[4 * p + 1] = src[3 * p + 1];
      out[4 * p + 2] = src[3 * p + 2];
      out[4 * p + 3] = 255;
    }
  }
}

// An RGB(A)8 image of any size as the network reads it: [1, 3, S, S] float on the CPU.
torch::Tensor Generator::model_image(const std::uint8_t* pixels, int width, int height, int channels) const {
  if (!pixels) throw Error(ErrorKind::InvalidArgument, "image pixels must not be null");
  if (width < 8 || height < 8 || width > 8192 || height > 8192) throw Error(ErrorKind::InvalidArgument, "image size must be 8..8192 pixels per side");
  if (channels != 3 && channels != 4) throw Error(ErrorKind::InvalidArgument, "image channels must be 3 (RGB) or 4 (RGBA)");
  torch_compat::InferenceGuard guard;
  torch::Tensor img = torch::from_blob(const_cast<std::uint8_t*>(pixels), {1, height, width, channels}, torch::kUInt8)
                          .narrow(3, 0, 3).permute({0, 3, 1, 2}).to(torch::kFloat32).div(255.0f);
  if (width != config_.image_size || height != config_.image_size) {
    // Centre square crop, then resize (area-averaging when shrinking).
    const int side = std::min(width, height);
    img = img.narrow(2, (height - side) / 2, side).narrow(3, (width - side) / 2, side);
    namespace F = torch::nn::functional;
    const std::vector<std::int64_t> size = {config_.image_size, config_.image_size};
    if (side > config_.image_size) {
      img = F::interpolate(img, F::InterpolateFuncOptions().size(size).mode(torch::kArea));
    } else {
      img = F::interpolate(img, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false));
    }
  }
  return img.contiguous();
}

std::vector<float> Generator::encode(const std::uint8_t* pixels, int width, int height, int channels) {
  const torch::Tensor img = model_image(pixels, width, height, channels);
  torch_compat::InferenceGuard guard;
  const torch::Tensor mu = vae_->encoder->forward(img.to(device_)).first.to(torch::kCPU).contiguous();
  return std::vector<float>(mu.data_ptr<float>(), mu.data_ptr<float>() + mu.numel());
}

std::shared_ptr<const IdentityDetail> Generator::detail(const std::uint8_t* pixels, int width, int height, int channels,
                                                        const std::vector<float>& identity, const DetailOptions& options) {
  return detail(model_image(pixels, width, height, channels), identity, options);
}

std::shared_ptr<const IdentityDetail> Generator::detail(const torch::Tensor& image, const std::vector<float>& identity, const DetailOptions& options) {
  const torch::Tensor z = latents_tensor({manifold_.compose(identity, AffectPoint{})});
  torch_compat::InferenceGuard guard;
  const torch::Tensor neutral = vae_->decoder->forward(z);
  return std::make_shared<const IdentityDetail>(image.to(device_), neutral, options);
}

void ModelPackage::save_identity(const std::string& path, const std::vector<float>& identity, const IdentityDetail* detail) const {
  if (identity.size() != prior_mean_.size()) throw Error(ErrorKind::InvalidArgument, path + ": the identity has " + std::to_string(identity.size()) +
                                                                                     " values, this package's latent " + std::to_string(prior_mean_.size()));
  std::map<std::string, torch::Tensor> tensors{{"identity", torch::tensor(identity)}};
  if (detail) tensors["image"] = detail->image().to(torch::kCPU).contiguous();
  save_tensors(path, tensors, json{{"format", "circumplex-identity"}, {"model", tensors_fingerprint(weights_)}}.dump());
}

std::vector<float> parse_identity(std::string_view bytes, const std::string& path, const std::string& fingerprint, std::size_t latent,
                                  const std::string& package, torch::Tensor* image, int image_size) {
  if (bytes.size() > kMaxIdentityBytes) bad(path, "larger than the limit of " + std::to_string(kMaxIdentityBytes) + " bytes for an identity file");
  std::string meta;
  const TensorMap t = parse_tensors(bytes, path, &meta);
  json m;
  try {
    m = json::parse(meta);
  } catch (const json::exception& e) {
    bad(path, std::string("its metadata is not JSON: ") + e.what());
  }
  if (!m.is_object() || !m.contains("format") || m["format"] != "circumplex-identity") bad(path, "not an identity file (save one with --save-identity)");
  if (!m.contains("model") || !m["model"].is_string()) bad(path, "names no model package (its 'model' fingerprint is missing)");
  if (m["model"] != fingerprint) {
    bad(path, "this identity was saved for another model package (weights " + m["model"].get<std::string>() + "), not " + package);
  }
  const auto it = t.find("identity");
  if (it == t.end() || it->second.dim() != 1 || it->second.size(0) != static_cast<std::int64_t>(latent)) {
    bad(path, "must hold one tensor 'identity' of " + std::to_string(latent) + " values");
  }
  const torch::Tensor v = it->second.to(torch::kFloat).contiguous();
  if (!torch::isfinite(v).all().item<bool>()) bad(path, "the identity holds values that are not finite");
  if (image) {
    *image = torch::Tensor();
    if (const auto im = t.find("image"); im != t.end()) {
      const torch::Tensor& x = im->second;
      if (x.dim() != 4 || x.size(0) != 1 || x.size(1) != 3 || x.size(2) != image_size || x.size(3) != image_size) {
        bad(path, "its image must be [1, 3, " + std::to_string(image_size) + ", " + std::to_string(image_size) + "], not " + c10::str(x.sizes()));
      }
      if (!torch::isfinite(x).all().item<bool>() || x.min().item<float>() < 0.0f || x.max().item<float>() > 1.0f) {
        bad(path, "its image holds values outside 0 … 1");
      }
      *image = x.to(torch::kFloat).contiguous();
    }
  }
  return std::vector<float>(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
}

std::vector<float> ModelPackage::load_identity(const std::string& path, torch::Tensor* image) const {
  const std::string bytes = read_text_file(path, kMaxIdentityBytes);
  return parse_identity(bytes, path, tensors_fingerprint(weights_), prior_mean_.size(), dir_, image, config_.image_size);
}

std::vector<float> ModelPackage::identity_from_seed(std::uint64_t seed) const {
  // splitmix64 + Box–Muller: the same face for a seed on every platform (std's normal
  // distribution differs between standard libraries).
  std::uint64_t state = seed;
  auto next = [&state] {
    std::uint64_t x = (state += 0x9E3779B97F4A7C15ULL);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return static_cast<double>((x ^ (x >> 31)) >> 11) * 0x1.0p-53;
  };
  if (!people_.empty()) {
    const std::size_t d = prior_mean_.size(), person = static_cast<std::size_t>(static_cast<double>(people()) * next());  // next() < 1
    const auto row = people_.begin() + static_cast<std::ptrdiff_t>(person * d);
    return std::vector<float>(row, row + static_cast<std::ptrdiff_t>(d));
  }
  std::vector<float> z(prior_mean_.size());
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double u1 = std::max(next(), 1e-300), u2 = next();
    const double n = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    z[i] = prior_mean_[i] + prior_std_[i] * static_cast<float>(n);
  }
  return z;
}

}  // namespace circumplex
