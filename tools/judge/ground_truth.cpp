#include "ground_truth.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <numeric>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"
#include "circumplex/expression.hpp"
#include "circumplex/model_package.hpp"
#include "circumplex/torch_compat.hpp"
#include "circumplex/vae.hpp"
#include "circumplex/weights.hpp"
#include "circumplex/facegen_rng.hpp"
#include "judge_metrics.hpp"
#include "plot/plot.hpp"
#include "train/dataset.hpp"

namespace circumplex::tools {
using nlohmann::json;

namespace {

constexpr int kGridSteps = 7, kDirections = 24;
constexpr double kRadii[2] = {0.5, 1.0};
const cv::Scalar kInk(40, 40, 40), kMuted(120, 120, 120), kPaper(252, 250, 248), kModel(190, 90, 30), kTruth(110, 110, 110);

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

// The face region of a person's neutral render: an ellipse from above the brows to the chin.
cv::Mat face_mask(const facegen::Identity& id, int size) {
  const facegen::Landmarks l = facegen::face_landmarks(id, AuVector{}, size);
  const double top = std::min(l.brow_left.y, l.brow_right.y) - 0.25 * l.face_unit, bottom = l.chin.y;
  const cv::Point centre(cvRound((l.eye_left.x + l.eye_right.x) / 2.0), cvRound((top + bottom) / 2.0));
  const cv::Size axes(std::max(2, cvRound(1.0 * l.face_unit)), std::max(2, cvRound((bottom - top) / 2.0)));
  cv::Mat mask(size, size, CV_8UC1, cv::Scalar(0));
  cv::ellipse(mask, centre, axes, 0.0, 0.0, 360.0, cv::Scalar(255), cv::FILLED);
  return mask;
}

// Variance of the Laplacian of the grey image inside `mask`.
double sharpness(const cv::Mat& bgr, const cv::Mat& mask) {
  cv::Mat grey, lap;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  cv::Laplacian(grey, lap, CV_64F);
  cv::Scalar mean, sd;
  cv::meanStdDev(lap, mean, sd, mask);
  return sd[0] * sd[0];
}

// Squared error summed over the masked pixels and channels, and the count of values.
std::pair<double, double> masked_squared_error(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask) {
  cv::Mat fa, fb, d;
  a.convertTo(fa, CV_64FC3, 1.0 / 255.0);
  b.convertTo(fb, CV_64FC3, 1.0 / 255.0);
  cv::subtract(fa, fb, d);
  cv::multiply(d, d, d);
  const cv::Scalar s = cv::sum(d.setTo(cv::Scalar::all(0), ~mask));
  return {s[0] + s[1] + s[2], 3.0 * cv::countNonZero(mask)};
}

struct Asked {
  std::vector<AffectPoint> grid, emotions, directions;
  std::vector<std::string> emotion_names;
  std::vector<AffectPoint> all() const {
    std::vector<AffectPoint> out(grid);
    out.insert(out.end(), emotions.begin(), emotions.end());
    out.insert(out.end(), directions.begin(), directions.end());
    return out;
  }
};

Asked asked_points(Space space) {
  Asked a;
  for (int row = 0; row < kGridSteps; ++row) {
    for (int col = 0; col < kGridSteps; ++col) {
      a.grid.push_back(clamp_to_unit({-1.0 + 2.0 * col / (kGridSteps - 1), 1.0 - 2.0 * row / (kGridSteps - 1), 0.0}, Space::Plane));
    }
  }
  const Atlas& atlas = Atlas::builtin();
  for (const Emotion& e : atlas.emotions()) {
    if (e.name == "neutral") continue;
    a.emotions.push_back(clamp_to_unit(atlas.at_intensity(e, 1.0, space), space));
    a.emotion_names.push_back(e.name);
  }
  for (double r : kRadii) {
    for (int d = 0; d < kDirections; ++d) {
      const double t = 2.0 * 3.14159265358979323846 * d / kDirections;
      a.directions.push_back({r * std::cos(t), r * std::sin(t), 0.0});
    }
  }
  return a;
}

// What the judge reads from one maker's faces of every person.
struct Readings {
  std::vector<std::vector<AffectPoint>> affect;                   // [person][point]
  std::vector<std::vector<std::vector<double>>> identity;         // [person][grid face][factor]
  std::vector<std::vector<cv::Mat>> faces;                        // [person][point] BGR
};

Readings read_faces(const FaceMaker& maker, Judge& judge, const std::vector<int>& drift_outputs, std::size_t people,
                    const std::vector<AffectPoint>& points, std::size_t grid_count, bool judge_z) {
  Readings r;
  const auto& outs = judge.package().outputs();
  for (std::size_t k = 0; k < people; ++k) {
    const torch::Tensor images = maker(k, points);
    if (images.dim() != 4 || images.size(0) != static_cast<std::int64_t>(points.size())) {
      throw Error(ErrorKind::Internal, "ground truth: a face maker returned " + c10::str(images.sizes()) + " for " + std::to_string(points.size()) + " points");
    }
    const torch::Tensor pred = judge.predict(images).to(torch::kFloat64).contiguous();
    const auto acc = pred.accessor<double, 2>();
    r.affect.emplace_back();
    r.identity.emplace_back();
    r.faces.emplace_back();
    for (std::size_t i = 0; i < points.size(); ++i) {
      const auto row = static_cast<std::int64_t>(i);
      r.affect.back().push_back({acc[row][0], acc[row][1], judge_z ? acc[row][2] : 0.0});
      r.faces.back().push_back(tensor_to_bgr(images[row]));
      if (i < grid_count) {
        std::vector<double> reading;
        for (int f : drift_outputs) {
          const JudgeOutput& o = outs[static_cast<std::size_t>(f)];
          reading.push_back((acc[row][f] - o.mean) / o.stdev);
        }
        r.identity.back().push_back(reading);
      }
    }
  }
  return r;
}

double grid_mae(const Readings& r, const std::vector<AffectPoint>& grid) {
  double sum = 0;
  std::size_t n = 0;
  for (const auto& person : r.affect) {
    for (std::size_t i = 0; i < grid.size(); ++i, ++n) sum += (std::fabs(person[i].v - grid[i].v) + std::fabs(person[i].a - grid[i].a)) / 2.0;
  }
  return sum / static_cast<double>(std::max<std::size_t>(1, n));
}

// The asked emotion nearest a judged point (z too when the judge reads it and the model is 3D).
std::size_t nearest_emotion(const AffectPoint& judged, const Asked& asked, bool use_z) {
  std::size_t best = 0;
  double best_d = std::numeric_limits<double>::infinity();
  for (std::size_t c = 0; c < asked.emotions.size(); ++c) {
    const AffectPoint q = asked.emotions[c];
    const double d = std::pow(judged.v - q.v, 2) + std::pow(judged.a - q.a, 2) + (use_z ? std::pow(judged.z - q.z, 2) : 0.0);
    if (d < best_d) { best_d = d; best = c; }
  }
  return best;
}

// Fraction of emotion faces judged nearest their own asked emotion (among the asked ones).
double emotion_hits(const Readings& r, const Asked& asked, std::size_t offset, bool use_z, std::vector<double>& per_emotion) {
  const std::size_t m = asked.emotions.size();
  per_emotion.assign(m, 0.0);
  double hits = 0;
  for (const auto& person : r.affect) {
    for (std::size_t e = 0; e < m; ++e) {
      const double hit = nearest_emotion(person[offset + e], asked, use_z) == e ? 1.0 : 0.0;
      hits += hit;
      per_emotion[e] += hit / static_cast<double>(r.affect.size());
    }
  }
  return hits / static_cast<double>(std::max<std::size_t>(1, m * r.affect.size()));
}

// Where one maker's faces of asked emotion `e` were read: the mean judged point over the
// people, and the other emotions they were judged nearest, with the fraction of people each.
json emotion_reading(const Readings& r, const Asked& asked, std::size_t offset, bool use_z, std::size_t e) {
  AffectPoint mean{};
  std::vector<double> nearest(asked.emotions.size(), 0.0);
  const double share = 1.0 / static_cast<double>(std::max<std::size_t>(1, r.affect.size()));
  for (const auto& person : r.affect) {
    const AffectPoint j = person[offset + e];
    mean = {mean.v + share * j.v, mean.a + share * j.a, mean.z + share * j.z};
    nearest[nearest_emotion(j, asked, use_z)] += share;
  }
  json mistaken = json::object();
  for (std::size_t c = 0; c < nearest.size(); ++c) {
    if (c != e && nearest[c] > 0.0) mistaken[asked.emotion_names[c]] = nearest[c];
  }
  return {{"judged", {mean.v, mean.a, mean.z}}, {"mistaken_for", mistaken}};
}

// Mean judged distance in (v, a) per direction point.
std::vector<double> direction_errors(const Readings& r, const Asked& asked, std::size_t offset) {
  std::vector<double> out(asked.directions.size(), 0.0);
  for (const auto& person : r.affect) {
    for (std::size_t d = 0; d < out.size(); ++d) {
      const AffectPoint j = person[offset + d], q = asked.directions[d];
      out[d] += std::hypot(j.v - q.v, j.a - q.a) / static_cast<double>(r.affect.size());
    }
  }
  return out;
}

// One person's pixel sums, which the face figures pool over people.
struct PixelSums {
  double se = 0, count = 0, se_neutral = 0, count_neutral = 0, sharp_model = 0, sharp_renderer = 0;
};

std::vector<PixelSums> pixel_sums(const Readings& m, const Readings& t, const std::vector<facegen::Identity>& people, std::size_t neutral_index) {
  std::vector<PixelSums> out(people.size());
  for (std::size_t k = 0; k < people.size(); ++k) {
    const cv::Mat mask = face_mask(people[k], t.faces[k][0].rows);
    for (std::size_t i = 0; i < t.faces[k].size(); ++i) {
      const auto [s, c] = masked_squared_error(m.faces[k][i], t.faces[k][i], mask);
      out[k].se += s;
      out[k].count += c;
      if (i == neutral_index) {
        out[k].se_neutral += s;
        out[k].count_neutral += c;
      }
      out[k].sharp_model += sharpness(m.faces[k][i], mask);
      out[k].sharp_renderer += sharpness(t.faces[k][i], mask);
    }
  }
  return out;
}

// The people `who` of a reading (their judged points and identity factors; no faces).
Readings subset(const Readings& r, const std::vector<std::size_t>& who) {
  Readings out;
  for (std::size_t k : who) {
    out.affect.push_back(r.affect[k]);
    out.identity.push_back(r.identity[k]);
  }
  return out;
}

// The headline figures over the people `who` (all of them, or all but one for the jackknife).
struct Figures {
  double psnr_db = 0, psnr_neutral_db = 0, model_sharpness = 0, renderer_sharpness = 0;
  double model_mae = 0, renderer_mae = 0;
  DriftResult model_drift, renderer_drift;  // with each factor's part (drift_per_factor)
  double emotion_accuracy = 0, renderer_emotion_accuracy = 0;
  std::vector<double> hits_model, hits_renderer;  // per asked emotion
  double sharpness_ratio() const { return model_sharpness / std::max(1e-12, renderer_sharpness); }
  double mae_ratio() const { return model_mae / std::max(1e-12, renderer_mae); }
  double drift_ratio() const { return model_drift.drift / std::max(1e-12, renderer_drift.drift); }
};

Figures figures_of(const Readings& model, const Readings& renderer, const std::vector<PixelSums>& pixels, const std::vector<std::size_t>& who,
                   const Asked& asked, bool use_z) {
  Figures f;
  PixelSums sum;
  for (std::size_t k : who) {
    sum.se += pixels[k].se;
    sum.count += pixels[k].count;
    sum.se_neutral += pixels[k].se_neutral;
    sum.count_neutral += pixels[k].count_neutral;
    sum.sharp_model += pixels[k].sharp_model;
    sum.sharp_renderer += pixels[k].sharp_renderer;
  }
  const double faces = static_cast<double>(who.size() * asked.all().size());
  f.psnr_db = psnr_db(sum.se / std::max(1.0, sum.count));
  f.psnr_neutral_db = psnr_db(sum.se_neutral / std::max(1.0, sum.count_neutral));
  f.model_sharpness = sum.sharp_model / faces;
  f.renderer_sharpness = sum.sharp_renderer / faces;
  const Readings m = subset(model, who), t = subset(renderer, who);
  f.model_mae = grid_mae(m, asked.grid);
  f.renderer_mae = grid_mae(t, asked.grid);
  f.model_drift = identity_drift(m.identity);
  f.renderer_drift = identity_drift(t.identity);
  f.emotion_accuracy = emotion_hits(m, asked, asked.grid.size(), use_z, f.hits_model);
  f.renderer_emotion_accuracy = emotion_hits(t, asked, asked.grid.size(), use_z, f.hits_renderer);
  return f;
}

// Jackknife standard errors over the people (judge_metrics.hpp) of the figures `evaluate`
// holds against their goals: how far another K people of the same kind could move them.
json standard_errors(const Readings& model, const Readings& renderer, const std::vector<PixelSums>& pixels, const Asked& asked, bool use_z) {
  const std::size_t n = pixels.size();
  std::vector<double> psnr, mae, drift, sharp, emotion, gap;
  for (std::size_t out = 0; n >= 3 && out < n; ++out) {
    std::vector<std::size_t> who;
    for (std::size_t k = 0; k < n; ++k) {
      if (k != out) who.push_back(k);
    }
    try {
      const Figures f = figures_of(model, renderer, pixels, who, asked, use_z);
      psnr.push_back(f.psnr_db);
      mae.push_back(f.mae_ratio());
      drift.push_back(f.drift_ratio());
      sharp.push_back(f.sharpness_ratio());
      emotion.push_back(f.emotion_accuracy);
      gap.push_back(f.emotion_accuracy - f.renderer_emotion_accuracy);
    } catch (const Error&) {
      return json(nullptr);  // a subset the drift cannot be read on (no factor differs between its people)
    }
  }
  const auto se = [](const std::vector<double>& v) {
    const double x = jackknife_se(v);
    return std::isfinite(x) ? json(x) : json(nullptr);
  };
  if (psnr.empty()) return json(nullptr);
  return {{"psnr_db", se(psnr)}, {"mae_ratio", se(mae)}, {"drift_ratio", se(drift)}, {"sharpness_ratio", se(sharp)},
          {"emotion_accuracy", se(emotion)}, {"emotion_accuracy_gap", se(gap)},
          {"method", "jackknife over the " + std::to_string(n) + " people: sqrt((K-1)/K * sum of squared deviations of the leave-one-out figures)"}};
}

cv::Mat emotions_picture(const Readings& model, const Readings& truth, const Asked& asked, std::size_t offset) {
  const int cell = 96, label = 18, cols = 10, gap = 4, left = 70;
  const int n = static_cast<int>(asked.emotions.size()), blocks = (n + cols - 1) / cols;
  const int block_h = label + 2 * (cell + gap) + 8;
  cv::Mat img(30 + blocks * block_h, left + cols * (cell + gap) + 6, CV_8UC3, kPaper);
  plot::draw_text(img, "person 1 at each atlas emotion (intensity 1): model above, renderer (ground truth) below", {8, 8}, 0.5, kInk, 1);
  for (int e = 0; e < n; ++e) {
    const int b = e / cols, c = e % cols, x = left + c * (cell + gap), y = 30 + b * block_h;
    plot::draw_text(img, asked.emotion_names[static_cast<std::size_t>(e)], {x, y + 2}, 0.33, kInk);
    for (int row = 0; row < 2; ++row) {
      const cv::Mat& face = (row == 0 ? model : truth).faces[0][offset + static_cast<std::size_t>(e)];
      cv::Mat f;
      cv::resize(face, f, {cell, cell}, 0, 0, face.cols > cell ? cv::INTER_AREA : cv::INTER_CUBIC);
      f.copyTo(img(cv::Rect(x, y + label + row * (cell + gap), cell, cell)));
    }
    if (c == 0) {
      plot::draw_text(img, "model", {6, y + label + cell / 2 - 6}, 0.42, kModel, 1);
      plot::draw_text(img, "renderer", {6, y + label + cell + gap + cell / 2 - 6}, 0.42, kTruth, 1);
    }
  }
  return img;
}

cv::Mat polar_picture(const std::vector<double>& model, const std::vector<double>& truth, double max_error) {
  const int S = 640;
  cv::Mat img(S, S, CV_8UC3, kPaper);
  const cv::Point2d c(S / 2.0, S / 2.0 + 16);
  const double R = S / 2.0 - 70, top = std::max(0.25, std::ceil(max_error * 4.0) / 4.0);
  auto ip = [](cv::Point2d p) { return cv::Point(cvRound(p.x), cvRound(p.y)); };
  auto at = [&](double theta, double err) { return cv::Point2d(c.x + std::cos(theta) * err / top * R, c.y - std::sin(theta) * err / top * R); };
  for (double ring = 0.25; ring <= top + 1e-9; ring += 0.25) {
    cv::circle(img, ip(c), cvRound(ring / top * R), cv::Scalar(215, 215, 215), 1, cv::LINE_AA);
    plot::draw_text(img, fmt("%.2f", ring), ip(at(0.35, ring)), 0.35, kMuted);
  }
  const char* names[8] = {"0 (pleasure)", "45", "90 (arousal)", "135", "180 (displeasure)", "225", "270 (calm)", "315"};
  for (int k = 0; k < 8; ++k) {
    const double t = k * 3.14159265358979323846 / 4.0;
    cv::line(img, ip(c), ip(at(t, top)), cv::Scalar(225, 225, 225), 1, cv::LINE_AA);
    const cv::Point2d p = at(t, top * 1.08);
    plot::draw_text_centred(img, names[k], ip(p), 0.38, kMuted);
  }
  auto curve = [&](const std::vector<double>& err, std::size_t offset, cv::Scalar colour, int thickness) {
    std::vector<cv::Point> pts;
    for (int d = 0; d < kDirections; ++d) pts.push_back(ip(at(2.0 * 3.14159265358979323846 * d / kDirections, err[offset + static_cast<std::size_t>(d)])));
    cv::polylines(img, pts, true, colour, thickness, cv::LINE_AA);
  };
  curve(truth, kDirections, kTruth, 2);
  curve(truth, 0, kTruth, 1);
  curve(model, kDirections, kModel, 2);
  curve(model, 0, kModel, 1);
  plot::draw_text(img, "judged error |judged - asked| (v, a) per direction, mean over people", {10, 8}, 0.45, kInk, 1);
  plot::draw_text(img, "model (blue), renderer (grey); thick r = 1.0, thin r = 0.5", {10, 28}, 0.42, kInk);
  return img;
}

// Refines each identity latent by `fit.steps` Adam steps on its neutral face (IdentityFit).
// Gradients along the affect directions are projected out: compose replaces those anyway.
void fit_identities(BetaVaeImpl& vae, const Manifold& manifold, const FaceMaker& neutral, std::vector<std::vector<float>>& identities,
                    const IdentityFit& fit) {
  for (auto& p : vae.parameters()) p.set_requires_grad(false);
  const auto d = static_cast<std::int64_t>(manifold.latent_size());
  std::vector<float> flat;
  for (const auto& u : manifold.directions()) flat.insert(flat.end(), u.begin(), u.end());
  const torch::Tensor dirs = torch::tensor(flat).view({-1, d});  // [axes, D], orthonormal rows
  for (std::size_t k = 0; k < identities.size(); ++k) {
    torch::Tensor target;
    {
      torch_compat::InferenceGuard guard;
      target = neutral(k, {AffectPoint{}}).clone();
    }
    std::vector<float> start;
    manifold.compose_into(identities[k].data(), AffectPoint{}, start);
    torch::Tensor z = torch::from_blob(start.data(), {1, d}).clone().set_requires_grad(true);
    torch::optim::Adam adam({z}, torch::optim::AdamOptions(fit.lr));
    for (int step = 0; step < fit.steps; ++step) {
      adam.zero_grad();
      const torch::Tensor loss = vae.decoder->forward(z).sub(target).pow(2).sum() + 0.5 * fit.prior * z.pow(2).sum();
      loss.backward();
      {
        torch::NoGradGuard no_grad;
        z.grad().sub_(torch::mm(torch::mm(z.grad(), dirs.t()), dirs));
      }
      adam.step();
    }
    const torch::Tensor fitted = z.detach().contiguous();
    identities[k].assign(fitted.data_ptr<float>(), fitted.data_ptr<float>() + d);
  }
}

}  // namespace

std::vector<facegen::Identity> ground_truth_people(std::uint64_t seed, int count) {
  std::vector<facegen::Identity> out;
  for (int k = 0; k < count; ++k) out.push_back(facegen::sample_identity(facegen::mix_seed(seed, 0x1000000ull + static_cast<std::uint64_t>(k))));
  return out;
}

FaceMaker renderer_faces(const std::vector<facegen::Identity>& people, int size, Space space, int threads) {
  return [people, size, space, threads](std::size_t person, const std::vector<AffectPoint>& points) {
    const facegen::Identity& id = people.at(person);
    std::vector<cv::Mat> faces(points.size());
    const ExpressionModel& expression = ExpressionModel::builtin();
    const std::size_t workers = std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(std::max(1, threads)), points.size()));
    std::vector<std::thread> pool;
    for (std::size_t w = 0; w < workers; ++w) {
      pool.emplace_back([&, w] {
        for (std::size_t i = w; i < points.size(); i += workers) faces[i] = facegen::render_face(id, expression.action_units(points[i], space), size);
      });
    }
    for (auto& t : pool) t.join();
    std::vector<torch::Tensor> out;
    for (const cv::Mat& f : faces) out.push_back(bgr_to_tensor(f));
    return torch::stack(out);
  };
}

