// `circumplex evaluate`: scores a model package with the judge and with fresh procedural faces.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "args.hpp"
#include "circumplex/error.hpp"
#include "circumplex/model_package.hpp"
#include "judge/evaluate.hpp"
#include "verbs.hpp"

namespace circumplex::cli {
namespace fs = std::filesystem;

int run_evaluate(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--model", "PKG", "model package to evaluate (required)"},
      {"--judge", "JUDGE", "judge package from `circumplex judge` (required)"},
      {"--seed", "S", "identities S, S+1, … of the model's prior, and the synth seed of the fresh set (required)"},
      {"--identities", "K", "identities rendered on the grid and the sweeps, and ground-truth people, 2..1000 (default 8)"},
      {"--json", "FILE", "where the JSON goes; FILE's stem names the .md and PNGs beside it (default out/evaluate/evaluate.json)"},
      {"--data", "DIR", "the VAE's data folder: PSNR on its test split too, and a check that S makes new people"},
      {"--fresh", "N", "faces in the fresh set made with seed S (default 1000)"},
      {"--steps", "N", "faces per emotion sweep, 3..64 (default 9)"},
      {"--threads", "N", "LibTorch threads and synth workers (default 2)"},
      {"--device", "D", "where the model's VAE runs: cpu (default), cuda or cuda:N (the judge stays on the CPU)"},
      {"--fit-identity", "N", "ground truth only: refine each person's identity latent by N Adam steps on their neutral face (default 0: the encoder's mean, what the runtime uses)"},
      {"--fit-prior", "W", "with --fit-identity: weight of the N(0, I) prior's pull, W * |z|^2 / 2 (default 1)"},
      {"--detail", "", "ground truth only: lay each person's detail layer on the model's faces, as a Session with keep_detail does for an image identity (README: the detail layer)"},
      {"--detail-tolerance", "T", "with --detail: the change at which the detail has faded out, 0..1 (default 0.07; 0: it never fades)"},
      {"--detail-radius", "R", "with --detail: how far (pixels) the detail follows the face's parts, 0..4 (default 2)"},
      {"--detail-region-tolerance", "T", "with --detail: the mean change around a pixel (17x17) from the neutral face at which the detail has faded out, 0..1 (default 0.1; 0: no such fade)"},
      {"--keep-fresh", "", "keep the fresh set's folder (beside the JSON) instead of removing it"},
      {"--strict", "", "exit 1 when a number misses its target"},
  };
  const Args args(argc, argv, 1, options);
  if (args.help()) {
    std::printf("Usage: circumplex evaluate --model PKG --judge JUDGE --seed S [--identities K] [--json FILE] [--data DIR]\n\n"
                "For K identities renders the 7x7 grid (valence -1..1 x arousal -1..1, clamped to the unit disk) and\n"
                "neutral -> emotion sweeps for every basic emotion, and lets the judge read every face: MAE of the judged\n"
                "(v, a) against the asked point, identity drift (spread of the judged identity factors within an\n"
                "identity's grid over their spread between identities) and monotonicity along the sweeps. Then makes a\n"
                "fresh set of procedural faces with seed S (`circumplex synth`, new people) and reports the held-out R2\n"
                "of the model's directions, quadrant accuracy and reconstruction PSNR, beside their ceiling: the same\n"
                "figures of the Bayes reader of each fresh face's exact AUs. Ground truth: the first K people of\n"
                "`synth --seed S`, drawn by the model (identity encoded from their neutral face) and by the renderer at the\n"
                "grid, every atlas emotion and 24 directions x 2 radii: PSNR on the face, judged MAE, drift and sharpness\n"
                "as model / renderer ratios, emotion accuracy, error per direction. Prints every number beside its target\n"
                "and writes FILE, FILE's .md and pictures (<stem>_grid.png, _sweeps.png, _truth.png, _directions.png).\n\n%s\n"
                "Example: circumplex evaluate --model assets/models/default --judge judge --seed 9001 --json out/eval/eval.json\n",
                format_options(options).c_str());
    return 0;
  }
  if (!args.has("--model") || !args.has("--judge") || !args.has("--seed")) throw UsageError("--model, --judge and --seed are required");
  tools::EvaluateOptions opt;
  opt.model = *args.get("--model");
  opt.judge = *args.get("--judge");
  opt.seed = static_cast<std::uint64_t>(args.integer_or("--seed", 1, 0, 2147483647));
  opt.identities = static_cast<int>(args.integer_or("--identities", 8, 2, 1000));
  opt.json_path = args.get_or("--json", "out/evaluate/evaluate.json");
  if (opt.json_path.empty() || fs::path(opt.json_path).filename().empty()) throw UsageError("option --json needs a file name");
  opt.data = args.get_or("--data", "");
  const long fresh = args.integer_or("--fresh", 1000, 16, 1000000);
  opt.sweep_steps = static_cast<int>(args.integer_or("--steps", 9, 3, 64));
  opt.threads = static_cast<int>(args.integer_or("--threads", 2, 1, 256));
  opt.device = args.get_or("--device", "cpu");
  opt.identity_fit.steps = static_cast<int>(args.integer_or("--fit-identity", 0, 0, 10000));
  opt.identity_fit.prior = args.number_or("--fit-prior", 1.0, 0.0, 1e6);
  if (args.has("--detail")) {
    opt.detail = DetailOptions{};
    opt.detail->tolerance = args.number_or("--detail-tolerance", opt.detail->tolerance, 0.0, 1.0);
    opt.detail->radius = static_cast<int>(args.integer_or("--detail-radius", opt.detail->radius, 0, 4));
    opt.detail->region_tolerance = args.number_or("--detail-region-tolerance", opt.detail->region_tolerance, 0.0, 1.0);
  } else if (args.has("--detail-tolerance") || args.has("--detail-radius") || args.has("--detail-region-tolerance")) {
    throw UsageError("--detail-tolerance, --detail-radius and --detail-region-tolerance go with --detail");
  }
  (void)parse_device(opt.device);  // refused before the fresh set is made
  for (int i = 0; i < argc; ++i) opt.command_line += std::string(i ? " " : "circumplex ") + argv[i];

