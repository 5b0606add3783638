#include "evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <opencv2/imgproc.hpp>
#include <set>

#include "circumplex/assets.hpp"
#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"
#include "circumplex/expression.hpp"
#include "circumplex/judge.hpp"
#include "circumplex/model_package.hpp"
#include "circumplex/paths.hpp"
#include "map/stats.hpp"
#include "circumplex/torch_compat.hpp"
#include "circumplex/weights.hpp"
#include "common/csv.hpp"
#include "circumplex/files.hpp"
#include "common/progress.hpp"
#include "affect_ceiling.hpp"
#include "ground_truth.hpp"
#include "judge_data.hpp"
#include "judge_metrics.hpp"
#include "plot/chart.hpp"
#include "plot/plot.hpp"
#include "train/dataset.hpp"

namespace circumplex::tools {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// circumplex's targets for the default model.
constexpr double kR2Valence = 0.95, kR2Arousal = 0.90, kQuadrant = 0.95, kMaxCos = 1e-6, kPsnr = 26.0, kGridMae = 0.10, kDrift = 0.05;
// Against the renderer's own faces (ground_truth.hpp).
constexpr double kMaeRatio = 1.25, kDriftRatio = 1.25, kTruthPsnr = 26.0, kSharpnessRatio = 0.7, kEmotionGap = 0.05;
constexpr int kGridSteps = 7;
constexpr double kDriftMinR2 = 0.5;  // identity factors the judge reads at least this well enter the drift
const cv::Scalar kInk(40, 40, 40), kMuted(120, 120, 120), kPaper(252, 250, 248), kAsked(150, 150, 150), kJudged(190, 90, 30);

double nan() { return std::numeric_limits<double>::quiet_NaN(); }
json finite_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

// The model's VAE, run directly in batches (the Generator works one image at a time for encode),
// on `device`; what it returns is host memory.
class Vae {
 public:
  Vae(const ModelPackage& pkg, torch::Device device) : vae_(pkg.config()), device_(device) {
    assign_module_tensors(*vae_, pkg.weights(), pkg.dir() + "/weights");
    vae_->to(device_);
    vae_->eval();
  }
  // latents → images [N, 3, S, S] in [0, 1], quantised to 8 bits as Generator's frames are.
  torch::Tensor decode(const std::vector<std::vector<float>>& latents) {
    torch_compat::InferenceGuard guard;
    const auto n = static_cast<std::int64_t>(latents.size());
    torch::Tensor z = torch::empty({n, vae_->config().latent});
    for (std::int64_t i = 0; i < n; ++i) {
      std::copy(latents[static_cast<std::size_t>(i)].begin(), latents[static_cast<std::size_t>(i)].end(), z[i].data_ptr<float>());
    }
    std::vector<torch::Tensor> parts;
    for (std::int64_t lo = 0; lo < n; lo += 32) {
      parts.push_back(vae_->decoder->forward(z.narrow(0, lo, std::min<std::int64_t>(32, n - lo)).to(device_)).to(torch::kCPU));
    }
    return quantise(torch::cat(parts, 0));
  }
  // images → latent means [N, D] (float64).
  torch::Tensor encode(const torch::Tensor& images) {
    torch_compat::InferenceGuard guard;
    return vae_->encoder->forward(images.to(device_)).first.to(torch::kCPU).to(torch::kFloat64);
  }
  torch::Tensor decode_means(const torch::Tensor& mu) {
    torch_compat::InferenceGuard guard;
    return quantise(vae_->decoder->forward(mu.to(torch::kFloat32).to(device_)).to(torch::kCPU));
  }