FaceMaker model_faces(const ModelPackage& pkg, const std::vector<facegen::Identity>& people, int threads, const IdentityFit& fit,
                      const std::optional<DetailOptions>& detail) {
  auto vae = std::make_shared<BetaVae>(pkg.config());
  assign_module_tensors(**vae, pkg.weights(), pkg.dir() + "/weights");
  (*vae)->eval();
  const int size = pkg.config().image_size;
  // Identity latents: the encoder's mean of each person's neutral face (then fitted, when asked).
  const FaceMaker neutral = renderer_faces(people, size, pkg.manifold().space(), threads);
  auto identities = std::make_shared<std::vector<std::vector<float>>>();
  {
    torch_compat::InferenceGuard guard;
    for (std::size_t k = 0; k < people.size(); ++k) {
      const torch::Tensor mu = (*vae)->encoder->forward(neutral(k, {AffectPoint{}})).first.contiguous();
      identities->emplace_back(mu.data_ptr<float>(), mu.data_ptr<float>() + mu.numel());
    }
  }
  const Manifold& manifold = pkg.manifold();
  if (fit.steps > 0) fit_identities(**vae, manifold, neutral, *identities, fit);
  // Each person's detail layer, as a Session makes it for an image identity (identity_detail.hpp).
  auto details = std::make_shared<std::vector<IdentityDetail>>();
  if (detail) {
    torch_compat::InferenceGuard guard;
    std::vector<float> latent;
    for (std::size_t k = 0; k < people.size(); ++k) {
      manifold.compose_into(identities->at(k).data(), AffectPoint{}, latent);
      const torch::Tensor z = torch::from_blob(latent.data(), {1, static_cast<std::int64_t>(latent.size())}).clone();
      details->emplace_back(neutral(k, {AffectPoint{}}), (*vae)->decoder->forward(z), *detail);
    }
  }
  return [vae, identities, details, &manifold](std::size_t person, const std::vector<AffectPoint>& points) {
    torch_compat::InferenceGuard guard;
    const auto n = static_cast<std::int64_t>(points.size());
    torch::Tensor z = torch::empty({n, (*vae)->config().latent});
    std::vector<float> latent;
    for (std::int64_t i = 0; i < n; ++i) {
      manifold.compose_into(identities->at(person).data(), points[static_cast<std::size_t>(i)], latent);
      std::copy(latent.begin(), latent.end(), z[i].data_ptr<float>());
    }
    std::vector<torch::Tensor> parts;
    for (std::int64_t lo = 0; lo < n; lo += 32) {
      const torch::Tensor faces = (*vae)->decoder->forward(z.narrow(0, lo, std::min<std::int64_t>(32, n - lo)));
      parts.push_back(details->empty() ? faces : details->at(person).apply(faces));
    }
    return torch::cat(parts, 0).mul(255.0).round_().clamp_(0, 255).div_(255.0).contiguous();
  };
}

