// tools/train/readback.hpp — the affect read-back term of `circumplex train --reader`.
//
// GANmut's L_info, for our decoder: a frozen reader (a judge package, `circumplex judge`,
// trained on its own people and seed — never the evaluation judge) reads every face the
// decoder draws for a *random* affect point of the whole disk or ball, and the loss asks it
// to read what was asked:
//
//   L = mean over faces of  Σ_{v,a,z} (r_k − p_k)² / 3  +  w_au · Σ_AU (r_u − AU_u(p))² / 17
//                         + w_id · Σ_factors (r_f(face) − r_f(reference))² / F
//
// with r the reader's standardised outputs, p the asked point (standardised like the
// reader's labels), AU(p) the expression model's action units at p, and `reference` a real
// image of the same person: the last term keeps the person while the expression changes
// (w_id, `identity_weight`, 1 unless `train --readback-identity-weight` says otherwise).
// w_au (`au_weight`, `train --readback-au-weight`, default 1) weighs the 17 action units —
// brows lowered, nose wrinkled, lips pressed — against the three affect numbers.
// Gradients flow through the reader into the decoder; the reader's weights never change.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "circumplex/affect.hpp"
#include "circumplex/judge.hpp"

namespace circumplex::tools {

class ReadBack {
 public:
  /// Loads the reader package in `dir` (throws circumplex::Error naming what is wrong).
  /// `space`: where random points are drawn (Plane: z = 0).
  /// `identity_weight`: w_id above, ≥ 0; `au_weight`: w_au above, ≥ 0.
  ReadBack(const std::string& dir, Space space, torch::Device device, double identity_weight = 1.0, double au_weight = 1.0);

  /// n points uniform over the unit disk/ball, [n, 3] float, from `generator`.
  torch::Tensor sample_points(std::int64_t n, at::Generator generator) const;
  /// The read-back loss of `faces` [N, 3, S, S] drawn at `asked` [N, 3], keeping the identity
  /// the reader sees in `reference` [N, 3, S, S] (real images of the same people).
  torch::Tensor loss(const torch::Tensor& faces, const torch::Tensor& asked, const torch::Tensor& reference);

  /// Feature matching: the mean over the reader's activation maps (after each convolution) of
  /// the mean squared difference between `faces` and `targets` [N, 3, S, S] (no gradient
  /// reaches `targets`). It compares what the reader's filters see (edges, lids, lines)
  /// rather than pixels, so a face that is right but soft still costs.
  torch::Tensor feature_loss(const torch::Tensor& faces, const torch::Tensor& targets);

  /// tensors_fingerprint of the reader's weights (recorded with the run, so `evaluate`
  /// can refuse this package as the judge of a model it helped train).
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_, fingerprint_;
  Space space_;
  double identity_weight_ = 1.0, au_weight_ = 1.0;
  torch::Device device_;
  JudgePackage package_;
  JudgeNet net_{nullptr};
  torch::Tensor affect_mean_, affect_std_, au_mean_, au_std_;  // [1, K] each, on device_
  std::int64_t aus_ = 0, factors_ = 0;
  std::vector<bool> factor_used_;
};

}  // namespace circumplex::tools