  // The fresh set: the synth verb, in this process, at the model's size and in its space.
  const tools::FreshSpec spec = tools::check_packages(opt.model, opt.judge);
  const fs::path json_path(opt.json_path);
  const fs::path folder = json_path.has_parent_path() ? json_path.parent_path() : fs::path(".");
  const fs::path fresh_dir = folder / (json_path.stem().string() + "_fresh_seed" + std::to_string(opt.seed));
  std::error_code ec;
  fs::remove_all(fresh_dir, ec);
  std::vector<std::string> synth_args = {"synth", "--count", std::to_string(fresh), "--seed", std::to_string(opt.seed),
                                         "--size", std::to_string(spec.size), "--mode", spec.mode,
                                         "--jobs", std::to_string(opt.threads), "--out", fresh_dir.string()};
  std::vector<char*> synth_argv;
  for (auto& a : synth_args) synth_argv.push_back(a.data());
  synth_argv.push_back(nullptr);
  if (run_synth(static_cast<int>(synth_args.size()), synth_argv.data()) != 0) {
    throw Error(ErrorKind::Internal, "making the fresh set in " + fresh_dir.string() + " failed");
  }
  opt.fresh_data = fresh_dir.string();

  tools::EvaluateResult r;
  try {
    r = tools::evaluate_model(opt);
  } catch (...) {
    if (!args.has("--keep-fresh")) fs::remove_all(fresh_dir, ec);
    throw;
  }
  if (!args.has("--keep-fresh")) fs::remove_all(fresh_dir, ec);

  std::printf("\n%s\n", r.table.c_str());
  std::printf("%s\n", r.all_pass ? "every number meets its target" : "some numbers miss their targets (MISS above)");
  for (const auto& f : r.written) std::printf("wrote %s\n", f.c_str());
  if (args.has("--keep-fresh")) std::printf("fresh set kept in %s\n", fresh_dir.c_str());
  return args.has("--strict") && !r.all_pass ? 1 : 0;
}

}  // namespace circumplex::cli