 private:
  static torch::Tensor quantise(const torch::Tensor& x) { return x.mul(255.0).round_().clamp_(0, 255).div_(255.0).contiguous(); }
  BetaVae vae_;
  torch::Device device_;
};

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

// The report's per-emotion table from ground_truth.per_emotion: how often each maker's faces
// were read as the asked emotion, where on average, and what the model's were read as instead.
std::string emotion_table(const json& per_emotion) {
  const auto point = [](const json& p) { return "(" + fmt("%.2f", p[0].get<double>()) + ", " + fmt("%.2f", p[1].get<double>()) + ")"; };
  std::string md =
      "| emotion | asked (v, a) | model | judged at | most often mistaken for | renderer | judged at |\n|---|---|---|---|---|---|---|\n";
  for (const auto& [name, e] : per_emotion.items()) {
    std::vector<std::pair<double, std::string>> mistaken;
    for (const auto& [other, fraction] : e["model"]["mistaken_for"].items()) mistaken.emplace_back(fraction.get<double>(), other);
    std::sort(mistaken.rbegin(), mistaken.rend());
    std::string instead;
    for (std::size_t i = 0; i < std::min<std::size_t>(2, mistaken.size()); ++i) {
      instead += (i ? ", " : "") + mistaken[i].second + " " + fmt("%.2f", mistaken[i].first);
    }
    if (instead.empty()) instead = "none";
    md += "| " + name + " | " + point(e["asked"]) + " | " + fmt("%.2f", e["model_accuracy"].get<double>()) + " | " + point(e["model"]["judged"]) +
          " | " + instead + " | " + fmt("%.2f", e["renderer_accuracy"].get<double>()) + " | " + point(e["renderer"]["judged"]) + " |\n";
  }
  return md;
}

// The identity_seed column of a data folder's labels.csv (empty when it has none).
std::set<std::string> identity_seeds(const std::string& dir) {
  std::set<std::string> out;
  const fs::path path = fs::path(dir) / "labels.csv";
  if (!fs::exists(path)) return out;
  const std::string text = read_text_file(path.string());
  CsvReader csv(text, path.string());
  std::vector<std::string> row;
  if (!csv.next(row)) return out;
  const auto it = std::find(row.begin(), row.end(), "identity_seed");
  if (it == row.end()) return out;
  const auto col = static_cast<std::size_t>(it - row.begin());
  while (csv.next(row)) {
    if (col < row.size()) out.insert(row[col]);
  }
  return out;
}

// Loads the listed splits of a folder that exist (at most `limit` images each).
std::vector<ImageSet> load_splits(const std::string& dir, const std::vector<std::string>& splits, std::int64_t limit) {
  std::vector<ImageSet> out;
  for (const auto& s : splits) {
    try {
      out.push_back(ImageSet::load(dir, s, limit));
    } catch (const Error& e) {
      if (std::string(e.what()).find("no images in split") == std::string::npos) throw;
    }
  }
  return out;
}

struct Reconstruction {
  double mse_sum = 0, psnr_sum = 0;
  std::int64_t images = 0;
  double psnr() const { return psnr_db(mse_sum / static_cast<double>(std::max<std::int64_t>(1, images))); }
  double mean_psnr() const { return images ? psnr_sum / static_cast<double>(images) : nan(); }
};

// Encodes a set in batches; adds its reconstruction errors; returns the latent means.
stats::Matrix encode_set(Vae& vae, const ImageSet& set, Reconstruction& rec, Progress& bar) {
  stats::Matrix z;
  for (std::int64_t lo = 0; lo < set.size(); lo += 64) {
    std::vector<std::int64_t> idx(static_cast<std::size_t>(std::min<std::int64_t>(64, set.size() - lo)));
    std::iota(idx.begin(), idx.end(), lo);
    const torch::Tensor x = set.batch(idx);
    const torch::Tensor mu = vae.encode(x).contiguous();
    if (z.rows() == 0) z = stats::Matrix(static_cast<std::size_t>(set.size()), static_cast<std::size_t>(mu.size(1)));
    const torch::Tensor err = (vae.decode_means(mu) - x).pow(2).flatten(1).mean(1).to(torch::kFloat64).contiguous();
    for (std::size_t i = 0; i < idx.size(); ++i) {
      const double* row = mu.data_ptr<double>() + i * z.cols();
      std::copy(row, row + z.cols(), z.row(static_cast<std::size_t>(idx[i])));
      const double e = err[static_cast<std::int64_t>(i)].item<double>();
      rec.mse_sum += e;
      rec.psnr_sum += psnr_db(e);
      ++rec.images;
    }
    bar.advance(idx.size());
  }
  return z;
}

// The circumplex panel: asked points, arrows to the mean judged point, each identity's reading.
cv::Mat circumplex_panel(const std::vector<AffectPoint>& asked, const std::vector<std::vector<AffectPoint>>& judged, double mae) {
  const int S = 620, m = 60;
  cv::Mat img(S, S, CV_8UC3, kPaper);
  const double half = (S - 2 * m) / 2.0 / 1.15;
  const cv::Point2d c(S / 2.0, S / 2.0 + 10);
  auto px = [&](double v, double a) { return cv::Point2d(c.x + v * half, c.y - a * half); };
  auto ip = [](cv::Point2d p) { return cv::Point(cvRound(p.x), cvRound(p.y)); };
  cv::circle(img, ip(c), cvRound(half), cv::Scalar(200, 200, 200), 1, cv::LINE_AA);
  cv::line(img, ip(px(-1.15, 0)), ip(px(1.15, 0)), cv::Scalar(215, 215, 215), 1, cv::LINE_AA);
  cv::line(img, ip(px(0, -1.15)), ip(px(0, 1.15)), cv::Scalar(215, 215, 215), 1, cv::LINE_AA);
  plot::draw_text(img, "asked (grey) -> judged (blue), mean over identities", {14, 10}, 0.5, kInk, 1);
  plot::draw_text(img, "grid MAE (v, a) = " + fmt("%.3f", mae), {14, 34}, 0.5, kInk, 1);
  plot::draw_text(img, "valence", {S - m - 40, cvRound(c.y) + 6}, 0.45, kMuted);
  plot::draw_text(img, "arousal", {cvRound(c.x) + 6, m - 4}, 0.45, kMuted);
  for (std::size_t i = 0; i < asked.size(); ++i) {
    double mv = 0, ma = 0;
    for (const auto& id : judged) {
      cv::circle(img, ip(px(std::clamp(id[i].v, -1.2, 1.2), std::clamp(id[i].a, -1.2, 1.2))), 1, cv::Scalar(235, 200, 170), cv::FILLED, cv::LINE_AA);
      mv += id[i].v / static_cast<double>(judged.size());
      ma += id[i].a / static_cast<double>(judged.size());
    }
    const cv::Point2d from = px(asked[i].v, asked[i].a), to = px(std::clamp(mv, -1.2, 1.2), std::clamp(ma, -1.2, 1.2));
    cv::circle(img, ip(from), 3, kAsked, cv::FILLED, cv::LINE_AA);
    plot::draw_arrow(img, from, to, kJudged, 1);
  }
  return img;
}

// Identity 0's grid of faces with the judged (v, a) under each.
cv::Mat faces_panel(const std::vector<cv::Mat>& faces, const std::vector<AffectPoint>& judged, int height) {
  const int cell = 72, label = 16, gap = 4, top = 40;
  const int W = 20 + kGridSteps * (cell + gap), H = std::max(height, top + kGridSteps * (cell + label + gap) + 10);
  cv::Mat img(H, W, CV_8UC3, kPaper);
  plot::draw_text(img, "identity 1: judged (v, a) under each face", {10, 10}, 0.5, kInk, 1);
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const int row = static_cast<int>(i) / kGridSteps, col = static_cast<int>(i) % kGridSteps;
    const cv::Rect r(10 + col * (cell + gap), top + row * (cell + label + gap), cell, cell);
    cv::Mat f;
    cv::resize(faces[i], f, {cell, cell}, 0, 0, faces[i].cols > cell ? cv::INTER_AREA : cv::INTER_CUBIC);
    f.copyTo(img(r));
    plot::draw_text(img, fmt("%+.2f", judged[i].v) + fmt(" %+.2f", judged[i].a), {r.x, r.y + cell + 1}, 0.33, kInk);
  }
  return img;
}

}  // namespace

