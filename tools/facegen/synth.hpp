// tools/facegen/synth.hpp — a labelled training set of procedural faces: `circumplex synth`.
//
// Every sample i is a pure function of (seed, i, the options): its identity, affect point,
// AU noise and picture. Workers render samples in any order; outputs land at fixed places
// (images/NNNNNN.png, fixed offsets in the shards, row i of labels.csv), so the bytes do not
// depend on the number of jobs. The contact sheet, the shards and labels.csv (the file that
// says "complete") are written last, each atomically.
//
// OUT/images/NNNNNN.png, OUT/labels.csv (file, split, valence, arousal, z, category, identity,
// the 17 AUs, the identity factors, identity_seed, seed), OUT/{train,val,test}.cpxshard
// (data/shard.hpp) and OUT/contact_sheet.png. Splits are by identity: every image of a person
// lands in the same split, so val and test hold unseen people.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "circumplex/affect.hpp"
#include "circumplex/expression.hpp"

namespace circumplex::facegen {

struct SynthOptions {
  std::int64_t count = 0;       ///< faces to make (≥ 1)
  std::string out;              ///< output folder
  std::uint64_t seed = 1;
  int size = 128;               ///< image side, 32 … 512
  std::int64_t identities = 0;  ///< people, 1 … count (0: count / 8 rounded up)
  Space space = Space::Plane;   ///< the disk (2D) or the C2A2 ball (3D)
  std::array<double, 3> split{0.8, 0.1, 0.1};  ///< train, val, test shares of the people (sum 1)
  int jobs = 1;                 ///< worker threads
};

struct SynthResult {
  std::array<std::uint64_t, 3> per_split{0, 0, 0};  ///< images in train, val, test
  double images_per_second = 0.0;
};

/// Per-sample jitter of the action units (± this, then clamped to [0, 1]).
constexpr double kSynthAuNoise = 0.05;

/// The label of sample i without its person or picture: where on the circumplex it was drawn
/// (a point uniform in the disk/ball, or near an atlas basic emotion), the expression model's
/// AUs there, and the jittered AUs the face is drawn with.
struct SampleLabel {
  AffectPoint p;
  AuVector model_aus{};
  AuVector aus{};  ///< model_aus ± kSynthAuNoise (uniform), clamped to [0, 1]: what the face shows
};

/// Sample i's label, exactly as `synthesize` with this seed and space draws it.
SampleLabel sample_label(std::uint64_t seed, std::uint64_t i, Space space);

/// Makes the set (progress bar on stderr). Throws circumplex::Error (InvalidArgument naming
/// the option, Io naming the file); a failed run leaves no labels.csv behind.
SynthResult synthesize(const SynthOptions& options);

}  // namespace circumplex::facegen
