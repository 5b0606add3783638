// circumplex/manifold.hpp — the affect directions in a latent space, and composing a face.
//
// `circumplex map` finds, in the β-VAE's latent space, one unit direction per affect axis
// (valence, arousal and, in 3D, z), orthonormal after Gram–Schmidt. Along direction d_i the
// affect is linear: affect_i ≈ (d_i · latent − origin_i) / scale_i, so `scale_i` is the latent
// distance per unit of affect and `origin_i` the projection where affect_i is 0 (neutral).
// compose() keeps an identity and sets its expression: it removes the identity latent's own
// components along the directions and puts it at the requested point instead. Everything
// orthogonal to the directions — the identity — is untouched.
#pragma once

#include <vector>

#include "circumplex/affect.hpp"

namespace circumplex {

/// The affect axes of a latent space. Immutable after construction; thread-safe to share.
class Manifold {
 public:
  /// `directions`: 2 (valence, arousal) or 3 (+ z) unit vectors of equal length D, pairwise
  /// orthogonal (|cos| ≤ 1e-6); `origins`/`scales` one per direction, scales > 0.
  /// Throws Error naming the problem otherwise.
  Manifold(std::vector<std::vector<double>> directions, std::vector<double> origins, std::vector<double> scales);

  std::size_t latent_size() const { return directions_.front().size(); }
  /// Plane for 2 directions, Ball for 3.
  Space space() const { return directions_.size() == 3 ? Space::Ball : Space::Plane; }
  const std::vector<std::vector<double>>& directions() const { return directions_; }
  const std::vector<double>& origins() const { return origins_; }
  const std::vector<double>& scales() const { return scales_; }

  /// The affect point a latent shows according to the directions (z = 0 in 2D).
  AffectPoint affect_of(const std::vector<float>& latent) const;
  /// `identity` with its direction components replaced so it shows `affect` (clamped to the
  /// unit disk/ball of space()). Throws Error for a wrong size or non-finite input.
  std::vector<float> compose(const std::vector<float>& identity, AffectPoint affect) const;
  /// Same, writing into `out` (resized to latent_size()); no allocation when `out` is sized.
  void compose_into(const float* identity, AffectPoint affect, std::vector<float>& out) const;

 private:
  std::vector<std::vector<double>> directions_;
  std::vector<double> origins_, scales_;
};

}  // namespace circumplex