namespace {
// A judge that trained the model (its read-back reader) would grade its own lessons, and one
// that is the model's own affect head would grade its own answers.
void refuse_reader_as_judge(const ModelPackage& pkg, const JudgePackage& jpkg) {
  const json manifest = json::parse(pkg.manifest_json());
  const json provenance = manifest.value("provenance", json::object());
  const std::string fingerprint = tensors_fingerprint(jpkg.weights());
  if (provenance.value("reader_fingerprint", std::string()) == fingerprint) {
    throw Error(ErrorKind::InvalidArgument, jpkg.dir() + ": this judge (weights " + fingerprint + ") was the read-back reader in training " + pkg.dir() +
                                                "; evaluate with an independent judge (another seed and other people)");
  }
  bool is_head = provenance.value("affect_head_fingerprint", std::string()) == fingerprint;
  if (provenance.contains("affect_head_fingerprints") && provenance["affect_head_fingerprints"].is_array()) {
    for (const json& f : provenance["affect_head_fingerprints"]) is_head = is_head || (f.is_string() && f.get<std::string>() == fingerprint);
  }
  if (is_head) {
    throw Error(ErrorKind::InvalidArgument, jpkg.dir() + ": this judge (weights " + fingerprint + ") is the affect head of " + pkg.dir() +
                                                "; evaluate with an independent judge (another seed and other people)");
  }
  const json training = json::parse(jpkg.manifest_json()).value("training", json::object());
  if (training.contains("identity_weight") && training["identity_weight"].is_number() && training["identity_weight"].get<double>() == 0.0) {
    throw Error(ErrorKind::InvalidArgument, jpkg.dir() + ": this judge was trained with --identity-weight 0, so its identity outputs are "
                                                "untrained and cannot measure identity drift; evaluate with a judge trained on them");
  }
}
}  // namespace

FreshSpec check_packages(const std::string& model, const std::string& judge) {
  const ModelPackage pkg = ModelPackage::load(model);
  refuse_reader_as_judge(pkg, JudgePackage::load(judge));
  return {pkg.config().image_size, pkg.manifold().space() == Space::Ball ? "3d" : "2d"};
}

namespace {

// The identity factors identity drift is measured on: those the judge reads with held-out
// R² ≥ kDriftMinR2 (every factor it predicts for a barely trained judge, with a warning).
struct DriftFactors {
  std::vector<int> outputs;
  std::vector<std::string> names;
};

DriftFactors choose_drift_factors(const JudgePackage& jpkg, const json& judge_manifest, json& warnings) {
  DriftFactors d;
  const std::vector<int> id_outputs = jpkg.group("identity");
  for (int j : id_outputs) {
    const JudgeOutput& o = jpkg.outputs()[static_cast<std::size_t>(j)];
    if (o.constant) continue;
    const json* r2 = nullptr;
    if (judge_manifest.contains("metrics") && judge_manifest["metrics"].contains("r2_identity") && judge_manifest["metrics"]["r2_identity"].contains(o.name)) {
      r2 = &judge_manifest["metrics"]["r2_identity"][o.name];
    }
    if (r2 && (!r2->is_number() || r2->get<double>() < kDriftMinR2)) continue;
    d.outputs.push_back(j);
    d.names.push_back(o.name);
  }
  if (d.outputs.empty()) {
    warnings.push_back("the judge reads no identity factor with held-out R2 >= 0.5; identity drift uses every factor and means little");
    for (int j : id_outputs) {
      if (jpkg.outputs()[static_cast<std::size_t>(j)].constant) continue;
      d.outputs.push_back(j);
      d.names.push_back(jpkg.outputs()[static_cast<std::size_t>(j)].name);
    }
  }
  return d;
}

// The 7×7 grid and the neutral → emotion sweeps of K seeded identities, judged.
struct GridSweeps {
  std::vector<AffectPoint> grid;
  std::vector<const Emotion*> emotions;
  std::vector<std::vector<AffectPoint>> grid_judged;   // per identity, per grid point
  std::vector<std::vector<double>> sweep_mean;         // per emotion, per step (mean over identities)
  std::vector<cv::Mat> first_faces;                    // identity 0's grid
  double mae_v = 0, mae_a = 0, mae_va = 0, mean_distance = 0, au_mae = nan();
  std::size_t faces = 0;
  DriftResult drift;
  double mono = 0, rho = 0;
  json per_emotion = json::object();
};

GridSweeps judge_grid_and_sweeps(const EvaluateOptions& opt, const ModelPackage& pkg, Vae& vae, Judge& judge, const DriftFactors& drift_factors) {
  const JudgePackage& jpkg = judge.package();
  const Manifold& manifold = pkg.manifold();
  const Space space = manifold.space();
  const int iv = 0, ia = 1, iz = 2;
  const bool judge_z = !jpkg.outputs()[2].constant;
  GridSweeps r;
  std::vector<AffectPoint>& grid = r.grid;
  std::vector<const Emotion*>& emotions = r.emotions;
  for (int row = 0; row < kGridSteps; ++row) {
    for (int col = 0; col < kGridSteps; ++col) {
      const AffectPoint p{-1.0 + 2.0 * col / (kGridSteps - 1), 1.0 - 2.0 * row / (kGridSteps - 1), 0.0};
      grid.push_back(clamp_to_unit(p, Space::Plane));
    }
  }
  const Atlas& atlas = Atlas::builtin();
  for (const Emotion& e : atlas.emotions()) {
    if (e.kind == EmotionKind::Basic && e.name != "neutral") emotions.push_back(&e);
  }
  std::vector<std::vector<AffectPoint>> sweep_points;  // per emotion
  std::vector<AffectPoint> sweep_dirs;
  for (const Emotion* e : emotions) {
    const auto path = emotion_axis(atlas, e->name, 1.0, 1.0, space);
    std::vector<AffectPoint> pts;
    for (int i = 0; i < opt.sweep_steps; ++i) pts.push_back(path->at(static_cast<double>(i) / (opt.sweep_steps - 1)));
    sweep_points.push_back(pts);
    AffectPoint d = pts.back();
    if (space == Space::Plane || !judge_z) d.z = 0.0;
    sweep_dirs.push_back(direction(d, Space::Ball));
  }

  const std::vector<int>& drift_outputs = drift_factors.outputs;
  const ExpressionModel& expression = ExpressionModel::builtin();
  const std::vector<int> au_outputs = jpkg.group("au");
  std::vector<std::vector<AffectPoint>>& grid_judged = r.grid_judged;
  grid_judged.resize(static_cast<std::size_t>(opt.identities));
  std::vector<std::vector<std::vector<double>>> drift_readings(static_cast<std::size_t>(opt.identities));
  std::vector<std::vector<double>> sweep_fraction(emotions.size()), sweep_rho(emotions.size());
  std::vector<std::vector<double>>& sweep_mean = r.sweep_mean;
  sweep_mean.assign(emotions.size(), std::vector<double>(static_cast<std::size_t>(opt.sweep_steps), 0.0));
  std::vector<cv::Mat>& first_faces = r.first_faces;
  double abs_v = 0, abs_a = 0, dist = 0, au_abs = 0;
  std::size_t grid_faces = 0, au_count = 0;
  {
    Progress bar("evaluate: grid + sweeps", static_cast<std::uint64_t>(opt.identities), "identity");
    for (int k = 0; k < opt.identities; ++k) {
      const auto ks = static_cast<std::size_t>(k);
      const std::vector<float> identity = pkg.identity_from_seed(opt.seed + static_cast<std::uint64_t>(k));
      std::vector<std::vector<float>> latents;
      for (const AffectPoint& p : grid) latents.push_back(manifold.compose(identity, p));
      for (const auto& pts : sweep_points) {
        for (const AffectPoint& p : pts) latents.push_back(manifold.compose(identity, p));
      }
      const torch::Tensor images = vae.decode(latents);
      const torch::Tensor pred = judge.predict(images).to(torch::kFloat64).contiguous();
      const auto acc = pred.accessor<double, 2>();
      auto at = [&](std::size_t face, int out) { return acc[static_cast<std::int64_t>(face)][out]; };
      for (std::size_t i = 0; i < grid.size(); ++i) {
        const AffectPoint j{at(i, iv), at(i, ia), judge_z ? at(i, iz) : 0.0};
        grid_judged[ks].push_back(j);
        abs_v += std::fabs(j.v - grid[i].v);
        abs_a += std::fabs(j.a - grid[i].a);
        dist += std::hypot(j.v - grid[i].v, j.a - grid[i].a);
        ++grid_faces;
        const AuVector aus = expression.action_units(grid[i], Space::Plane);
        for (std::size_t u = 0; u < au_outputs.size() && u < aus.size(); ++u) {
          au_abs += std::fabs(at(i, au_outputs[u]) - static_cast<double>(aus[u]));
          ++au_count;
        }
        std::vector<double> reading;
        for (int f : drift_outputs) {
          const JudgeOutput& o = jpkg.outputs()[static_cast<std::size_t>(f)];
          reading.push_back((at(i, f) - o.mean) / o.stdev);
        }
        drift_readings[ks].push_back(reading);
        if (k == 0) first_faces.push_back(tensor_to_bgr(images[static_cast<std::int64_t>(i)]));
      }
      std::size_t face = grid.size();
      for (std::size_t e = 0; e < emotions.size(); ++e) {
        std::vector<double> s;
        for (int i = 0; i < opt.sweep_steps; ++i, ++face) {
          const AffectPoint j{at(face, iv), at(face, ia), judge_z && space == Space::Ball ? at(face, iz) : 0.0};
          s.push_back(dot(j, sweep_dirs[e]));
          sweep_mean[e][static_cast<std::size_t>(i)] += s.back() / opt.identities;
        }
        sweep_fraction[e].push_back(monotone_fraction(s));
        sweep_rho[e].push_back(sweep_spearman(s));
      }
      bar.advance();
    }
  }
  const double n_grid = static_cast<double>(grid_faces);
  r.faces = grid_faces;
  r.mae_v = abs_v / n_grid;
  r.mae_a = abs_a / n_grid;
  r.mae_va = (r.mae_v + r.mae_a) / 2.0;
  r.mean_distance = dist / n_grid;
  if (au_count) r.au_mae = au_abs / static_cast<double>(au_count);
  r.drift = identity_drift(drift_readings);
  auto mean = [](const std::vector<double>& x) { return std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size()); };
  double& mono = r.mono;
  double& rho = r.rho;
  json& per_emotion = r.per_emotion;
  for (std::size_t e = 0; e < emotions.size(); ++e) {
    per_emotion[emotions[e]->name] = {{"fraction", mean(sweep_fraction[e])}, {"spearman", mean(sweep_rho[e])}, {"mean_projection", sweep_mean[e]}};
    mono += mean(sweep_fraction[e]) / static_cast<double>(emotions.size());
    rho += mean(sweep_rho[e]) / static_cast<double>(emotions.size());
  }

