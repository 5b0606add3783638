// tools/judge/judge_data.hpp — a synth folder's images and every label the judge learns.
//
// ImageSet (train/dataset.hpp) gives the pixels; this adds the AU and identity-factor
// columns of labels.csv, and (for a judge without a learned stem) shrinks the images once to
// the judge's work size.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace circumplex::tools {

/// Names of the judge's targets in a data folder, in output order.
struct JudgeColumns {
  std::vector<std::string> aus;      ///< "AU1" … "AU43" (the runtime's 17)
  std::vector<std::string> factors;  ///< identity factors: the columns after the AUs except identity_seed, seed
};

/// One split of a synth folder, ready for the judge.
struct JudgeSet {
  torch::Tensor pixels;   ///< [N, s, s, 3] uint8 RGB
  torch::Tensor targets;  ///< [N, 3 + aus + factors] float32 labels: valence, arousal, z, AUs, factors
  std::vector<std::string> identity_seeds;  ///< identity_seed column per image (empty strings when absent)
  int source_size = 0;    ///< side of the images in the folder
  std::string source;     ///< where the pixels came from (shard or labels.csv)

  std::int64_t size() const { return pixels.size(0); }
  /// Float RGB batch [N, 3, s, s] in [0, 1] (channels-last memory) of the given rows.
  torch::Tensor batch(const std::vector<std::int64_t>& rows) const;
  /// Targets of the given rows.
  torch::Tensor batch_targets(const std::vector<std::int64_t>& rows) const;
};

/// Reads labels.csv's header: the AU and factor columns. Throws circumplex::Error naming the
/// file when it is not a synth folder (prep folders have no AU or factor columns).
JudgeColumns judge_columns(const std::string& dir);

/// The label rows of one split, without pixels.
struct JudgeLabels {
  torch::Tensor targets;                    ///< [N, 3 + aus + factors] float32, as JudgeSet::targets
  std::vector<std::string> files;           ///< file column per row
  std::vector<std::string> identity_seeds;  ///< identity_seed column per row (empty strings when absent)
};

/// Reads `split`'s rows of labels.csv (at most `limit`, 0: all) with the targets of `columns`.
/// A split with no rows gives N = 0. Throws circumplex::Error naming the file and line on a
/// missing column or a field that is not a finite number.
JudgeLabels load_judge_labels(const std::string& dir, const std::string& split, const JudgeColumns& columns,
                              std::int64_t limit = 0);

/// Loads `split` (train, val or test; at most `limit` images, 0: all) with the targets of
/// `columns`, images area-averaged to `side` (0, or larger than the folder's: kept as they are).
JudgeSet load_judge_set(const std::string& dir, const std::string& split, const JudgeColumns& columns,
                        int side, std::int64_t limit = 0);

}  // namespace circumplex::tools
