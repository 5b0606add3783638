#include "mapper.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <map>
#include <numeric>
#include <opencv2/imgproc.hpp>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "map/stats.hpp"
#include "circumplex/torch_compat.hpp"
#include "circumplex/vae.hpp"
#include "circumplex/weights.hpp"
#include "common/csv.hpp"
#include "circumplex/facegen.hpp"
#include "circumplex/files.hpp"
#include "circumplex/photo.hpp"
#include "common/progress.hpp"
#include "train/dataset.hpp"
#include "train/trainer.hpp"
#include "plot/chart.hpp"
#include "plot/plot.hpp"

namespace circumplex::tools {
namespace fs = std::filesystem;
using nlohmann::json;
using stats::Matrix;

namespace {

constexpr double kStudyR2Valence = 0.80, kStudyR2Arousal = 0.60;  // the VAE study's targets
constexpr double kOurR2Valence = 0.95, kOurR2Arousal = 0.90, kOurQuadrant = 0.95;  // circumplex's default-model targets

/// True when `data` holds `synth`'s painted people: its labels.csv names every facegen
/// identity factor. Photo identities of a model trained on them take the procedural route.
bool procedural_data(const std::string& data) {
  std::ifstream in(fs::path(data) / "labels.csv");
  std::string header;
  if (!std::getline(in, header)) return false;
  std::vector<std::string> columns;
  CsvReader reader(header, data + "/labels.csv");
  if (!reader.next(columns)) return false;
  for (const facegen::FactorInfo& f : facegen::identity_factors()) {
    if (std::find(columns.begin(), columns.end(), f.name) == columns.end()) return false;
  }
  return true;
}

/// The framing of up to 400 training faces, spread evenly over the split, as the manifest's
/// "framing" object (photo.hpp) with the data's identity route; null with a warning when the
/// detector cannot measure it.
json measure_set_framing(const ImageSet& set, const std::string& data) {
  const std::int64_t n = std::min<std::int64_t>(400, set.size()), S = set.image_size();
  std::vector<std::int64_t> idx;
  for (std::int64_t i = 0; i < n; ++i) idx.push_back(i * set.size() / n);
  const torch::Tensor bytes = set.batch(idx).clamp(0, 1).mul(255).round().to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
  try {
    const Framing f = measure_framing(bytes.data_ptr<std::uint8_t>(), static_cast<int>(n), static_cast<int>(S));
    return {{"face_box", {f.face_x, f.face_y, f.face_size}}, {"luma", {f.luma_mean, f.luma_std}}, {"faces", f.faces}, {"detector", "haar"},
            {"identity_route", procedural_data(data) ? "procedural" : "photo"}};
  } catch (const Error& e) {
    std::fprintf(stderr, "map: warning: no framing recorded (%s); photo identities will use the centre square\n", e.what());
    return nullptr;
  }
}

Matrix encode(BetaVae& vae, const ImageSet& set, const std::string& label) {
  const std::int64_t n = set.size(), d = vae->config().latent;
  Matrix z(static_cast<std::size_t>(n), static_cast<std::size_t>(d));
  Progress bar("encode " + label, static_cast<std::uint64_t>(n), "img");
  torch_compat::InferenceGuard guard;
  for (std::int64_t lo = 0; lo < n; lo += 64) {
    std::vector<std::int64_t> idx;
    for (std::int64_t i = lo; i < std::min(n, lo + 64); ++i) idx.push_back(i);
    const torch::Tensor mu = vae->encoder->forward(set.batch(idx)).first.to(torch::kFloat64).contiguous();
    const double* p = mu.data_ptr<double>();
    for (std::size_t i = 0; i < idx.size(); ++i) {
      std::copy(p + i * static_cast<std::size_t>(d), p + (i + 1) * static_cast<std::size_t>(d), z.row(static_cast<std::size_t>(idx[i])));
    }
    bar.advance(idx.size());
  }
  return z;
}

std::string latents_csv(const ImageSet& set, const Matrix& z) {
  std::vector<std::string> header = {"file", "valence", "arousal", "z"};
  for (std::size_t j = 0; j < z.cols(); ++j) header.push_back("z" + std::to_string(j));
  std::string out = csv_join(header) + "\n";
  char num[32];
  for (std::size_t i = 0; i < z.rows(); ++i) {
    const ImageLabel& l = set.labels()[i];
    out += csv_escape(l.file);
    for (double x : {l.affect.v, l.affect.a, l.affect.z}) {
      std::snprintf(num, sizeof num, ",%.6g", x);
      out += num;
    }
    for (std::size_t j = 0; j < z.cols(); ++j) {
      std::snprintf(num, sizeof num, ",%.7g", z(i, j));
      out += num;
    }
    out += "\n";
  }
  return out;
}

// One latent per person of `set` (rows of z in set order): the mean over the person's images,
// people in order of their identity number; every image on its own (at most 1000) when the
// data has no identity column.
torch::Tensor people_latents(const ImageSet& set, const Matrix& z) {
  auto people = set.people();
  if (people.empty()) {
    for (std::int64_t i = 0; i < std::min<std::int64_t>(set.size(), 1000); ++i) people[i] = {i};
  }
  const std::size_t d = z.cols();
  std::vector<float> out;
  out.reserve(people.size() * d);
  for (const auto& [id, images] : people) {
    float* mean = &*out.insert(out.end(), d, 0.0f);
    for (std::int64_t i : images) {
      for (std::size_t c = 0; c < d; ++c) mean[c] += static_cast<float>(z(static_cast<std::size_t>(i), c) / static_cast<double>(images.size()));
    }
  }
  return torch::tensor(out).view({static_cast<std::int64_t>(people.size()), static_cast<std::int64_t>(d)});
}

}  // namespace

namespace {

// A finished run's configuration and weights.
struct RunModel {
  json config;
  VaeConfig vae_config;
  BetaVae vae{nullptr};
};

RunModel load_run_model(const fs::path& run) {
  RunModel m;
  json& config = m.config;
  VaeConfig& vc = m.vae_config;
  try {
    config = json::parse(read_text_file((run / "config.json").string()));
  } catch (const json::exception& e) {
    throw Error(ErrorKind::BadData, (run / "config.json").string() + ": malformed JSON: " + e.what());
  }
  if (!config.is_object() || !config.contains("model")) throw Error(ErrorKind::BadData, (run / "config.json").string() + ": no 'model' (is it a training run?)");
  vc = run_model_config(config["model"], (run / "config.json").string());
  const std::string weights_path = (run / "model.safetensors").string();
  if (!fs::exists(weights_path)) throw Error(ErrorKind::Io, weights_path + ": not found (has the run finished? `circumplex train --resume` completes it)");
  m.vae = BetaVae(vc);
  assign_module_tensors(*m.vae, load_tensors(weights_path), weights_path);
  m.vae->eval();

  return m;
}

// A model package given as the head (its manifest's format says so): its members, as they
// are, with their affect units and mirror setting, for a VAE retrained without a new head.
bool is_model_package(const std::string& dir) {
  const fs::path manifest = fs::path(dir) / "manifest.json";
  if (!fs::is_regular_file(manifest)) return false;
  const json m = json::parse(read_text_file(manifest.string(), kMaxManifestBytes), nullptr, false);
  return m.is_object() && m.contains("format") && m["format"] == "circumplex-model";
}

std::vector<std::string> package_affect_head(const std::string& dir, int dims, int image_size, VaeConfig& vc, TensorMap& tensors) {
  const ModelPackage pkg = ModelPackage::load(dir);
  const VaeConfig& theirs = pkg.config();
  if (theirs.affect_heads.empty()) throw Error(ErrorKind::InvalidArgument, dir + ": this model package has no affect head to reuse");
  if (theirs.affect_head_dims != dims) {
    throw Error(ErrorKind::InvalidArgument, dir + ": its affect head reads " + std::to_string(theirs.affect_head_dims) + " affect axes, the data has " + std::to_string(dims));
  }
  if (theirs.image_size != image_size) {
    throw Error(ErrorKind::InvalidArgument, dir + ": its affect head reads " + std::to_string(theirs.image_size) + " px faces, the model draws " + std::to_string(image_size) + " px");
  }
  vc.affect_heads = theirs.affect_heads;
  vc.affect_head_mirror = theirs.affect_head_mirror;
  std::vector<std::string> fingerprints;
  for (std::size_t k = 0; k < theirs.affect_heads.size(); ++k) {
    const std::string name = "encoder." + affect_head_member_name(static_cast<int>(k));
    TensorMap member;  // the member's own tensors, named as in its judge package
    for (const auto& [tname, t] : pkg.weights()) {
      if (tname.rfind(name + ".", 0) == 0) member[tname.substr(name.size() + 1)] = t;
    }
    for (const auto& [tname, t] : member) tensors[name + "." + tname] = t;
    tensors[name + "_mean"] = pkg.weights().at(name + "_mean");
    tensors[name + "_std"] = pkg.weights().at(name + "_std");
    fingerprints.push_back(tensors_fingerprint(member));
  }
  return fingerprints;
}

// Judge packages given as the head: one network each, its outputs' means and standard
// deviations turning its first `dims` outputs into affect units.
std::vector<std::string> judge_affect_heads(const std::vector<std::string>& dirs, int dims, int image_size, VaeConfig& vc, TensorMap& tensors) {
  std::vector<std::string> fingerprints;
  for (std::size_t k = 0; k < dirs.size(); ++k) {
    const std::string& dir = dirs[k];
    const JudgePackage head = JudgePackage::load(dir);
    if (head.config().input_size != image_size) {
      throw Error(ErrorKind::InvalidArgument, dir + ": the affect head reads " + std::to_string(head.config().input_size) + " px faces, the model draws " +
                                                  std::to_string(image_size) + " px");
    }
    vc.affect_heads.push_back(head.config());
    std::vector<float> mean, sd;
    const char* axes[] = {"valence", "arousal", "z"};
    for (int a = 0; a < dims; ++a) {
      if (head.index(axes[a]) != a) throw Error(ErrorKind::BadData, dir + ": output " + std::to_string(a) + " is not " + axes[a] + " (is it a judge package?)");
      const JudgeOutput& o = head.outputs()[static_cast<std::size_t>(a)];
      if (o.constant) throw Error(ErrorKind::InvalidArgument, dir + ": the affect head never learnt " + o.name + " (constant in its data); train it on faces that vary in it");
      mean.push_back(static_cast<float>(o.mean));
      sd.push_back(static_cast<float>(o.stdev));
    }
    const std::string name = "encoder." + affect_head_member_name(static_cast<int>(k));
    for (const auto& [tname, t] : head.weights()) tensors[name + "." + tname] = t;
    tensors[name + "_mean"] = torch::tensor(mean);
    tensors[name + "_std"] = torch::tensor(sd);
    fingerprints.push_back(tensors_fingerprint(head.weights()));
  }
  return fingerprints;
}

// Attaches the affect head (vae.hpp) to the run's VAE: the judge packages' networks (an
// ensemble when there are several, of one shape or several), each with the means and standard
// deviations that turn its first `dims` outputs (valence, arousal[, z]) into affect units,
// read over the face and its mirror image. The manifest's "model" records the shapes; returns
// the members' weight fingerprints. Or a model package's whole head, as it is.
std::vector<std::string> attach_affect_head(RunModel& m, const std::vector<std::string>& dirs, int dims) {
  if (dirs.empty() || dirs.size() > 8) throw Error(ErrorKind::InvalidArgument, "--affect-head takes 1 to 8 judge packages, got " + std::to_string(dirs.size()));
  const bool from_package = std::any_of(dirs.begin(), dirs.end(), is_model_package);
  if (from_package && dirs.size() != 1) throw Error(ErrorKind::InvalidArgument, "--affect-head takes one model package (its whole head) or judge packages, not both");
  VaeConfig vc = m.vae_config;
  vc.affect_head_dims = dims;
  vc.affect_heads.clear();
  vc.affect_head_mirror = true;
  TensorMap tensors = module_tensors(*m.vae);
  const std::vector<std::string> fingerprints = from_package ? package_affect_head(dirs[0], dims, m.vae_config.image_size, vc, tensors)
                                                             : judge_affect_heads(dirs, dims, m.vae_config.image_size, vc, tensors);
  BetaVae vae(vc);
  assign_module_tensors(*vae, tensors, dirs[0] + " (as the affect head)");
  vae->eval();
  m.vae = vae;
  m.vae_config = vc;
  // The first member's shape at the top (what packages of one shape have always written), and
  // every member's shape in "member_shapes" when they differ.
  const auto shape_of = [](const JudgeConfig& h) {
    json j = json::object();
    for (const JudgeShapeField& f : judge_shape_fields()) j[f.key] = h.*f.member;
    return j;
  };
  json& recorded = m.config["model"]["affect_head"] = shape_of(vc.affect_heads.front());
  recorded["dims"] = dims;
  recorded["members"] = vc.affect_heads.size();
  recorded["mirror"] = vc.affect_head_mirror;
  json shapes = json::array();
  for (const JudgeConfig& h : vc.affect_heads) shapes.push_back(shape_of(h));
  if (std::any_of(shapes.begin(), shapes.end(), [&](const json& s) { return s != shapes.front(); })) recorded["member_shapes"] = shapes;
  return fingerprints;
}

// Valence (0), arousal (1) or z (2) of every image of `s`.
std::vector<double> column(const ImageSet& s, int axis) {
  std::vector<double> y;
  for (const ImageLabel& l : s.labels()) y.push_back(axis == 0 ? l.affect.v : axis == 1 ? l.affect.a : l.affect.z);
  return y;
}

// Ridge per axis (λ by CV), Gram–Schmidt, and the origin and scale along each orthonormal direction.
struct AxisFits {
  std::vector<stats::RidgeFit> fits;
  std::vector<std::vector<double>> truth, pred;  // held-out, per axis
  std::vector<double> r2, origins, scales, r2_orth;
  stats::Directions dirs;
};

AxisFits fit_axes(const Matrix& ztr, const Matrix& zte, const ImageSet& train, const ImageSet& test, std::size_t axes, std::uint64_t seed) {
  const std::vector<std::string> names = {"valence", "arousal", "z"};
  AxisFits f;
  std::vector<stats::RidgeFit>& fits = f.fits;
  std::vector<std::vector<double>> coefficients;
  std::vector<std::vector<double>>& truth = f.truth;
  std::vector<std::vector<double>>& pred = f.pred;
  std::vector<double>& r2 = f.r2;
  std::fprintf(stderr, "fitting ridge regression (%zu axes, %zu latents, lambda by 5-fold CV)...\n", axes, ztr.cols());
  for (std::size_t k = 0; k < axes; ++k) {
    stats::RidgeOptions ro;
    ro.seed = seed;
    fits.push_back(stats::ridge_cv(ztr, column(train, static_cast<int>(k)), ro));
    coefficients.push_back(fits.back().weights);
    truth.push_back(column(test, static_cast<int>(k)));
    pred.push_back(stats::predict(fits.back(), zte));
    r2.push_back(stats::r2_score(truth.back(), pred.back()));
  }
  f.dirs = stats::map_directions(coefficients);
  const stats::Directions& dirs = f.dirs;

  // Origins and scales along the orthonormal directions: affect_k ≈ (u_k·z − origin_k) / scale_k.
  std::vector<double>& origins = f.origins;
  std::vector<double>& scales = f.scales;
  std::vector<double>& r2_orth = f.r2_orth;
  for (std::size_t k = 0; k < axes; ++k) {
    const std::vector<double>& u = dirs.orthonormal[k];
    auto project = [&](const Matrix& z) {
      Matrix p(z.rows(), 1);
      for (std::size_t i = 0; i < z.rows(); ++i) p(i, 0) = std::inner_product(u.begin(), u.end(), z.row(i), 0.0);
      return p;
    };
    const stats::RidgeFit line = stats::ridge_fit(project(ztr), column(train, static_cast<int>(k)), 0.0);
    const double beta = line.weights[0], alpha = line.intercept;
    if (!(beta > 0)) throw Error(ErrorKind::Internal, "the " + names[k] + " direction carries no " + names[k] + " (slope " + std::to_string(beta) + ")");
    scales.push_back(1.0 / beta);
    origins.push_back(-alpha / beta);
    r2_orth.push_back(stats::r2_score(truth[k], stats::predict(line, project(zte))));
  }

  return f;
}

}  // namespace

MapResult map_manifold(const MapOptions& opt) {
  torch_compat::set_threads(opt.threads);
  const fs::path run(opt.run);
  RunModel model = load_run_model(run);
  const ImageSet train = ImageSet::load(opt.data, "train", opt.fit_limit);
  double zmin = 1e9, zmax = -1e9;
  for (double z : column(train, 2)) { zmin = std::min(zmin, z); zmax = std::max(zmax, z); }
  const bool three_d = zmax - zmin > 1e-6;
  const std::size_t axes = three_d ? 3 : 2;
  const std::vector<std::string> head_fingerprints = opt.affect_heads.empty() ? std::vector<std::string>() : attach_affect_head(model, opt.affect_heads, static_cast<int>(axes));
  const json& config = model.config;
  const VaeConfig& vc = model.vae_config;
  BetaVae& vae = model.vae;
  const ImageSet test = [&] {
    try {
      return ImageSet::load(opt.data, "test", opt.held_out_limit);
    } catch (const Error&) {
      return ImageSet::load(opt.data, "val", opt.held_out_limit);
    }
  }();
  if (train.image_size() != vc.image_size) throw Error(ErrorKind::InvalidArgument, opt.data + ": images do not match the model's size");
  const Matrix ztr = encode(vae, train, "train"), zte = encode(vae, test, "held-out");
  const std::vector<std::string> names = {"valence", "arousal", "z"};

  std::fprintf(stderr, "fitting ridge regression (%zu axes, %zu latents, lambda by 5-fold CV)...\n", axes, ztr.cols());
  const AxisFits af = fit_axes(ztr, zte, train, test, axes, opt.seed);
  const auto& fits = af.fits;
  const auto& truth = af.truth;
  const auto& pred = af.pred;
  const auto& r2 = af.r2;
  const auto& origins = af.origins;
  const auto& scales = af.scales;
  const auto& r2_orth = af.r2_orth;
  const stats::Directions& dirs = af.dirs;

  // Quadrant accuracy: logistic regression on z, trained on train, scored on held-out.
  Matrix all(ztr.rows() + zte.rows(), ztr.cols());
  std::copy(ztr.data().begin(), ztr.data().end(), all.row(0));
  std::copy(zte.data().begin(), zte.data().end(), all.row(ztr.rows()));
  std::vector<double> v_all = column(train, 0), a_all = column(train, 1);
  for (double x : column(test, 0)) v_all.push_back(x);
  for (double x : column(test, 1)) a_all.push_back(x);
  stats::Split split;
  for (std::size_t i = 0; i < ztr.rows(); ++i) split.train.push_back(i);
  for (std::size_t i = 0; i < zte.rows(); ++i) split.held_out.push_back(ztr.rows() + i);
  const stats::QuadrantResult quad = stats::quadrant_accuracy(all, v_all, a_all, split);

  // MIG on the held-out split (equal-width bins, 20 per latent and per factor).
  Matrix factors(zte.rows(), axes);
  for (std::size_t i = 0; i < zte.rows(); ++i) {
    for (std::size_t k = 0; k < axes; ++k) factors(i, k) = truth[k][i];
  }
  const stats::MigResult mig = stats::mutual_information_gap(zte, factors, std::vector<stats::FactorKind>(axes, stats::FactorKind::Continuous));

  MapResult result;
  result.three_d = three_d;
  result.r2_valence = r2[0];
  result.r2_arousal = r2[1];
  result.r2_z = three_d ? r2[2] : 0.0;
  result.quadrant_accuracy = quad.held_out.accuracy;
  result.mig = mig.mig;
  for (std::size_t i = 0; i < axes; ++i) {
    for (std::size_t j = 0; j < axes; ++j) {
      if (i != j) result.max_abs_cos_after = std::max(result.max_abs_cos_after, std::fabs(dirs.cos_after(i, j)));
    }
  }

  // Identity prior: per-dimension mean and std of the training latents, and the people of the
  // held-out split (the mean latent of each person's images; each image where the data has no
  // identity column), whom seeds draw from (model_package.hpp says why).
  std::vector<double> mean(ztr.cols(), 0.0), sd(ztr.cols(), 0.0);
  for (std::size_t i = 0; i < ztr.rows(); ++i) for (std::size_t j = 0; j < ztr.cols(); ++j) mean[j] += ztr(i, j) / static_cast<double>(ztr.rows());
  for (std::size_t i = 0; i < ztr.rows(); ++i) for (std::size_t j = 0; j < ztr.cols(); ++j) sd[j] += std::pow(ztr(i, j) - mean[j], 2) / static_cast<double>(ztr.rows());
  for (double& s : sd) s = std::max(std::sqrt(s), 1e-6);

  // Report.
  json metrics;
  for (std::size_t k = 0; k < axes; ++k) {
    metrics["r2"][names[k]] = r2[k];
    metrics["r2_orthonormal_direction"][names[k]] = r2_orth[k];
    metrics["ridge_lambda"][names[k]] = fits[k].lambda;
    json top = json::array();
    for (const auto& t : mig.factors[k].top) top.push_back({{"dim", t.dim}, {"mi_nats", t.mi}});
    metrics["mig_per_factor"][names[k]] = {{"gap", mig.factors[k].gap}, {"entropy_nats", mig.factors[k].entropy}, {"top_dims", top}};
  }
  metrics["mig"] = mig.mig;
  metrics["mig_discretisation"] = "20 equal-width bins per latent dimension and per factor, plug-in MI in nats, held-out split";
  metrics["quadrant_accuracy"] = quad.held_out.accuracy;
  metrics["quadrant_confusion"] = quad.held_out.confusion;
  auto matrix_json = [&](const Matrix& m) {
    json rows = json::array();
    for (std::size_t i = 0; i < m.rows(); ++i) rows.push_back(std::vector<double>(m.row(i), m.row(i) + m.cols()));
    return rows;
  };
  metrics["cos_before"] = matrix_json(dirs.cos_before);
  metrics["cos_after"] = matrix_json(dirs.cos_after);
  metrics["max_abs_cos_after"] = result.max_abs_cos_after;
  metrics["train_images"] = train.size();
  metrics["held_out_images"] = test.size();
  metrics["targets"] = {{"vae_study", {{"r2_valence", kStudyR2Valence}, {"r2_arousal", kStudyR2Arousal}}},
                        {"circumplex_default", {{"r2_valence", kOurR2Valence}, {"r2_arousal", kOurR2Arousal}, {"quadrant_accuracy", kOurQuadrant}, {"max_abs_cos_after", 1e-6}}}};

  const fs::path pkg(opt.out);
  fs::create_directories(pkg);
  json manifest;
  manifest["format"] = "circumplex-model";
  manifest["version"] = 1;
  manifest["model"] = config.at("model");
  json mf;
  if (config.value("teacher_forcing", false)) {
    // The decoder was trained on the true affect in latents 0..axes-1 (times
    // kAffectLatentScale): those axes are the exact directions, not the Ridge estimate of them.
    for (std::size_t k = 0; k < axes; ++k) {
      std::vector<double> axis(static_cast<std::size_t>(vc.latent), 0.0);
      axis[k] = 1.0;
      mf[names[k]] = axis;
    }
    mf["origins"] = std::vector<double>(axes, 0.0);
    mf["scales"] = std::vector<double>(axes, kAffectLatentScale);
    mf["directions_from"] = "teacher-forced axes (training decoded latents 0-2 = 2 * (v, a, z))";
  } else {
    for (std::size_t k = 0; k < axes; ++k) mf[names[k]] = dirs.orthonormal[k];
    mf["origins"] = origins;
    mf["scales"] = scales;
    mf["directions_from"] = "ridge regression on the encoder's latents, Gram-Schmidt";
  }
  mf["space"] = three_d ? "3d" : "2d";
  manifest["manifold"] = mf;
  const torch::Tensor people = people_latents(test, zte);  // written by ModelPackage::save, last
  manifest["identity_prior"] = {{"mean", mean}, {"std", sd}, {"people", {{"file", "people.safetensors"}, {"count", people.size(0)}}}};
  manifest["metrics"] = metrics;
  manifest["provenance"] = {{"data", opt.data}, {"run", opt.run}, {"train_command", config.value("command", "")},
                            {"train_seed", config.value("seed", 0)}, {"map_command", opt.command_line},
                            {"map_seed", opt.seed}, {"commit", opt.commit}, {"libtorch", torch_compat::version()},
                            {"teacher_forcing", config.value("teacher_forcing", false)}};
  // The read-back reader's weights, so `evaluate` refuses it as an evaluation judge.
  if (config.contains("reader") && config["reader"].is_object()) manifest["provenance"]["reader_fingerprint"] = config["reader"].value("fingerprint", "");
  // The affect head's, for the same reason (it reads this model's faces): member 0's under
  // the key packages have always had, every member's in the list.
  if (!head_fingerprints.empty()) {
    manifest["provenance"]["affect_head"] = opt.affect_heads.front();
    manifest["provenance"]["affect_heads"] = opt.affect_heads;
    manifest["provenance"]["affect_head_fingerprint"] = head_fingerprints.front();
    manifest["provenance"]["affect_head_fingerprints"] = head_fingerprints;
  }
  if (json framing = measure_set_framing(train, opt.data); !framing.is_null()) manifest["framing"] = framing;
  manifest["weights"] = {{"file", "weights.safetensors"}};

  write_file_atomic((pkg / "latents.csv").string(), latents_csv(test, zte));
  write_file_atomic((pkg / "latents_train.csv").string(), latents_csv(train, ztr));
  write_file_atomic((pkg / "report.json").string(), metrics.dump(2) + "\n");

  std::string md = "# Manifold report\n\nModel run `" + opt.run + "`, data `" + opt.data + "`: " + std::to_string(train.size()) +
                   " training and " + std::to_string(test.size()) + " held-out images, latent dimension " + std::to_string(vc.latent) + ".\n\n";
  md += "| metric (held-out) | circumplex | circumplex target | VAE study target |\n|---|---|---|---|\n";
  char line[256];
  std::snprintf(line, sizeof line, "| R² valence | %.4f | ≥ %.2f | > %.2f |\n", r2[0], kOurR2Valence, kStudyR2Valence); md += line;
  std::snprintf(line, sizeof line, "| R² arousal | %.4f | ≥ %.2f | > %.2f |\n", r2[1], kOurR2Arousal, kStudyR2Arousal); md += line;
  if (three_d) { std::snprintf(line, sizeof line, "| R² z | %.4f | | |\n", r2[2]); md += line; }
  std::snprintf(line, sizeof line, "| quadrant accuracy | %.4f | ≥ %.2f | |\n", quad.held_out.accuracy, kOurQuadrant); md += line;
  std::snprintf(line, sizeof line, "| MIG (mean) | %.4f | | |\n", mig.mig); md += line;
  std::snprintf(line, sizeof line, "| max \\|cos\\| after Gram–Schmidt | %.2e | ≤ 1e-6 | |\n\n", result.max_abs_cos_after); md += line;
  md += "Cosines between the Ridge directions before Gram–Schmidt:\n\n";
  for (std::size_t i = 0; i < axes; ++i) for (std::size_t j = i + 1; j < axes; ++j) {
    std::snprintf(line, sizeof line, "- %s · %s: before %.4f, after %.2e\n", names[i].c_str(), names[j].c_str(), dirs.cos_before(i, j), dirs.cos_after(i, j));
    md += line;
  }
  md += "\nMIG per factor (20 equal-width bins per latent and factor; plug-in MI in nats):\n\n";
  for (std::size_t k = 0; k < axes; ++k) {
    std::snprintf(line, sizeof line, "- %s: gap %.4f, top dimensions", names[k].c_str(), mig.factors[k].gap);
    md += line;
    for (const auto& t : mig.factors[k].top) { std::snprintf(line, sizeof line, " z%zu (%.3f)", t.dim, t.mi); md += line; }
    md += "\n";
  }
  md += "\nRidge λ chosen by 5-fold cross-validation:";
  for (std::size_t k = 0; k < axes; ++k) { std::snprintf(line, sizeof line, " %s %.3g;", names[k].c_str(), fits[k].lambda); md += line; }
  md += "\n\nPlots: `map_scatter.png` (predicted vs true affect), `map_mi.png` (MI of each latent dimension with each factor).\n";
  write_file_atomic((pkg / "report.md").string(), md);

  plot::write_image_atomic((pkg / "map_scatter.png").string(),
                           plot::truth_scatter(std::vector<std::string>(names.begin(), names.begin() + static_cast<long>(axes)), truth, pred, r2));
  std::vector<plot::Series> mi_series;
  const cv::Scalar colours[3] = {{40, 40, 200}, {200, 90, 30}, {60, 160, 60}};
  for (std::size_t k = 0; k < axes; ++k) {
    plot::Series s{names[k], {}, {}, colours[k]};
    for (std::size_t j = 0; j < mig.mi.rows(); ++j) { s.x.push_back(static_cast<double>(j)); s.y.push_back(mig.mi(j, k)); }
    mi_series.push_back(s);
  }
  plot::write_image_atomic((pkg / "map_mi.png").string(),
                           plot::line_chart("mutual information of each latent dimension with each factor", "latent dimension", "MI (nats)", mi_series));

  // People, weights, then the manifest (runtime: model_package.hpp), checked against each other.
  ModelPackage::save(pkg.string(), manifest.dump(1) + "\n", module_tensors(*vae), json{{"model", config.at("model")}}.dump(), people,
                     json{{"from", opt.data + " held-out split, mean latent per person"}}.dump());
  return result;
}

Framing add_framing(const std::string& package, const std::string& data) {
  const std::string path = (fs::path(package) / "manifest.json").string();
  json manifest;
  try {
    manifest = json::parse(read_text_file(path));
  } catch (const json::exception& e) {
    throw Error(ErrorKind::BadData, path + ": " + e.what());
  }
  const ModelPackage before = ModelPackage::load(package);  // a package this build reads
  const ImageSet train = ImageSet::load(data, "train", 0);
  if (train.image_size() != before.config().image_size) {
    throw Error(ErrorKind::InvalidArgument, data + ": its faces are " + std::to_string(train.image_size()) + " px, the package's " +
                                                std::to_string(before.config().image_size) + " px");
  }
  const json framing = measure_set_framing(train, data);
  if (framing.is_null()) throw Error(ErrorKind::BadData, data + ": the face detector could not measure the framing of its faces");
  manifest["framing"] = framing;
  write_file_atomic(path, manifest.dump(1) + "\n");
  return *ModelPackage::load(package).framing();
}

}  // namespace circumplex::tools
