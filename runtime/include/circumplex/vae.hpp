// circumplex/vae.hpp — the β-VAE that learns the latent space of faces (LibTorch modules).
//
// Encoder: five stride-2 3×3 convolutions (128 → 4), each followed by `encoder_depth`
// residual 3×3 convolutions, then linear layers to μ and log σ². It runs once per person
// (the identity), not per frame, so it may be wider and deeper than the decoder.
// Decoder: a linear layer to 4×4, then five stages of nearest-neighbour upsampling + 3×3
// convolution (4 → 128), the lowest `decoder_refine` of them followed by a residual 3×3
// convolution, `decoder_detail` residual 3×3 convolutions at full resolution, and a 3×3
// convolution to RGB with a sigmoid. Upsample + convolution
// instead of transposed convolution: on this CPU it is ~20× faster at high resolution and
// free of checkerboard artefacts. Images are float RGB in [0, 1], NCHW.
//
// Affect head (optional; packages only): a separate network of the judge's architecture
// (judge.hpp) reads (v, a[, z]) from the image, and the encoder's μ takes that reading, times
// kAffectLatentScale, in its first 2 or 3 dimensions. The encoder proper also carries the
// person and reads affect poorly (a 16-channel stack of stride-2 convolutions); the head is
// trained on its own (`circumplex judge` on faces of its own people), attached by
// `circumplex map --affect-head`, and stays frozen (no gradient, eval mode) wherever the VAE
// is trained or run. The head may be an ensemble: several networks (`affect_heads`; their
// shapes may differ), trained with different seeds, whose readings are averaged; with
// `affect_head_mirror` each also reads the mirror image (valence, arousal and z do not change
// under a left-right flip) and the two readings are averaged. Both only lower the reading's
// noise.
//
//   BetaVae vae(VaeConfig{});                 // 128², latent 64
//   auto out = vae->forward(images);          // reconstruction, μ, log σ²
//   auto loss = vae_loss(out, images, beta);  // reconstruction + β·KL
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "circumplex/judge.hpp"

namespace circumplex {

/// Shape of the network. Saved in model packages; a mismatch refuses to load.
struct VaeConfig {
  int image_size = 128;  ///< square input/output side; must be 32 · 2^k (here 128)
  int latent = 64;       ///< latent dimension
  int width = 32;        ///< channels of the first encoder stage; deeper stages double (capped at 8×)
  int decoder_width = 0; ///< channels of the last decoder stage (0: same as width)
  /// Channels of the encoder's first stage (0: same as width); deeper stages double (capped at
  /// 8×). The decoder's shape does not depend on it.
  int encoder_width = 0;
  /// Residual 3×3 convolutions after each encoder stage, h + SiLU(conv(h)) each (0 … 2): depth
  /// to read the person with. They start at zero like `decoder_refine`'s, so an encoder
  /// deepened this way from trained weights (`train --init`) first reads exactly what it read.
  int encoder_depth = 0;
  /// Decoder stages, from the 8×8 one up, that refine their output with a residual 3×3
  /// convolution, h + SiLU(conv(h)): capacity where it is cheap (at most stages() − 1, so the
  /// full-resolution stage stays narrow). The convolutions start at zero, so a model widened
  /// this way from trained weights (`train --init`) first draws exactly what it drew.
  int decoder_refine = 0;
  /// Residual 3×3 convolutions at full resolution after the last stage, h + SiLU(conv(h))
  /// each (0 … 4): room to draw the fine lines (wrinkles, eyelids, glasses' wire) that one
  /// convolution per resolution averages away. They start at zero like `decoder_refine`'s,
  /// and each costs as much as the full-resolution stage itself.
  int decoder_detail = 0;
  /// The affect head's networks (see above), one shape per member of its ensemble (0 … 8;
  /// none in training runs). Each has its own output scale; their readings are averaged.
  /// Member k's tensors are "encoder.<affect_head_member_name(k)>.*".
  std::vector<JudgeConfig> affect_heads;
  /// Latents the affect head sets: 2 (v, a) or 3 (v, a, z).
  int affect_head_dims = 3;
  /// Whether each member also reads the left-right mirror image (readings averaged).
  bool affect_head_mirror = false;

  /// Number of stride-2 stages (image_size → 4).
  int stages() const;
  /// Throws circumplex::Error naming the field when the configuration is unusable.
  void validate() const;
  /// Channels at stage i (0-based) of a width-`width` encoder; the decoder mirrors them.
  int channels(int stage) const;
  /// Channels at encoder stage i (0-based): `channels` with encoder_width.
  int encoder_channels(int stage) const;
  int decoder_channels(int stage) const;
};

/// The encoder's module name of affect-head member k: "affect_head", then "affect_head_1", …
/// Its weights are "encoder.<name>.*" and its output scale "encoder.<name>_mean" / "_std".
std::string affect_head_member_name(int k);

/// Maps images to the mean and log-variance of q(z | x).
class VaeEncoderImpl : public torch::nn::Module {
 public:
  explicit VaeEncoderImpl(const VaeConfig& config);
  /// images [N, 3, S, S] in [0, 1] → {μ [N, D], log σ² [N, D]}.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& images);
  /// The affect head's reading (v, a[, z]) [N, affect_head_dims] in affect units; requires a head.
  torch::Tensor read_affect(const torch::Tensor& images);
  /// Sets training mode on the encoder's own layers; the affect head stays in eval mode (it is
  /// frozen: BatchNorm's running statistics, no dropout), whatever `on` is.
  void train(bool on = true) override;

