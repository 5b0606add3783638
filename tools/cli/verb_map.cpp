// `circumplex map`: affect directions in a trained VAE's latent space → a model package.
#include <cstdio>

#include "args.hpp"
#include "map/mapper.hpp"
#include "verbs.hpp"

namespace circumplex::cli {

int run_map(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--run", "RUN", "training run folder (config.json, model.safetensors) (required)"},
      {"--data", "DIR", "data folder with train and test (or val) splits (required)"},
      {"--out", "PKG", "model package folder to write (required)"},
      {"--affect-head", "JUDGE[,JUDGE...]", "judge packages (`circumplex judge`, on faces of people of their own, not the evaluation judge's): their mean reading of (v, a[, z]) over the face and its mirror image becomes the encoder's first latents; several (up to 8, other seeds; shapes may differ) make an ensemble; or one model package, whose whole head is reused as it is (a VAE retrained without a new head)"},
      {"--fit-limit", "N", "fit on at most N training images (default: all)"},
      {"--held-out-limit", "N", "score on at most N held-out images (default: all)"},
      {"--threads", "N", "LibTorch threads (default 2)"},
      {"--seed", "S", "seed of the cross-validation folds (default 1)"},
      {"--add-framing", "PKG", "only measure how --data's faces are framed and add it to PKG's manifest (packages made before 0.2)"},
  };
  const Args args(argc, argv, 1, options);
  if (args.help()) {
    std::printf("Usage: circumplex map --run RUN --data DIR --out PKG [options]\n\n"
                "Encodes the train and held-out splits, fits Ridge regression (lambda by 5-fold CV) from the latent\n"
                "to valence, arousal and (when the data has it) z, orthonormalises the directions by Gram-Schmidt,\n"
                "and reports held-out R2, MIG, quadrant accuracy and cosines. Writes the model package PKG\n"
                "(manifest.json, weights.safetensors) with latents.csv, report.json, report.md and plots.\n\n%s\n"
                "Example: circumplex map --run runs/vae --data data/synth --out models/mine\n",
                format_options(options).c_str());
    return 0;
  }
  if (args.has("--add-framing")) {
    if (!args.has("--data") || args.has("--run") || args.has("--out")) throw UsageError("--add-framing PKG takes --data DIR only");
    const Framing f = tools::add_framing(*args.get("--add-framing"), *args.get("--data"));
    std::printf("map: framing of %d faces: face box at (%.3f, %.3f), side %.3f of the image; luminance %.3f +- %.3f -> %s/manifest.json\n", f.faces,
                f.face_x, f.face_y, f.face_size, f.luma_mean, f.luma_std, args.get("--add-framing")->c_str());
    return 0;
  }
  if (!args.has("--run") || !args.has("--data") || !args.has("--out")) throw UsageError("--run, --data and --out are required");
  tools::MapOptions opt;
  opt.run = *args.get("--run");
  opt.data = *args.get("--data");
  opt.out = *args.get("--out");
  if (const auto heads = args.get("--affect-head")) {
    std::size_t lo = 0;
    while (lo <= heads->size()) {
      const std::size_t hi = std::min(heads->find(',', lo), heads->size());
      if (hi == lo) throw UsageError("--affect-head: an empty package name in '" + *heads + "'");
      opt.affect_heads.push_back(heads->substr(lo, hi - lo));
      lo = hi + 1;
    }
  }
  opt.fit_limit = args.integer_or("--fit-limit", 0, 0, 1L << 40);
  opt.held_out_limit = args.integer_or("--held-out-limit", 0, 0, 1L << 40);
  opt.threads = static_cast<int>(args.integer_or("--threads", 2, 1, 256));
  opt.seed = static_cast<std::uint64_t>(args.integer_or("--seed", 1, 0, 2147483647));
  opt.commit = CIRCUMPLEX_COMMIT;
  for (int i = 0; i < argc; ++i) opt.command_line += std::string(i ? " " : "circumplex ") + argv[i];
  const tools::MapResult r = tools::map_manifold(opt);
  std::printf("held-out R2 valence %.4f, arousal %.4f%s; quadrant accuracy %.4f; MIG %.4f; max |cos| after Gram-Schmidt %.1e\n",
              r.r2_valence, r.r2_arousal, r.three_d ? (", z " + std::to_string(r.r2_z)).c_str() : "", r.quadrant_accuracy, r.mig,
              r.max_abs_cos_after);
  std::printf("model package written to %s (report.md, report.json, plots)\n", opt.out.c_str());
  return 0;
}

}  // namespace circumplex::cli
