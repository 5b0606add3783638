// `circumplex study make|serve|rate|report`: C2A2's expert rating study on your own model.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "args.hpp"
#include "study/study.hpp"
#include "study/study_report.hpp"
#include "study/study_server.hpp"
#include "verbs.hpp"

namespace circumplex::cli {

namespace {
const char* kUsage =
    "Usage: circumplex study make   --model PKG --out DIR [--seed S] [--parts N] [--per-part N] [--identities K]\n"
    "       circumplex study serve  --study DIR --db FILE [--host 127.0.0.1] [--port 8080]\n"
    "       circumplex study rate   --study DIR --db FILE --judge JUDGE\n"
    "       circumplex study report --study DIR --db FILE --out DIR [--raters all|humans|judge]\n\n"
    "C2A2's expert study: raters score generated faces 1-5 for how well each shows its emotion class,\n"
    "once for faces made in the 2D valence-arousal plane and once in the 3D C2A2 ball.\n"
    "  make    renders both sets (315 images each: 5 parts of 63 over the 20 C2A2 classes, several\n"
    "          identities and intensities), study.json and a contact sheet per part; same seed, same study\n"
    "  serve   the rating pages (start, 2D, 3D with a rotatable ball) and the JSON API over HTTP; votes\n"
    "          go to SQLite, committed before each reply; prints the address and the admin token\n"
    "  rate    the judge as an automatic rater: score = clamp(round(5 - 4 d), 1, 5), d = distance of the\n"
    "          judged point from the asked one; stored as rater \"judge\" (reruns add only missing votes)\n"
    "  report  C2A2's Table 1: mean score per class for 2D and 3D, the better marked, vote counts,\n"
    "          Krippendorff's alpha (interval) per set; report.md/.csv/.json and by_class.png\n\n";

int run_make(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--model", "PKG", "model package (required; a 3D package gives both sets, a 2D one the 2d set)"},
      {"--out", "DIR", "study folder to write (required)"},
      {"--seed", "S", "order and identities (default 1)"},
      {"--parts", "N", "parts per set, 1..20 (default 5)"},
      {"--per-part", "N", "images per part, 1..1000 (default 63)"},
      {"--identities", "K", "identities of the model's prior, 1..1000 (default 7)"},
      {"--threads", "N", "LibTorch threads (default 2)"},
  };
  const Args args(argc, argv, 2, options);
  if (args.help()) return std::printf("%s%s", kUsage, format_options(options).c_str()), 0;
  if (!args.has("--model") || !args.has("--out")) throw UsageError("study make needs --model and --out");
  tools::StudyMakeOptions opt;
  opt.model = *args.get("--model");
  opt.out = *args.get("--out");
  opt.seed = static_cast<std::uint64_t>(args.integer_or("--seed", 1, 0, 2147483647));
  opt.parts = static_cast<int>(args.integer_or("--parts", 5, 1, 20));
  opt.per_part = static_cast<int>(args.integer_or("--per-part", 63, 1, 1000));
  opt.identities = static_cast<int>(args.integer_or("--identities", 7, 1, 1000));
  opt.threads = static_cast<int>(args.integer_or("--threads", 2, 1, 256));
  const tools::Study s = tools::make_study(opt);
  std::printf("study make: %zu images (%zu set(s) x %d parts x %d) in %s (study.json, contact_*.png)\n", s.images.size(), s.sets.size(), s.parts,
              s.per_part, s.dir.c_str());
  return 0;
}

int run_serve(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--study", "DIR", "study folder from `study make` (required)"},
      {"--db", "FILE", "SQLite file for raters and votes, created when missing (required)"},
      {"--host", "ADDR", "address to bind (default 127.0.0.1; anything else prints a warning)"},
      {"--port", "N", "port, 0 = any free port (default 8080)"},
      {"--three", "FILE", "three.min.js to serve (default Debian's libjs-three)"},
  };
  const Args args(argc, argv, 2, options);
  if (args.help()) return std::printf("%s%s", kUsage, format_options(options).c_str()), 0;
  if (!args.has("--study") || !args.has("--db")) throw UsageError("study serve needs --study and --db");
  tools::ServeOptions opt;
  opt.study = *args.get("--study");
  opt.db = *args.get("--db");
  opt.host = args.get_or("--host", opt.host);
  opt.port = static_cast<int>(args.integer_or("--port", 8080, 0, 65535));
  opt.three_js = args.get_or("--three", opt.three_js);
  return tools::serve_study(opt);
}

int run_rate(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--study", "DIR", "study folder (required)"},
      {"--db", "FILE", "SQLite file (required)"},
      {"--judge", "JUDGE", "judge package (required)"},
      {"--threads", "N", "LibTorch threads (default 2)"},
  };
  const Args args(argc, argv, 2, options);
  if (args.help()) return std::printf("%s%s", kUsage, format_options(options).c_str()), 0;
  if (!args.has("--study") || !args.has("--db") || !args.has("--judge")) throw UsageError("study rate needs --study, --db and --judge");
  const int added = tools::rate_study({*args.get("--study"), *args.get("--db"), *args.get("--judge"),
                                       static_cast<int>(args.integer_or("--threads", 2, 1, 256))});
  std::printf("study rate: %d judge vote(s) added\n", added);
  return 0;
}

int run_report(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--study", "DIR", "study folder (required)"},
      {"--db", "FILE", "SQLite file (required)"},
      {"--out", "DIR", "where report.md/.csv/.json and by_class.png go (required)"},
      {"--raters", "WHO", "all, humans or judge (default all)"},
  };
  const Args args(argc, argv, 2, options);
  if (args.help()) return std::printf("%s%s", kUsage, format_options(options).c_str()), 0;
  if (!args.has("--study") || !args.has("--db") || !args.has("--out")) throw UsageError("study report needs --study, --db and --out");
  const std::string raters = args.get_or("--raters", "all");
  if (raters != "all" && raters != "humans" && raters != "judge") throw UsageError("--raters must be all, humans or judge");
  const tools::StudyReport r = tools::report_study({*args.get("--study"), *args.get("--db"), *args.get("--out"), raters});
  std::printf("study report (%s): overall 2D %.2f (%d votes), 3D %.2f (%d votes); alpha 2D %.3f, 3D %.3f -> %s/report.md\n", raters.c_str(),
              r.overall[0], r.votes[0], r.overall[1], r.votes[1], r.alpha[0], r.alpha[1], args.get("--out")->c_str());
  return 0;
}
}  // namespace

int run_study(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::printf("%s", kUsage);
    return argc < 2 ? 2 : 0;
  }
  const std::string sub = argv[1];
  if (sub == "make") return run_make(argc, argv);
  if (sub == "serve") return run_serve(argc, argv);
  if (sub == "rate") return run_rate(argc, argv);
  if (sub == "report") return run_report(argc, argv);
  throw UsageError("unknown study command '" + sub + "' (make, serve, rate or report)");
}

}  // namespace circumplex::cli