  return r;
}

// The fresh faces' exact (jittered) AUs from labels.csv, in fresh_set_metrics' order (train,
// val, test), checked row by row against the affect it read from the same folder.
std::vector<AuVector> fresh_aus(const std::string& dir, const std::vector<double>& tv, const std::vector<double>& ta) {
  const JudgeColumns columns = judge_columns(dir);  // the 17 AUs in au_key order: targets 3 … 19
  std::vector<AuVector> out;
  for (const char* split : {"train", "val", "test"}) {
    const JudgeLabels labels = load_judge_labels(dir, split, columns);
    const auto t = labels.targets.accessor<float, 2>();
    for (std::int64_t i = 0; i < t.size(0); ++i) {
      const std::size_t row = out.size();
      if (row >= tv.size() || std::fabs(t[i][0] - tv[row]) > 1e-5 || std::fabs(t[i][1] - ta[row]) > 1e-5) {
        throw Error(ErrorKind::Internal, dir + ": the fresh set's AU rows do not line up with its images (split " + split + ", row " + std::to_string(i) + ")");
      }
      AuVector aus{};
      for (std::size_t k = 0; k < aus.size(); ++k) aus[k] = t[i][static_cast<std::int64_t>(3 + k)];
      out.push_back(aus);
    }
  }
  if (out.size() != tv.size()) throw Error(ErrorKind::Internal, dir + ": " + std::to_string(out.size()) + " AU rows for " + std::to_string(tv.size()) + " fresh faces");
  return out;
}

// The encoder's reading of a fresh set of new people: R², quadrant accuracy, reconstruction,
// and the Bayes reader's figures on the same faces (their ceiling).
struct FreshSet {
  std::int64_t images = 0;
  Reconstruction rec;
  double r2_v = 0, r2_a = 0, r2_z = nan();
  stats::QuadrantResult quad;
  stats::Split split;
  std::string split_kind;
  CeilingFigures ceiling;
};

