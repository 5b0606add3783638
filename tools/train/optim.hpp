// tools/train/optim.hpp — the one optimiser of the offline pipeline (β-VAE, judge, critic).
//
// Adam with optional decoupled weight decay (AdamW), written out so that its state is plain
// tensors a checkpoint saves and a resumed run restores exactly, on any LibTorch version.
// State keys are "<prefix>m.<i>" and "<prefix>v.<i>" (i: the parameter's position); the step
// count travels in the checkpoint's metadata (t(), set_t()).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "circumplex/weights.hpp"

namespace circumplex::tools {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  /// Decoupled weight decay per step (lr × weight_decay), on parameters of rank ≥ 2 only; 0: Adam.
  double weight_decay = 0.0;
  std::string prefix = "adam.";  ///< of the state keys in a checkpoint
};

class Adam {
 public:
  Adam(std::vector<torch::Tensor> params, AdamOptions options);

  void zero_grad();
  /// One update of every parameter that has a gradient, at the current learning rate.
  void step();

  void set_lr(double lr) { options_.lr = lr; }
  double lr() const { return options_.lr; }
  std::int64_t t() const { return t_; }
  void set_t(std::int64_t t) { t_ = t; }

  /// Adds the moments to `out` under the prefix.
  void save(TensorMap& out) const;
  /// Restores the moments from `in`; throws circumplex::Error naming `origin` and the key when
  /// one is missing or has the wrong shape. The step count comes from set_t.
  void load(const TensorMap& in, const std::string& origin);
  /// The moment tensors (m then v, parameter by parameter), to broadcast in place.
  std::vector<torch::Tensor> state() const;
  /// True for a checkpoint key that belongs to this optimiser.
  bool owns(const std::string& key) const { return key.rfind(options_.prefix, 0) == 0; }

 private:
  AdamOptions options_;
  std::vector<torch::Tensor> params_, m_, v_;
  std::int64_t t_ = 0;
};

}  // namespace circumplex::tools
