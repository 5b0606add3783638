#include "judge_trainer.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <set>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "circumplex/judge.hpp"
#include "map/stats.hpp"
#include "circumplex/torch_compat.hpp"
#include "circumplex/weights.hpp"
#include "circumplex/files.hpp"
#include "common/progress.hpp"
#include "judge_data.hpp"
#include "plot/chart.hpp"
#include "plot/plot.hpp"
#include "train/harness.hpp"
#include "train/optim.hpp"

namespace circumplex::tools {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr double kAffectWeight = 2.0;  // the affect head counts twice in the loss: evaluate reads it most
constexpr double kWeightDecay = 1e-4;  // decoupled (AdamW-style), on weights of rank ≥ 2 only
constexpr double kFinalLrShare = 0.02; // cosine decay ends at this share of the peak rate
constexpr std::int64_t kWarmupSteps = 50;

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t x = (a + 0x9E3779B97F4A7C15ULL) ^ (b * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL);
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

double learning_rate(double peak, std::int64_t step, std::int64_t total) {
  const double warm = std::min(1.0, static_cast<double>(step + 1) / static_cast<double>(kWarmupSteps));
  const double progress = std::min(1.0, static_cast<double>(step) / static_cast<double>(std::max<std::int64_t>(1, total)));
  const double lo = peak * kFinalLrShare;
  return warm * (lo + 0.5 * (peak - lo) * (1.0 + std::cos(3.14159265358979323846 * progress)));
}

std::vector<JudgeOutput> describe_outputs(const JudgeColumns& cols, const torch::Tensor& targets) {
  const torch::Tensor t = targets.to(torch::kFloat64);
  const torch::Tensor mean = t.mean(0), sd = (t - mean).pow(2).mean(0).sqrt();  // population std
  std::vector<JudgeOutput> out;
  auto add = [&](const std::string& name, const std::string& group) {
    const auto i = static_cast<std::int64_t>(out.size());
    JudgeOutput o;
    o.name = name;
    o.group = group;
    o.mean = mean[i].item<double>();
    o.stdev = sd[i].item<double>();
    o.constant = !(o.stdev > 1e-6);
    if (o.constant) o.stdev = 1.0;
    out.push_back(o);
  };
  for (const char* n : {"valence", "arousal", "z"}) add(n, "affect");
  for (const auto& n : cols.aus) add(n, "au");
  for (const auto& n : cols.factors) add(n, "identity");
  return out;
}

json outputs_json(const std::vector<JudgeOutput>& outputs) {
  json a = json::array();
  for (const auto& o : outputs) a.push_back({o.name, o.group, o.mean, o.stdev, o.constant});
  return a;
}

// Per-output loss weights: each group's non-constant outputs share the group's weight.
torch::Tensor loss_weights(const std::vector<JudgeOutput>& outputs, double identity_weight) {
  std::map<std::string, int> live;
  for (const auto& o : outputs) live[o.group] += o.constant ? 0 : 1;
  std::vector<float> w;
  for (const auto& o : outputs) {
    const double group = o.group == "affect" ? kAffectWeight : o.group == "identity" ? identity_weight : 1.0;
    w.push_back(o.constant ? 0.0f : static_cast<float>(group / live[o.group]));
  }
  return torch::tensor(w).unsqueeze(0);
}

struct Normaliser {
  torch::Tensor mean, scale;
  explicit Normaliser(const std::vector<JudgeOutput>& outputs) {
    std::vector<float> m, s;
    for (const auto& o : outputs) {
      m.push_back(static_cast<float>(o.mean));
      s.push_back(static_cast<float>(o.stdev));
    }
    mean = torch::tensor(m).unsqueeze(0);
    scale = torch::tensor(s).unsqueeze(0);
  }
  torch::Tensor to_z(const torch::Tensor& y) const { return (y - mean) / scale; }
  torch::Tensor from_z(const torch::Tensor& z) const { return z * scale + mean; }
};

// Softens a random half of the batch by a random amount (VAE faces are blurrier than the
// renderer's) and jitters brightness and contrast a little. Uses LibTorch's generator, which
// the loop seeds per step.
torch::Tensor augment(const torch::Tensor& x) {
  const std::int64_t n = x.size(0);
  namespace F = torch::nn::functional;
  const auto pool = F::AvgPool2dFuncOptions(3).stride(1).padding(1).count_include_pad(false);
  const torch::Tensor blurred = F::avg_pool2d(F::avg_pool2d(x, pool), pool);
  const torch::Tensor amount = torch::rand({n, 1, 1, 1}) * (torch::rand({n, 1, 1, 1}) < 0.5).to(torch::kFloat32);
  torch::Tensor y = x + amount * (blurred - x);
  const torch::Tensor contrast = 1.0 + (torch::rand({n, 1, 1, 1}) - 0.5) * 0.2;
  const torch::Tensor brightness = (torch::rand({n, 1, 1, 1}) - 0.5) * 0.1;
  return ((y - 0.5) * contrast + 0.5 + brightness).clamp_(0.0, 1.0).contiguous(at::MemoryFormat::ChannelsLast);
}

// Predictions in label units for a whole set, eval mode, no autograd.
torch::Tensor predict_all(JudgeNet& net, const JudgeSet& set, const Normaliser& norm) {
  torch_compat::InferenceGuard guard;
  std::vector<torch::Tensor> parts;
  for (std::int64_t lo = 0; lo < set.size(); lo += 128) {
    std::vector<std::int64_t> idx(static_cast<std::size_t>(std::min<std::int64_t>(128, set.size() - lo)));
    std::iota(idx.begin(), idx.end(), lo);
    parts.push_back(norm.from_z(net->forward(set.batch(idx))));
  }
  return torch::cat(parts, 0);
}

// R² of each output (null where the truth is constant).
std::vector<std::optional<double>> r2_per_output(const torch::Tensor& pred, const torch::Tensor& truth) {
  std::vector<std::optional<double>> out;
  const torch::Tensor p = pred.to(torch::kFloat64).contiguous(), t = truth.to(torch::kFloat64).contiguous();
  for (std::int64_t j = 0; j < p.size(1); ++j) {
    const torch::Tensor pc = p.select(1, j).contiguous(), tc = t.select(1, j).contiguous();
    std::vector<double> yp(pc.data_ptr<double>(), pc.data_ptr<double>() + pc.numel()), yt(tc.data_ptr<double>(), tc.data_ptr<double>() + tc.numel());
    const auto [lo, hi] = std::minmax_element(yt.begin(), yt.end());
    if (yt.size() < 2 || *hi - *lo < 1e-9) {
      out.emplace_back();
    } else {
      out.emplace_back(stats::r2_score(yt, yp));
    }
  }
  return out;
}

double mean_r2(const std::vector<std::optional<double>>& r2, const std::vector<JudgeOutput>& outputs, const std::string& group) {
  double sum = 0;
  int n = 0;
  for (std::size_t j = 0; j < r2.size(); ++j) {
    if (outputs[j].group == group && r2[j]) {
      sum += *r2[j];
      ++n;
    }
  }
  return n ? sum / n : std::nan("");
}

struct EpochRecord {
  int epoch = 0;
  double loss = 0, affect = 0, au = 0, identity = 0, val_loss = 0, val_r2_v = 0, val_r2_a = 0, val_r2_au = 0, val_r2_id = 0, lr = 0, rate = 0;
  json to_json() const { return {epoch, loss, affect, au, identity, val_loss, val_r2_v, val_r2_a, val_r2_au, val_r2_id, lr, rate}; }
  static EpochRecord from_json(const json& j) {
    EpochRecord r;
    r.epoch = j.at(0).get<int>();
    double* fields[] = {&r.loss, &r.affect, &r.au, &r.identity, &r.val_loss, &r.val_r2_v, &r.val_r2_a, &r.val_r2_au, &r.val_r2_id, &r.lr, &r.rate};
    for (std::size_t i = 0; i < 11; ++i) *fields[i] = j.at(i + 1).is_number() ? j.at(i + 1).get<double>() : std::nan("");
    return r;
  }
};

void write_curves(const fs::path& dir, const std::vector<EpochRecord>& history) {
  std::vector<std::vector<double>> rows;
  for (const EpochRecord& r : history) {
    rows.push_back({static_cast<double>(r.epoch), r.loss, r.affect, r.au, r.identity, r.val_loss, r.val_r2_v, r.val_r2_a, r.val_r2_au, r.val_r2_id, r.lr, r.rate});
  }
  write_epoch_log(dir, {"loss", "affect_loss", "au_loss", "identity_loss", "val_loss", "val_r2_valence", "val_r2_arousal", "val_r2_au_mean",
                        "val_r2_identity_mean", "lr", "images_per_second"},
                  rows, {{"judge training loss (standardised squared error)", "loss", {"loss", "val_loss", "affect_loss"}, true},
                         {"judge held-out R2 (val split)", "R2", {"val_r2_valence", "val_r2_arousal", "val_r2_au_mean", "val_r2_identity_mean"}, false}});
}

// Judged against true, per named column of `truth`/`pred` [N, ≥ names].
cv::Mat scatter(const std::vector<std::string>& names, const torch::Tensor& truth, const torch::Tensor& pred, const std::vector<double>& r2) {
  std::vector<std::vector<double>> t(names.size()), p(names.size());
  const torch::Tensor tc = truth.to(torch::kDouble).contiguous(), pc = pred.to(torch::kDouble).contiguous();
  for (std::size_t k = 0; k < names.size(); ++k) {
    const auto col = static_cast<std::int64_t>(k);
    for (std::int64_t i = 0; i < tc.size(0); ++i) {
      t[k].push_back(tc[i][col].item<double>());
      p[k].push_back(pc[i][col].item<double>());
    }
  }
  return plot::truth_scatter(names, t, p, r2, "judge ", "judged");
}

// The options a resumed run must share with the interrupted one.
json resume_options(const JudgeTrainOptions& o) {
  json j = {{"--seed", o.seed}, {"--batch", o.batch}, {"--epochs", o.epochs}, {"--lr", o.lr}, {"--width", o.width},
            {"--work-size", o.work_size}, {"--stem", o.stem}, {"--limit", o.limit}, {"--dropout", o.dropout}, {"--no-augment", !o.augment}};
  if (o.identity_weight != 1.0) j["--identity-weight"] = o.identity_weight;  // checkpoints from before the option still resume
  return j;
}

json nullable(const std::optional<double>& x) { return x ? json(*x) : json(nullptr); }
json finite_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

}  // namespace


