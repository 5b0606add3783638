// tools/train/trainer.hpp — trains the β-VAE: `circumplex train`.
//
// A run folder RUN holds, as training goes:
//   config.json          the model configuration and the options of the run
//   checkpoint.safetensors      weights + optimiser state + position (epoch, batch); written
//                        atomically at each epoch's end, every few minutes, and on Ctrl-C
//   model.safetensors           the final weights (written when the last epoch ends)
//   loss.csv, loss.png   loss terms per epoch (train and held-out)
//   recon/epoch_NNN.png  held-out images (top) and their reconstructions (bottom)
//   expression_weight.png  the pixel weights of the reconstruction (--expression-weight)
// Deterministic for a seed and thread count: the data order comes from (seed, epoch) and the
// sampling noise of each step from (seed, step) (one row per image of the global batch), so a
// resumed run ends with the same weights as an uninterrupted one.
//
// Data-parallel (options.dist.world > 1, see distributed.hpp): --batch is the global batch;
// each rank trains on its slice of it, its loss scaled by its share, and the gradients are
// summed over the ranks, so the step equals a single process's on the whole batch (up to
// float rounding). Rank 0 alone writes the run folder; a run may resume with any number of
// ranks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "circumplex/vae.hpp"
#include "distributed.hpp"

namespace circumplex::tools {

struct TrainOptions {
  std::string data;              ///< folder written by synth or prep
  std::string out;               ///< run folder
  VaeConfig model;               ///< architecture; image_size comes from the data (on --resume all of it from the run)
  int epochs = 30;
  int batch = 32;
  double beta = 1.0;
  double affect_weight = 0.0;    ///< weight of the affect guidance (vae_loss): 0 is a plain β-VAE
  /// Reconstruct each image from its own affect dimensions and the other dimensions of another
  /// image of the same person (BetaVae::forward_identity_swap). Needs affect_weight > 0 and
  /// data with an identity column (synth). Teaches the decoder to draw the expression from the
  /// affect dimensions alone, so that composing a face at a new affect point shows it.
  bool identity_swap = false;
  /// Teacher forcing (with identity_swap): decode each image from the *true* affect
  /// (kAffectLatentScale × (v, a, z)) in the affect dimensions instead of the encoder's reading,
  /// so the decoder learns exactly the mapping Manifold::compose uses at run time; `map` then
  /// writes those axes as the package's directions (config.json says so).
  bool teacher_forcing = false;
  /// Affect read-back (readback.hpp): a frozen reader package (`circumplex judge` on other
  /// people; never the evaluation judge) reads faces decoded at random affect points of the
  /// partner's identity; its squared reading error × readback_weight joins the loss. Needs
  /// identity_swap. Empty: off.
  std::string reader;
  double readback_weight = 0.0;
  /// Weight of the read-back's identity term (the reader's identity factors of the drawn face
  /// against those of a real image of the same person) beside its affect and AU terms.
  double readback_identity_weight = 1.0;
  /// Weight of the read-back's action-unit term (the reader's 17 AUs of the drawn face against
  /// the expression model's AUs at the asked point) beside its affect term.
  double readback_au_weight = 1.0;
  /// Dense supervision (render_targets.hpp): each read-back face's pixel target is its person
  /// rendered at its asked point (synth data: labels.csv's identity_seed), and that rendered
  /// face is also the read-back's identity reference. render_weight × its squared error (with
  /// the pixel weights, summed per image like the reconstruction) joins the loss. Needs reader. 0: off.
  double render_weight = 0.0;
  /// Sharpness (critic.hpp): a patch critic learns to tell training images from decoded faces
  /// (reconstructions, and the read-back faces when --reader is on); its hinge score of the
  /// decoded faces × adversarial_weight joins the loss. 0: off. Single process only.
  double adversarial_weight = 0.0;
  double critic_lr = 2e-4;       ///< the critic's Adam learning rate (constant)
  int critic_width = 32;         ///< channels of the critic's first convolution
  /// Sharpness (gradient_loss.hpp): gradient_weight × the gradient-difference loss of the
  /// reconstruction (|∂x̂ − ∂x| summed over pixels, with the pixel weights) joins the loss. 0: off.
  double gradient_weight = 0.0;
  /// Sharpness (gradient_loss.hpp): line_weight × the line loss of the reconstruction (thin
  /// dark and bright strokes matched within one pixel, with the pixel weights) joins the loss. 0: off.
  double line_weight = 0.0;
  /// Sharpness (readback.hpp): feature_weight × the feature-matching loss of the
  /// reconstruction against its target, on the read-back reader's activations. Needs reader. 0: off.
  double feature_weight = 0.0;
  /// Extra weight of the reconstruction error where expressions change the face: pixel
  /// weights 1 + A·saliency (ImageSet::expression_saliency, in [0, 1]); 0: none. Needs data
  /// with an identity column (synth). The map is drawn to RUN/expression_weight.png.
  double expression_weight = 0.0;
  double lr = 1e-3;
  /// Cosine learning-rate decay: from lr at the first step to lr_end at the last step of the
  /// run (epochs × batches); negative: a constant lr. The rate is a function of the step, so a
  /// resumed run follows the same schedule.
  double lr_end = -1.0;
  /// Start from these weights instead of a random initialisation (fine-tuning): a run's
  /// model.safetensors or checkpoint.safetensors, or a package's weights.safetensors, of the same architecture.
  /// Ignored on --resume (the checkpoint holds the weights); recorded in config.json.
  std::string init;
  /// Train the encoder alone against the --init's decoder, which keeps its weights: the
  /// encoder learns to give each person the latent that this decoder draws them from. Only
  /// the decoder must match the init; encoder tensors of another shape start afresh. Needs init.
  bool freeze_decoder = false;
  std::string class_weights;     ///< JSON file {category: weight} (prep --class-weights), optional
  int threads = 2;
  std::string device = "cpu";    ///< "cpu" or "cuda" (a CUDA LibTorch; rank LOCAL_RANK uses GPU LOCAL_RANK)
  std::uint64_t seed = 1;
  bool resume = false;
  std::int64_t limit = 0;        ///< use at most this many training images (0: all)
  double checkpoint_minutes = 10.0;
  std::int64_t stop_after_steps = 0;  ///< stop (with a checkpoint) after this many steps; tests
  std::string command_line;      ///< recorded in config.json
  dist::DistOptions dist;        ///< this process's place in a data-parallel job (default: alone)
  /// Called after every optimiser step with the step count and the model (tests).
  std::function<void(std::int64_t step, const torch::nn::Module& model)> on_step;
};

struct TrainResult {
  int epochs_done = 0;
  std::int64_t steps = 0;
  bool finished = false;          ///< all epochs done and model.safetensors written
  double last_loss = 0.0;         ///< mean training loss of the last epoch
  double images_per_second = 0.0; ///< training throughput of this invocation (all ranks together)
};

/// Runs (or resumes) training. Throws circumplex::Error on bad data or options.
TrainResult train_vae(const TrainOptions& options);

/// The learning rate of step `step` (0-based) of a run of `total_steps` steps: options.lr,
/// or the cosine from lr to lr_end when lr_end ≥ 0 (lr at step 0, lr_end at the last step).
double scheduled_lr(const TrainOptions& options, std::int64_t step, std::int64_t total_steps);

/// The network's shape from a run's "model" object (config.json, checkpoints): image_size,
/// latent, width, decoder_width and decoder_refine (0 when absent), validated. Throws
/// circumplex::Error (BadData) naming `origin` when a field is missing or unusable. The one
/// reader of a run's shape: the trainer (resume, --init) and `map` use it; packages have their
/// own manifest (model_package.hpp).
VaeConfig run_model_config(const nlohmann::json& model, const std::string& origin);

}  // namespace circumplex::tools
