// `circumplex train`: trains the β-VAE on a synth/prep data folder.
#include <algorithm>
#include <csignal>
#include <optional>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "args.hpp"
#include "train/trainer.hpp"
#include "train/harness.hpp"
#include "verbs.hpp"

namespace circumplex::cli {
namespace {
}  // namespace

int run_train(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--data", "DIR", "folder written by `circumplex synth` or `circumplex prep` (required)"},
      {"--out", "RUN", "run folder for checkpoints, curves and the final weights (required)"},
      {"--epochs", "E", "passes over the training split (default 30)"},
      {"--batch", "B", "images per step, all ranks together (default 32)"},
      {"--beta", "B", "weight of the KL term (default 1.0)"},
      {"--affect-weight", "W", "weight of the affect guidance: latents 0-2 learn to read 2*(valence, arousal, z) (default 0: none)"},
      {"--identity-swap", "", "reconstruct each face from its own affect latents and another image of the same person (needs --affect-weight and synth data)"},
      {"--teacher-forcing", "", "with --identity-swap: decode from the true affect in latents 0-2 (what compose sets at run time), not the encoder's reading"},
      {"--reader", "JUDGE", "affect read-back: a judge package (other people than the evaluation judge's) reads faces drawn at random affect points (needs --identity-swap)"},
      {"--readback-weight", "W", "weight of the read-back loss (default 0; needs --reader)"},
      {"--render-weight", "W", "dense supervision: each read-back face's person rendered at its asked point (synth data) is its pixel target, W x its squared error joins the loss, and the read-back's identity reference (default 0: off; needs --reader)"},
      {"--readback-identity-weight", "W", "weight of the read-back's identity term (the reader's identity factors of the drawn face against a real image of the person, or its render target with --render-weight) beside its affect and AU terms (default 1)"},
      {"--readback-au-weight", "W", "weight of the read-back's action-unit term (the reader's 17 AUs of the drawn face against the expression model's at the asked point) beside its affect term (default 1)"},
      {"--adversarial-weight", "W", "sharpness: a patch critic scores decoded faces against training images (hinge); W times its score joins the loss (default 0: off; one process only)"},
      {"--critic-lr", "LR", "the critic's Adam learning rate (default 2e-4)"},
      {"--line-weight", "L", "sharpness: L times the reconstruction's line loss (thin dark and bright strokes of the target missing within one pixel of the decoded face's, and the reverse, with the pixel weights) joins the loss (default 0: off)"},
      {"--gradient-weight", "G", "sharpness: G times the reconstruction's gradient-difference loss (|dx' - dx| + |dy' - dy| per pixel, with the pixel weights) joins the loss (default 0: off)"},
      {"--feature-weight", "F", "sharpness: F times the feature-matching loss (the --reader's activation maps of each reconstruction against its target, squared) joins the loss (default 0: off; needs --reader)"},
      {"--expression-weight", "A", "weight the reconstruction error 1 + A*saliency, where expressions change the face (needs synth data; default 0)"},
      {"--latent", "D", "latent dimension (default 64)"},
      {"--width", "C", "channels of the first encoder stage (default 32)"},
      {"--decoder-width", "C", "channels of the decoder's full-resolution stage (default: --width)"},
      {"--decoder-refine", "K", "the K lowest decoder stages (8x8 up, at most 4 at 128 px) add a residual 3x3 convolution, zero at the start; "
                                "with --init from weights without them the decoder starts as it was (default 0)"},
      {"--decoder-detail", "K", "K residual 3x3 convolutions at full resolution after the last stage (0-4), zero at the start like "
                                "--decoder-refine's; each costs as much as that stage (default 0)"},
      {"--encoder-width", "C", "channels of the encoder's first stage (default: --width); it runs once per person, not per frame"},
      {"--encoder-depth", "K", "K residual 3x3 convolutions after each encoder stage (0-2), zero at the start (default 0)"},
      {"--freeze-decoder", "", "train the encoder alone against --init's decoder, which keeps its weights (encoder tensors of another shape start afresh)"},
      {"--lr", "LR", "Adam learning rate (default 1e-3)"},
      {"--lr-end", "LR", "cosine decay of the learning rate to LR at the run's last step (default: constant)"},
      {"--init", "WEIGHTS", "start from these weights (fine-tune): a run's model.safetensors or a package's weights.safetensors, same architecture"},
      {"--class-weights", "FILE", "JSON {category: weight} from `circumplex prep --class-weights`"},
      {"--threads", "N", "LibTorch threads (default 2; with several ranks here: the cores / the ranks)"},
      {"--seed", "S", "seed of initialisation, data order and sampling noise (default 1)"},
      {"--limit", "N", "use at most N training images (default: all)"},
      {"--checkpoint-minutes", "M", "also checkpoint every M minutes within an epoch (default 10)"},
      {"--resume", "", "continue the run in --out from its checkpoint"},
      {"--stop-after-steps", "N", "stop with a checkpoint after N steps in all (for testing resumes)"},
      {"--nproc", "N", "data-parallel: launch N ranks of this command on this machine and wait for them"},
      {"--world-size", "N", "data-parallel: number of ranks in the job (default $WORLD_SIZE, else 1)"},
      {"--rank", "R", "data-parallel: this process's rank, 0..N-1 (default $RANK); rank 0 hosts the store, writes files"},
      {"--local-rank", "L", "data-parallel: rank on this machine (default $LOCAL_RANK, else 0)"},
      {"--master-addr", "HOST", "data-parallel: rank 0's host (default $MASTER_ADDR, else 127.0.0.1)"},
      {"--master-port", "PORT", "data-parallel: rank 0's store port (default $MASTER_PORT, else 29500; --nproc: a free one)"},
      {"--device", "D", "cpu (default) or cuda (a CUDA LibTorch; each rank uses GPU LOCAL_RANK)"},
      {"--backend", "NAME", "data-parallel: c10d backend, gloo (CPU tensors) or nccl (CUDA; default with --device cuda)"},
      {"--dist-timeout", "S", "data-parallel: seconds a rank waits for the others at any step before failing (default 60)"},
  };
  const Args args(argc, argv, 1, options);
  if (args.help()) {
    std::printf("Usage: circumplex train --data DIR --out RUN [options]\n\n"
                "Trains the convolutional beta-VAE on the train split of DIR (packed shards when present,\n"
                "else labels.csv + images). Shows loss terms, images/s and ETA; writes RUN/checkpoint.safetensors at\n"
                "every epoch (and on Ctrl-C), RUN/loss.csv + loss.png, RUN/recon/epoch_NNN.png and finally\n"
                "RUN/model.safetensors. Deterministic for a seed and thread count; --resume continues exactly.\n\n"
                "Data-parallel training (PyTorch c10d: a TCPStore on rank 0, Gloo all-reduce): run one rank per\n"
                "process with MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK set (as torchrun does) or the\n"
                "flags below, or let --nproc N start N ranks here. --batch is the global batch, split over the\n"
                "ranks; every rank needs the data; rank 0 alone writes RUN. --threads defaults to the cores\n"
                "divided by the ranks on the machine ($LOCAL_WORLD_SIZE).\n\n%s\n"
                "Example: circumplex train --data data/synth --out runs/vae --epochs 20 --threads 2\n"
                "         circumplex train --data data/synth --out runs/vae --nproc 2 --threads 1\n",
                format_options(options).c_str());
    return 0;
  }
  tools::TrainOptions opt;
  if (!args.has("--data") || !args.has("--out")) throw UsageError("--data and --out are required");
  const int nproc = static_cast<int>(args.integer_or("--nproc", 0, 1, 1024));
  if (args.has("--nproc")) {
    for (const char* o : {"--world-size", "--rank", "--local-rank", "--master-addr"}) {
      if (args.has(o)) throw UsageError(std::string("--nproc starts its ranks itself; it cannot be combined with ") + o);
    }
  }
  opt.data = *args.get("--data");
  opt.out = *args.get("--out");
  opt.epochs = static_cast<int>(args.integer_or("--epochs", 30, 1, 100000));
  opt.batch = static_cast<int>(args.integer_or("--batch", 32, 1, 4096));
  opt.beta = args.number_or("--beta", 1.0, 0.0, 1000.0);
  opt.affect_weight = args.number_or("--affect-weight", 0.0, 0.0, 1e6);
  opt.identity_swap = args.has("--identity-swap");
  opt.teacher_forcing = args.has("--teacher-forcing");
  opt.reader = args.get_or("--reader", "");
  opt.readback_weight = args.number_or("--readback-weight", 0.0, 0.0, 1e6);
  if (opt.reader.empty() != (opt.readback_weight == 0.0)) throw UsageError("--reader and --readback-weight W > 0 go together");
  opt.readback_identity_weight = args.number_or("--readback-identity-weight", 1.0, 0.0, 1e4);
  if (args.has("--readback-identity-weight") && opt.reader.empty()) throw UsageError("--readback-identity-weight needs --reader");
  opt.readback_au_weight = args.number_or("--readback-au-weight", 1.0, 0.0, 1e4);
  if (args.has("--readback-au-weight") && opt.reader.empty()) throw UsageError("--readback-au-weight needs --reader");
  opt.render_weight = args.number_or("--render-weight", 0.0, 0.0, 1e4);
  if (opt.render_weight > 0.0 && opt.reader.empty()) throw UsageError("--render-weight needs --reader: it renders the read-back's faces");
  if (!opt.reader.empty() && !opt.identity_swap) throw UsageError("--reader needs --identity-swap: it draws the partner's person at random affect points");
  opt.expression_weight = args.number_or("--expression-weight", 0.0, 0.0, 1e4);
  opt.adversarial_weight = args.number_or("--adversarial-weight", 0.0, 0.0, 1e6);
  opt.critic_lr = args.number_or("--critic-lr", 2e-4, 1e-9, 1.0);
  opt.gradient_weight = args.number_or("--gradient-weight", 0.0, 0.0, 1e4);
  opt.line_weight = args.number_or("--line-weight", 0.0, 0.0, 1e4);
  opt.feature_weight = args.number_or("--feature-weight", 0.0, 0.0, 1e6);
  if (opt.feature_weight > 0.0 && opt.reader.empty()) throw UsageError("--feature-weight needs --reader: it compares the reader's activations");
  if (opt.teacher_forcing && !opt.identity_swap) throw UsageError("--teacher-forcing needs --identity-swap: it forces the affect latents of the swapped face");
  if (opt.identity_swap && opt.affect_weight <= 0.0) throw UsageError("--identity-swap needs --affect-weight W > 0: it swaps everything but the guided affect latents");
  opt.model.latent = static_cast<int>(args.integer_or("--latent", 64, 2, 1024));
  opt.model.width = static_cast<int>(args.integer_or("--width", 32, 4, 256));
  opt.model.decoder_width = static_cast<int>(args.integer_or("--decoder-width", 0, 0, 256));
  opt.model.decoder_refine = static_cast<int>(args.integer_or("--decoder-refine", 0, 0, 8));
  opt.model.decoder_detail = static_cast<int>(args.integer_or("--decoder-detail", 0, 0, 4));
  opt.model.encoder_width = static_cast<int>(args.integer_or("--encoder-width", 0, 0, 256));
  opt.model.encoder_depth = static_cast<int>(args.integer_or("--encoder-depth", 0, 0, 2));
  opt.freeze_decoder = args.has("--freeze-decoder");
  opt.lr = args.number_or("--lr", 1e-3, 1e-7, 1.0);
  opt.lr_end = args.number_or("--lr-end", -1.0, 0.0, 1.0);
  opt.init = args.get_or("--init", "");
  opt.class_weights = args.get_or("--class-weights", "");
  // Ranks sharing a machine share its cores.
  const char* local_world = std::getenv("LOCAL_WORLD_SIZE");
  const int ranks_here = local_world ? std::max(1, std::atoi(local_world)) : nproc > 0 ? nproc : 1;
  const int default_threads = ranks_here > 1 ? std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / ranks_here) : 2;
  opt.threads = static_cast<int>(args.integer_or("--threads", default_threads, 1, 256));
  opt.seed = static_cast<std::uint64_t>(args.integer_or("--seed", 1, 0, 2147483647));
  opt.limit = args.integer_or("--limit", 0, 0, 1L << 40);
  opt.checkpoint_minutes = args.number_or("--checkpoint-minutes", 10.0, 0.05, 1e6);
  opt.resume = args.has("--resume");
  opt.stop_after_steps = args.integer_or("--stop-after-steps", 0, 0, 1L << 40);
  for (int i = 0; i < argc; ++i) opt.command_line += std::string(i ? " " : "circumplex ") + argv[i];
  opt.dist.timeout_seconds = args.number_or("--dist-timeout", 60.0, 0.1, 86400.0);
  opt.device = args.get_or("--device", "cpu");
  if (opt.device != "cpu" && opt.device != "cuda") throw UsageError("--device must be cpu or cuda, got '" + opt.device + "'");
  opt.dist.backend = args.get_or("--backend", opt.device == "cuda" ? "nccl" : "gloo");
  if (opt.dist.backend != "gloo" && opt.dist.backend != "nccl") throw UsageError("--backend must be gloo or nccl, got '" + opt.dist.backend + "'");

  if (nproc > 0) {
    // The launcher: this command again, without --nproc, as ranks 0 … N-1.
    std::vector<std::string> child = {"circumplex"};
    for (int i = 0; i < argc; ++i) {
      const std::string word = argv[i];
      if (word == "--nproc") {
        ++i;
        continue;
      }
      if (word.rfind("--nproc=", 0) == 0) continue;
      child.push_back(word);
    }
    if (!args.has("--threads")) child.push_back("--threads=" + std::to_string(opt.threads));
    const int port = static_cast<int>(args.integer_or("--master-port", 0, 1, 65535));
    return tools::dist::launch_local(nproc, child, port, opt.dist.timeout_seconds + 10.0);
  }

  tools::dist::read_environment(opt.dist);
  opt.dist.world = static_cast<int>(args.integer_or("--world-size", opt.dist.world, 1, 1 << 20));
  opt.dist.rank = static_cast<int>(args.integer_or("--rank", opt.dist.rank, 0, (1 << 20) - 1));
  opt.dist.local_rank = static_cast<int>(args.integer_or("--local-rank", opt.dist.local_rank, 0, (1 << 20) - 1));
  opt.dist.master_addr = args.get_or("--master-addr", opt.dist.master_addr);
  opt.dist.master_port = static_cast<int>(args.integer_or("--master-port", opt.dist.master_port, 1, 65535));
  if (opt.dist.rank >= opt.dist.world) {
    throw UsageError("--rank (RANK) " + std::to_string(opt.dist.rank) + " must be below --world-size (WORLD_SIZE) " +
                     std::to_string(opt.dist.world));
  }
  if (opt.dist.enabled() && opt.batch < opt.dist.world) {
    throw UsageError("--batch " + std::to_string(opt.batch) + " is the global batch: it must be at least the number of ranks (" +
                     std::to_string(opt.dist.world) + ")");
  }
  const bool lead = opt.dist.rank == 0;

  std::optional<tools::StopOnSignal> stop_on_signal(std::in_place);  // Ctrl-C: checkpoint, then stop
  const tools::TrainResult r = tools::train_vae(opt);
  stop_on_signal.reset();
  // Stopping where --stop-after-steps asked is success; any other stop (a signal) is 130.
  const int stopped = opt.stop_after_steps > 0 && r.steps >= opt.stop_after_steps ? 0 : 130;
  if (!lead) return r.finished ? 0 : stopped;
  if (!r.finished) {
    std::string loss_flags = opt.identity_swap ? " --identity-swap" : "";
    if (opt.teacher_forcing) loss_flags += " --teacher-forcing";
    if (opt.lr_end >= 0.0) loss_flags += " --lr-end " + std::to_string(opt.lr_end);
    if (!opt.reader.empty()) loss_flags += " --reader " + opt.reader + " --readback-weight " + std::to_string(opt.readback_weight) +
                                             " --readback-identity-weight " + std::to_string(opt.readback_identity_weight) +
                                             " --readback-au-weight " + std::to_string(opt.readback_au_weight);
    if (opt.render_weight > 0.0) loss_flags += " --render-weight " + std::to_string(opt.render_weight);
    if (opt.gradient_weight > 0.0) loss_flags += " --gradient-weight " + std::to_string(opt.gradient_weight);
    if (opt.line_weight > 0.0) loss_flags += " --line-weight " + std::to_string(opt.line_weight);
    if (opt.feature_weight > 0.0) loss_flags += " --feature-weight " + std::to_string(opt.feature_weight);
    if (opt.adversarial_weight > 0.0) loss_flags += " --adversarial-weight " + std::to_string(opt.adversarial_weight) + " --critic-lr " + std::to_string(opt.critic_lr);
    std::printf("stopped after %lld steps (%.1f img/s); resume with: circumplex train --data %s --out %s --seed %llu --batch %d "
                "--beta %.10g --affect-weight %.10g --expression-weight %.10g --lr %.10g%s --resume\n",
                static_cast<long long>(r.steps), r.images_per_second, opt.data.c_str(), opt.out.c_str(),
                static_cast<unsigned long long>(opt.seed), opt.batch, opt.beta, opt.affect_weight, opt.expression_weight, opt.lr, loss_flags.c_str());
    return stopped;
  }
  std::printf("trained %d epochs (%lld steps, %.1f img/s); weights in %s/model.safetensors\n", r.epochs_done,
              static_cast<long long>(r.steps), r.images_per_second, opt.out.c_str());
  return 0;
}

}  // namespace circumplex::cli
