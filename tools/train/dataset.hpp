// tools/train/dataset.hpp — labelled face images for training and mapping.
//
// A data folder written by `circumplex synth` or `circumplex prep` holds labels.csv (columns
// starting file,split,valence,arousal,z,category; synth's also has `identity`, the person
// shown) and the images it names; `synth` also writes one packed shard per split
// (<split>.cpxshard), which loads much faster. ImageSet loads one split into memory as uint8
// RGB and hands out float batches.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "circumplex/affect.hpp"

namespace circumplex::tools {

/// An image tensor [3, S, S] float RGB in [0, 1] (any device) → an 8-bit BGR picture.
cv::Mat tensor_to_bgr(const torch::Tensor& chw);
/// An 8-bit BGR picture → [3, S, S] float RGB in [0, 1] (the layout of ImageSet::batch).
torch::Tensor bgr_to_tensor(const cv::Mat& bgr);

/// One image's labels.
struct ImageLabel {
  std::string file;      ///< path relative to the data folder
  AffectPoint affect;    ///< valence, arousal, z
  std::string category;  ///< nearest basic emotion / AffectNet category
  std::int64_t identity = -1;  ///< the person (synth's `identity` column); -1 when the data has none
};

/// One split of a data folder, in memory.
class ImageSet {
 public:
  /// Loads `split` ("train", "val", "test" or "all") from `dir`: the shard when present,
  /// else labels.csv + images. At most `limit` images (0: all). Images must be square and
  /// all of one size. Throws circumplex::Error naming the file (and row) that is wrong.
  static ImageSet load(const std::string& dir, const std::string& split, std::int64_t limit = 0);

  std::int64_t size() const { return static_cast<std::int64_t>(labels_.size()); }
  int image_size() const { return image_size_; }
  const std::vector<ImageLabel>& labels() const { return labels_; }
  /// Where the images came from ("train.cpxshard" or "labels.csv").
  const std::string& source() const { return source_; }

  /// Float RGB batch [N, 3, S, S] in [0, 1] of the given indices.
  torch::Tensor batch(const std::vector<std::int64_t>& indices) const;
  /// uint8 pixels [N, S, S, 3] (RGB) of every image.
  const torch::Tensor& pixels() const { return pixels_; }
  /// The images of each person (identity → indices in this set, ascending); empty when the
  /// data has no identity column.
  std::map<std::int64_t, std::vector<std::int64_t>> people() const;
  /// Where expressions change the face: the per-pixel variance of each image around the mean
  /// of its person's images (summed over colour, pooled over people with several images),
  /// blurred with a Gaussian of σ = S/32 and scaled to a maximum of 1. [S, S] float. Needs the
  /// identity column; throws circumplex::Error when no person has two images.
  torch::Tensor expression_saliency() const;

 private:
  torch::Tensor pixels_;  // [N, S, S, 3] uint8
  std::vector<ImageLabel> labels_;
  int image_size_ = 0;
  std::string source_;
};

}  // namespace circumplex::tools
