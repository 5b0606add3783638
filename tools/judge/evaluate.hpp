// tools/judge/evaluate.hpp — scores a model package with the judge: `circumplex evaluate`.
//
// For K identities (prior seeds S, S+1, …) the model renders
//   - the 7×7 grid: valence −1 … 1 across, arousal −1 … 1 up; points outside the unit disk are
//     clamped onto it (as `render grid` does), so "asked" is the clamped point;
//   - axis sweeps: neutral → each basic emotion at intensity 1, in `sweep_steps` steps;
// and the judge reads every face. Reported (definitions in judge_metrics.hpp):
//   grid MAE          mean |judged − asked| of valence and of arousal over the K·49 faces;
//                     "mae_va" is their mean (the number held to ≤ 0.10)
//   identity drift    over the grid faces, on the identity factors the judge reads well
//                     (held-out R² ≥ 0.5 in its manifest), in the judge's standardised units
//   monotonicity      per sweep, s_i = judged (v, a[, z]) · unit direction of the emotion;
//                     fraction of non-decreasing steps and Spearman ρ, averaged over sweeps
//   reconstruction    PSNR of encode → decode (latent mean) on the fresh set (and on DIR's
//                     test split when --data is given)
//   fresh-set R²      a synth set made with seed S (new people): latent = encoder mean,
//                     predicted affect = manifold.affect_of(latent), R² against the truth
//                     over every image; quadrant accuracy: softmax regression latent →
//                     quadrant, trained on the set's train split, scored on its val + test
//   |cos|             largest |cos| between the package's directions (recomputed; and the
//                     manifest's max_abs_cos_after)
// Writes the JSON, a Markdown table beside it, and pictures next to it:
//   <stem>_grid.png    asked → judged arrows on the circumplex beside the judged face grid
//   <stem>_sweeps.png  judged projected affect along each emotion's sweep
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "judge/ground_truth.hpp"

namespace circumplex::tools {

struct EvaluateOptions {
  std::string model;        ///< model package folder
  std::string judge;        ///< judge package folder
  std::string fresh_data;   ///< synth folder made with `seed` at the model's size and space
  std::string data;         ///< optional: the VAE's data folder (PSNR on its test split; seed overlap check)
  std::string json_path;    ///< where the JSON goes; pictures and the .md beside it
  std::uint64_t seed = 1;   ///< identities seed, seed+1, …; the fresh set's synth seed
  int identities = 8;       ///< K ≥ 2
  int sweep_steps = 9;      ///< faces per emotion sweep (≥ 3)
  int threads = 2;
  std::string device = "cpu";  ///< where the model's VAE runs (parse_device); the judge stays on the CPU
  IdentityFit identity_fit;    ///< ground truth only: refine each person's identity latent (ground_truth.hpp)
  /// Ground truth only: the detail layer laid on the model's faces (identity_detail.hpp), as a
  /// Session with keep_detail does for an image identity; empty (default): the decoder's faces alone.
  std::optional<DetailOptions> detail;
  std::string command_line;
};

/// One line of the summary table.
struct EvaluateCheck {
  std::string metric;
  double value = 0.0;
  std::string target;   ///< e.g. "≥ 0.95"
  bool pass = false;
};

struct EvaluateResult {
  std::vector<EvaluateCheck> checks;
  bool all_pass = false;
  std::string table;                  ///< the checks as aligned text
  std::vector<std::string> written;   ///< files written (JSON, .md, PNGs)
};

/// What the fresh set must be for a model package: its image side and "2d" or "3d".
struct FreshSpec {
  int size = 0;
  std::string mode;
};
/// Loads both packages (throws circumplex::Error naming what is wrong with either) and says
/// what the fresh set must be, so that a bad package is refused before any face is made.
FreshSpec check_packages(const std::string& model, const std::string& judge);

/// Runs the evaluation and writes its files. Throws circumplex::Error on bad input.
EvaluateResult evaluate_model(const EvaluateOptions& options);

}  // namespace circumplex::tools
