// circumplex/model_package.hpp — a trained face model on disk, loaded and ready to generate.
//
// A model package is a folder:
//   manifest.json   format "circumplex-model", version 1: the VAE's shape (image_size, latent,
//                   width, decoder_width, optionally decoder_refine, decoder_detail,
//                   encoder_width and encoder_depth (each 0 when absent) and
//                   optionally "affect_head": the judge-shaped
//                   network whose reading sets latents 0-2 (vae.hpp), with its "dims",
//                   optionally "members" (an ensemble; 1 when absent), "member_shapes"
//                   (one shape per member, where they differ; else all have the head's)
//                   and "mirror" (false when absent)),
//                   the affect directions (valence, arousal[, z]; unit,
//                   orthonormal), origins and scales (see manifold.hpp), the identity prior
//                   (per-dimension mean and std of training latents, and optionally
//                   "people": {"file", "count"}, a tensor file of latents of real people,
//                   which seeds then draw from), metrics, provenance
//                   (data, seed, command, commit, LibTorch version) and the weights' file name
//                   and FNV-1a hash.
//   weights.safetensors    the encoder's and decoder's tensors (weights.hpp: data only, never code).
//   people.safetensors     optional: tensor "people" [count, latent], one latent per person.
// load() refuses a missing, corrupt, truncated or mismatched package with circumplex::Error
// naming the file and what is wrong. Limits: manifest.json at most 4 MiB, people.count at most
// 1 000 000, an identity file at most 1 MiB (the weights' own limits are in weights.hpp).
//
//   auto pkg = ModelPackage::load("assets/models/default");
//   Generator gen(pkg, 2);
//   auto id = pkg.identity_from_seed(7);
//   gen.decode(pkg.manifold().compose(id, {0.8, 0.5, 0}), rgba);   // 128×128×4 bytes
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "circumplex/identity_detail.hpp"
#include "circumplex/manifold.hpp"
#include "circumplex/vae.hpp"

namespace circumplex {

/// How a package's faces are framed, measured by `map` on its training faces with the face
/// detector photos go through (face_detect.hpp): where the detected face box sits, as fractions
/// of the image side, and the luminance of the face inside it. Photo identities are aligned to
/// this (photo.hpp). Packages made before circumplex 0.2 have none.
struct Framing {
  double face_x = 0, face_y = 0, face_size = 0;  ///< the median face box (left, top, side) / image side
  double luma_mean = 0, luma_std = 0;            ///< luminance (0 … 1) inside the box, mean and spread
  int faces = 0;                                 ///< training faces it was measured on
  /// The training faces are `synth`'s painted people ("identity_route": "procedural"): photo
  /// identities take the procedural route (photo.hpp). False: photos are encoded as they are.
  bool procedural = false;
};

/// What a model package's manifest.json says, parsed and checked without opening the files
/// it names (ModelPackage::load calls this, then reads them).
struct ModelManifest {
  VaeConfig config;
  std::shared_ptr<const Manifold> manifold;
  std::vector<float> prior_mean, prior_std;
  std::string people_file;        ///< empty when the package has no people
  std::int64_t people_count = 0;  ///< rows of people_file
  std::optional<Framing> framing;
  std::string weights_file;
};
/// Largest manifest.json load() reads, in bytes.
constexpr std::size_t kMaxManifestBytes = 4u << 20;
/// Largest people.count a manifest may give.
constexpr std::int64_t kMaxPeople = 1000000;
/// Largest identity file load_identity() reads, in bytes.
constexpr std::size_t kMaxIdentityBytes = 1u << 20;

/// Parses and checks a model manifest's text; `where` names it in errors (circumplex::Error,
/// BadData). The fuzz target's entry.
ModelManifest parse_model_manifest(std::string_view text, const std::string& where);
/// The identity held in an identity file's bytes (ModelPackage::save_identity's format) for a
/// package whose weights have `fingerprint` (tensors_fingerprint) and whose latent has
/// `latent` values; `origin` names the file and `package` the package in errors. With
/// `image`, also the identity's image when the file keeps one ([1, 3, S, S] float RGB in
/// [0, 1], S = `image_size`; undefined when it keeps none).
std::vector<float> parse_identity(std::string_view bytes, const std::string& origin, const std::string& fingerprint, std::size_t latent,
                                  const std::string& package, torch::Tensor* image = nullptr, int image_size = 0);

/// The parsed manifest plus the weights of a model package.
class ModelPackage {
 public:
  /// Reads and validates PKG/manifest.json and PKG/weights.safetensors.
  static ModelPackage load(const std::string& dir);
  /// Writes a package as load() reads it: the people (when the manifest names a people file),
  /// the weights, and manifest.json last, each atomically, so a folder without a manifest is
  /// visibly unfinished. The manifest is checked with parse_model_manifest first, and the
  /// tensors against it (people rows × latent, the weights' shapes by the network it
  /// describes): a writer cannot leave a package load() refuses. Throws circumplex::Error.
  static void save(const std::string& dir, const std::string& manifest_json, const std::map<std::string, torch::Tensor>& weights,
                   const std::string& weights_metadata, const torch::Tensor& people = {}, const std::string& people_metadata = "{}");
  /// Folder of the package shipped with circumplex (assets/models/default), found next to
  /// the executable's install, in the source tree, or via $CIRCUMPLEX_MODEL. Empty if none.
  static std::string default_path();

