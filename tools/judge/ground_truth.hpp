// tools/judge/ground_truth.hpp — a model's faces against the renderer's own faces of the same
// people at the same affect points: the ground-truth half of `circumplex evaluate`.
//
// The judge alone cannot tell "the model is weak" from "the judge is noisy". The procedural
// renderer (facegen) can draw the true face of any person at any affect point, so every
// number here is a ratio against what the judge makes of the real thing:
//
//   people      K procedural people the model never saw: facegen::sample_identity of
//               mix_seed(seed, 0x1000000 + k), the same people `synth --seed seed` makes
//   points      the 7×7 grid (clamped onto the unit disk), every atlas emotion but neutral at
//               intensity 1 (its 3D point for a 3D model), and 24 directions (every 15°) at
//               r = 0.5 and r = 1.0 in the valence–arousal plane
//   psnr_db     model vs renderer over the face region (an ellipse from the brows to the
//               chin, from the neutral face's landmarks), all faces' squared errors pooled
//   psnr_neutral_db  the same at the neutral point (the grid's centre) only: what drawing
//               the person loses; what psnr_db loses beyond it, the expressions lose
//   mae_ratio   judge MAE (v, a) over the model's grid ÷ the same over the renderer's grid
//   drift_ratio identity drift (judge_metrics.hpp) of the model's grid ÷ the renderer's, so
//               what a real expression moves is not counted as drift
//   sharpness_ratio  mean variance of the Laplacian (grey, face region), model ÷ renderer
//   emotion_accuracy fraction of emotion faces whose judged point is nearer the asked
//               emotion than any other asked emotion (model, and renderer beside it)
//   per_emotion each emotion's accuracy, its mean judged point and the other emotions its
//               faces were judged nearest (the fraction of people each), model and renderer
//   per_direction judged distance |judged − asked| (v, a) per direction and radius
//   drift_per_factor identity drift of each judged identity factor (judge_metrics.hpp's
//               drift_f), model and renderer: which parts of the person the expressions move
//   standard_error jackknife over the people (judge_metrics.hpp) of psnr_db, the three
//               ratios, emotion_accuracy and its gap to the renderer's: how much another K
//               people of the same kind could move each figure (K ≥ 3; null otherwise)
//
// A FaceMaker stands for "a thing that draws person k at these points", so the same code
// scores the model, the renderer itself (ratios ≈ 1 by construction) or a broken model in
// tests.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "circumplex/affect.hpp"
#include "circumplex/identity_detail.hpp"
#include "circumplex/judge.hpp"
#include "circumplex/facegen.hpp"

namespace circumplex {
class ModelPackage;
}

namespace circumplex::tools {

/// An optional refinement of each person's identity latent (`evaluate --fit-identity`): from
/// the encoder's mean, `steps` Adam steps (rate `lr`) on the latent's identity part — its
/// components along the affect directions stay at the neutral point — lowering the squared
/// error of the decoded neutral face against the person's real one, plus `prior` · ½‖z‖²
/// (the N(0, I) prior's pull). It separates what the encoder loses of a person from what the
/// decoder cannot draw. Not what a Session does: its image identities are the encoder's mean.
struct IdentityFit {
  int steps = 0;        ///< 0: the encoder's mean, as the runtime uses it
  double prior = 1.0;
  double lr = 0.03;
};

/// Draws person `person` (index into the people) at `points`: [N, 3, S, S] float RGB in [0, 1].
using FaceMaker = std::function<torch::Tensor(std::size_t person, const std::vector<AffectPoint>& points)>;

/// The people of a ground-truth evaluation (the same as `synth --seed seed`'s first K).
std::vector<facegen::Identity> ground_truth_people(std::uint64_t seed, int count);

/// The renderer as a FaceMaker: the true face (expression model AUs, no noise) at `size`.
FaceMaker renderer_faces(const std::vector<facegen::Identity>& people, int size, Space space, int threads);

/// The model as a FaceMaker: each person's identity latent is the encoder's mean of their
/// neutral rendered face (refined by `fit` when its steps > 0); faces are
/// decode(compose(identity, point)) with that face's detail layer laid on when `detail` is
/// given (identity_detail.hpp; what a Session with keep_detail does for an image identity), 8-bit quantised. Keeps a
/// reference to `pkg`.
FaceMaker model_faces(const ModelPackage& pkg, const std::vector<facegen::Identity>& people, int threads, const IdentityFit& fit = {},
                      const std::optional<DetailOptions>& detail = std::nullopt);

struct GroundTruthOptions {
  std::uint64_t seed = 1;
  int people = 8;
  int size = 128;
  Space space = Space::Plane;
  int threads = 2;
};

struct GroundTruthResult {
  double psnr_db = 0, psnr_neutral_db = 0, mae_ratio = 0, drift_ratio = 0, sharpness_ratio = 0;
  double model_mae = 0, renderer_mae = 0, model_drift = 0, renderer_drift = 0;
  double model_sharpness = 0, renderer_sharpness = 0;
  double emotion_accuracy = 0, renderer_emotion_accuracy = 0;
  nlohmann::json standard_error;  ///< {psnr_db, mae_ratio, drift_ratio, sharpness_ratio, emotion_accuracy, emotion_accuracy_gap, method}; null for K < 3
  nlohmann::json json;        ///< everything above, per emotion and per direction
  cv::Mat emotions_picture;   ///< person 1: model row above renderer row, per emotion
  cv::Mat polar_picture;      ///< judged error per direction, model and renderer
};

/// Scores `model` against `renderer` for the people of `options`, read by `judge`. Identity
/// factors for the drift are `drift_outputs` (indices of judge outputs, standardised by the
/// package's means and stds). Throws circumplex::Error on bad input.
GroundTruthResult ground_truth_eval(const FaceMaker& model, const FaceMaker& renderer, Judge& judge,
                                    const std::vector<int>& drift_outputs, const std::vector<facegen::Identity>& people,
                                    const GroundTruthOptions& options);

}  // namespace circumplex::tools
