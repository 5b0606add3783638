#include "study_report.hpp"

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "circumplex/error.hpp"
#include "circumplex/files.hpp"
#include "common/csv.hpp"
#include "plot/chart.hpp"
#include "plot/plot.hpp"
#include "study.hpp"
#include "study_db.hpp"

namespace circumplex::tools {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
/// C2A2's expert means (2D AV, 3D C2A2) for the classes whose numbers we hold (shared/design.md).
const std::map<std::string, std::pair<double, double>> kC2a2 = {
    {"happily-sad", {3.12, 4.18}}, {"angrily-disgusted", {2.17, 4.73}}, {"happy", {4.28, 3.90}}};

std::string fixed(double v, int digits = 2) {
  if (!std::isfinite(v)) return "n/a";
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << v;
  return s.str();
}

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

/// "2D", "3D", "=" or "" (no comparison possible).
std::string better(const StudyClassRow& r) {
  if (r.votes[0] == 0 || r.votes[1] == 0) return "";
  if (std::abs(r.mean[0] - r.mean[1]) < 0.005) return "=";
  return r.mean[0] > r.mean[1] ? "2D" : "3D";
}

void write_outputs(const StudyReport& rep, const std::string& out, const std::string& raters) {
  fs::create_directories(out);
  // CSV
  std::string csv = "class,mean_2d,votes_2d,mean_3d,votes_3d,better,c2a2_2d,c2a2_3d\r\n";
  for (const StudyClassRow& r : rep.rows) {
    csv += csv_join({r.cls, fixed(r.mean[0], 3), std::to_string(r.votes[0]), fixed(r.mean[1], 3), std::to_string(r.votes[1]), better(r),
                     r.c2a2[0] ? fixed(*r.c2a2[0]) : "", r.c2a2[1] ? fixed(*r.c2a2[1]) : ""}) + "\r\n";
  }
  csv += csv_join({"overall", fixed(rep.overall[0], 3), std::to_string(rep.votes[0]), fixed(rep.overall[1], 3), std::to_string(rep.votes[1]), "", "", ""}) + "\r\n";
  write_file_atomic(out + "/report.csv", csv);
  // Markdown: C2A2's Table 1 layout, the better mean in bold.
  std::ostringstream md;
  md << "# circumplex study report (raters: " << raters << ")\n\n"
     << rep.raters << " rater(s); " << rep.votes[0] << " votes on " << rep.images_rated[0] << " images of the 2D set, " << rep.votes[1] << " votes on "
     << rep.images_rated[1] << " images of the 3D set. Scores 1-5; each image counted under its nearest C2A2 class.\n\n"
     << "| class | 2D (votes) | 3D (votes) | C2A2 2D | C2A2 3D |\n|---|---|---|---|---|\n";
  auto cell = [](const StudyClassRow& r, int k, bool bold) {
    if (r.votes[k] == 0) return std::string("—");
    const std::string m = fixed(r.mean[k]);
    return (bold ? "**" + m + "**" : m) + " (" + std::to_string(r.votes[k]) + ")";
  };
  for (const StudyClassRow& r : rep.rows) {
    const std::string b = better(r);
    md << "| " << r.cls << " | " << cell(r, 0, b == "2D") << " | " << cell(r, 1, b == "3D") << " | " << (r.c2a2[0] ? fixed(*r.c2a2[0]) : "")
       << " | " << (r.c2a2[1] ? fixed(*r.c2a2[1]) : "") << " |\n";
  }
  md << "| **overall** | " << fixed(rep.overall[0]) << " (" << rep.votes[0] << ") | " << fixed(rep.overall[1]) << " (" << rep.votes[1] << ") | | |\n\n"
     << "Krippendorff's α (interval): 2D " << fixed(rep.alpha[0], 3) << ", 3D " << fixed(rep.alpha[1], 3)
     << " (n/a: fewer than two raters on any image, or no variation).\n\n![mean score per class](by_class.png)\n";
  write_file_atomic(out + "/report.md", md.str());
  // JSON
  json rows = json::array();
  for (const StudyClassRow& r : rep.rows) {
    rows.push_back({{"class", r.cls}, {"mean_2d", number_or_null(r.mean[0])}, {"votes_2d", r.votes[0]}, {"mean_3d", number_or_null(r.mean[1])},
                    {"votes_3d", r.votes[1]}, {"better", better(r)}, {"c2a2_2d", r.c2a2[0] ? json(*r.c2a2[0]) : json(nullptr)},
                    {"c2a2_3d", r.c2a2[1] ? json(*r.c2a2[1]) : json(nullptr)}});
  }
  const json j = {{"raters", raters}, {"rater_count", rep.raters}, {"sets", rep.sets}, {"classes", rows},
                  {"overall", {{"2d", number_or_null(rep.overall[0])}, {"3d", number_or_null(rep.overall[1])}}},
                  {"votes", {{"2d", rep.votes[0]}, {"3d", rep.votes[1]}}},
                  {"alpha_interval", {{"2d", number_or_null(rep.alpha[0])}, {"3d", number_or_null(rep.alpha[1])}}}};
  write_file_atomic(out + "/report.json", j.dump(1) + "\n");
  // Chart
  std::vector<std::string> names;
  plot::Series s2{"2D valence-arousal", {}, {}, {200, 140, 60}}, s3{"3D C2A2", {}, {}, {60, 120, 230}};
  for (const StudyClassRow& r : rep.rows) {
    names.push_back(r.cls);
    s2.y.push_back(r.votes[0] ? r.mean[0] : NAN);
    s3.y.push_back(r.votes[1] ? r.mean[1] : NAN);
  }
  std::vector<plot::Series> series{s2};
  if (rep.sets.size() > 1) series.push_back(s3);
  plot::write_image_atomic(out + "/by_class.png", plot::bar_chart("Mean rating per class (" + raters + ")", "mean score (1-5)", names, series, 1.0, 5.0));
}
}  // namespace