GroundTruthResult ground_truth_eval(const FaceMaker& model, const FaceMaker& renderer, Judge& judge, const std::vector<int>& drift_outputs,
                                    const std::vector<facegen::Identity>& people, const GroundTruthOptions& opt) {
  if (people.size() < 2) throw Error(ErrorKind::InvalidArgument, "the ground-truth evaluation needs at least 2 people (identity drift compares them)");
  if (drift_outputs.empty()) throw Error(ErrorKind::InvalidArgument, "the ground-truth evaluation needs identity factors the judge reads");
  const bool judge_z = judge.package().outputs().size() > 2 && !judge.package().outputs()[2].constant;
  const bool use_z = judge_z && opt.space == Space::Ball;
  const Asked asked = asked_points(opt.space);
  const std::vector<AffectPoint> points = asked.all();
  const std::size_t g = asked.grid.size(), e_off = g, d_off = g + asked.emotions.size();
  const Readings m = read_faces(model, judge, drift_outputs, people.size(), points, g, judge_z);
  const Readings t = read_faces(renderer, judge, drift_outputs, people.size(), points, g, judge_z);

  // Pixels (PSNR and sharpness over each person's face region) and what the judge reads.
  const std::vector<PixelSums> pixels = pixel_sums(m, t, people, asked.grid.size() / 2);  // the 7×7 grid's middle: (0, 0)
  std::vector<std::size_t> everyone(people.size());
  std::iota(everyone.begin(), everyone.end(), std::size_t{0});
  const Figures all = figures_of(m, t, pixels, everyone, asked, use_z);
  GroundTruthResult r;
  r.psnr_db = all.psnr_db;
  r.psnr_neutral_db = all.psnr_neutral_db;
  r.model_sharpness = all.model_sharpness;
  r.renderer_sharpness = all.renderer_sharpness;
  r.sharpness_ratio = all.sharpness_ratio();
  r.model_mae = all.model_mae;
  r.renderer_mae = all.renderer_mae;
  r.mae_ratio = all.mae_ratio();
  r.model_drift = all.model_drift.drift;
  r.renderer_drift = all.renderer_drift.drift;
  r.drift_ratio = all.drift_ratio();
  r.emotion_accuracy = all.emotion_accuracy;
  r.renderer_emotion_accuracy = all.renderer_emotion_accuracy;
  r.standard_error = standard_errors(m, t, pixels, asked, use_z);
  // Which identity factors the expressions move, in the model's faces and the renderer's.
  json drift_per_factor = json::object();
  const auto part = [](const DriftResult& d, std::size_t f) { return std::isfinite(d.per_factor[f]) ? json(d.per_factor[f]) : json(nullptr); };
  for (std::size_t f = 0; f < drift_outputs.size(); ++f) {
    drift_per_factor[judge.package().outputs()[static_cast<std::size_t>(drift_outputs[f])].name] = {{"model", part(all.model_drift, f)},
                                                                                                   {"renderer", part(all.renderer_drift, f)}};
  }
  const std::vector<double>& hit_m = all.hits_model;
  const std::vector<double>& hit_t = all.hits_renderer;
  const std::vector<double> dir_m = direction_errors(m, asked, d_off), dir_t = direction_errors(t, asked, d_off);

  json per_emotion = json::object();
  for (std::size_t e = 0; e < asked.emotions.size(); ++e) {
    const AffectPoint q = asked.emotions[e];
    per_emotion[asked.emotion_names[e]] = {{"asked", {q.v, q.a, q.z}},
                                           {"model_accuracy", hit_m[e]},
                                           {"renderer_accuracy", hit_t[e]},
                                           {"model", emotion_reading(m, asked, e_off, use_z, e)},
                                           {"renderer", emotion_reading(t, asked, e_off, use_z, e)}};
  }
  json per_direction = json::array();
  for (std::size_t d = 0; d < asked.directions.size(); ++d) {
    per_direction.push_back({{"theta_deg", 360.0 * static_cast<double>(d % kDirections) / kDirections}, {"r", kRadii[d / kDirections]},
                             {"model_error", dir_m[d]}, {"renderer_error", dir_t[d]}});
  }
  r.json = {{"people", people.size()}, {"seed", opt.seed}, {"faces_per_person", points.size()},
            {"psnr_db", r.psnr_db}, {"psnr_neutral_db", r.psnr_neutral_db}, {"mae_ratio", r.mae_ratio}, {"drift_ratio", r.drift_ratio}, {"sharpness_ratio", r.sharpness_ratio},
            {"emotion_accuracy", r.emotion_accuracy}, {"renderer_emotion_accuracy", r.renderer_emotion_accuracy},
            {"standard_error", r.standard_error},
            {"model", {{"grid_mae_va", r.model_mae}, {"identity_drift", r.model_drift}, {"sharpness", r.model_sharpness}}},
            {"renderer", {{"grid_mae_va", r.renderer_mae}, {"identity_drift", r.renderer_drift}, {"sharpness", r.renderer_sharpness}}},
            {"emotion_space", use_z ? "3d (judged z)" : "valence-arousal (the judge reads no z, or the model is 2D)"},
            {"per_emotion", per_emotion}, {"per_direction", per_direction}, {"drift_per_factor", drift_per_factor},
            {"definition", "K procedural people (synth --seed's first K), identity = encoder mean of their neutral face; 7x7 grid, every "
                           "atlas emotion at intensity 1 and 24 directions at r 0.5 and 1.0, drawn by the model and by the renderer; "
                           "psnr over the face ellipse; ratios are model / renderer as read by the judge"}};
  const double worst = std::max(*std::max_element(dir_m.begin(), dir_m.end()), *std::max_element(dir_t.begin(), dir_t.end()));
  r.emotions_picture = emotions_picture(m, t, asked, e_off);
  r.polar_picture = polar_picture(dir_m, dir_t, worst);
  return r;
}

}  // namespace circumplex::tools
