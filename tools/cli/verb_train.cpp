// `circumplex train`: trains the β-VAE on a synth/prep data folder.
#include <csignal>
#include <cstdio>

#include "args.hpp"
#include "train/trainer.hpp"
#include "verbs.hpp"

namespace circumplex::cli {
namespace {
extern "C" void on_stop_signal(int) { tools::request_training_stop(); }
}  // namespace

int run_train(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--data", "DIR", "folder written by `circumplex synth` or `circumplex prep` (required)"},
      {"--out", "RUN", "run folder for checkpoints, curves and the final weights (required)"},
      {"--epochs", "E", "passes over the training split (default 30)"},
      {"--batch", "B", "images per step (default 32)"},
      {"--beta", "B", "weight of the KL term (default 1.0)"},
      {"--latent", "D", "latent dimension (default 64)"},
      {"--width", "C", "channels of the first encoder stage (default 32)"},
      {"--decoder-width", "C", "channels of the decoder's full-resolution stage (default: --width)"},
      {"--lr", "LR", "Adam learning rate (default 1e-3)"},
      {"--class-weights", "FILE", "JSON {category: weight} from `circumplex prep --class-weights`"},
      {"--threads", "N", "LibTorch threads (default 2)"},
      {"--seed", "S", "seed of initialisation, data order and sampling noise (default 1)"},
      {"--limit", "N", "use at most N training images (default: all)"},
      {"--checkpoint-minutes", "M", "also checkpoint every M minutes within an epoch (default 10)"},
      {"--resume", "", "continue the run in --out from its checkpoint"},
      {"--stop-after-steps", "N", "stop with a checkpoint after N steps in all (for testing resumes)"},
  };
  const Args args(argc, argv, 1, options);
  if (args.help()) {
    std::printf("Usage: circumplex train --data DIR --out RUN [options]\n\n"
                "Trains the convolutional beta-VAE on the train split of DIR (packed shards when present,\n"
                "else labels.csv + images). Shows loss terms, images/s and ETA; writes RUN/checkpoint.cpxw at\n"
                "every epoch (and on Ctrl-C), RUN/loss.csv + loss.png, RUN/recon/epoch_NNN.png and finally\n"
                "RUN/model.cpxw. Deterministic for a seed and thread count; --resume continues exactly.\n\n%s\n"
                "Example: circumplex train --data data/synth --out runs/vae --epochs 20 --threads 2\n",
                format_options(options).c_str());
    return 0;
  }
  tools::TrainOptions opt;
  if (!args.has("--data") || !args.has("--out")) throw UsageError("--data and --out are required");
  opt.data = *args.get("--data");
  opt.out = *args.get("--out");
  opt.epochs = static_cast<int>(args.integer_or("--epochs", 30, 1, 100000));
  opt.batch = static_cast<int>(args.integer_or("--batch", 32, 1, 4096));
  opt.beta = args.number_or("--beta", 1.0, 0.0, 1000.0);
  opt.model.latent = static_cast<int>(args.integer_or("--latent", 64, 2, 1024));
  opt.model.width = static_cast<int>(args.integer_or("--width", 32, 4, 256));
  opt.model.decoder_width = static_cast<int>(args.integer_or("--decoder-width", 0, 0, 256));
  opt.lr = args.number_or("--lr", 1e-3, 1e-7, 1.0);
  opt.class_weights = args.get_or("--class-weights", "");
  opt.threads = static_cast<int>(args.integer_or("--threads", 2, 1, 256));
  opt.seed = static_cast<std::uint64_t>(args.integer_or("--seed", 1, 0, 2147483647));
  opt.limit = args.integer_or("--limit", 0, 0, 1L << 40);
  opt.checkpoint_minutes = args.number_or("--checkpoint-minutes", 10.0, 0.05, 1e6);
  opt.resume = args.has("--resume");
  opt.stop_after_steps = args.integer_or("--stop-after-steps", 0, 0, 1L << 40);
  for (int i = 0; i < argc; ++i) opt.command_line += std::string(i ? " " : "circumplex ") + argv[i];

  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  const tools::TrainResult r = tools::train_vae(opt);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!r.finished) {
    std::printf("stopped after %lld steps (%.1f img/s); resume with: circumplex train --data %s --out %s --seed %llu --batch %d --resume\n",
                static_cast<long long>(r.steps), r.images_per_second, opt.data.c_str(), opt.out.c_str(),
                static_cast<unsigned long long>(opt.seed), opt.batch);
    return opt.stop_after_steps > 0 && r.steps >= opt.stop_after_steps ? 0 : 130;
  }
  std::printf("trained %d epochs (%lld steps, %.1f img/s); weights in %s/model.cpxw\n", r.epochs_done,
              static_cast<long long>(r.steps), r.images_per_second, opt.out.c_str());
  return 0;
}

}  // namespace circumplex::cli