FreshSet fresh_set_metrics(const EvaluateOptions& opt, const ModelPackage& pkg, Vae& vae) {
  const Manifold& manifold = pkg.manifold();
  const Space space = manifold.space();
  const int S = pkg.config().image_size;
  FreshSet r;
  Reconstruction& fresh_rec = r.rec;
  std::int64_t& fresh_n = r.images;
  const std::vector<ImageSet> fresh_train = load_splits(opt.fresh_data, {"train"}, 0);
  const std::vector<ImageSet> fresh_held = load_splits(opt.fresh_data, {"val", "test"}, 0);
  std::vector<const ImageSet*> fresh;
  for (const auto& s : fresh_train) fresh.push_back(&s);
  for (const auto& s : fresh_held) fresh.push_back(&s);
  if (fresh.empty()) throw Error(ErrorKind::BadData, opt.fresh_data + ": the fresh set has no images");
  for (const ImageSet* s : fresh) {
    if (s->image_size() != S) throw Error(ErrorKind::InvalidArgument, opt.fresh_data + ": fresh faces are " + std::to_string(s->image_size()) + "², the model's " + std::to_string(S) + "²");
    fresh_n += s->size();
  }
  if (fresh_n < 8) throw Error(ErrorKind::InvalidArgument, opt.fresh_data + ": the fresh set needs at least 8 images");
  stats::Matrix latents(static_cast<std::size_t>(fresh_n), static_cast<std::size_t>(pkg.config().latent));
  std::vector<double> tv, ta, tz;
  std::size_t train_rows = 0;
  {
    Progress bar("evaluate: fresh set", static_cast<std::uint64_t>(fresh_n), "img");
    std::size_t row = 0;
    for (const ImageSet* s : fresh) {
      const stats::Matrix z = encode_set(vae, *s, fresh_rec, bar);
      for (std::size_t i = 0; i < z.rows(); ++i, ++row) std::copy(z.row(i), z.row(i) + z.cols(), latents.row(row));
      for (const ImageLabel& l : s->labels()) {
        tv.push_back(l.affect.v);
        ta.push_back(l.affect.a);
        tz.push_back(l.affect.z);
      }
      if (!fresh_train.empty() && s == &fresh_train.front()) train_rows = z.rows();
    }
  }
  std::vector<double> pv, pa, pz;
  for (std::size_t i = 0; i < latents.rows(); ++i) {
    const std::vector<float> l(latents.row(i), latents.row(i) + latents.cols());
    const AffectPoint p = manifold.affect_of(l);
    pv.push_back(p.v);
    pa.push_back(p.a);
    pz.push_back(p.z);
  }
  r.r2_v = stats::r2_score(tv, pv);
  r.r2_a = stats::r2_score(ta, pa);
  double& r2_z = r.r2_z;
  if (space == Space::Ball) {
    const auto [lo, hi] = std::minmax_element(tz.begin(), tz.end());
    if (*hi - *lo > 1e-9) r2_z = stats::r2_score(tz, pz);
  }
  stats::Split& split = r.split;
  std::string& split_kind = r.split_kind;
  split_kind = "the fresh set's train split vs its val + test splits (different people)";
  if (train_rows >= 4 && train_rows + 4 <= latents.rows()) {
    for (std::size_t i = 0; i < latents.rows(); ++i) (i < train_rows ? split.train : split.held_out).push_back(i);
  } else {
    split = stats::train_test_split(latents.rows(), 0.3, opt.seed);
    split_kind = "a seeded 70/30 split of the fresh set (too few people for its own splits)";
  }
  r.quad = stats::quadrant_accuracy(latents, tv, ta, split);

  const AffectCeiling bayes(space, opt.seed);
  std::vector<AffectPoint> truth(tv.size());
  for (std::size_t i = 0; i < tv.size(); ++i) truth[i] = {tv[i], ta[i], tz[i]};
  r.ceiling = ceiling_figures(bayes, fresh_aus(opt.fresh_data, tv, ta), truth, split.held_out);
  return r;
}

// The reconstruction PSNR on the VAE's own held-out data (--data), and whether its people
// overlap the fresh set's or the judge's; null without --data.
json reconstruction_on_data(const EvaluateOptions& opt, Vae& vae, int S, const json& judge_manifest, json& warnings, Reconstruction& data_rec) {
  if (opt.data.empty()) return nullptr;
  std::vector<ImageSet> held = load_splits(opt.data, {"test"}, 1000);
  if (held.empty()) held = load_splits(opt.data, {"val"}, 1000);
  if (held.empty()) throw Error(ErrorKind::BadData, opt.data + ": no test or val split for the reconstruction PSNR");
  if (held.front().image_size() != S) throw Error(ErrorKind::InvalidArgument, opt.data + ": images are not the model's size");
  Progress bar("evaluate: --data held-out", static_cast<std::uint64_t>(held.front().size()), "img");
  encode_set(vae, held.front(), data_rec, bar);
  const std::set<std::string> vae_people = identity_seeds(opt.data), fresh_people = identity_seeds(opt.fresh_data);
  std::size_t shared_fresh = 0, shared_judge = 0;
  for (const auto& s : fresh_people) shared_fresh += vae_people.count(s);
  if (judge_manifest.contains("provenance") && judge_manifest["provenance"].contains("identity_seeds_sample")) {
    for (const json& s : judge_manifest["provenance"]["identity_seeds_sample"]) shared_judge += s.is_string() ? vae_people.count(s.get<std::string>()) : 0;
  }
  if (shared_fresh) warnings.push_back(std::to_string(shared_fresh) + " people of the fresh set (seed " + std::to_string(opt.seed) + ") are in " + opt.data + ": choose another --seed");
  if (shared_judge) warnings.push_back("the judge was trained on people of " + opt.data + " (same synth seed as the VAE's data): train it on another seed");
  return {{"folder", opt.data}, {"images", data_rec.images}, {"psnr_db", data_rec.psnr()}, {"psnr_db_mean_per_image", data_rec.mean_psnr()},
               {"shared_people_with_fresh_set", shared_fresh}, {"shared_people_with_judge_sample", shared_judge}};
}