  const std::string& dir() const { return dir_; }
  const VaeConfig& config() const { return config_; }
  const Manifold& manifold() const { return *manifold_; }
  const std::vector<float>& prior_mean() const { return prior_mean_; }
  /// The framing of the package's faces; empty for packages made before it was recorded.
  const std::optional<Framing>& framing() const { return framing_; }
  const std::vector<float>& prior_std() const { return prior_std_; }
  /// Number of people the package's seeds draw from (0: the Gaussian of mean and std).
  std::size_t people() const { return prior_mean_.empty() ? 0 : people_.size() / prior_mean_.size(); }
  /// The identity for a seed (same seed, same face on every platform). With people, one of
  /// them: seeds pick among real faces the encoder has seen, which decode as sharply as a
  /// reconstruction, where draws from a Gaussian fall between the kinds of face (hair styles,
  /// glasses) and decode blurred. Without, a draw from N(mean, std²) per dimension.
  std::vector<float> identity_from_seed(std::uint64_t seed) const;
  /// An identity kept for reuse (a visitor's photo encoded once): a safetensors file holding
  /// the latent and this package's weight fingerprint. Loading refuses a file made for another
  /// package, or one that is not an identity, with an error naming the file.
  /// With `detail`, the file also keeps the identity's image (its detail layer's source,
  /// 192 KiB at 128²), so the identity loads with its detail (Session::set_identity).
  void save_identity(const std::string& path, const std::vector<float>& identity, const IdentityDetail* detail = nullptr) const;
  /// With `image`: the image the file keeps, or an undefined tensor when it keeps none.
  std::vector<float> load_identity(const std::string& path, torch::Tensor* image = nullptr) const;
  /// The manifest's text (metrics, provenance) for reports.
  const std::string& manifest_json() const { return manifest_; }
  /// Weights by name, to assign into a BetaVae (see weights.hpp).
  const std::map<std::string, torch::Tensor>& weights() const { return weights_; }

 private:
  std::string dir_, manifest_;
  VaeConfig config_;
  std::shared_ptr<const Manifold> manifold_;
  std::vector<float> prior_mean_, prior_std_;
  std::vector<float> people_;  // [people × latent], row-major
  std::optional<Framing> framing_;
  std::map<std::string, torch::Tensor> weights_;
};

/// True for the names of devices: "cpu", "cuda" and "cuda:N" (N of 1 to 3 digits), whether
/// or not such a device is present.
bool is_device_name(const std::string& name);
/// The device named "cpu", "cuda" or "cuda:N" (what `--device` and cpx_create_info.device
/// take). Throws Error (InvalidArgument) for other names, and for CUDA names when this
/// LibTorch has no CUDA or that GPU is not visible, saying which.
torch::Device parse_device(const std::string& name);

/// Runs a package's VAE: latents → RGBA8 frames, images → latents. One thread at a time
/// per Generator (create one per thread that needs one; they share nothing mutable).
class Generator {
 public:
  /// Builds the network and loads the weights onto `device` (parse_device's names);
  /// `threads` LibTorch intra-op threads. On a GPU the network runs there and each call
  /// copies its result to host memory once (frames and latents are always host memory).
  Generator(const ModelPackage& package, int threads, const std::string& device = "cpu");
  /// Where the network runs.
  const torch::Device& device() const { return device_; }

  int image_size() const { return config_.image_size; }
  std::size_t latent_size() const { return static_cast<std::size_t>(config_.latent); }
  /// Decodes one latent into `rgba` (resized to S·S·4 bytes, row-major, alpha 255), with
  /// `detail` laid on when given (identity_detail.hpp; made for the identity the latent composes).
  void decode(const std::vector<float>& latent, std::vector<std::uint8_t>& rgba, const IdentityDetail* detail = nullptr);
  /// Decodes several latents at once (faster per image); each output S·S·4 bytes.
  void decode_batch(const std::vector<std::vector<float>>& latents, std::vector<std::vector<std::uint8_t>>& rgba,
                    const IdentityDetail* detail = nullptr);
  /// Encodes an RGBA8 or RGB8 image (`channels` 3 or 4) of any size: it is resized to S×S
  /// (area interpolation when shrinking) and mapped to the latent mean.
  std::vector<float> encode(const std::uint8_t* pixels, int width, int height, int channels);
  /// The detail layer of an identity image (identity_detail.hpp): `pixels` as encode() reads them,
  /// and the `identity` encode() gave for them. One decoder pass, at the neutral point.
  std::shared_ptr<const IdentityDetail> detail(const std::uint8_t* pixels, int width, int height, int channels,
                                           const std::vector<float>& identity, const DetailOptions& options = {});
  /// The same for an image already at the model's size, [1, 3, S, S] float RGB in [0, 1].
  std::shared_ptr<const IdentityDetail> detail(const torch::Tensor& image, const std::vector<float>& identity,
                                           const DetailOptions& options = {});

 private:
  torch::Tensor model_image(const std::uint8_t* pixels, int width, int height, int channels) const;
  torch::Tensor latents_tensor(const std::vector<std::vector<float>>& latents) const;

  Manifold manifold_;  // the package's: the detail layer composes the neutral point
  VaeConfig config_;
  BetaVae vae_{nullptr};
  int threads_;
  torch::Device device_{torch::kCPU};
};

}  // namespace circumplex
