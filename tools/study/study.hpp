// tools/study/study.hpp — the expert rating study's image sets (`circumplex study make`).
//
// C2A2's study: raters score generated faces 1–5 for how well each shows its emotion, once on
// images made in the 2D valence–arousal plane and once in the 3D C2A2 ball, 315 images per set
// in 5 parts of 63. `make_study` draws both sets from one model package:
//   "2d"  every class at its plane point (z = 0), at a few intensities
//   "3d"  every class at its ball point (only for a 3D model)
// spread evenly over the 20 C2A2 classes and several identities, shuffled by the seed and cut
// into parts. Each image's asked point and its class (the C2A2 class whose direction is nearest
// the asked point's in that set's space; C2A2 assigned images to their nearest class) go into
// `study.json`, written last, so a folder without it is an unfinished make. The same seed
// gives the same study.
//
//   DIR/study.json               the sets, parts and images (load_study reads and checks it)
//   DIR/2d/2d-p1-001.png …       the faces (model resolution)
//   DIR/contact_2d_part1.png …   one labelled contact sheet per part
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "circumplex/affect.hpp"

namespace circumplex::tools {

/// One image of a study.
struct StudyImage {
  std::string id;        ///< "2d-p1-017": set, part, position in the part
  std::string set;       ///< "2d" or "3d"
  int part = 1;          ///< 1 … parts
  std::string file;      ///< relative to the study folder: "2d/2d-p1-017.png"
  AffectPoint point;     ///< the asked point (z = 0 in the 2d set)
  double intensity = 0;  ///< |point|
  std::string cls;       ///< the C2A2 class nearest the asked point's direction in the set's space
  std::string made_for;  ///< the class whose direction was asked
  std::uint64_t identity_seed = 0;  ///< the model's identity-prior seed
};

/// A study folder as `make_study` wrote it.
struct Study {
  std::string dir;
  std::string model;              ///< the package it was made from
  std::uint64_t seed = 0;
  int parts = 0, per_part = 0;
  std::vector<std::string> sets;  ///< {"2d"} or {"2d", "3d"}
  std::vector<StudyImage> images; ///< by set, then part, then position

  /// The image with this id, or nullptr.
  const StudyImage* find(const std::string& id) const;
  /// Images of `set` (and of `part` when part > 0), in study order.
  std::vector<const StudyImage*> select(const std::string& set, int part = 0) const;
};

struct StudyMakeOptions {
  std::string model, out;
  std::uint64_t seed = 1;
  int parts = 5, per_part = 63;  ///< C2A2: 5 × 63 = 315 per set
  int identities = 7;
  int threads = 2;
};

/// The 20 C2A2 classes in the atlas's order.
std::vector<std::string> c2a2_classes();

/// Renders both sets, the contact sheets and study.json (last) into `opt.out`.
Study make_study(const StudyMakeOptions& opt);

/// Reads `dir/study.json`, checking every field, limits (≤ 20 parts, ≤ 1000 per part) and that
/// each image file exists; throws circumplex::Error naming the file and the entry.
Study load_study(const std::string& dir);

}  // namespace circumplex::tools