// The largest |cos| between the package's directions (and the manifest's own figure).
double max_direction_cos(const ModelPackage& pkg, double& max_cos, json& manifest_cos) {
  max_cos = 0;
  const auto& dirs = pkg.manifold().directions();
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    for (std::size_t j = i + 1; j < dirs.size(); ++j) max_cos = std::max(max_cos, std::fabs(stats::cosine(dirs[i], dirs[j])));
  }
  const json model_manifest = json::parse(pkg.manifest_json());
  manifest_cos = nullptr;
  if (model_manifest.contains("metrics") && model_manifest["metrics"].contains("max_abs_cos_after")) manifest_cos = model_manifest["metrics"]["max_abs_cos_after"];
  double cos_value = max_cos;
  if (manifest_cos.is_number()) cos_value = std::max(cos_value, manifest_cos.get<double>());
  return cos_value;
}

}  // namespace

EvaluateResult evaluate_model(const EvaluateOptions& opt) {
  if (opt.identities < 2) throw Error(ErrorKind::InvalidArgument, "evaluate needs at least 2 identities (identity drift compares them)");
  if (opt.sweep_steps < 3) throw Error(ErrorKind::InvalidArgument, "evaluate needs sweeps of at least 3 steps");
  torch_compat::set_threads(opt.threads);
  const ModelPackage pkg = ModelPackage::load(opt.model);
  const JudgePackage jpkg = JudgePackage::load(opt.judge);
  refuse_reader_as_judge(pkg, jpkg);
  Judge judge(jpkg, opt.threads);
  Vae vae(pkg, parse_device(opt.device));
  const Space space = pkg.manifold().space();
  const JudgeConfig& jc = jpkg.config();
  const int S = pkg.config().image_size;
  json warnings = json::array();
  if (jc.input_size != S) {
    warnings.push_back("the judge was trained on " + std::to_string(jc.input_size) + "² faces, the model makes " + std::to_string(S) +
                       "²; faces are resized for the judge");
  }
  const json judge_manifest = json::parse(jpkg.manifest_json());
  const DriftFactors drift_factors = choose_drift_factors(jpkg, judge_manifest, warnings);
  const std::vector<int>& drift_outputs = drift_factors.outputs;
  const std::vector<std::string>& drift_names = drift_factors.names;

  // ---- grid and sweeps -------------------------------------------------------------------
  const GridSweeps gs = judge_grid_and_sweeps(opt, pkg, vae, judge, drift_factors);
  const std::vector<AffectPoint>& grid = gs.grid;
  const std::vector<const Emotion*>& emotions = gs.emotions;
  const auto& grid_judged = gs.grid_judged;
  const auto& sweep_mean = gs.sweep_mean;
  const double mae_v = gs.mae_v, mae_a = gs.mae_a, mae_va = gs.mae_va, mono = gs.mono, rho = gs.rho;
  const DriftResult& drift = gs.drift;

  // ---- ground truth: the model against the renderer's faces of the same people -----------
  GroundTruthOptions gto;
  gto.seed = opt.seed;
  gto.people = opt.identities;
  gto.size = S;
  gto.space = space;
  gto.threads = opt.threads;
  const std::vector<facegen::Identity> truth_people = ground_truth_people(opt.seed, opt.identities);
  GroundTruthResult truth;
  {
    Progress bar("evaluate: ground truth", 1, "step");
    truth = ground_truth_eval(model_faces(pkg, truth_people, opt.threads, opt.identity_fit, opt.detail), renderer_faces(truth_people, S, space, opt.threads), judge,
                              drift_outputs, truth_people, gto);
    truth.json["identity_fit"] = opt.identity_fit.steps == 0 ? json(nullptr)
                                                             : json{{"steps", opt.identity_fit.steps}, {"prior", opt.identity_fit.prior}, {"lr", opt.identity_fit.lr}};
    truth.json["detail"] = opt.detail ? json{{"radius", opt.detail->radius}, {"tolerance", opt.detail->tolerance}, {"region_tolerance", opt.detail->region_tolerance}} : json(nullptr);
    bar.advance();
  }

  // ---- the fresh set: R², quadrant accuracy, reconstruction; the VAE's own data -----------
  const FreshSet fs_metrics = fresh_set_metrics(opt, pkg, vae);
  const double r2_v = fs_metrics.r2_v, r2_a = fs_metrics.r2_a, r2_z = fs_metrics.r2_z;
  const stats::QuadrantResult& quad = fs_metrics.quad;
  const Reconstruction& fresh_rec = fs_metrics.rec;
  const std::int64_t fresh_n = fs_metrics.images;
  Reconstruction data_rec;
  const json data_json = reconstruction_on_data(opt, vae, S, judge_manifest, warnings, data_rec);

  // ---- directions ------------------------------------------------------------------------
  double max_cos = 0;
  json manifest_cos;
  const double cos_value = max_direction_cos(pkg, max_cos, manifest_cos);

  // ---- summary ---------------------------------------------------------------------------
  EvaluateResult result;
  auto check = [&](const std::string& metric, double value, const std::string& target, bool pass) {
    result.checks.push_back({metric, value, target, pass});
  };
  check("R2 valence (fresh set)", r2_v, ">= 0.95", r2_v >= kR2Valence);
  check("R2 arousal (fresh set)", r2_a, ">= 0.90", r2_a >= kR2Arousal);
  check("quadrant accuracy (fresh set)", quad.held_out.accuracy, ">= 0.95", quad.held_out.accuracy >= kQuadrant);
  check("max |cos| after Gram-Schmidt", cos_value, "<= 1e-6", cos_value <= kMaxCos);
  check("reconstruction PSNR dB (fresh set)", fresh_rec.psnr(), ">= 26", fresh_rec.psnr() >= kPsnr);
  check("judge MAE (v, a) over the grid", mae_va, "<= 0.10", mae_va <= kGridMae);
  check("identity drift", drift.drift, "<= 0.05", drift.drift <= kDrift);
  check("ground truth: judge MAE ratio (model / renderer)", truth.mae_ratio, "<= 1.25", truth.mae_ratio <= kMaeRatio);
  check("ground truth: drift ratio (model / renderer)", truth.drift_ratio, "<= 1.25", truth.drift_ratio <= kDriftRatio);
  check("ground truth: PSNR dB (face region)", truth.psnr_db, ">= 26", truth.psnr_db >= kTruthPsnr);
  check("ground truth: sharpness ratio", truth.sharpness_ratio, ">= 0.7", truth.sharpness_ratio >= kSharpnessRatio);
  check("ground truth: emotion accuracy", truth.emotion_accuracy, ">= " + fmt("%.2f", truth.renderer_emotion_accuracy - kEmotionGap),
        truth.emotion_accuracy >= truth.renderer_emotion_accuracy - kEmotionGap);
  result.all_pass = std::all_of(result.checks.begin(), result.checks.end(), [](const EvaluateCheck& c) { return c.pass; });
  std::string table = "metric                                   value       target     \n";
  std::string md = "| metric | value | target | |\n|---|---|---|---|\n";
  char line[256];
  for (const auto& c : result.checks) {
    const std::string value = std::fabs(c.value) < 1e-3 && c.value != 0.0 ? fmt("%.2e", c.value) : fmt("%.4f", c.value);
    std::snprintf(line, sizeof line, "%-40s %-11s %-10s %s\n", c.metric.c_str(), value.c_str(), c.target.c_str(), c.pass ? "pass" : "MISS");
    table += line;
    md += "| " + c.metric + " | " + value + " | " + c.target + " | " + (c.pass ? "pass" : "**miss**") + " |\n";
  }
  std::vector<std::pair<std::string, double>> info = {{"judge MAE valence (grid)", mae_v}, {"judge MAE arousal (grid)", mae_a},
                                                      {"monotonicity (fraction of steps)", mono}, {"monotonicity (Spearman)", rho},
                                                      {"judge AU MAE vs expression model (grid)", gs.au_mae}};
  if (std::isfinite(r2_z)) info.emplace_back("R2 z (fresh set)", r2_z);
  if (!opt.data.empty()) info.emplace_back("reconstruction PSNR dB (--data test)", data_rec.psnr());
  info.emplace_back("ceiling: R2 valence (fresh set)", fs_metrics.ceiling.r2_valence);
  info.emplace_back("ceiling: R2 arousal (fresh set)", fs_metrics.ceiling.r2_arousal);
  info.emplace_back("ceiling: quadrant accuracy (fresh set)", fs_metrics.ceiling.quadrant_accuracy);
  info.emplace_back("ground truth: PSNR dB (neutral point)", truth.psnr_neutral_db);
  if (opt.identity_fit.steps > 0) info.emplace_back("ground truth: identity fit steps", opt.identity_fit.steps);
  info.emplace_back("ground truth: renderer emotion accuracy", truth.renderer_emotion_accuracy);
  info.emplace_back("ground truth: judge MAE (v, a) model grid", truth.model_mae);
  info.emplace_back("ground truth: judge MAE (v, a) renderer grid", truth.renderer_mae);
  // How far another K people could move the ground-truth figures (jackknife over the people).
  const std::pair<const char*, const char*> errors[] = {{"mae_ratio", "MAE ratio"}, {"drift_ratio", "drift ratio"}, {"psnr_db", "PSNR dB"},
                                                        {"sharpness_ratio", "sharpness ratio"}, {"emotion_accuracy_gap", "emotion accuracy gap"}};
  for (const auto& [key, name] : errors) {
    if (truth.standard_error.is_object() && truth.standard_error[key].is_number()) {
      info.emplace_back(std::string("ground truth: SE of ") + name, truth.standard_error[key].get<double>());
    }
  }
  for (const auto& [name, v] : info) {
    std::snprintf(line, sizeof line, "%-40s %-11s %-10s\n", name.c_str(), fmt("%.4f", v).c_str(), "(report)");
    table += line;
    md += "| " + name + " | " + fmt("%.4f", v) + " | | |\n";
  }
  result.table = table;

  // ---- files -----------------------------------------------------------------------------
  const fs::path json_path(opt.json_path);
  const fs::path folder = json_path.has_parent_path() ? json_path.parent_path() : fs::path(".");
  const std::string stem = json_path.stem().string();
  const fs::path grid_png = folder / (stem + "_grid.png"), sweeps_png = folder / (stem + "_sweeps.png"), md_path = folder / (stem + ".md");
  const fs::path truth_png = folder / (stem + "_truth.png"), polar_png = folder / (stem + "_directions.png");

  json grid_points = json::array();
  for (std::size_t i = 0; i < grid.size(); ++i) {
    double mv = 0, ma = 0;
    for (const auto& id : grid_judged) {
      mv += id[i].v / opt.identities;
      ma += id[i].a / opt.identities;
    }
    grid_points.push_back({{"asked", {grid[i].v, grid[i].a}}, {"judged_mean", {mv, ma}}});
  }
  json drift_json = json::object();
  for (std::size_t f = 0; f < drift_names.size(); ++f) {
    drift_json[drift_names[f]] = {{"drift", finite_or_null(drift.per_factor[f])}, {"within_std", drift.within[f]}, {"between_std", drift.between[f]}};
  }
  json checks = json::array();
  for (const auto& c : result.checks) checks.push_back({{"metric", c.metric}, {"value", finite_or_null(c.value)}, {"target", c.target}, {"pass", c.pass}});
  const json out = {
      {"model", opt.model}, {"judge", opt.judge}, {"seed", opt.seed}, {"identities", opt.identities}, {"command", opt.command_line},
      {"space", space_name(space)},
      {"grid", {{"steps", kGridSteps}, {"faces", gs.faces}, {"mae_valence", mae_v}, {"mae_arousal", mae_a}, {"mae_va", mae_va},
                {"mean_distance", gs.mean_distance}, {"au_mae_vs_expression_model", finite_or_null(gs.au_mae)},
                {"points", grid_points}, {"note", "asked = the grid point clamped onto the unit disk; mae_va = mean of the valence and arousal MAEs"}}},
      {"identity_drift", {{"value", drift.drift}, {"factors", drift_json}, {"factors_used", drift_names},
                          {"definition", "per identity factor the judge reads with held-out R2 >= 0.5: mean over identities of the std of its "
                                         "reading across that identity's 49 grid faces, divided by the std over identities of their mean "
                                         "readings (population stds); averaged over those factors"}}},
      {"monotonicity", {{"fraction", mono}, {"spearman", rho}, {"steps", opt.sweep_steps}, {"per_emotion", gs.per_emotion},
                        {"definition", "sweep neutral -> emotion at intensity 1; s = judged affect projected on the emotion's unit direction; "
                                       "fraction of consecutive steps where s does not decrease, and Spearman rho of step vs s; mean over "
                                       "identities, then over emotions"}}},
      {"reconstruction", {{"psnr_db", fresh_rec.psnr()}, {"psnr_db_mean_per_image", fresh_rec.mean_psnr()}, {"images", fresh_rec.images},
                          {"source", "fresh set (seed " + std::to_string(opt.seed) + ")"}, {"data", data_json}}},
      {"fresh_set", {{"folder", opt.fresh_data}, {"seed", opt.seed}, {"images", fresh_n}, {"r2_valence", r2_v}, {"r2_arousal", r2_a},
                     {"r2_z", finite_or_null(r2_z)}, {"quadrant_accuracy", quad.held_out.accuracy}, {"quadrant_confusion", quad.held_out.confusion},
                     {"quadrant_split", fs_metrics.split_kind}, {"quadrant_train", fs_metrics.split.train.size()}, {"quadrant_held_out", fs_metrics.split.held_out.size()},
                     {"predicted_affect", "manifold.affect_of(encoder mean)"},
                     {"ceiling", {{"r2_valence", fs_metrics.ceiling.r2_valence}, {"r2_arousal", fs_metrics.ceiling.r2_arousal},
                                  {"r2_z", finite_or_null(fs_metrics.ceiling.r2_z)}, {"quadrant_accuracy", fs_metrics.ceiling.quadrant_accuracy},
                                  {"quadrant_accuracy_all", fs_metrics.ceiling.quadrant_accuracy_all}, {"references", fs_metrics.ceiling.references},
                                  {"unmatched", fs_metrics.ceiling.unmatched},
                                  {"reader", "the Bayes reader of each face's exact jittered AUs (affect_ceiling.hpp): posterior mean for R2, "
                                             "most likely quadrant on the same held-out rows as quadrant_accuracy; no reader of the "
                                             "pictures scores above it on average"}}}}},
      {"directions", {{"max_abs_cos_after", max_cos}, {"manifest_max_abs_cos_after", manifest_cos}}},
      {"targets", {{"r2_valence", kR2Valence}, {"r2_arousal", kR2Arousal}, {"quadrant_accuracy", kQuadrant}, {"max_abs_cos_after", kMaxCos},
                   {"psnr_db", kPsnr}, {"judge_mae_va", kGridMae}, {"identity_drift", kDrift}}},
      {"ground_truth", truth.json}, {"per_direction", truth.json["per_direction"]},
      {"checks", checks}, {"all_pass", result.all_pass}, {"warnings", warnings},
      {"pictures", {grid_png.filename().string(), sweeps_png.filename().string(), truth_png.filename().string(), polar_png.filename().string()}}};
  fs::create_directories(folder);
  write_file_atomic(json_path.string(), out.dump(2) + "\n");
  write_file_atomic(md_path.string(), "# Evaluation of `" + opt.model + "` by the judge `" + opt.judge + "`\n\n" + std::to_string(opt.identities) +
                                          " identities from seed " + std::to_string(opt.seed) + "; fresh set of " + std::to_string(fresh_n) +
                                          " faces made with seed " + std::to_string(opt.seed) + ".\n\n" + md +
                                          "\nEach atlas emotion at intensity 1 (ground truth): the fraction of people whose face was read "
                                          "nearest it, by the model and by the renderer, and the mean judged point.\n\n" +
                                          emotion_table(truth.json["per_emotion"]) +
                                          "\nPictures: `" + grid_png.filename().string() + "`, `" + sweeps_png.filename().string() + "`, `" +
                                          truth_png.filename().string() + "` (model above renderer per emotion), `" + polar_png.filename().string() +
                                          "` (judged error per direction).\n");
  plot::write_image_atomic(truth_png.string(), truth.emotions_picture);
  plot::write_image_atomic(polar_png.string(), truth.polar_picture);

  const cv::Mat left = circumplex_panel(grid, grid_judged, mae_va);
  const cv::Mat right = faces_panel(gs.first_faces, grid_judged.front(), left.rows);
  cv::Mat left_padded(right.rows, left.cols, CV_8UC3, kPaper);
  left.copyTo(left_padded(cv::Rect(0, 0, left.cols, left.rows)));
  cv::Mat both;
  cv::hconcat(left_padded, right, both);
  plot::write_image_atomic(grid_png.string(), both);

  std::vector<plot::Series> series;
  const cv::Scalar colours[] = {{40, 40, 200}, {200, 90, 30}, {60, 160, 60}, {150, 60, 150}, {30, 150, 200}, {120, 120, 30}, {90, 90, 90}, {200, 40, 120}};
  plot::Series ideal{"asked intensity", {}, {}, {190, 190, 190}};
  for (int i = 0; i < opt.sweep_steps; ++i) {
    ideal.x.push_back(static_cast<double>(i) / (opt.sweep_steps - 1));
    ideal.y.push_back(static_cast<double>(i) / (opt.sweep_steps - 1));
  }
  series.push_back(ideal);
  for (std::size_t e = 0; e < emotions.size(); ++e) {
    plot::Series s{emotions[e]->name, {}, {}, colours[e % 8]};
    for (int i = 0; i < opt.sweep_steps; ++i) {
      s.x.push_back(static_cast<double>(i) / (opt.sweep_steps - 1));
      s.y.push_back(sweep_mean[e][static_cast<std::size_t>(i)]);
    }
    series.push_back(s);
  }
  plot::write_image_atomic(sweeps_png.string(), plot::line_chart("judged affect along each emotion's axis (mean over identities)",
                                                                 "asked intensity (neutral -> emotion)", "judged affect . emotion direction", series));
  result.written = {json_path.string(), md_path.string(), grid_png.string(), sweeps_png.string(), truth_png.string(), polar_png.string()};
  return result;
}

}  // namespace circumplex::tools
