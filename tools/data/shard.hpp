// tools/data/shard.hpp — packed image + label shards (.cpxshard) for training loops.
//
// One file holds N samples of the same size: uint8 RGB pixels (row-major, H×W×C, C = 3) and
// D float32 labels each. The pixels of all samples form one contiguous block and the labels
// another, so the file can be memory-mapped and viewed as arrays directly
// (numpy: np.memmap(path, np.uint8, 'r', pixels_offset, (N, H, W, C)) and
//  np.memmap(path, '<f4', 'r', labels_offset, (N, D))).
//
// File layout, version 1 (all integers little-endian, floats IEEE-754 binary32 little-endian):
//
//   offset  size  field
//   0       8     magic "CPXSHARD"
//   8       4     u32 version (1)
//   12      4     u32 header_bytes: size of the header, a multiple of 64
//   16      8     u64 count N
//   24      4     u32 height H
//   28      4     u32 width W
//   32      4     u32 channels C (3: R, G, B in that order)
//   36      4     u32 label_dims D
//   40      8     u64 pixels_offset (= header_bytes)
//   48      8     u64 labels_offset (= pixels_offset + N·H·W·C rounded up to a multiple of 64)
//   56      4     u32 names_bytes: bytes of the label-name table that follows
//   60      4     u32 reserved (0)
//   64      …     label names: D UTF-8 strings, each terminated by a NUL byte; zero padding
//                 up to header_bytes
//   pixels_offset   N·H·W·C bytes: sample i's pixels at pixels_offset + i·H·W·C
//   labels_offset   N·D·4 bytes:   sample i's labels at labels_offset + i·D·4
//   The file ends right after the labels (its size is checked when opened).
//
// Writing is atomic: ShardWriter writes ".NAME.partial.cpxshard" beside the target and renames
// it into place in commit(), after every sample has been written; an interrupted run leaves
// no file under the final name.
//
//   ShardReader shard("out/train.cpxshard");           // memory-mapped, read-only
//   for (std::uint64_t i = 0; i < shard.count(); ++i) {
//     const std::uint8_t* rgb = shard.pixels(i);       // H·W·3 bytes
//     float v = shard.labels(i)[shard.label_index("valence")];
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace circumplex::data {

constexpr char kShardMagic[9] = "CPXSHARD";
constexpr std::uint32_t kShardVersion = 1;

/// The "category" label of the shards `circumplex synth` writes is an index into this list,
/// AffectNet's expression numbering: 0 neutral, 1 happy, 2 sad, 3 surprised, 4 fearful,
/// 5 disgusted, 6 angry, 7 contempt (atlas names).
inline const std::vector<std::string>& category_names() {
  static const std::vector<std::string> names = {"neutral", "happy",     "sad",   "surprised",
                                                 "fearful", "disgusted", "angry", "contempt"};
  return names;
}

/// Shape of a shard: how many samples, their image size and the names of their labels.
struct ShardInfo {
  std::uint64_t count = 0;
  std::uint32_t height = 0, width = 0, channels = 3;
  std::vector<std::string> label_names;  ///< D names (no NUL bytes, not empty)

  std::size_t pixel_bytes() const { return static_cast<std::size_t>(height) * width * channels; }
  std::uint32_t label_dims() const { return static_cast<std::uint32_t>(label_names.size()); }
};

/// Writes a shard sample by sample, in any order, from any thread.
class ShardWriter {
 public:
  /// Creates the temporary file beside `path` (and the folder); throws circumplex::Error(Io).
  ShardWriter(std::string path, ShardInfo info);
  ~ShardWriter();  ///< removes the temporary file unless commit() succeeded
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  /// Stores sample i: pixel_bytes() bytes of RGB pixels and label_dims() floats. Thread-safe.
  void write(std::uint64_t i, const std::uint8_t* pixels, const float* labels);
  /// Checks every sample was written, flushes, and renames the file into place.
  void commit();
  const ShardInfo& info() const { return info_; }

 private:
  std::string path_, temp_;
  ShardInfo info_;
  std::uint64_t pixels_offset_ = 0, labels_offset_ = 0;
  std::FILE* file_ = nullptr;
  std::vector<char> written_;
  std::mutex mutex_;
  bool committed_ = false;
};

/// A shard opened read-only (memory-mapped). Validates the header and the file size.
class ShardReader {
 public:
  /// Throws circumplex::Error (Io or BadData) naming the path and the problem.
  explicit ShardReader(const std::string& path);
  ~ShardReader();
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;

  const ShardInfo& info() const { return info_; }
  std::uint64_t count() const { return info_.count; }
  std::uint32_t height() const { return info_.height; }
  std::uint32_t width() const { return info_.width; }
  std::uint32_t channels() const { return info_.channels; }
  std::uint32_t label_dims() const { return info_.label_dims(); }
  const std::vector<std::string>& label_names() const { return info_.label_names; }
  /// Column of the label called `name`, or -1.
  int label_index(const std::string& name) const;

  /// Sample i's pixels: height·width·channels bytes, RGB, row-major. Throws when i ≥ count.
  const std::uint8_t* pixels(std::uint64_t i) const;
  /// Sample i's label_dims() labels. Throws when i ≥ count.
  const float* labels(std::uint64_t i) const;

 private:
  std::string path_;
  ShardInfo info_;
  const std::uint8_t* map_ = nullptr;
  std::size_t size_ = 0;
  std::uint64_t pixels_offset_ = 0, labels_offset_ = 0;
};

}  // namespace circumplex::data
