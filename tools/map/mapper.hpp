// tools/map/mapper.hpp — maps a trained β-VAE's latent space: `circumplex map`.
//
// Encodes the train and held-out splits, fits Ridge regression latent → valence, arousal
// (and z when the data varies in z) with λ by k-fold cross-validation, turns the
// coefficient vectors into orthonormal directions (Gram–Schmidt: valence, arousal, z),
// measures R², MIG and quadrant accuracy on the held-out split, and writes a model package.
// With an affect head (MapOptions::affect_heads, vae.hpp) the encoder's first latents are the
// head's reading (the mean of its members' readings of the face and its mirror image), so the
// fits and every figure see it; the package carries the head.
// The package:
//   PKG/manifest.json, PKG/weights.safetensors          the package (model_package.hpp)
//   PKG/latents.csv                              held-out: file, valence, arousal, z, z0…z{D-1}
//   PKG/latents_train.csv                        the same for the training split
//   PKG/report.json, PKG/report.md               every number, beside the VAE study's targets
//   PKG/map_scatter.png, PKG/map_mi.png          predicted vs true affect; MI per latent dim
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "circumplex/model_package.hpp"

namespace circumplex::tools {

struct MapOptions {
  std::string run;       ///< training run folder (config.json, model.safetensors)
  std::string data;      ///< data folder (synth/prep output)
  std::string out;       ///< package folder to write
  /// Judge packages attached as the encoder's affect head (vae.hpp): one, or an ensemble of up
  /// to 8 (their shapes may differ); empty: none.
  std::vector<std::string> affect_heads;
  std::int64_t fit_limit = 0;      ///< at most this many training images for the fits (0: all)
  std::int64_t held_out_limit = 0; ///< at most this many held-out images (0: all)
  int threads = 2;
  std::uint64_t seed = 1;          ///< CV folds
  std::string command_line;        ///< recorded in the manifest
  std::string commit;              ///< source commit, recorded in the manifest
};

/// The headline numbers (also in report.json).
struct MapResult {
  double r2_valence = 0, r2_arousal = 0, r2_z = 0;  ///< held-out; r2_z only in 3D
  double quadrant_accuracy = 0;
  double mig = 0;
  double max_abs_cos_after = 0;  ///< largest |cos| between directions after Gram–Schmidt
  bool three_d = false;
};

/// Runs the mapping and writes the package. Throws circumplex::Error on bad input.
MapResult map_manifold(const MapOptions& options);

/// Measures the framing of `data`'s training faces and writes it into the manifest of an
/// existing `package` (one made before map recorded it), atomically; returns it.
Framing add_framing(const std::string& package, const std::string& data);

}  // namespace circumplex::tools
