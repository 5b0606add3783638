// tools/judge/affect_ceiling.hpp — the best reading of affect that any face reader can make
// of synth's faces: the ceiling of `evaluate`'s fresh-set figures.
//
// A synth face is drawn from its person (who carries no affect) and its jittered action units
// (facegen::SampleLabel::aus), so everything a reader can learn about (v, a, z) from the face
// is in those 17 numbers. Some of it is lost there for good: the jitter (± kSynthAuNoise) hides
// small expressions, so a face drawn near neutral or near an axis does not show which quadrant
// it came from.
//
// The Bayes reader knows each face's exact AUs and reads the posterior over where it was drawn:
//
//   prior       `references` points drawn exactly as `synth` draws them (facegen::sample_label,
//               its own seed), each with the expression model's AUs there
//   likelihood  per AU, the jitter is uniform ± kSynthAuNoise and then clamped to [0, 1]: a value
//               inside (0, 1) says the model's AU lies within the jitter of it; a 0 or 1 says how
//               much of the jitter's range fell past the end
//   reading     the posterior mean (the best guess for R²) and each quadrant's posterior mass
//               (the most likely quadrant is the best guess for accuracy)
//
// No reader of the pictures, however good, scores above these figures on average; the encoder's
// R² and quadrant accuracy on the same faces are to be read against them.
//
//   AffectCeiling bayes(Space::Plane, seed);
//   const AffectCeiling::Reading r = bayes.read(aus);   // r.mean.v, r.quadrant[stats::quadrant(v, a)]
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "circumplex/affect.hpp"
#include "circumplex/expression.hpp"

namespace circumplex::tools {

class AffectCeiling {
 public:
  /// Draws the prior: `references` synth labels of `space` from `seed` (≥ 1000 references;
  /// ~0.5 s per 200 000). Throws circumplex::Error (InvalidArgument) for fewer.
  AffectCeiling(Space space, std::uint64_t seed, std::int64_t references = 200000);

  struct Reading {
    AffectPoint mean;                  ///< posterior mean of (v, a, z)
    std::array<double, 4> quadrant{};  ///< posterior mass per stats::quadrant index (sums to 1)
    int support = 0;                   ///< references with non-zero likelihood
    bool matched = true;               ///< false: no reference fits; read from the 16 nearest in AU space
  };
  /// The posterior of a face drawn with these (jittered) AUs.
  Reading read(const AuVector& aus) const;

  std::int64_t references() const { return static_cast<std::int64_t>(points_.size()); }

 private:
  std::vector<AffectPoint> points_;
  std::vector<AuVector> model_aus_;
};

/// The Bayes reader's figures on a set of faces: the ceiling of the encoder's figures on them.
struct CeilingFigures {
  double r2_valence = 0, r2_arousal = 0;
  double r2_z = 0;                      ///< NaN when z does not vary (2D)
  double quadrant_accuracy = 0;         ///< on `held_out` (the rows the encoder's accuracy is scored on)
  double quadrant_accuracy_all = 0;     ///< on every face (less sampling noise)
  std::int64_t faces = 0, unmatched = 0;
  std::int64_t references = 0;          ///< the reader's prior points
};

/// Reads every face (its AUs, where it truly was) and scores the readings. Throws
/// circumplex::Error (InvalidArgument) on mismatched sizes or an index past the end.
CeilingFigures ceiling_figures(const AffectCeiling& reader, const std::vector<AuVector>& aus,
                               const std::vector<AffectPoint>& truth, const std::vector<std::size_t>& held_out);

}  // namespace circumplex::tools
