// `circumplex judge`: trains the independent judge CNN on procedural faces.
#include <csignal>
#include <optional>
#include <cstdio>
#include <cstring>

#include "args.hpp"
#include "judge/judge_trainer.hpp"
#include "train/harness.hpp"
#include "verbs.hpp"

namespace circumplex::cli {
namespace {
}  // namespace

int run_judge(int argc, char** argv) {
  if (argc > 1 && !std::strcmp(argv[1], "read")) return run_judge_read(argc, argv);
  const std::vector<Option> options = {
      {"--data", "DIR", "`circumplex synth` folder made with a DIFFERENT --seed from the VAE's data (required)"},
      {"--out", "JUDGE", "judge folder: checkpoint, curves, then the package and report (required)"},
      {"--epochs", "E", "passes over the training split (default 16)"},
      {"--batch", "B", "images per step (default 64)"},
      {"--lr", "LR", "peak learning rate, cosine decay (default 2e-3)"},
      {"--width", "C", "channels of the first convolution stage (default 24)"},
      {"--work-size", "PX", "side the network works at; larger images are reduced to it (default 64)"},
      {"--stem", "C", "channels of the learned reduction to --work-size; 0: area averaging (default 12)"},
      {"--no-augment", "", "train without blur and brightness/contrast jitter"},
      {"--dropout", "P", "dropout on the flattened features and the hidden layer, 0..0.9 (default 0.3)"},
      {"--identity-weight", "W", "weight of the identity-factor outputs in the loss, 0..10; 0 for an affect head (default 1)"},
      {"--threads", "N", "LibTorch threads (default 2)"},
      {"--seed", "S", "seed of initialisation, data order and augmentation (default 1)"},
      {"--limit", "N", "use at most N training images (default: all)"},
      {"--checkpoint-minutes", "M", "also checkpoint every M minutes within an epoch (default 10)"},
      {"--resume", "", "continue the run in --out from its checkpoint"},
      {"--stop-after-steps", "N", "stop with a checkpoint after N steps in all (for testing resumes)"},
  };
  const Args args(argc, argv, 1, options);
  if (args.help()) {
    std::printf("Usage: circumplex judge --data DIR --out JUDGE [options]\n\n"
                "Trains the judge: a small CNN that reads valence, arousal, z, the 17 FACS AUs and the identity\n"
                "factors from a face. `circumplex evaluate` uses it to score a model package, so it must not have\n"
                "seen the VAE's people: make DIR with `circumplex synth` and a seed other than the VAE data's.\n"
                "Targets are standardised with the training split's mean and std. Writes JUDGE/checkpoint.safetensors\n"
                "(each epoch and on Ctrl-C), loss.csv + loss.png, and at the end the judge package\n"
                "(manifest.json, weights.safetensors) with report.json, report.md (held-out R2 per head, test split)\n"
                "and judge_scatter.png. Deterministic for a seed and thread count; --resume continues exactly.\n\n%s\n"
                "Example:\n  circumplex synth --count 8000 --seed 777 --size 128 --identities 800 --out data/judge\n"
                "  circumplex judge --data data/judge --out judge --threads 2\n",
                format_options(options).c_str());
    return 0;
  }
  if (!args.has("--data") || !args.has("--out")) throw UsageError("--data and --out are required");
  tools::JudgeTrainOptions opt;
  opt.data = *args.get("--data");
  opt.out = *args.get("--out");
  if (opt.data.empty() || opt.out.empty()) throw UsageError("--data and --out need folder names");
  opt.epochs = static_cast<int>(args.integer_or("--epochs", 16, 1, 100000));
  opt.batch = static_cast<int>(args.integer_or("--batch", 64, 2, 4096));
  opt.lr = args.number_or("--lr", 2e-3, 1e-7, 1.0);
  opt.width = static_cast<int>(args.integer_or("--width", 24, 4, 256));
  opt.work_size = static_cast<int>(args.integer_or("--work-size", 64, 16, 512));
  if ((opt.work_size & (opt.work_size - 1)) != 0) throw UsageError("option --work-size must be a power of two (16, 32, 64 …)");
  opt.stem = static_cast<int>(args.integer_or("--stem", 12, 0, 64));
  opt.augment = !args.has("--no-augment");
  opt.dropout = args.number_or("--dropout", 0.3, 0.0, 0.9);
  opt.identity_weight = args.number_or("--identity-weight", 1.0, 0.0, 10.0);
  opt.threads = static_cast<int>(args.integer_or("--threads", 2, 1, 256));
  opt.seed = static_cast<std::uint64_t>(args.integer_or("--seed", 1, 0, 2147483647));
  opt.limit = args.integer_or("--limit", 0, 0, 1L << 40);
  opt.checkpoint_minutes = args.number_or("--checkpoint-minutes", 10.0, 0.05, 1e6);
  opt.resume = args.has("--resume");
  opt.stop_after_steps = args.integer_or("--stop-after-steps", 0, 0, 1L << 40);
  opt.commit = CIRCUMPLEX_COMMIT;
  for (int i = 0; i < argc; ++i) opt.command_line += std::string(i ? " " : "circumplex ") + argv[i];

  std::optional<tools::StopOnSignal> stop_on_signal(std::in_place);  // Ctrl-C: checkpoint, then stop
  const tools::JudgeTrainResult r = tools::train_judge(opt);
  stop_on_signal.reset();
  if (!r.finished) {
    std::printf("stopped after %lld steps (%.1f img/s); resume with: circumplex judge --data %s --out %s --epochs %d --batch %d --seed %llu%s --resume\n",
                static_cast<long long>(r.steps), r.images_per_second, opt.data.c_str(), opt.out.c_str(), opt.epochs, opt.batch,
                static_cast<unsigned long long>(opt.seed), opt.limit ? (" --limit " + std::to_string(opt.limit)).c_str() : "");
    return opt.stop_after_steps > 0 && r.steps >= opt.stop_after_steps ? 0 : 130;
  }
  std::printf("judge trained: %d epochs, %lld steps, %.0f s (%.1f img/s overall)\n", r.epochs_done, static_cast<long long>(r.steps), r.seconds,
              r.images_per_second);
  std::printf("held-out (test split): R2 valence %.4f, arousal %.4f; MAE (v, a) %.4f; R2 AUs (mean) %.4f; R2 identity factors (mean) %.4f\n",
              r.r2_valence, r.r2_arousal, r.mae_va, r.r2_au_mean, r.r2_identity_mean);
  std::printf("judge package written to %s (manifest.json, weights.safetensors, report.md, loss.png)\n", opt.out.c_str());
  return 0;
}

}  // namespace circumplex::cli