namespace {

// The judge's data: targets and images at the work size, split by person.
struct JudgeData {
  JudgeColumns cols;
  JudgeSet train, val, test;
};

JudgeData load_judge_data(const JudgeTrainOptions& opt) {
  JudgeColumns cols = judge_columns(opt.data);
  std::fprintf(stderr, "judge: loading %s (%zu AUs, %zu identity factors)...\n", opt.data.c_str(), cols.aus.size(), cols.factors.size());
  const int side = opt.stem > 0 ? 0 : opt.work_size;  // a learned stem takes the images as they are
  JudgeSet train = load_judge_set(opt.data, "train", cols, side, opt.limit);
  JudgeSet val = [&] {
    try {
      return load_judge_set(opt.data, "val", cols, side, opt.val_limit);
    } catch (const Error&) {
      return load_judge_set(opt.data, "test", cols, side, opt.val_limit);
    }
  }();
  JudgeSet test = [&] {
    try {
      return load_judge_set(opt.data, "test", cols, side);
    } catch (const Error&) {
      return load_judge_set(opt.data, "val", cols, side);
    }
  }();
  if (train.size() < opt.batch) throw Error(ErrorKind::InvalidArgument, opt.data + ": " + std::to_string(train.size()) + " training images, fewer than one --batch");

  return {std::move(cols), std::move(train), std::move(val), std::move(test)};
}

// The epoch's record: its training means and the held-out loss and R² on the val split.
EpochRecord validate_epoch(JudgeNet& net, const JudgeSet& val, const Normaliser& norm, const torch::Tensor& weights,
                           const std::vector<JudgeOutput>& outputs, int epoch, const double (&sums)[5], double lr, double rate) {
  net->eval();
  const torch::Tensor vp = predict_all(net, val, norm);
  const torch::Tensor val_err = (norm.to_z(vp) - norm.to_z(val.targets)).pow(2).mean(0, true);
  const auto r2 = r2_per_output(vp, val.targets);
  EpochRecord rec;
  rec.epoch = epoch + 1;
  rec.loss = sums[0] / sums[4];
  rec.affect = sums[1] / sums[4];
  rec.au = sums[2] / sums[4];
  rec.identity = sums[3] / sums[4];
  rec.val_loss = (val_err * weights).sum().item<double>();
  rec.val_r2_v = r2[0].value_or(std::nan(""));
  rec.val_r2_a = r2[1].value_or(std::nan(""));
  rec.val_r2_au = mean_r2(r2, outputs, "au");
  rec.val_r2_id = mean_r2(r2, outputs, "identity");
  rec.lr = lr;
  rec.rate = rate;
  return rec;
}

// After the last epoch: metrics on the test split (unseen people), how fast the judge reads
// faces, report.json/.md, the scatter plot, and the package (which supersedes the checkpoint).
void finish_judge(const JudgeTrainOptions& opt, JudgeNet& net, const JudgeConfig& config, const std::vector<JudgeOutput>& outputs,
                  const JudgeData& data, const Normaliser& norm, const std::vector<EpochRecord>& history, std::int64_t step,
                  std::int64_t batches, JudgeTrainResult& result) {
  const JudgeSet& train = data.train;
  const JudgeSet& val = data.val;
  const JudgeSet& test = data.test;
  const fs::path dir(opt.out);
  // Held-out metrics on the test split (unseen people), and how fast the judge reads faces.
  net->eval();
  const auto t_infer = std::chrono::steady_clock::now();
  const torch::Tensor tp = predict_all(net, test, norm);
  const double infer_rate = static_cast<double>(test.size()) / std::max(1e-9, std::chrono::duration<double>(std::chrono::steady_clock::now() - t_infer).count());
  const auto r2 = r2_per_output(tp, test.targets);
  const torch::Tensor abs_err = (tp - test.targets).abs().mean(0);
  const double mae_v = abs_err[0].item<double>(), mae_a = abs_err[1].item<double>();
  json r2_all = json::object(), r2_aus = json::object(), r2_ids = json::object();
  for (std::size_t j = 0; j < outputs.size(); ++j) {
    r2_all[outputs[j].name] = nullable(r2[j]);
    if (outputs[j].group == "au") r2_aus[outputs[j].name] = nullable(r2[j]);
    if (outputs[j].group == "identity") r2_ids[outputs[j].name] = nullable(r2[j]);
  }
  result.r2_valence = r2[0].value_or(std::nan(""));
  result.r2_arousal = r2[1].value_or(std::nan(""));
  result.r2_au_mean = mean_r2(r2, outputs, "au");
  result.r2_identity_mean = mean_r2(r2, outputs, "identity");
  result.mae_va = (mae_v + mae_a) / 2.0;
  result.steps = step;
  double train_seconds = 0;
  for (const auto& h : history) train_seconds += h.rate > 0 ? static_cast<double>(batches * opt.batch) / h.rate : 0.0;

  json metrics = {{"split", "test"}, {"images", test.size()}, {"r2_valence", finite_or_null(result.r2_valence)},
                  {"r2_arousal", finite_or_null(result.r2_arousal)}, {"r2_z", nullable(r2[2])},
                  {"r2_au_mean", finite_or_null(result.r2_au_mean)}, {"r2_identity_mean", finite_or_null(result.r2_identity_mean)},
                  {"mae_valence", mae_v}, {"mae_arousal", mae_a}, {"mae_va", result.mae_va},
                  {"r2_au", r2_aus}, {"r2_identity", r2_ids}, {"r2", r2_all}};
  std::vector<std::string> seeds;
  for (const std::string& s : train.identity_seeds) {
    if (!s.empty() && std::find(seeds.begin(), seeds.end(), s) == seeds.end() && seeds.size() < 16) seeds.push_back(s);
  }
  std::set<std::string> people(train.identity_seeds.begin(), train.identity_seeds.end());
  const json training = {{"epochs", opt.epochs}, {"steps", step}, {"batch", opt.batch}, {"lr", opt.lr}, {"augment", opt.augment}, {"dropout", opt.dropout}, {"identity_weight", opt.identity_weight},
                         {"threads", opt.threads}, {"train_seconds", train_seconds}, {"train_images_per_second", history.empty() ? 0.0 : history.back().rate},
                         {"inference_images_per_second", infer_rate}, {"flops_per_image", net->flops_per_image()},
                         {"train_images", train.size()}, {"train_identities", people.size()}, {"val_images", val.size()}};
  const json provenance = {{"data", opt.data}, {"data_source", train.source}, {"seed", opt.seed}, {"command", opt.command_line},
                           {"commit", opt.commit}, {"libtorch", torch_compat::version()}, {"identity_seeds_sample", seeds},
                           {"note", "trained on procedural faces made with a different synth --seed from the VAE's data"}};
  write_file_atomic((dir / "report.json").string(), json{{"metrics", metrics}, {"training", training}}.dump(2) + "\n");

  std::string md = "# Judge report\n\nData `" + opt.data + "`: " + std::to_string(train.size()) + " training images of " +
                   std::to_string(people.size()) + " people; metrics on the " + std::to_string(test.size()) +
                   " images of the test split (people the judge never saw).\n\n| head | held-out |\n|---|---|\n";
  char line[256];
  auto row = [&](const char* name, double v, const char* fmt = "| %s | %.4f |\n") {
    std::snprintf(line, sizeof line, fmt, name, v);
    md += line;
  };
  row("R² valence", result.r2_valence);
  row("R² arousal", result.r2_arousal);
  if (r2[2]) row("R² z", *r2[2]);
  row("MAE valence", mae_v);
  row("MAE arousal", mae_a);
  row("R² AUs (mean of 17)", result.r2_au_mean);
  row("R² identity factors (mean)", result.r2_identity_mean);
  md += "\nPer AU:";
  for (std::size_t j = 0; j < outputs.size(); ++j) {
    if (outputs[j].group != "au") continue;
    std::snprintf(line, sizeof line, " %s %.3f;", outputs[j].name.c_str(), r2[j].value_or(std::nan("")));
    md += line;
  }
  md += "\n\nPer identity factor:";
  for (std::size_t j = 0; j < outputs.size(); ++j) {
    if (outputs[j].group != "identity") continue;
    std::snprintf(line, sizeof line, " %s %.3f;", outputs[j].name.c_str(), r2[j].value_or(std::nan("")));
    md += line;
  }
  std::snprintf(line, sizeof line, "\n\nTraining: %d epochs, %lld steps of %d, %.0f s of training at %.1f img/s (%d threads); %.1f MFLOP per image; "
                "reads %.0f img/s.\n", opt.epochs, static_cast<long long>(step), opt.batch, train_seconds,
                history.empty() ? 0.0 : history.back().rate, opt.threads, static_cast<double>(net->flops_per_image()) / 1e6, infer_rate);
  md += line;
  md += "\nCurves: `loss.png`, `loss.csv`; judged against true valence and arousal: `judge_scatter.png`.\n";
  write_file_atomic((dir / "report.md").string(), md);
  plot::write_image_atomic((dir / "judge_scatter.png").string(),
                           scatter({"valence", "arousal"}, test.targets, tp, {result.r2_valence, result.r2_arousal}));

  const json extra = {{"metrics", metrics}, {"training", training}, {"provenance", provenance}};
  JudgePackage::save(dir.string(), config, outputs, module_tensors(*net), extra.dump());
  std::error_code ec;
  fs::remove(dir / "checkpoint.safetensors", ec);  // the package supersedes it
}

}  // namespace