 private:
  VaeConfig config_;
  // Stage s's stride-2 convolution is features_[2s] (then a SiLU at 2s + 1: the layout names
  // the weights "features.<2s>.*"); forward runs the stages itself, with depth_ between them.
  torch::nn::Sequential features_{nullptr};
  torch::nn::ModuleList depth_{nullptr};     // encoder_depth residual convolutions per stage
  torch::nn::Linear mu_{nullptr}, logvar_{nullptr};
  struct HeadMember {
    JudgeNet net{nullptr};
    torch::Tensor mean, std;  // its outputs → affect units
  };
  std::vector<HeadMember> affect_heads_;
};
TORCH_MODULE(VaeEncoder);

/// Maps latents to images.
class VaeDecoderImpl : public torch::nn::Module {
 public:
  explicit VaeDecoderImpl(const VaeConfig& config);
  /// latents [N, D] → images [N, 3, S, S] in [0, 1].
  torch::Tensor forward(const torch::Tensor& latents);
  /// Multiply–adds ×2 of one forward pass for one image (counted from the architecture).
  std::int64_t flops_per_image() const;

 private:
  VaeConfig config_;
  torch::nn::Linear project_{nullptr};
  torch::nn::ModuleList stages_{nullptr};
  torch::nn::ModuleList refine_{nullptr};  // decoder_refine residual convolutions, lowest stages first
  torch::nn::ModuleList detail_{nullptr};  // decoder_detail residual convolutions at full resolution
  torch::nn::Conv2d to_rgb_{nullptr};
};
TORCH_MODULE(VaeDecoder);

/// What a forward pass of the whole VAE returns.
struct VaeOutput {
  torch::Tensor reconstruction;  ///< [N, 3, S, S]
  torch::Tensor mu, logvar;      ///< [N, D]
};

/// Encoder + decoder with the reparameterisation trick.
class BetaVaeImpl : public torch::nn::Module {
 public:
  explicit BetaVaeImpl(const VaeConfig& config);
  /// Training pass: samples z = μ + σ·ε (in eval mode z = μ) and decodes it.
  VaeOutput forward(const torch::Tensor& images);
  /// Training pass with the given ε [N, D] (training draws it from (seed, step, sample)).
  VaeOutput forward(const torch::Tensor& images, const torch::Tensor& noise);
  /// Identity-swap training pass: `partners` [N, 3, S, S] are other images of the same people
  /// as `images`. The latent decoded for image i takes its first `affect_dims` dimensions from
  /// image i and the rest from partner i (z = μ + σ·ε, ε = `noise`), so the reconstruction of
  /// image i can show its expression only through those dimensions and the person only
  /// through the partner's. The returned μ and log σ² are those of that mixed latent.
  ///
  /// Teacher forcing: with `forced_affect` ([N, affect_dims], the true (v, a[, z]) of each
  /// image), the decoded latent's first `affect_dims` dimensions are kAffectLatentScale ×
  /// that affect, exactly what Manifold::compose puts there at run time for a model trained
  /// so, instead of the encoder's noisy reading (non-finite labels keep the reading). μ and
  /// log σ² are still the encoder's, so the affect guidance keeps teaching it to read affect.
  VaeOutput forward_identity_swap(const torch::Tensor& images, const torch::Tensor& partners, const torch::Tensor& noise,
                                  std::int64_t affect_dims, const torch::Tensor& forced_affect = {});
  const VaeConfig& config() const { return config_; }

  VaeEncoder encoder{nullptr};
  VaeDecoder decoder{nullptr};

 private:
  /// Decodes z = μ + σ·ε (checks ε's shape), its first dimensions set from `forced_affect`
  /// when given (see forward_identity_swap).
  VaeOutput decode_sample(const torch::Tensor& mu, const torch::Tensor& logvar, const torch::Tensor& noise,
                          const torch::Tensor& forced_affect = {});
  VaeConfig config_;
};
TORCH_MODULE(BetaVae);

/// Loss terms, per image (sums over pixels and latent dimensions, mean over the batch).
struct VaeLoss {
  torch::Tensor total;           ///< reconstruction + β · KL (weighted when weights given)
  torch::Tensor reconstruction;  ///< squared error summed over pixels (weighted when pixel weights given)
  torch::Tensor kl;              ///< KL(q(z|x) ‖ N(0, I))
  torch::Tensor guidance;        ///< Σₖ (μₖ − kAffectLatentScale·affectₖ)² (0 without affect labels)
};

/// Latent units per unit of affect on the guided dimensions (μ₀ ≈ 2·valence, μ₁ ≈ 2·arousal,
/// μ₂ ≈ 2·z): the affect's spread then matches the prior's N(0, 1).
constexpr double kAffectLatentScale = 2.0;

/// β-VAE loss: reconstruction + β·KL, plus `guidance_weight` × the affect guidance when
/// `affect` ([N, K] labels, K ≤ D; non-finite entries are missing and skipped) is given. The
/// guidance asks the first K latent means to read the labels linearly, so the affect lives in
/// a few known directions of the latent instead of being spread thinly over all of them
/// (expression is a small part of a face's pixels: an unguided VAE keeps little of it).
/// `sample_weights` ([N], optional) weights each image's terms (class weights).
/// `pixel_weights` ([S, S], optional) weights each pixel's squared error in the
/// reconstruction term (training puts more weight where expressions change the face).
VaeLoss vae_loss(const VaeOutput& out, const torch::Tensor& images, double beta,
                 const torch::Tensor& sample_weights = {}, const torch::Tensor& affect = {},
                 double guidance_weight = 0.0, const torch::Tensor& pixel_weights = {});

}  // namespace circumplex