double krippendorff_alpha_interval(const std::vector<std::vector<double>>& units) {
  // Coincidence form: D_o from pairs within units (each weighted 1/(m_u − 1)), D_e from all
  // pairs of pairable values; Σ_{i≠j}(x_i − x_j)² = 2(m·Σx² − (Σx)²).
  double n = 0, observed = 0, sum = 0, sum_sq = 0;
  for (const auto& u : units) {
    if (u.size() < 2) continue;
    const double m = static_cast<double>(u.size());
    double s = 0, q = 0;
    for (double x : u) s += x, q += x * x;
    observed += 2.0 * (m * q - s * s) / (m - 1.0);
    n += m, sum += s, sum_sq += q;
  }
  if (n < 2) return NAN;
  const double d_o = observed / n, d_e = 2.0 * (n * sum_sq - sum * sum) / (n * (n - 1.0));
  if (d_e <= 0) return NAN;
  return 1.0 - d_o / d_e;
}

int judge_score(double d) { return static_cast<int>(std::clamp(std::lround(5.0 - 4.0 * d), 1L, 5L)); }

StudyReport report_study(const ReportOptions& opt) {
  if (opt.raters != "all" && opt.raters != "humans" && opt.raters != "judge") throw Error(ErrorKind::InvalidArgument, "--raters must be all, humans or judge");
  const Study study = load_study(opt.study);
  StudyDb db(opt.db);
  std::map<std::string, RaterKind> kinds;
  for (const Rater& r : db.raters()) kinds[r.token] = r.kind;
  StudyReport rep;
  rep.sets = study.sets;
  const std::vector<std::string> classes = c2a2_classes();
  std::map<std::string, std::size_t> row_of;
  for (const std::string& c : classes) {
    row_of[c] = rep.rows.size();
    StudyClassRow r;
    r.cls = c;
    if (const auto it = kC2a2.find(c); it != kC2a2.end()) r.c2a2[0] = it->second.first, r.c2a2[1] = it->second.second;
    rep.rows.push_back(r);
  }
  std::map<std::string, std::vector<double>> by_image;
  std::set<std::string> raters;
  double sums[2] = {0, 0};
  for (const Vote& v : db.votes()) {
    const StudyImage* im = study.find(v.image);
    if (!im) continue;  // a vote on an image of another study
    const RaterKind kind = kinds.at(v.rater);
    if ((opt.raters == "humans" && kind != RaterKind::Human) || (opt.raters == "judge" && kind != RaterKind::Judge)) continue;
    const int k = im->set == "3d" ? 1 : 0;
    StudyClassRow& r = rep.rows[row_of.at(im->cls)];
    r.mean[k] += v.score, r.votes[k] += 1;
    sums[k] += v.score, rep.votes[k] += 1;
    by_image[v.image].push_back(v.score);
    raters.insert(v.rater);
  }
  for (StudyClassRow& r : rep.rows) {
    for (int k = 0; k < 2; ++k) r.mean[k] = r.votes[k] ? r.mean[k] / r.votes[k] : NAN;
  }
  for (int k = 0; k < 2; ++k) {
    rep.overall[k] = rep.votes[k] ? sums[k] / rep.votes[k] : NAN;
    std::vector<std::vector<double>> units;
    for (const auto& [image, scores] : by_image) {
      if (study.find(image)->set == (k ? "3d" : "2d")) units.push_back(scores), ++rep.images_rated[k];
    }
    rep.alpha[k] = krippendorff_alpha_interval(units);
  }
  rep.raters = static_cast<int>(raters.size());
  write_outputs(rep, opt.out, opt.raters);
  return rep;
}

}  // namespace circumplex::tools
