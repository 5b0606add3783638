// tools/judge/judge_trainer.hpp — trains the independent judge: `circumplex judge`.
//
// The data folder must come from `circumplex synth` (it needs the AU and identity-factor
// columns of labels.csv) made with a DIFFERENT --seed from the VAE's data, so that the judge
// has never seen the VAE's people (e.g. synth --seed 777 for the judge, --seed 4 for the VAE).
// Targets: valence, arousal, z, the 17 AUs and every numeric identity-factor column (the
// columns after the AUs, except identity_seed and seed), each standardised with the training
// split's mean and std. The network's learned stem reduces the images to its work size (with
// --stem 0 they are area-averaged to it once, at load).
//
// The judge folder JUDGE holds, as training goes:
//   checkpoint.safetensors      weights + optimiser state + position; written atomically at each
//                        epoch's end, every few minutes and on Ctrl-C; removed when finished
//   loss.csv, loss.png   per epoch: training loss terms, held-out (val) loss and R²
//   train.json           the options of the run
// and when the last epoch ends:
//   manifest.json, weights.safetensors    the judge package (circumplex/judge.hpp)
//   report.json, report.md         held-out (test split) metrics per head: R² of valence,
//                                  arousal, z, each AU and each identity factor; MAE of (v, a)
//   judge_scatter.png              judged against true valence and arousal (test split)
// Deterministic for a seed and thread count; --resume continues exactly.
#pragma once

#include <cstdint>
#include <string>

namespace circumplex::tools {

struct JudgeTrainOptions {
  std::string data;            ///< synth folder (train, val and test splits)
  std::string out;             ///< judge folder
  int epochs = 16;
  int batch = 64;
  double lr = 2e-3;            ///< peak learning rate (cosine decay to 2 % of it)
  int width = 24;              ///< channels of the first stage
  int work_size = 64;          ///< side the network works at (the data's size when smaller)
  int stem = 12;               ///< channels of the learned stem (data size → work size); 0: area averaging
  int threads = 2;
  std::uint64_t seed = 1;
  bool resume = false;
  bool augment = true;         ///< blur and brightness/contrast jitter (VAE faces are softer)
  double dropout = 0.3;        ///< dropout on the flattened features and the hidden layer
  double identity_weight = 1.0;  ///< weight of the identity-factor outputs in the loss (0: an
                                 ///< affect head that only reads affect and AUs; the outputs stay)
  std::int64_t limit = 0;      ///< at most this many training images (0: all)
  std::int64_t val_limit = 1000;  ///< held-out images scored after each epoch
  double checkpoint_minutes = 10.0;
  std::int64_t stop_after_steps = 0;  ///< stop (with a checkpoint) after this many steps; tests
  std::string command_line;    ///< recorded in the manifest
  std::string commit;          ///< source commit, recorded in the manifest
};

struct JudgeTrainResult {
  int epochs_done = 0;
  std::int64_t steps = 0;
  bool finished = false;            ///< all epochs done and the package written
  double first_loss = 0.0;          ///< mean training loss of the first epoch
  double last_loss = 0.0;           ///< mean training loss of the last epoch
  double images_per_second = 0.0;   ///< training throughput of this invocation
  double seconds = 0.0;             ///< wall time of this invocation
  double r2_valence = 0.0, r2_arousal = 0.0;  ///< held-out (test split), when finished
  double r2_au_mean = 0.0, r2_identity_mean = 0.0;
  double mae_va = 0.0;              ///< mean |error| of valence and arousal, test split
};

/// Trains (or resumes) the judge and writes the package. Throws circumplex::Error.
JudgeTrainResult train_judge(const JudgeTrainOptions& options);

}  // namespace circumplex::tools
