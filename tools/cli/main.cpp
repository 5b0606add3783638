// circumplex — the command-line tool. `circumplex --help` lists the verbs;
// `circumplex <verb> --help` explains one. Exit codes: 0 ok, 1 failure, 2 usage error.
#include <cstdio>
#include <csignal>
#include <cstring>
#include <exception>

#include "args.hpp"
#include "circumplex/error.hpp"
#include "verbs.hpp"

namespace circumplex::cli {

const std::vector<Verb>& verbs() {
  static const std::vector<Verb> table = {
      {"atlas", "print the emotion atlas and draw it in 2D and 3D (PNG)", run_atlas},
      {"expr", "affect point -> nearest emotion, FACS AUs, ARKit-52 and VRM weights", run_expr},
      {"synth", "procedural labelled faces with ground-truth AUs: PNGs, labels.csv, packed shards", run_synth},
      {"train", "train the beta-VAE on a synth/prep data folder (checkpoints, curves, --resume)", run_train},
      {"map", "find valence/arousal/z directions in a trained VAE; metrics; write a model package", run_map},
      {"render", "grid, axis, between and circle-walk renders of a model package (PNG, MP4, CSV)", run_render},
      {"view", "the real-time viewer: face, circumplex pad, 3D view, readouts, recording (Vulkan + ImGui; --headless)", run_view},
      {"prep", "AffectNet preprocessing: strict face crops, CLAHE, balance or class weights", run_prep},
      {"judge", "train the independent judge CNN on procedural faces; `judge read` prints what it reads from images", run_judge},
      {"evaluate", "score a model package with the judge and fresh faces: grid MAE, drift, R2, PSNR", run_evaluate},
      {"bench", "time the decoder (vs the machine's peak, --peer PyTorch), engine, viewer, plugin, synth/prep/train", run_bench},
      {"study", "C2A2's expert rating study: image sets, rating pages (HTTP + SQLite), judge ratings, Table 1", run_study},
  };
  return table;
}

namespace {
void print_help() {
  std::printf(
      "circumplex %s - a face's emotional expression on a cursor on Russell's circumplex\n\n"
      "Usage: circumplex <verb> [options]   (circumplex <verb> --help for its options)\n\n"
      "Verbs:\n",
      CIRCUMPLEX_VERSION);
  for (const Verb& v : verbs()) std::printf("  %-10s %s\n", v.name, v.summary);
  std::printf("\nExit codes: 0 ok, 1 failure, 2 usage error.\n");
}
}  // namespace
}  // namespace circumplex::cli

int main(int argc, char** argv) {
  using namespace circumplex::cli;
  // A file-size limit (ulimit -f) or a full quota then makes writes fail with EFBIG, which
  // every writer reports naming its file, instead of the signal killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    print_help();
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("circumplex %s\n", CIRCUMPLEX_VERSION);
    return 0;
  }
  for (const Verb& v : verbs()) {
    if (std::strcmp(argv[1], v.name) != 0) continue;
    try {
      return v.run(argc - 1, argv + 1);
    } catch (const UsageError& e) {
      std::fprintf(stderr, "circumplex %s: %s\n(see: circumplex %s --help)\n", v.name, e.what(), v.name);
      return 2;
    } catch (const circumplex::Error& e) {
      std::fprintf(stderr, "circumplex %s: error: %s\n", v.name, e.what());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "circumplex %s: unexpected failure: %s\n", v.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "circumplex: unknown verb '%s' (see: circumplex --help)\n", argv[1]);
  return 2;
}
