// tools/train/critic.hpp — the sharpness term of `circumplex train --adversarial-weight`.
//
// A small patch critic (PatchGAN-style: four convolutions, each scoring a ~46-pixel patch of a
// 128² face) learns to tell the training images from the decoder's faces; the decoder is asked
// to make faces it scores as real. The hinge form (Lim & Ye; as in SAGAN/BigGAN):
//
//   critic:   mean relu(1 − D(real)) + mean relu(1 + D(fake))
//   decoder:  − mean D(fake)          (× adversarial_weight, added to the VAE's loss)
//
// Every convolution is spectrally normalised (one power iteration per step, Miyato et al.), so
// the critic stays 1-Lipschitz-ish and its gradients to the decoder stay bounded. MSE alone
// draws the mean of the faces a latent could mean — blur; the critic penalises exactly that.
// The critic has its own Adam (β1 0.5, as GANs use), saved in the run's checkpoint under
// "critic." and "critic_adam." so a resumed run continues the same game.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "circumplex/weights.hpp"
#include "optim.hpp"

namespace circumplex::tools {

/// Four spectrally normalised convolutions: 3→c (stride 2), c→2c (2), 2c→4c (2), 4c→1 (3×3).
class PatchCriticNetImpl : public torch::nn::Module {
 public:
  explicit PatchCriticNetImpl(int channels);
  /// images [N, 3, S, S] in [0, 1] → patch scores [N, 1, S/8, S/8].
  torch::Tensor forward(const torch::Tensor& images);

 private:
  std::vector<torch::Tensor> weights_, biases_, u_;  // u_: the power iteration's left vectors
  std::vector<int> strides_;
};
TORCH_MODULE(PatchCriticNet);

class PatchCritic {
 public:
  /// `seed` initialises the critic's weights (the global generator is not touched).
  PatchCritic(int channels, double lr, std::uint64_t seed, torch::Device device);

  /// The decoder's term, − mean D(fakes); gradients flow into `fakes` (the critic's own
  /// gradients from it are discarded by the next update()).
  torch::Tensor generator_loss(const torch::Tensor& fakes);
  /// One hinge step of the critic on real images and (detached) fakes; returns its loss.
  double update(const torch::Tensor& real, const torch::Tensor& fakes);

  /// Weights and optimiser state, under "critic." and "critic_adam."; the step count is t().
  void save(TensorMap& out) const;
  void load(const TensorMap& in, std::int64_t t, const std::string& origin);
  std::int64_t t() const { return adam_.t(); }
  /// True for a checkpoint key that belongs to the critic.
  static bool owns(const std::string& key);

 private:
  PatchCriticNet net_;
  Adam adam_;
};

}  // namespace circumplex::tools
