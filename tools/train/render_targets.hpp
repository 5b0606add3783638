// tools/train/render_targets.hpp — the true face of a training person at any affect point,
// drawn while training (`circumplex train --render-weight`).
//
// `synth` draws each person at about ten affect points; the renderer can draw them at every
// other point too. Each read-back face (a person's identity latents at a random point of the
// disk or ball, readback.hpp) then gets its own pixel target: the same person, rendered at
// that point with the expression model's action units (no jitter), exactly as `evaluate`'s
// ground truth draws its people (never those people: they come from the evaluation's seed).
//
//   RenderTargets targets(data_dir, Space::Ball, 128);
//   torch::Tensor faces = targets.faces({person_a, person_b}, points /* [2, 3] */, 2);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "circumplex/affect.hpp"
#include "circumplex/facegen.hpp"

namespace circumplex::tools {

class RenderTargets {
 public:
  /// Reads each person's `identity_seed` from `data_dir`/labels.csv (synth's columns
  /// `identity` and `identity_seed`). Throws circumplex::Error naming the file when it has
  /// neither, or the line of a row whose values are not numbers. `size`: the images' side.
  RenderTargets(const std::string& data_dir, Space space, int size);

  /// [N, 3, S, S] float RGB in [0, 1]: person `identities[i]` (labels.csv's identity) at
  /// `points[i]` ([N, 3] (v, a, z), any device; drawn on `threads` threads, returned on the CPU).
  /// Throws circumplex::Error for a person the data does not list.
  torch::Tensor faces(const std::vector<std::int64_t>& identities, const torch::Tensor& points, int threads) const;

  std::size_t people() const { return people_.size(); }

 private:
  std::map<std::int64_t, facegen::Identity> people_;
  Space space_;
  int size_;
  std::string origin_;
};

}  // namespace circumplex::tools
