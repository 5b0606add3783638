// `circumplex prep`: the VAE study's AffectNet preprocessing (tools/prep/prep.hpp).
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "args.hpp"
#include "circumplex/error.hpp"
#include "prep/prep.hpp"
#include "verbs.hpp"

namespace circumplex::cli {

int run_prep(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--images", "DIR", "AffectNet's image folder (subDirectory_filePath is relative to it)"},
      {"--csv", "FILE", "the annotation CSV (AffectNet's training.csv / validation.csv layout)"},
      {"--out", "DIR", "output folder: images/, labels.csv, rejects.csv, summary.json"},
      {"--detector", "NAME", "haar (default), lbp, box (the CSV's face box) or yunet:MODEL.onnx"},
      {"--min-score", "X", "detector confidence to keep a face (default haar 8 / lbp 4 neighbours, yunet 0.9)"},
      {"--size", "PX", "output side in pixels, 16..1024 (default 128)"},
      {"--margin", "F", "margin around the face on each side, fraction of its side (default 0.2)"},
      {"--min-face", "PX", "reject faces smaller than this, source pixels (default 64)"},
      {"--pose", "MODE", "extreme-pose check: auto (landmarks, else eyes; default), eyes, off"},
      {"--no-clahe", "", "skip CLAHE on the luminance channel"},
      {"--balance", "N", "undersample to N images per category, seeded (the VAE study used 3500)"},
      {"--class-weights", "", "keep all and write class_weights.json/.npy: total / (n_classes x count)"},
      {"--split", "NAME", "auto (80/10/10 by a seeded hash of the source file; default) or train, val, test"},
      {"--keep-uncertain", "", "keep expression codes 8 (other), 9 (uncertain), 10 (no-face)"},
      {"--jobs", "N", "worker threads (default: all cores)"},
      {"--seed", "S", "seed of the split and of --balance (default 1)"},
      {"--fresh", "", "discard an earlier run's results in --out instead of resuming"},
      {"--quiet", "", "no progress bar"},
  };
  const Args args(argc, argv, 1, options);
  if (args.help()) {
    std::printf(
        "Usage: circumplex prep --images DIR --csv FILE --out DIR [--detector haar|lbp|box|yunet:MODEL.onnx]\n"
        "                       [--size 128] [--balance N | --class-weights] [--no-clahe] [--min-face PX]\n"
        "                       [--jobs N] [--seed S] [--keep-uncertain] [--split auto|train|val|test]\n\n"
        "Prepares AffectNet (which you bring: it is licence-restricted) the way the VAE study did: strict face\n"
        "detection, square crop with margin resized to --size, CLAHE on the Lab luminance only, bad rows and\n"
        "images rejected with a reason, and either --balance N per category or --class-weights.\n\n"
        "Writes OUT/images/<row>.png, OUT/labels.csv (file,split,valence,arousal,z,category,... where z is the\n"
        "category's atlas z = -dominance, since AffectNet has no z label), OUT/rejects.csv (row,file,reason,\n"
        "detail; row = CSV line), OUT/summary.json (counts and AffectNet's per-category mean valence/arousal\n"
        "beside the atlas), OUT/class_weights.json + .npy. An interrupted run resumes where it stopped when\n"
        "rerun with the same settings (OUT/prep_journal.csv).\n\n%s\n"
        "Reject reasons: bad_row, bad_path, bad_expression, excluded_category, missing_label, missing_file,\n"
        "corrupt, truncated, no_face, box_mismatch, low_confidence, small_face, extreme_pose, processing_error.\n"
        "Cascades come from Debian's opencv-data (/usr/share/opencv4; override: CIRCUMPLEX_OPENCV_DATA=DIR).\n\n"
        "Examples:\n"
        "  circumplex prep --images AffectNet/Manually_Annotated_Images --csv AffectNet/training.csv --out prep/train "
        "--balance 3500\n"
        "  circumplex prep --images AffectNet/Manually_Annotated_Images --csv AffectNet/validation.csv --out prep/val "
        "--split test\n",
        format_options(options).c_str());
    return 0;
  }
  for (const char* required : {"--images", "--csv", "--out"}) {
    if (!args.has(required)) throw UsageError(std::string("missing ") + required);
  }
  if (args.has("--balance") && args.has("--class-weights")) {
    throw UsageError("--balance and --class-weights are alternatives; give one");
  }
  prep::PrepOptions o;
  o.images_dir = *args.get("--images");
  o.csv_path = *args.get("--csv");
  o.out_dir = *args.get("--out");
  try {
    o.detector = prep::parse_detector(args.get_or("--detector", "haar"));
  } catch (const Error& e) {
    throw UsageError(std::string("option --detector: ") + e.what());
  }
  try {
    o.pose = prep::parse_pose(args.get_or("--pose", "auto"));
  } catch (const Error& e) {
    throw UsageError(std::string("option --pose: ") + e.what());
  }
  o.min_score = args.number_or("--min-score", -1.0, 0.0, 1e6);
  o.size = static_cast<int>(args.integer_or("--size", 128, 16, 1024));
  o.margin = args.number_or("--margin", 0.2, 0.0, 1.0);
  o.min_face = static_cast<int>(args.integer_or("--min-face", 64, 1, 100000));
  o.clahe = !args.has("--no-clahe");
  o.balance = static_cast<std::size_t>(args.integer_or("--balance", 0, 1, 100000000));
  o.class_weights = args.has("--class-weights");
  o.split = args.get_or("--split", "auto");
  if (o.split != "auto" && o.split != "train" && o.split != "val" && o.split != "test") {
    throw UsageError("option --split must be auto, train, val or test, got '" + o.split + "'");
  }
  o.keep_uncertain = args.has("--keep-uncertain");
  o.jobs = static_cast<int>(args.integer_or("--jobs", 0, 1, 256));
  o.seed = static_cast<std::uint64_t>(args.integer_or("--seed", 1, 0, 2147483647L));
  o.fresh = args.has("--fresh");
  o.progress = !args.has("--quiet");
  // Test hook: simulate an interruption after K newly processed rows.
  if (const char* stop = std::getenv("CIRCUMPLEX_PREP_STOP_AFTER"); stop && *stop) {
    o.stop_after = static_cast<std::size_t>(std::strtoull(stop, nullptr, 10));
  }

  const prep::PrepSummary s = prep::run_prep(o);
  if (s.interrupted) {
    std::fprintf(stderr, "circumplex prep: stopped after %zu rows (CIRCUMPLEX_PREP_STOP_AFTER); rerun to resume\n",
                 s.processed);
    return 1;
  }
  std::printf("circumplex prep: %s", prep::format_summary(s, o).c_str());
  std::printf(
      "wrote %s/labels.csv (%zu images), %s/rejects.csv, %s/summary.json%s\n", o.out_dir.c_str(), s.kept,
      o.out_dir.c_str(), o.out_dir.c_str(),
      o.class_weights ? (", " + o.out_dir + "/class_weights.json, " + o.out_dir + "/class_weights.npy").c_str() : "");
  return 0;
}

}  // namespace circumplex::cli
