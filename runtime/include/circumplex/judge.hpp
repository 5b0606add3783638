// circumplex/judge.hpp — the independent judge: a CNN that reads a face's affect, action
// units and identity, used to score what a model package generates (`circumplex evaluate`).
//
// The judge is trained (`circumplex judge`) on procedural faces made with a different seed
// from the VAE's data, so it has never seen the people the VAE learnt. It predicts, from an
// image, the affect point (valence, arousal, z), the 17 FACS AU intensities and the numeric
// identity factors of the face renderer. Each output is learnt standardised
// ((label − mean) / std, the training set's mean and std) and given back in label units.
//
// Network (JudgeNet): a learned stem brings the input (input_size², RGB in [0, 1]) down to
// work_size (one stride-2 3×3 convolution with `stem` channels per halving: 128² → 64² ×
// 12 keeps the fine detail of lids and lip corners that area averaging would blur), then
// one stride-2 3×3 convolution per stage (work_size → 4), on the stages at 16² and above
// followed by a stride-1 3×3 convolution; BatchNorm and SiLU after each. The 4×4 map is
// flattened (faces are aligned, so where a feature is matters), then one hidden linear
// layer and three linear heads (affect, AUs, identity factors); dropout while training.
// Channels-last layout throughout (oneDNN's convolutions are several times faster so).
//
// A judge package is a folder:
//   manifest.json   format "circumplex-judge", version 1: the network's shape (input_size,
//                   work_size, stem, width, hidden, aus, factors), the outputs in order with their
//                   group ("affect", "au", "identity"), mean, std and whether they were
//                   constant in training, the held-out metrics, provenance, and the weights'
//                   file name and fingerprint (FNV-1a of the tensors' bytes in name order).
//   weights.safetensors    the network's tensors (weights.hpp: data only, never code).
// JudgePackage::load refuses a missing, corrupt, truncated or mismatched package with
// circumplex::Error naming the file and the problem; manifest.json may be at most 4 MiB.
//
//   const JudgePackage pkg = JudgePackage::load("judge");
//   Judge judge(pkg, 2);
//   torch::Tensor y = judge.predict(images);       // [N, outputs] in label units
//   double v = y[0][pkg.index("valence")].item<double>();
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace circumplex {

/// Shape of the judge network. Saved in judge packages; a mismatch refuses to load.
struct JudgeConfig {
  int input_size = 128;  ///< side of the images it is meant for (power of two, 32 … 512)
  int work_size = 64;    ///< side the network works at (power of two, 16 … input_size)
  int stem = 12;         ///< 0: area-average the input to work_size; C > 0: learn that reduction
                         ///< (stride-2 convolutions with C channels from input_size to work_size)
  int width = 24;        ///< channels of the first stage; each later stage doubles (capped 8×)
  int hidden = 256;      ///< features of the hidden layer before the heads
  int aus = 17;          ///< outputs of the AU head
  int factors = 0;       ///< outputs of the identity head (≥ 1)

  /// Outputs in all: 3 (valence, arousal, z) + aus + factors.
  int outputs() const { return 3 + aus + factors; }
  /// Stride-2 stages (work_size → 4).
  int stages() const;
  /// Stride-2 stem convolutions (input_size → work_size; 0 without a learned stem).
  int stem_stages() const;
  /// Side of the images the network's first layer takes: input_size with a learned stem,
  /// else work_size.
  int first_side() const { return stem_stages() > 0 ? input_size : work_size; }
  /// Channels of stage i.
  int channels(int stage) const;
  /// Throws circumplex::Error naming the field when the configuration is unusable.
  void validate() const;
};

/// One field of a judge network's shape as manifests record it: the JSON key and the member.
struct JudgeShapeField {
  const char* key;
  int JudgeConfig::*member;
};
/// The seven shape fields, in manifest order (input_size, work_size, stem, width, hidden, aus,
/// factors): a judge package's "model" and a model package's "model.affect_head" write and read
/// exactly these.
const std::array<JudgeShapeField, 7>& judge_shape_fields();

/// images [N, 3, S, S] in [0, 1] (any side S: resized to first_side()) → standardised
/// outputs [N, outputs()]: affect, then AUs, then factors.
class JudgeNetImpl : public torch::nn::Module {
 public:
  explicit JudgeNetImpl(const JudgeConfig& config);
  torch::Tensor forward(const torch::Tensor& images);
  /// The activation map after each convolution (the learned stem's, then every stage's), full
  /// resolution first, for the same images forward() takes: what feature matching compares
  /// (`train --feature-weight`).
  std::vector<torch::Tensor> activations(const torch::Tensor& images);
  const JudgeConfig& config() const { return config_; }
  /// Multiply–adds ×2 of one forward pass for one image (counted from the architecture).
  std::int64_t flops_per_image() const;
  /// Dropout on the flattened features and the hidden layer while training (0: none).
  void set_dropout(double p) { dropout_ = p; }

 private:
  torch::Tensor input(const torch::Tensor& images) const;  // resized to first_side(), in [-1, 1]

  JudgeConfig config_;
  double dropout_ = 0.0;
  torch::nn::Sequential stem_{nullptr}, features_{nullptr};
  torch::nn::Linear hidden_{nullptr}, affect_{nullptr}, aus_{nullptr}, identity_{nullptr};
};
TORCH_MODULE(JudgeNet);

/// Images as float RGB in [0, 1], NCHW, at side × side (area-averaged or bilinear as needed).
torch::Tensor judge_resize(const torch::Tensor& images, int side);

/// One output of the judge.
struct JudgeOutput {
  std::string name;   ///< "valence", "arousal", "z", "AU1" …, or an identity factor's name
  std::string group;  ///< "affect", "au" or "identity"
  double mean = 0.0;  ///< training-set mean (label units)
  double stdev = 1.0; ///< training-set standard deviation (1 when constant); "std" in the manifest
  bool constant = false;  ///< constant in the training data: not learnt, always `mean`
};

/// What a judge package's manifest.json says, parsed and checked without opening the weights
/// (JudgePackage::load calls this, then reads them).
struct JudgeManifest {
  JudgeConfig config;
  std::vector<JudgeOutput> outputs;
  std::string weights_file;
  std::optional<std::string> fingerprint;  ///< the weights' fingerprint, when the manifest gives one
};
/// Largest judge manifest.json JudgePackage::load reads, in bytes.
constexpr std::size_t kMaxJudgeManifestBytes = 4u << 20;
/// Parses and checks a judge manifest's text; `where` names it in errors (circumplex::Error,
/// BadData). The fuzz target's entry.
JudgeManifest parse_judge_manifest(std::string_view text, const std::string& where);

/// A judge package on disk, parsed and checked.
class JudgePackage {
 public:
  /// Reads and validates DIR/manifest.json and the weights it names.
  static JudgePackage load(const std::string& dir);
  /// Writes a package: the weights (atomically), then the manifest (atomically, last, so a
  /// folder without a manifest is visibly unfinished). `extra` is a JSON object whose keys
  /// (metrics, provenance …) are added to the manifest.
  static void save(const std::string& dir, const JudgeConfig& config, const std::vector<JudgeOutput>& outputs,
                   const std::map<std::string, torch::Tensor>& tensors, const std::string& extra_json = "{}");

  const std::string& dir() const { return dir_; }
  const JudgeConfig& config() const { return config_; }
  const std::vector<JudgeOutput>& outputs() const { return outputs_; }
  /// Index of the output called `name`, or -1.
  int index(const std::string& name) const;
  /// Indices of the outputs in `group`, in order.
  std::vector<int> group(const std::string& group) const;
  const std::string& manifest_json() const { return manifest_; }
  const std::map<std::string, torch::Tensor>& weights() const { return weights_; }

 private:
  std::string dir_, manifest_;
  JudgeConfig config_;
  std::vector<JudgeOutput> outputs_;
  std::map<std::string, torch::Tensor> weights_;
};

/// FNV-1a 64 of the tensors' float32 bytes in name order, as 16 hex digits.
std::string tensors_fingerprint(const std::map<std::string, torch::Tensor>& tensors);

/// Runs a judge package. One thread at a time per Judge.
class Judge {
 public:
  Judge(const JudgePackage& package, int threads);
  /// images [N, 3, S, S] float RGB in [0, 1] → [N, outputs] in label units (constant
  /// outputs give their mean). Runs in batches of 64 without autograd.
  torch::Tensor predict(const torch::Tensor& images);
  const JudgePackage& package() const { return package_; }

 private:
  JudgePackage package_;
  JudgeNet net_{nullptr};
  torch::Tensor mean_, std_;
};

}  // namespace circumplex
