// `circumplex synth`: procedural labelled faces with ground-truth action units (training data);
// the work is tools/facegen/synth.hpp.
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "args.hpp"
#include "circumplex/error.hpp"
#include "facegen/synth.hpp"
#include "verbs.hpp"

namespace circumplex::cli {
namespace {

std::array<double, 3> parse_split(const std::string& text) {
  std::array<double, 3> share{};
  std::size_t start = 0;
  for (int k = 0; k < 3; ++k) {
    const std::size_t comma = text.find(',', start);
    if ((k < 2 && comma == std::string::npos) || (k == 2 && comma != std::string::npos)) {
      throw UsageError("option --split needs three numbers TRAIN,VAL,TEST (e.g. 0.8,0.1,0.1), got '" + text + "'");
    }
    const std::string part = text.substr(start, k < 2 ? comma - start : std::string::npos);
    char* stop = nullptr;
    const double x = std::strtod(part.c_str(), &stop);
    if (part.empty() || *stop != '\0' || !std::isfinite(x) || x < 0 || x > 1) {
      throw UsageError("option --split: '" + part + "' is not a share in [0, 1] (in '" + text + "')");
    }
    share[static_cast<std::size_t>(k)] = x;
    start = comma + 1;
  }
  const double sum = share[0] + share[1] + share[2];
  if (std::abs(sum - 1.0) > 1e-6) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", sum);
    throw UsageError(std::string("option --split: the shares must sum to 1, got ") + buf + " ('" + text + "')");
  }
  return share;
}

}  // namespace

int run_synth(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--count", "N", "number of faces to make (required)"},
      {"--out", "DIR", "output folder (required): images/, labels.csv, *.cpxshard, contact_sheet.png"},
      {"--seed", "S", "random seed, a whole number >= 0 (default 1); same seed -> same bytes"},
      {"--size", "PX", "image width and height, 32..512 (default 128)"},
      {"--identities", "K", "number of different people, 1..N (default N/8 rounded up)"},
      {"--mode", "2d|3d", "affect space: the valence-arousal disk or the C2A2 ball (default 2d)"},
      {"--split", "T,V,E", "train,val,test shares of the identities, summing to 1 (default 0.8,0.1,0.1)"},
      {"--jobs", "J", "worker threads (default: all cores)"},
  };
  const Args args(argc, argv, 1, options);
  if (args.help()) {
    std::printf(
        "Usage: circumplex synth --count N --out DIR [--seed S] [--size 128] [--identities K]\n"
        "                        [--mode 2d|3d] [--split 0.8,0.1,0.1] [--jobs J]\n\n"
        "Renders procedural faces of K sampled people, each at several affect points (uniform over\n"
        "the disk/ball plus clusters at the atlas emotions), with the runtime's expression model\n"
        "giving the 17 FACS action units plus a little per-sample noise (+-%.2f). Splits are by\n"
        "identity: every image of a person lands in the same split, so val and test hold unseen\n"
        "people. Writes DIR/images/NNNNNN.png, DIR/labels.csv, DIR/{train,val,test}.cpxshard\n"
        "(packed RGB pixels + float32 labels, see README) and DIR/contact_sheet.png.\n\n%s\n"
        "Example:\n  circumplex synth --count 2000 --out out/synth --seed 7\n"
        "  circumplex synth --count 500 --out out/synth3d --mode 3d --size 96 --jobs 2\n",
        facegen::kSynthAuNoise, format_options(options).c_str());
    return 0;
  }
  if (!args.has("--count")) throw UsageError("option --count is required (how many faces to make)");
  if (!args.has("--out")) throw UsageError("option --out is required (the output folder)");
  const long count = args.integer_or("--count", 0, 1, 10'000'000);
  const std::string out = *args.get("--out");
  if (out.empty()) throw UsageError("option --out needs a folder name");
  const std::uint64_t seed = static_cast<std::uint64_t>(args.integer_or("--seed", 1, 0, 9'000'000'000'000'000'000L));
  const int size = static_cast<int>(args.integer_or("--size", 128, 32, 512));
  const long identities = args.integer_or("--identities", std::max(1L, (count + 7) / 8), 1, count);
  const std::string mode = args.get_or("--mode", "2d");
  if (mode != "2d" && mode != "3d") throw UsageError("option --mode must be 2d or 3d, got '" + mode + "'");
  const Space space = mode == "3d" ? Space::Ball : Space::Plane;
  const std::array<double, 3> split = args.has("--split") ? parse_split(*args.get("--split")) : std::array<double, 3>{0.8, 0.1, 0.1};
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const int jobs = static_cast<int>(args.integer_or("--jobs", static_cast<long>(hw), 1, 256));

  const facegen::SynthResult r = facegen::synthesize({count, out, seed, size, identities, space, split, jobs});
  std::printf("synth: wrote %lld images, labels.csv, train/val/test.cpxshard and contact_sheet.png in %s (%.1f img/s)\n",
              static_cast<long long>(r.per_split[0] + r.per_split[1] + r.per_split[2]), out.c_str(), r.images_per_second);
  return 0;
}

}  // namespace circumplex::cli
