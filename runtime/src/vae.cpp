#include "circumplex/vae.hpp"

#include <algorithm>

#include "circumplex/error.hpp"

namespace circumplex {
namespace nn = torch::nn;

namespace {
// Convolutions run in channels-last (NHWC) layout: on this CPU oneDNN's 3×3 convolution is
// ~3.5× faster that way than in NCHW (75 vs 21 GFLOP/s on one core, measured).
constexpr auto kLayout = at::MemoryFormat::ChannelsLast;

void channels_last(nn::Conv2d& conv) {
  torch::NoGradGuard no_grad;
  conv->weight.set_data(conv->weight.contiguous(kLayout));
}

// A 3×3, stride-1, padding-1 convolution. Without autograd (inference) it calls oneDNN
// directly: LibTorch's dispatcher sends small single-image inputs (N·C·H·W ≤ 20480, the
// decoder's 8×8 stage at batch 1) to its im2col + BLAS path instead, which with Debian's
// reference BLAS took 6.2 ms where oneDNN takes 0.2 (one core, measured).
torch::Tensor conv3x3(nn::Conv2dImpl& conv, const torch::Tensor& x) {
  if (!torch::GradMode::is_enabled() && at::hasMKLDNN() && x.device().is_cpu() && x.scalar_type() == torch::kFloat) {
    return at::mkldnn_convolution(x, conv.weight, conv.bias, {1, 1}, {1, 1}, {1, 1}, 1);
  }
  return conv.forward(x);
}
// SiLU, in place when nothing needs its input for a backward pass.
torch::Tensor silu_maybe_inplace(torch::Tensor x) { return torch::GradMode::is_enabled() ? torch::silu(x) : torch::silu_(x); }

// A residual 3×3 convolution c → c that starts at zero: h + SiLU(conv(h)) is then h, so a
// network widened with it from trained weights first draws exactly what it drew.
nn::Conv2d zero_conv(int c) {
  nn::Conv2d conv(nn::Conv2dOptions(c, c, 3).padding(1));
  torch::NoGradGuard no_grad;
  conv->weight.zero_();
  conv->bias.zero_();
  channels_last(conv);
  return conv;
}
}  // namespace

std::string affect_head_member_name(int k) { return k == 0 ? "affect_head" : "affect_head_" + std::to_string(k); }

int VaeConfig::stages() const {
  int n = 0;
  for (int s = image_size; s > 4; s /= 2) ++n;
  return n;
}

void VaeConfig::validate() const {
  if (image_size < 32 || image_size > 512 || (image_size & (image_size - 1)) != 0) {
    throw Error(ErrorKind::InvalidArgument, "VAE image_size must be a power of two in 32..512, got " + std::to_string(image_size));
  }
  if (latent < 2 || latent > 1024) throw Error(ErrorKind::InvalidArgument, "VAE latent must be in 2..1024, got " + std::to_string(latent));
  if (width < 4 || width > 256) throw Error(ErrorKind::InvalidArgument, "VAE width must be in 4..256, got " + std::to_string(width));
  if (decoder_width != 0 && (decoder_width < 4 || decoder_width > 256)) {
    throw Error(ErrorKind::InvalidArgument, "VAE decoder_width must be 0 or in 4..256, got " + std::to_string(decoder_width));
  }
  if (encoder_width != 0 && (encoder_width < 4 || encoder_width > 256)) {
    throw Error(ErrorKind::InvalidArgument, "VAE encoder_width must be 0 or in 4..256, got " + std::to_string(encoder_width));
  }
  if (encoder_depth < 0 || encoder_depth > 2) {
    throw Error(ErrorKind::InvalidArgument, "VAE encoder_depth must be in 0..2, got " + std::to_string(encoder_depth));
  }
  if (decoder_refine < 0 || decoder_refine > stages() - 1) {
    throw Error(ErrorKind::InvalidArgument, "VAE decoder_refine must be in 0.." + std::to_string(stages() - 1) + " (the full-resolution stage has none), got " +
                                                std::to_string(decoder_refine));
  }
  if (decoder_detail < 0 || decoder_detail > 4) {
    throw Error(ErrorKind::InvalidArgument, "VAE decoder_detail must be in 0..4, got " + std::to_string(decoder_detail));
  }
  if (affect_heads.size() > 8) throw Error(ErrorKind::InvalidArgument, "VAE affect_head.members must be in 1..8, got " + std::to_string(affect_heads.size()));
  for (const JudgeConfig& head : affect_heads) {
    head.validate();
    if (head.input_size != image_size) {
      throw Error(ErrorKind::InvalidArgument, "VAE affect_head.input_size is " + std::to_string(head.input_size) + ", the VAE's image_size " + std::to_string(image_size));
    }
  }
  if (!affect_heads.empty() && (affect_head_dims < 2 || affect_head_dims > 3 || affect_head_dims >= latent)) {
    throw Error(ErrorKind::InvalidArgument, "VAE affect_head.dims must be 2 or 3 and below latent, got " + std::to_string(affect_head_dims));
  }
}

int VaeConfig::channels(int stage) const { return width * std::min(1 << stage, 8); }

int VaeConfig::encoder_channels(int stage) const { return (encoder_width ? encoder_width : width) * std::min(1 << stage, 8); }

int VaeConfig::decoder_channels(int stage) const {
  // Stage 0 is the 4×4 input of the decoder; the last stage works at full resolution.
  const int last = stages();
  if (stage >= last) return decoder_width ? decoder_width : width;
  return channels(last - 1 - stage);
}

VaeEncoderImpl::VaeEncoderImpl(const VaeConfig& config) : config_(config) {
  config_.validate();
  features_ = nn::Sequential();
  depth_ = nn::ModuleList();
  int in = 3;
  for (int s = 0; s < config_.stages(); ++s) {
    const int out = config_.encoder_channels(s);
    nn::Conv2d conv(nn::Conv2dOptions(in, out, 3).stride(2).padding(1));
    channels_last(conv);
    features_->push_back(conv);
    features_->push_back(nn::SiLU());
    for (int k = 0; k < config_.encoder_depth; ++k) depth_->push_back(zero_conv(out));
    in = out;
  }
  register_module("features", features_);
  register_module("depth", depth_);
  const int flat = in * 4 * 4;
  mu_ = register_module("mu", nn::Linear(flat, config_.latent));
  logvar_ = register_module("logvar", nn::Linear(flat, config_.latent));
  for (std::size_t k = 0; k < config_.affect_heads.size(); ++k) {
    const std::string name = affect_head_member_name(static_cast<int>(k));
    HeadMember m;
    m.net = register_module(name, JudgeNet(config_.affect_heads[k]));
    for (auto& p : m.net->parameters()) p.set_requires_grad(false);
    m.net->eval();  // and stays so (train below)
    m.mean = register_buffer(name + "_mean", torch::zeros({config_.affect_head_dims}));
    m.std = register_buffer(name + "_std", torch::ones({config_.affect_head_dims}));
    affect_heads_.push_back(m);
  }
}

std::pair<torch::Tensor, torch::Tensor> VaeEncoderImpl::forward(const torch::Tensor& images) {
  torch::Tensor h = (images * 2.0 - 1.0).contiguous(kLayout);
  for (int s = 0; s < config_.stages(); ++s) {
    h = torch::silu(features_[2 * s]->as<nn::Conv2d>()->forward(h));
    for (int k = 0; k < config_.encoder_depth; ++k) h = h + torch::silu(depth_[s * config_.encoder_depth + k]->as<nn::Conv2d>()->forward(h));
  }
  h = h.contiguous().flatten(1);
  torch::Tensor mu = mu_->forward(h);
  if (!affect_heads_.empty()) {
    const std::int64_t k = config_.affect_head_dims;
    mu = torch::cat({kAffectLatentScale * read_affect(images).to(mu.dtype()), mu.narrow(1, k, config_.latent - k)}, 1);
  }
  return {mu, logvar_->forward(h).clamp(-12.0, 8.0)};
}

torch::Tensor VaeEncoderImpl::read_affect(const torch::Tensor& images) {
  if (affect_heads_.empty()) throw Error(ErrorKind::InvalidArgument, "this VAE has no affect head");
  torch::NoGradGuard no_grad;
  const std::int64_t dims = config_.affect_head_dims, n = images.size(0);
  // With the mirror, one pass over [images; mirrored images].
  const torch::Tensor views = config_.affect_head_mirror ? torch::cat({images, images.flip({3})}, 0) : images;
  torch::Tensor sum;
  for (HeadMember& m : affect_heads_) {
    torch::Tensor r = m.net->forward(views).narrow(1, 0, dims);
    if (config_.affect_head_mirror) r = 0.5 * (r.narrow(0, 0, n) + r.narrow(0, n, n));
    r = r * m.std + m.mean;
    sum = sum.defined() ? sum + r : r;
  }
  return sum / static_cast<double>(affect_heads_.size());
}

void VaeEncoderImpl::train(bool on) {
  torch::nn::Module::train(on);
  for (HeadMember& m : affect_heads_) m.net->eval();
}

VaeDecoderImpl::VaeDecoderImpl(const VaeConfig& config) : config_(config) {
  config_.validate();
  project_ = register_module("project", nn::Linear(config_.latent, config_.decoder_channels(0) * 16));
  stages_ = nn::ModuleList();
  for (int s = 0; s < config_.stages(); ++s) {
    const int in = config_.decoder_channels(s), out = config_.decoder_channels(s + 1);
    nn::Conv2d conv(nn::Conv2dOptions(in, out, 3).padding(1));
    channels_last(conv);
    stages_->push_back(conv);
  }
  register_module("stages", stages_);
  refine_ = nn::ModuleList();
  for (int s = 0; s < config_.decoder_refine; ++s) refine_->push_back(zero_conv(config_.decoder_channels(s + 1)));
  register_module("refine", refine_);
  detail_ = nn::ModuleList();
  for (int k = 0; k < config_.decoder_detail; ++k) detail_->push_back(zero_conv(config_.decoder_channels(config_.stages())));
  register_module("detail", detail_);
  to_rgb_ = register_module("to_rgb", nn::Conv2d(nn::Conv2dOptions(config_.decoder_channels(config_.stages()), 3, 3).padding(1)));
  channels_last(to_rgb_);
}

torch::Tensor VaeDecoderImpl::forward(const torch::Tensor& latents) {
  const auto decode = [this](const torch::Tensor& z) {
    auto h = silu_maybe_inplace(project_->forward(z)).view({z.size(0), config_.decoder_channels(0), 4, 4}).contiguous(kLayout);
    for (std::size_t s = 0; s < stages_->size(); ++s) {
      h = torch::upsample_nearest2d(h, {h.size(2) * 2, h.size(3) * 2});
      h = silu_maybe_inplace(conv3x3(*stages_[s]->as<nn::Conv2d>(), h));
      if (s < refine_->size()) h = h + silu_maybe_inplace(conv3x3(*refine_[s]->as<nn::Conv2d>(), h));
    }
    for (std::size_t k = 0; k < detail_->size(); ++k) h = h + silu_maybe_inplace(conv3x3(*detail_[k]->as<nn::Conv2d>(), h));
    return torch::sigmoid(conv3x3(*to_rgb_, h)).contiguous();
  };
  // Without gradients on the CPU, a large batch is decoded in blocks of kDecodeBlock faces:
  // the full-resolution activations of a block (8 × 16 × 128² floats, 8 MiB) stay in cache,
  // where a whole batch of 32 spills to memory and runs 1.3–2× slower per face. Every face's
  // pixels are the same either way (the convolutions treat faces independently).
  constexpr std::int64_t kDecodeBlock = 8;
  const std::int64_t n = latents.size(0);
  if (n <= kDecodeBlock || torch::GradMode::is_enabled() || !latents.device().is_cpu()) return decode(latents);
  std::vector<torch::Tensor> blocks;
  for (std::int64_t lo = 0; lo < n; lo += kDecodeBlock) blocks.push_back(decode(latents.narrow(0, lo, std::min(kDecodeBlock, n - lo))));
  return torch::cat(blocks, 0);
}

std::int64_t VaeDecoderImpl::flops_per_image() const {
  std::int64_t macs = static_cast<std::int64_t>(config_.latent) * config_.decoder_channels(0) * 16;
  std::int64_t side = 4;
  for (int s = 0; s < config_.stages(); ++s) {
    side *= 2;
    macs += side * side * 9LL * config_.decoder_channels(s) * config_.decoder_channels(s + 1);
    if (s < config_.decoder_refine) macs += side * side * 9LL * config_.decoder_channels(s + 1) * config_.decoder_channels(s + 1);
  }
  const std::int64_t top = config_.decoder_channels(config_.stages());
  macs += config_.decoder_detail * side * side * 9LL * top * top;
  macs += side * side * 9LL * top * 3;
  return 2 * macs;
}

BetaVaeImpl::BetaVaeImpl(const VaeConfig& config) : config_(config) {
  config_.validate();
  encoder = register_module("encoder", VaeEncoder(config_));
  decoder = register_module("decoder", VaeDecoder(config_));
}

VaeOutput BetaVaeImpl::forward(const torch::Tensor& images) {
  auto [mu, logvar] = encoder->forward(images);
  torch::Tensor z = mu;
  if (is_training()) z = mu + torch::randn_like(mu) * torch::exp(0.5 * logvar);
  return {decoder->forward(z), mu, logvar};
}

VaeOutput BetaVaeImpl::forward(const torch::Tensor& images, const torch::Tensor& noise) {
  auto [mu, logvar] = encoder->forward(images);
  return decode_sample(mu, logvar, noise);
}

VaeOutput BetaVaeImpl::decode_sample(const torch::Tensor& mu, const torch::Tensor& logvar, const torch::Tensor& noise,
                                     const torch::Tensor& forced_affect) {
  if (noise.sizes() != mu.sizes()) {
    throw Error(ErrorKind::InvalidArgument, "VAE noise has shape " + c10::str(noise.sizes()) + ", expected " + c10::str(mu.sizes()));
  }
  torch::Tensor z = mu + noise * torch::exp(0.5 * logvar);
  if (forced_affect.defined()) {
    const std::int64_t k = forced_affect.dim() == 2 ? forced_affect.size(1) : 0;
    if (forced_affect.dim() != 2 || forced_affect.size(0) != mu.size(0) || k < 1 || k >= mu.size(1)) {
      throw Error(ErrorKind::InvalidArgument, "forced affect has shape " + c10::str(forced_affect.sizes()) + ", expected [" +
                                                  std::to_string(mu.size(0)) + ", K] with 1 <= K < " + std::to_string(mu.size(1)));
    }
    const torch::Tensor labels = forced_affect.to(z.dtype());
    const torch::Tensor head = torch::where(torch::isfinite(labels), kAffectLatentScale * labels, z.narrow(1, 0, k));
    z = torch::cat({head, z.narrow(1, k, mu.size(1) - k)}, 1);
  }
  return {decoder->forward(z), mu, logvar};
}

VaeOutput BetaVaeImpl::forward_identity_swap(const torch::Tensor& images, const torch::Tensor& partners, const torch::Tensor& noise,
                                             std::int64_t affect_dims, const torch::Tensor& forced_affect) {
  if (partners.sizes() != images.sizes()) {
    throw Error(ErrorKind::InvalidArgument, "identity swap: partners have shape " + c10::str(partners.sizes()) + ", images " + c10::str(images.sizes()));
  }
  if (affect_dims < 1 || affect_dims >= config_.latent) {
    throw Error(ErrorKind::InvalidArgument, "identity swap: affect_dims must be in 1.." + std::to_string(config_.latent - 1) + ", got " + std::to_string(affect_dims));
  }
  const std::int64_t n = images.size(0);
  auto [mu_both, logvar_both] = encoder->forward(torch::cat({images, partners}));  // one encoder pass for both
  const std::int64_t rest = config_.latent - affect_dims;
  const auto mix = [&](const torch::Tensor& both) {
    return torch::cat({both.narrow(0, 0, n).narrow(1, 0, affect_dims), both.narrow(0, n, n).narrow(1, affect_dims, rest)}, 1);
  };
  return decode_sample(mix(mu_both), mix(logvar_both), noise, forced_affect);
}

VaeLoss vae_loss(const VaeOutput& out, const torch::Tensor& images, double beta, const torch::Tensor& sample_weights,
                 const torch::Tensor& affect, double guidance_weight, const torch::Tensor& pixel_weights) {
  torch::Tensor squared = (out.reconstruction - images).pow(2);
  if (pixel_weights.defined()) {
    const std::int64_t s = images.size(2);
    if (pixel_weights.dim() != 2 || pixel_weights.size(0) != s || pixel_weights.size(1) != images.size(3)) {
      throw Error(ErrorKind::InvalidArgument, "pixel weights have shape " + c10::str(pixel_weights.sizes()) + ", images are " + c10::str(images.sizes()));
    }
    squared = squared * pixel_weights.to(squared.dtype());
  }
  auto recon = squared.flatten(1).sum(1);
  auto kl = (-0.5 * (1 + out.logvar - out.mu.pow(2) - out.logvar.exp())).sum(1);
  auto total = recon + beta * kl;
  torch::Tensor guidance = torch::zeros_like(recon);
  if (affect.defined() && guidance_weight > 0.0) {
    const int64_t k = std::min(affect.size(1), out.mu.size(1));
    const torch::Tensor labels = affect.narrow(1, 0, k).to(out.mu.dtype());
    const torch::Tensor known = torch::isfinite(labels);
    const torch::Tensor diff = out.mu.narrow(1, 0, k) - kAffectLatentScale * torch::where(known, labels, torch::zeros_like(labels));
    guidance = (diff.pow(2) * known.to(diff.dtype())).sum(1);
    total = total + guidance_weight * guidance;
  }
  if (sample_weights.defined()) {
    const auto w = sample_weights / sample_weights.mean();
    total = total * w;
  }
  return {total.mean(), recon.mean(), kl.mean(), guidance.mean()};
}

}  // namespace circumplex