JudgeTrainResult train_judge(const JudgeTrainOptions& opt) {
  if (opt.epochs < 1 || opt.batch < 2) throw Error(ErrorKind::InvalidArgument, "epochs must be >= 1 and batch >= 2");
  torch_compat::set_threads(opt.threads);
  const auto t_start = std::chrono::steady_clock::now();
  const fs::path dir(opt.out);
  const fs::path ckpt_path = dir / "checkpoint.safetensors";
  if (!opt.resume && fs::exists(ckpt_path)) {
    throw Error(ErrorKind::InvalidArgument, ckpt_path.string() + ": an unfinished judge run is here; continue it with --resume or choose another --out");
  }
  if (opt.resume && !fs::exists(ckpt_path)) {
    throw Error(ErrorKind::Io, ckpt_path.string() + (fs::exists(dir / "manifest.json") ? ": the run has finished (manifest.json is there); nothing to resume"
                                                                                      : ": no checkpoint to resume from"));
  }
  fs::create_directories(dir);

  // Data: targets and images at the work size.
  const JudgeData data = load_judge_data(opt);
  const JudgeColumns& cols = data.cols;
  const JudgeSet& train = data.train;
  const JudgeSet& val = data.val;
  const JudgeSet& test = data.test;
  JudgeConfig config;
  config.input_size = train.source_size;
  config.work_size = std::min(opt.work_size, train.source_size);
  config.stem = opt.stem;
  config.width = opt.width;
  config.aus = static_cast<int>(cols.aus.size());
  config.factors = static_cast<int>(cols.factors.size());
  config.validate();
  std::vector<JudgeOutput> outputs = describe_outputs(cols, train.targets);

  int start_epoch = 0;
  std::int64_t start_batch = 0, step = 0;
  std::vector<EpochRecord> history;
  json resumed_sums;
  TensorMap checkpoint;
  json meta;
  if (opt.resume) {
    std::string meta_text;
    checkpoint = load_tensors(ckpt_path.string(), &meta_text);
    try {
      meta = json::parse(meta_text);
      const json& o = meta.at("options");
      if (o != resume_options(opt)) {
        throw Error(ErrorKind::InvalidArgument, ckpt_path.string() + ": --resume needs the run's options (" + o.dump() + "), got " +
                                                    resume_options(opt).dump() + " (--batch, --epochs, --seed … must match)");
      }
      if (meta.at("outputs") != outputs_json(outputs)) {
        throw Error(ErrorKind::InvalidArgument, ckpt_path.string() + ": the data's targets differ from the run's (another --data?)");
      }
      start_epoch = meta.at("epoch").get<int>();
      start_batch = meta.at("batch").get<std::int64_t>();
      step = meta.at("step").get<std::int64_t>();
      resumed_sums = meta.at("epoch_sums");
      for (const json& h : meta.at("history")) history.push_back(EpochRecord::from_json(h));
    } catch (const json::exception& e) {
      throw Error(ErrorKind::BadData, ckpt_path.string() + ": checkpoint metadata is unusable (" + e.what() + ")");
    }
  }

  torch_compat::seed_everything(opt.seed);
  JudgeNet net(config);
  net->set_dropout(opt.dropout);
  Adam adam(net->parameters(), AdamOptions{opt.lr, 0.9, 0.999, 1e-8, kWeightDecay});
  if (opt.resume) {
    TensorMap stored;
    for (const auto& [k, v] : checkpoint) {
      if (!adam.owns(k)) stored[k] = v;
    }
    assign_module_tensors(*net, stored, ckpt_path.string());
    adam.load(checkpoint, ckpt_path.string());
    adam.set_t(meta.at("adam_t").get<std::int64_t>());
  }
  const Normaliser norm(outputs);
  const torch::Tensor weights = loss_weights(outputs, opt.identity_weight);
  const auto group_mask = [&](const std::string& g) {
    std::vector<float> m;
    for (const auto& o : outputs) m.push_back(o.group == g && !o.constant ? 1.0f : 0.0f);
    const torch::Tensor t = torch::tensor(m);
    return t / std::max(1.0f, t.sum().item<float>());
  };
  const torch::Tensor mask_affect = group_mask("affect"), mask_au = group_mask("au"), mask_id = group_mask("identity");

  json run = {{"data", opt.data}, {"train_images", train.size()}, {"val_images", val.size()}, {"test_images", test.size()},
              {"data_source", train.source}, {"epochs", opt.epochs}, {"batch", opt.batch}, {"lr", opt.lr}, {"width", opt.width},
              {"work_size", config.work_size}, {"stem", config.stem}, {"augment", opt.augment}, {"dropout", opt.dropout}, {"identity_weight", opt.identity_weight}, {"threads", opt.threads}, {"seed", opt.seed},
              {"command", opt.command_line}, {"libtorch", torch_compat::version()}};
  write_file_atomic((dir / "train.json").string(), run.dump(2) + "\n");

  const std::int64_t n = train.size();
  const std::int64_t batches = n / opt.batch;  // drop the ragged last batch (BatchNorm prefers full ones)
  const std::int64_t total_steps = batches * opt.epochs;
  double sums[5] = {0, 0, 0, 0, 0};  // loss, affect, au, identity, images
  auto save_checkpoint = [&](int epoch, std::int64_t batch) {
    TensorMap all = module_tensors(*net);
    adam.save(all);
    json hist = json::array();
    for (const auto& h : history) hist.push_back(h.to_json());
    const json m = {{"epoch", epoch}, {"batch", batch}, {"step", step}, {"adam_t", adam.t()}, {"options", resume_options(opt)},
                    {"outputs", outputs_json(outputs)}, {"history", hist},
                    {"epoch_sums", batch == 0 ? json::array({0, 0, 0, 0, 0}) : json::array({sums[0], sums[1], sums[2], sums[3], sums[4]})}};
    save_tensors(ckpt_path.string(), all, m.dump());
  };

  std::fprintf(stderr, "judge: %lld training, %lld val, %lld test images (%d² -> %d²), %d outputs, %.1f MFLOP per image\n",
               static_cast<long long>(n), static_cast<long long>(val.size()), static_cast<long long>(test.size()), config.input_size,
               config.work_size, config.outputs(), static_cast<double>(net->flops_per_image()) / 1e6);
  JudgeTrainResult result;
  if (!history.empty()) result.first_loss = history.front().loss;
  double images_seen = 0;
  auto last_checkpoint = std::chrono::steady_clock::now();
  for (int epoch = start_epoch; epoch < opt.epochs; ++epoch) {
    const std::vector<std::size_t> order = stats::permutation(static_cast<std::size_t>(n), mix(opt.seed, static_cast<std::uint64_t>(epoch)));
    const std::int64_t first = epoch == start_epoch ? start_batch : 0;
    std::fill(std::begin(sums), std::end(sums), 0.0);
    if (epoch == start_epoch && first > 0) {
      for (std::size_t i = 0; i < 5; ++i) sums[i] = resumed_sums.at(i).get<double>();
    }
    Progress bar("judge epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt.epochs),
                 static_cast<std::uint64_t>(std::max<std::int64_t>(1, (batches - first) * opt.batch)), "img");
    net->train();
    double lr = opt.lr;
    for (std::int64_t b = first; b < batches; ++b) {
      std::vector<std::int64_t> idx;
      for (std::int64_t i = b * opt.batch; i < (b + 1) * opt.batch; ++i) idx.push_back(static_cast<std::int64_t>(order[static_cast<std::size_t>(i)]));
      torch::manual_seed(mix(opt.seed ^ 0x5EEDULL, static_cast<std::uint64_t>(step)));
      torch::Tensor x = train.batch(idx);
      if (opt.augment) x = augment(x);
      const torch::Tensor target = norm.to_z(train.batch_targets(idx));
      const torch::Tensor err = (net->forward(x) - target).pow(2).mean(0, /*keepdim=*/true);  // [1, outputs]
      const torch::Tensor loss = (err * weights).sum();
      adam.zero_grad();
      loss.backward();
      lr = learning_rate(opt.lr, step, total_steps);
      adam.set_lr(lr);
      adam.step();
      ++step;
      const double l = loss.item<double>();
      if (!std::isfinite(l)) throw Error(ErrorKind::Internal, "judge training diverged at step " + std::to_string(step) + " (loss is not finite); try a lower --lr");
      const double k = static_cast<double>(idx.size());
      const torch::Tensor e = err.detach().squeeze(0);
      sums[0] += l * k;
      sums[1] += (e * mask_affect).sum().item<double>() * k;
      sums[2] += (e * mask_au).sum().item<double>() * k;
      sums[3] += (e * mask_id).sum().item<double>() * k;
      sums[4] += k;
      images_seen += k;
      char note[128];
      std::snprintf(note, sizeof note, "loss %.3f (affect %.3f, AU %.3f, identity %.3f)", sums[0] / sums[4], sums[1] / sums[4], sums[2] / sums[4], sums[3] / sums[4]);
      bar.set_note(note);
      bar.advance(idx.size());
      const bool stop = stop_requested() || (opt.stop_after_steps > 0 && step >= opt.stop_after_steps);
      const auto now = std::chrono::steady_clock::now();
      if (stop || now - last_checkpoint > std::chrono::duration<double>(opt.checkpoint_minutes * 60.0)) {
        save_checkpoint(epoch, b + 1);
        last_checkpoint = now;
      }
      if (stop) {
        bar.finish();
        std::fprintf(stderr, "stopped at epoch %d, batch %lld; checkpoint saved in %s (continue with --resume)\n", epoch + 1,
                     static_cast<long long>(b + 1), ckpt_path.c_str());
        result.epochs_done = epoch;
        result.steps = step;
        result.seconds = std::chrono::duration<double>(now - t_start).count();
        result.images_per_second = images_seen / std::max(1e-9, result.seconds);
        return result;
      }
    }
    bar.finish();

    const EpochRecord rec = validate_epoch(net, val, norm, weights, outputs, epoch, sums, lr, bar.rate());
    history.push_back(rec);
    write_curves(dir, history);
    save_checkpoint(epoch + 1, 0);
    last_checkpoint = std::chrono::steady_clock::now();
    std::fprintf(stderr, "epoch %d: loss %.4f  held-out loss %.4f  R2 valence %.4f arousal %.4f AU %.3f identity %.3f  %.1f img/s\n", epoch + 1,
                 rec.loss, rec.val_loss, rec.val_r2_v, rec.val_r2_a, rec.val_r2_au, rec.val_r2_id, rec.rate);
    if (result.first_loss == 0.0) result.first_loss = rec.loss;
    result.last_loss = rec.loss;
    result.epochs_done = epoch + 1;
  }

  finish_judge(opt, net, config, outputs, data, norm, history, step, batches, result);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  result.images_per_second = images_seen / std::max(1e-9, result.seconds);
  result.finished = true;
  return result;
}

}  // namespace circumplex::tools
