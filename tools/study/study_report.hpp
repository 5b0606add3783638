// tools/study/study_report.hpp — `circumplex study report` and `circumplex study rate`.
//
// report: C2A2's Table 1 for a study's votes — per class (the 20 C2A2 classes, each image
// counted under its nearest class) the mean 1–5 score in the 2D set and in the 3D set, the
// better one marked, vote counts, the overall means, and Krippendorff's α (interval metric)
// per set as the raters' agreement; C2A2's published numbers stand beside ours where the
// class has them. Written as report.md, report.csv, report.json and by_class.png.
//
// rate: the judge as an automatic rater, so the 2D-vs-3D question has a machine answer before
// people rate. For each image the judge reads the face's point; the score is
//     score = clamp(round(5 − 4·d), 1, 5),  d = |judged − asked|
// in the dimensions the judge reads (v, a, and z when the judge was trained on 3D faces): 5 for
// d < 0.125, 4 below 0.375, 3 below 0.625, 2 below 0.875, else 1. Its votes are stored under a
// rater named "judge" (token "judge:" + the judge's weight fingerprint); a rerun adds only the
// votes that are missing.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace circumplex::tools {

/// Krippendorff's α with the interval metric. `units[u]` holds the values unit u received
/// (one per rater who rated it); units with fewer than two values are not pairable and are
/// left out. NaN when no pair exists or every value is the same (α is undefined then).
double krippendorff_alpha_interval(const std::vector<std::vector<double>>& units);

/// The judge's score for a judged point at distance `d` from the asked point (see above).
int judge_score(double d);

struct StudyClassRow {
  std::string cls;
  double mean[2] = {0, 0};  ///< 2D, 3D (NaN without votes)
  int votes[2] = {0, 0};
  std::optional<double> c2a2[2];  ///< C2A2's published expert means, where known
};

struct StudyReport {
  std::vector<StudyClassRow> rows;  ///< the 20 C2A2 classes in atlas order
  double overall[2] = {0, 0};
  int votes[2] = {0, 0}, images_rated[2] = {0, 0};
  double alpha[2] = {0, 0};  ///< NaN when undefined (e.g. one rater)
  int raters = 0;
  std::vector<std::string> sets;
};

struct ReportOptions {
  std::string study, db, out;
  std::string raters = "all";  ///< all | humans | judge
};

/// Computes the report from the database and writes its files into `out`.
StudyReport report_study(const ReportOptions& options);

struct RateOptions {
  std::string study, db, judge;
  int threads = 2;
};

/// Rates every image of the study with the judge; returns the number of votes added.
int rate_study(const RateOptions& options);

}  // namespace circumplex::tools
