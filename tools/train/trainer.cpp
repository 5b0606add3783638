#include "trainer.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>
#include <opencv2/imgproc.hpp>
#include <map>
#include <mutex>
#include <optional>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "circumplex/torch_compat.hpp"
#include "circumplex/weights.hpp"
#include "circumplex/files.hpp"
#include "common/progress.hpp"
#include "dataset.hpp"
#include "readback.hpp"
#include "plot/chart.hpp"
#include "plot/plot.hpp"

namespace circumplex::tools {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::atomic<bool> g_stop{false};

// Adam, written out so that its state is plain tensors we save and resume exactly, on any
// LibTorch version.
class Adam {
 public:
  Adam(std::vector<torch::Tensor> params, double lr) : params_(std::move(params)), lr_(lr) {
    for (const auto& p : params_) {
      m_.push_back(torch::zeros_like(p));
      v_.push_back(torch::zeros_like(p));
    }
  }
  void zero_grad() {
    for (auto& p : params_) {
      if (p.grad().defined()) p.mutable_grad().zero_();
    }
  }
  void step() {
    torch::NoGradGuard no_grad;
    ++t_;
    const double c1 = 1.0 - std::pow(kBeta1, static_cast<double>(t_)), c2 = 1.0 - std::pow(kBeta2, static_cast<double>(t_));
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const auto& g = params_[i].grad();
      if (!g.defined()) continue;
      m_[i].mul_(kBeta1).add_(g, 1.0 - kBeta1);
      v_[i].mul_(kBeta2).addcmul_(g, g, 1.0 - kBeta2);
      const auto denom = (v_[i] / c2).sqrt_().add_(kEps);
      params_[i].addcdiv_(m_[i], denom, -lr_ / c1);
    }
  }
  void save(TensorMap& out) const {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      out["adam.m." + std::to_string(i)] = m_[i];
      out["adam.v." + std::to_string(i)] = v_[i];
    }
  }
  /// The moments from `in` (the step count comes from set_t).
  void load(const TensorMap& in, const std::string& origin) {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      for (auto* pair : {&m_, &v_}) {
        const std::string key = std::string(pair == &m_ ? "adam.m." : "adam.v.") + std::to_string(i);
        const auto it = in.find(key);
        if (it == in.end() || it->second.sizes() != (*pair)[i].sizes()) {
          throw Error(ErrorKind::BadData, origin + ": optimiser state '" + key + "' is missing or has the wrong shape");
        }
        (*pair)[i].copy_(it->second);
      }
    }
  }
  void set_lr(double lr) { lr_ = lr; }
  std::int64_t t() const { return t_; }
  void set_t(std::int64_t t) { t_ = t; }
  /// The moment tensors (m then v, parameter by parameter), to broadcast in place.
  std::vector<torch::Tensor> state() const {
    std::vector<torch::Tensor> out(m_);
    out.insert(out.end(), v_.begin(), v_.end());
    return out;
  }

 private:
  static constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;
  std::vector<torch::Tensor> params_, m_, v_;
  double lr_;
  std::int64_t t_ = 0;
};

json config_json(const VaeConfig& c) {
  return {{"image_size", c.image_size}, {"latent", c.latent}, {"width", c.width}, {"decoder_width", c.decoder_width}};
}

VaeConfig config_from_json(const json& j, const std::string& origin) {
  try {
    VaeConfig c;
    c.image_size = j.at("image_size").get<int>();
    c.latent = j.at("latent").get<int>();
    c.width = j.at("width").get<int>();
    c.decoder_width = j.at("decoder_width").get<int>();
    c.validate();
    return c;
  } catch (const json::exception& e) {
    throw Error(ErrorKind::BadData, origin + ": bad model configuration (" + e.what() + ")");
  }
}

std::map<std::string, double> read_class_weights(const std::string& path) {
  json j;
  try {
    j = json::parse(read_text_file(path));
  } catch (const json::exception& e) {
    throw Error(ErrorKind::BadData, path + ": malformed JSON: " + e.what());
  }
  if (j.is_object() && j.contains("class_weights")) j = j["class_weights"];
  if (!j.is_object() || j.empty()) throw Error(ErrorKind::BadData, path + ": expected an object {category: weight}");
  std::map<std::string, double> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number() || !std::isfinite(it.value().get<double>()) || it.value().get<double>() <= 0) {
      throw Error(ErrorKind::BadData, path + ": weight of '" + it.key() + "' must be a positive number");
    }
    out[it.key()] = it.value().get<double>();
  }
  return out;
}

// The reconstruction's pixel weights beside the first training image, and over it.
void write_weight_picture(const std::string& path, const torch::Tensor& weights, const ImageSet& train, double expression_weight) {
  const int s = train.image_size(), scale = std::max(1, 256 / s);
  const torch::Tensor unit = ((weights - 1.0) / expression_weight * 255.0).clamp(0, 255).round().to(torch::kUInt8).contiguous();
  cv::Mat grey(s, s, CV_8UC1, unit.data_ptr<std::uint8_t>()), heat;
  cv::applyColorMap(grey, heat, cv::COLORMAP_INFERNO);
  const cv::Mat face = tensor_to_bgr(train.batch({0})[0]);
  cv::Mat over;
  cv::addWeighted(face, 0.55, heat, 0.45, 0.0, over);
  cv::Mat row;
  cv::hconcat(std::vector<cv::Mat>{face, heat, over}, row);
  cv::resize(row, row, cv::Size(), scale, scale, cv::INTER_NEAREST);
  cv::Mat picture(row.rows + 40, row.cols, CV_8UC3, cv::Scalar(250, 248, 246));
  row.copyTo(picture(cv::Rect(0, 40, row.cols, row.rows)));
  char title[128];
  std::snprintf(title, sizeof title, "reconstruction weight per pixel: 1 (dark) to %.3g (bright)", 1.0 + expression_weight);
  plot::draw_text(picture, title, {8, 10}, 0.5, cv::Scalar(40, 40, 40), 1);
  plot::write_image_atomic(path, picture);
}

struct EpochRecord {
  int epoch;
  double loss, recon, kl, val_loss, val_recon, val_psnr, images_per_second;
};

void write_curves(const fs::path& run, const std::vector<EpochRecord>& history) {
  std::string csv = "epoch,loss,reconstruction,kl,val_loss,val_reconstruction,val_psnr_db,images_per_second\n";
  char row[256];
  plot::Series loss{"train loss", {}, {}, {200, 90, 30}}, val{"held-out loss", {}, {}, {40, 40, 200}},
      kl{"train KL", {}, {}, {60, 160, 60}}, psnr{"held-out PSNR (dB)", {}, {}, {150, 60, 150}};
  for (const EpochRecord& r : history) {
    std::snprintf(row, sizeof row, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.4f,%.2f\n", r.epoch, r.loss, r.recon, r.kl, r.val_loss,
                  r.val_recon, r.val_psnr, r.images_per_second);
    csv += row;
    loss.x.push_back(r.epoch); loss.y.push_back(r.loss);
    val.x.push_back(r.epoch); val.y.push_back(r.val_loss);
    kl.x.push_back(r.epoch); kl.y.push_back(r.kl);
    psnr.x.push_back(r.epoch); psnr.y.push_back(r.val_psnr);
  }
  write_file_atomic((run / "loss.csv").string(), csv);
  const cv::Mat a = plot::line_chart("beta-VAE training loss (per image)", "epoch", "loss", {loss, val, kl}, true);
  const cv::Mat b = plot::line_chart("held-out reconstruction quality", "epoch", "PSNR (dB)", {psnr}, false);
  cv::Mat both;
  cv::vconcat(a, b, both);
  plot::write_image_atomic((run / "loss.png").string(), both);
}

}  // namespace

double scheduled_lr(const TrainOptions& opt, std::int64_t step, std::int64_t total) {
  if (opt.lr_end < 0.0 || total <= 1) return opt.lr;
  const double t = std::min(1.0, static_cast<double>(step) / static_cast<double>(total - 1));
  return opt.lr_end + (opt.lr - opt.lr_end) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * t));
}

void request_training_stop() { g_stop = true; }

TrainResult train_vae(const TrainOptions& opt) {
  if (opt.epochs < 1 || opt.batch < 1) throw Error(ErrorKind::InvalidArgument, "epochs and batch must be >= 1");
  const bool distributed = opt.dist.enabled();
  const int world = distributed ? opt.dist.world : 1, rank = distributed ? opt.dist.rank : 0;
  const bool lead = rank == 0;  // writes the run folder, logs and progress
  if (distributed) {
    dist::validate(opt.dist);
    if (opt.batch < world) {
      throw Error(ErrorKind::InvalidArgument, "--batch (" + std::to_string(opt.batch) + ") must be at least the number of ranks (" +
                                                  std::to_string(world) + "): it is the global batch, split over the ranks");
    }
  }
  torch_compat::set_threads(opt.threads);
  if (opt.device != "cpu" && opt.device != "cuda") throw Error(ErrorKind::InvalidArgument, "--device must be cpu or cuda, got '" + opt.device + "'");
  if (opt.device == "cuda" && !torch_compat::cuda_available()) {
    throw Error(ErrorKind::InvalidArgument, "--device cuda: this LibTorch (" + torch_compat::version() + ") has no CUDA or no GPU is visible");
  }
  // With several ranks on a machine, rank LOCAL_RANK uses GPU LOCAL_RANK.
  const torch::Device device = opt.device == "cuda" ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(distributed ? opt.dist.local_rank : 0))
                                                    : torch::Device(torch::kCPU);
  const fs::path run(opt.out);
  const fs::path ckpt_path = run / "checkpoint.safetensors";

  // Every rank loads the training split (the data must be on every machine); rank 0 also the
  // held-out images it scores after each epoch.
  const ImageSet train = ImageSet::load(opt.data, "train", opt.limit);
  torch::Tensor sample_weights;
  if (!opt.class_weights.empty()) {
    const auto weights = read_class_weights(opt.class_weights);
    std::vector<float> w;
    for (const ImageLabel& l : train.labels()) {
      const auto it = weights.find(l.category);
      if (it == weights.end()) throw Error(ErrorKind::BadData, opt.class_weights + ": no weight for category '" + l.category + "'");
      w.push_back(static_cast<float>(it->second));
    }
    sample_weights = torch::tensor(w);
  }
  // (valence, arousal, z) per training image for the affect guidance.
  torch::Tensor affect_labels;
  if (opt.affect_weight > 0.0) {
    std::vector<float> a;
    a.reserve(static_cast<std::size_t>(train.size()) * 3);
    for (const ImageLabel& l : train.labels()) {
      a.push_back(static_cast<float>(l.affect.v));
      a.push_back(static_cast<float>(l.affect.a));
      a.push_back(static_cast<float>(l.affect.z));
    }
    affect_labels = torch::tensor(a).view({train.size(), 3});
  }
  // Pixel weights of the reconstruction: more where expressions change the face.
  torch::Tensor pixel_weights;
  if (opt.expression_weight > 0.0) pixel_weights = (1.0 + opt.expression_weight * train.expression_saliency()).to(device);
  // For the identity swap: the other training images of each image's person.
  std::vector<std::vector<std::int64_t>> same_person;
  if (opt.identity_swap) {
    if (opt.affect_weight <= 0.0) throw Error(ErrorKind::InvalidArgument, "--identity-swap needs --affect-weight > 0 (it swaps everything but the affect dimensions)");
    const auto by_person = train.people();
    if (by_person.empty()) throw Error(ErrorKind::BadData, opt.data + ": --identity-swap needs labels.csv's identity column (synth data); " + train.labels().front().file + " has none");
    same_person.resize(static_cast<std::size_t>(train.size()));
    std::size_t alone = 0;
    for (const auto& [id, members] : by_person) {
      for (std::int64_t i : members) {
        for (std::int64_t j : members) if (j != i) same_person[static_cast<std::size_t>(i)].push_back(j);
      }
      alone += members.size() == 1;
    }
    if (alone == by_person.size()) throw Error(ErrorKind::BadData, opt.data + ": --identity-swap needs several images per person; every person in the train split has one");
  }
  if (opt.teacher_forcing && !opt.identity_swap) throw Error(ErrorKind::InvalidArgument, "--teacher-forcing needs --identity-swap (it forces the affect of the swapped latent)");
  std::unique_ptr<ReadBack> readback;
  if (!opt.reader.empty()) {
    if (!opt.identity_swap) throw Error(ErrorKind::InvalidArgument, "--reader needs --identity-swap (it draws the partner's person at random affect points)");
    if (!(opt.readback_weight > 0.0)) throw Error(ErrorKind::InvalidArgument, "--reader needs --readback-weight W > 0");
    bool three_d = false;
    for (const ImageLabel& l : train.labels()) three_d = three_d || std::fabs(l.affect.z) > 1e-9;
    readback = std::make_unique<ReadBack>(opt.reader, three_d ? Space::Ball : Space::Plane, device);
  }
  // Partner of the image at position `slot` of step `step`'s global batch: drawn from (seed,
  // step, slot), so it does not depend on how the batch is split over ranks. An image whose
  // person has no other image is its own partner.
  auto partner_of = [&](std::int64_t image, std::int64_t step_no, std::int64_t slot) {
    const auto& others = same_person[static_cast<std::size_t>(image)];
    if (others.empty()) return image;
    const std::uint64_t h = dist::mix_seed(dist::mix_seed(opt.seed ^ 0x1D5A9C3BULL, static_cast<std::uint64_t>(step_no)), static_cast<std::uint64_t>(slot));
    return others[static_cast<std::size_t>(h % others.size())];
  };
  std::unique_ptr<dist::Group> group;
  if (distributed) group = std::make_unique<dist::Group>(opt.dist);

  // Where training starts, decided by rank 0 (from its checkpoint on --resume) and shared.
  json start;
  TensorMap checkpoint;
  if (lead) {
    try {
      fs::create_directories(run / "recon");
      VaeConfig config = opt.model;
      start = {{"epoch", 0}, {"batch", 0}, {"step", 0}, {"adam_t", 0}, {"epoch_sums", json::array({0.0, 0.0, 0.0, 0.0})},
               {"history", json::array()}};
      if (opt.resume) {
        if (!fs::exists(ckpt_path)) throw Error(ErrorKind::Io, ckpt_path.string() + ": no checkpoint to resume from");
        std::string meta_text;
        checkpoint = load_tensors(ckpt_path.string(), &meta_text);
        const json meta = json::parse(meta_text);
        config = config_from_json(meta.at("model"), ckpt_path.string());
        if (meta.at("seed").get<std::uint64_t>() != opt.seed || meta.at("batch_size").get<int>() != opt.batch) {
          throw Error(ErrorKind::InvalidArgument, ckpt_path.string() + ": --resume needs the run's --seed and --batch (seed " +
                                                      meta.at("seed").dump() + ", batch " + meta.at("batch_size").dump() + ")");
        }
        // The loss's settings too (checkpoints from before they were recorded lack them).
        if (meta.contains("loss")) {
          const json& l = meta["loss"];
          const auto differs = [](double a, double b) { return std::fabs(a - b) > 1e-9 * std::max(std::fabs(a), std::fabs(b)); };
          const double expression = l.value("expression_weight", 0.0);
          if (differs(l.at("beta").get<double>(), opt.beta) || differs(l.at("affect_weight").get<double>(), opt.affect_weight) ||
              l.at("identity_swap").get<bool>() != opt.identity_swap || l.value("teacher_forcing", false) != opt.teacher_forcing ||
              differs(expression, opt.expression_weight) || differs(l.value("readback_weight", 0.0), opt.readback_weight) ||
              l.value("reader_fingerprint", std::string()) != (readback ? readback->fingerprint() : std::string()) ||
              differs(l.at("lr").get<double>(), opt.lr) || differs(l.value("lr_end", -1.0), opt.lr_end)) {
            throw Error(ErrorKind::InvalidArgument, ckpt_path.string() + ": --resume needs the run's loss settings: --beta " + l.at("beta").dump() +
                                                        " --affect-weight " + l.at("affect_weight").dump() + " --expression-weight " +
                                                        json(expression).dump() + " --lr " + l.at("lr").dump() +
                                                        (l.value("lr_end", -1.0) >= 0 ? " --lr-end " + l.at("lr_end").dump() : std::string(" (without --lr-end)")) +
                                                        (l.at("identity_swap").get<bool>() ? " --identity-swap" : " (without --identity-swap)") +
                                                        (l.value("teacher_forcing", false) ? " --teacher-forcing" : " (without --teacher-forcing)") +
                                                        " --readback-weight " + json(l.value("readback_weight", 0.0)).dump() +
                                                        " and the same --reader (weights " + l.value("reader_fingerprint", std::string("none")) + ")");
          }
        }
        for (const char* key : {"epoch", "batch", "step", "adam_t", "epoch_sums", "history"}) start[key] = meta.at(key);
      } else {
        config.image_size = train.image_size();  // a new model takes the data's size
      }
      start["model"] = config_json(config);
      start["train_images"] = train.size();
    } catch (const std::exception& e) {
      if (group) group->share_from_rank0("start", e.what(), true);
      throw;
    }
  }
  if (group) start = json::parse(group->share_from_rank0("start", lead ? start.dump() : std::string()));
  if (start.at("train_images").get<std::int64_t>() != train.size()) {
    throw Error(ErrorKind::BadData, opt.data + ": " + (group ? group->who() : std::string("this rank")) + " has " +
                                        std::to_string(train.size()) + " training images, rank 0 has " + start.at("train_images").dump() +
                                        " (every rank needs the same data and --limit)");
  }
  VaeConfig config = config_from_json(start.at("model"), opt.data);
  const int start_epoch = start.at("epoch").get<int>();
  const std::int64_t start_batch = start.at("batch").get<std::int64_t>();
  std::int64_t step = start.at("step").get<std::int64_t>();
  const std::int64_t first_step = step;
  const json resumed_sums = start.at("epoch_sums");  // the interrupted epoch's running sums, so its means cover all of it
  std::vector<EpochRecord> history;
  for (const json& h : start.at("history")) {
    history.push_back({h.at(0).get<int>(), h.at(1), h.at(2), h.at(3), h.at(4), h.at(5), h.at(6), h.at(7)});
  }
  if (train.image_size() != config.image_size) {
    throw Error(ErrorKind::InvalidArgument, opt.data + ": images are " + std::to_string(train.image_size()) + "², the model expects " +
                                                std::to_string(config.image_size) + "² (--size of synth/prep, or the model's image_size)");
  }
  std::optional<ImageSet> held_out;
  if (lead) {
    try {
      held_out = ImageSet::load(opt.data, "val", std::max<std::int64_t>(opt.batch * 4, 64));
    } catch (const Error&) {
      held_out = ImageSet::load(opt.data, "train", 64);  // no val split: watch the first train images
    }
  }

  BetaVae vae = [&] {
    // Initialisation draws from LibTorch's global generator: one at a time in a process
    // (ranks may be threads of one test).
    static std::mutex init_mutex;
    const std::lock_guard<std::mutex> lock(init_mutex);
    torch_compat::seed_everything(opt.seed);
    return BetaVae(config);
  }();
  vae->to(device);
  Adam adam(vae->parameters(), opt.lr);
  if (lead && opt.resume) {
    assign_module_tensors(*vae, [&] {
      TensorMap weights;
      for (const auto& [k, v] : checkpoint) if (k.rfind("adam.", 0) != 0) weights[k] = v;
      return weights;
    }(), ckpt_path.string());
    adam.load(checkpoint, ckpt_path.string());
  } else if (lead && !opt.init.empty()) {
    TensorMap weights = load_tensors(opt.init);
    for (auto it = weights.begin(); it != weights.end();) it = it->first.rfind("adam.", 0) == 0 ? weights.erase(it) : std::next(it);
    assign_module_tensors(*vae, weights, opt.init + " (--init: needs the same --latent, --width and --decoder-width)");
  }
  adam.set_t(start.at("adam_t").get<std::int64_t>());
  std::unique_ptr<dist::GradientReducer> reducer;
  if (group) {
    // Every rank starts from rank 0's weights and optimiser state.
    std::vector<torch::Tensor> state;
    for (const auto& [name, t] : module_tensors(*vae)) state.push_back(t);
    for (const auto& t : adam.state()) state.push_back(t);
    group->broadcast_from_rank0(state, "the weights and optimiser state");
    reducer = std::make_unique<dist::GradientReducer>(*group, vae->parameters());
  }

  if (lead) {
    json run_config = {{"model", config_json(config)}, {"data", opt.data}, {"train_images", train.size()},
                       {"data_source", train.source()}, {"epochs", opt.epochs}, {"batch", opt.batch}, {"beta", opt.beta},
                       {"affect_weight", opt.affect_weight}, {"identity_swap", opt.identity_swap}, {"teacher_forcing", opt.teacher_forcing}, {"readback_weight", opt.readback_weight},
                                 {"reader_fingerprint", readback ? readback->fingerprint() : std::string()}, {"readback_weight", opt.readback_weight},
                       {"reader", readback ? json{{"dir", readback->dir()}, {"fingerprint", readback->fingerprint()}} : json(nullptr)},
                       {"expression_weight", opt.expression_weight}, {"lr", opt.lr}, {"lr_end", opt.lr_end}, {"init", opt.init.empty() ? json(nullptr) : json(opt.init)}, {"class_weights", opt.class_weights}, {"threads", opt.threads}, {"seed", opt.seed},
                       {"world_size", world}, {"command", opt.command_line}, {"libtorch", torch_compat::version()}};
    if (distributed) run_config["backend"] = opt.dist.backend;
    write_file_atomic((run / "config.json").string(), run_config.dump(2) + "\n");
    if (pixel_weights.defined()) write_weight_picture((run / "expression_weight.png").string(), pixel_weights.cpu(), train, opt.expression_weight);
  }

  const std::int64_t n = train.size();
  const std::int64_t batches = (n + opt.batch - 1) / opt.batch;
  double sum_loss = 0, sum_recon = 0, sum_kl = 0;
  double counted = 0;  // images in the running sums
  auto save_checkpoint = [&](int epoch, std::int64_t batch) {
    TensorMap all = module_tensors(*vae);
    adam.save(all);
    for (auto& [name, t] : all) t = t.to(torch::kCPU);
    json hist = json::array();
    for (const auto& h : history) hist.push_back({h.epoch, h.loss, h.recon, h.kl, h.val_loss, h.val_recon, h.val_psnr, h.images_per_second});
    const json meta = {{"model", config_json(config)}, {"epoch", epoch}, {"batch", batch}, {"step", step},
                       {"adam_t", adam.t()}, {"seed", opt.seed}, {"batch_size", opt.batch}, {"history", hist}, {"world_size", world},
                       {"loss", {{"beta", opt.beta}, {"affect_weight", opt.affect_weight}, {"identity_swap", opt.identity_swap}, {"teacher_forcing", opt.teacher_forcing}, {"readback_weight", opt.readback_weight},
                                 {"reader_fingerprint", readback ? readback->fingerprint() : std::string()},
                                 {"expression_weight", opt.expression_weight}, {"lr", opt.lr}, {"lr_end", opt.lr_end}}},
                       {"epoch_sums", batch == 0 ? json::array({0.0, 0.0, 0.0, 0.0}) : json::array({sum_loss, sum_recon, sum_kl, counted})}};
    save_tensors(ckpt_path.string(), all, meta.dump());  // atomic: a temporary file renamed into place
  };

  TrainResult result;
  const auto t_start = std::chrono::steady_clock::now();
  auto last_checkpoint = t_start;
  double images_seen = 0;
  const auto held_idx = [&] {
    std::vector<std::int64_t> v(static_cast<std::size_t>(held_out ? held_out->size() : 0));
    std::iota(v.begin(), v.end(), 0);
    return v;
  }();

  for (int epoch = start_epoch; epoch < opt.epochs; ++epoch) {
    const std::vector<std::int64_t> order = dist::epoch_order(n, opt.seed, epoch);
    const std::int64_t first_batch = epoch == start_epoch ? start_batch : 0;
    std::optional<Progress> bar;
    if (lead) {
      bar.emplace("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt.epochs),
                  static_cast<std::uint64_t>(std::max<std::int64_t>(1, std::min(n, batches * opt.batch) - first_batch * opt.batch)), "img");
    }
    sum_loss = sum_recon = sum_kl = 0;
    counted = 0;
    if (epoch == start_epoch && first_batch > 0) {
      sum_loss = resumed_sums.at(0).get<double>();
      sum_recon = resumed_sums.at(1).get<double>();
      sum_kl = resumed_sums.at(2).get<double>();
      counted = resumed_sums.at(3).get<double>();
    }
    vae->train();
    for (std::int64_t b = first_batch; b < batches; ++b) {
      // The global batch b of this epoch's order; this rank trains on its share.
      const dist::StepSlice slice = dist::step_slice(order, opt.batch, b, rank, world);
      const std::vector<std::int64_t>& idx = slice.images;
      const std::int64_t count = slice.count, share_lo = slice.first;
      // ε for every image of the global batch from (seed, step); this rank takes its rows.
      auto gen = at::detail::createCPUGenerator(dist::mix_seed(opt.seed ^ 0xA5A5A5A5ULL, static_cast<std::uint64_t>(step)));
      const torch::Tensor noise = torch::randn({count, config.latent}, gen).narrow(0, share_lo, static_cast<std::int64_t>(idx.size()));
      // Loss terms of the global batch × its size: [total, reconstruction, KL, stop requested].
      torch::Tensor sums = torch::zeros({4}, torch::TensorOptions(torch::kDouble).device(device));
      torch::Tensor loss_to_minimise;
      if (!idx.empty()) {
        const torch::Tensor x = train.batch(idx).to(device);
        const torch::Tensor rows = torch::tensor(idx, torch::kLong);
        torch::Tensor w;
        double share = static_cast<double>(idx.size()) / static_cast<double>(count);  // of the global batch's mean loss
        if (sample_weights.defined()) {
          w = sample_weights.index_select(0, rows).to(device);
          if (distributed) {
            // vae_loss normalises weights by this rank's mean; rescale to the global batch's.
            const std::vector<std::int64_t> all(order.begin() + b * opt.batch, order.begin() + b * opt.batch + count);
            share *= w.mean().item<double>() / sample_weights.index_select(0, torch::tensor(all, torch::kLong)).mean().item<double>();
          }
        }
        torch::Tensor y;
        if (affect_labels.defined()) y = affect_labels.index_select(0, rows).to(device);
        VaeOutput out;
        if (opt.identity_swap) {
          std::vector<std::int64_t> partners;
          for (std::size_t k = 0; k < idx.size(); ++k) partners.push_back(partner_of(idx[k], step, share_lo + static_cast<std::int64_t>(k)));
          out = vae->forward_identity_swap(x, train.batch(partners).to(device), noise.to(device), affect_labels.size(1),
                                           opt.teacher_forcing ? y : torch::Tensor());
        } else {
          out = vae->forward(x, noise.to(device));
        }
        const VaeLoss loss = vae_loss(out, x, opt.beta, w, y, opt.affect_weight, pixel_weights);
        torch::Tensor total = loss.total;
        if (readback) {
          // The partner's person (its sampled identity latents) at random points of the whole
          // disk/ball, drawn from (seed, step) for the global batch; this rank takes its rows.
          auto pgen = at::detail::createCPUGenerator(dist::mix_seed(opt.seed ^ 0x52EADB4CULL, static_cast<std::uint64_t>(step)));
          const torch::Tensor asked = readback->sample_points(count, pgen).narrow(0, share_lo, static_cast<std::int64_t>(idx.size())).to(device);
          const std::int64_t k = asked.size(1), rest = config.latent - k;
          const torch::Tensor who = (out.mu + noise.to(device) * torch::exp(0.5 * out.logvar)).narrow(1, k, rest);
          const torch::Tensor faces = vae->decoder->forward(torch::cat({kAffectLatentScale * asked, who}, 1));
          total = total + opt.readback_weight * readback->loss(faces, asked, x);
        }
        const double part = static_cast<double>(idx.size());
        sums = torch::tensor({total.item<double>() * share * static_cast<double>(count), loss.reconstruction.item<double>() * part,
                              loss.kl.item<double>() * part, 0.0}, torch::kDouble).to(device);
        loss_to_minimise = distributed ? total * share : total;
      }
      if (g_stop.load()) sums[3].fill_(1.0);
      adam.set_lr(scheduled_lr(opt, step, static_cast<std::int64_t>(opt.epochs) * batches));
      adam.zero_grad();
      if (group) {
        try {
          group->start_sum(sums);  // overlaps the backward pass, like the gradient buckets
          if (loss_to_minimise.defined()) loss_to_minimise.backward();
          reducer->finish();       // waits for every sum, writes the summed gradients
        } catch (const Error& e) {
          // Nothing of this step is applied yet: rank 0 keeps the state before it.
          if (lead && step > first_step) {
            save_checkpoint(epoch, b);
            throw Error(e.kind(), std::string(e.what()) + "\nrank 0 saved a checkpoint at epoch " + std::to_string(epoch + 1) + ", batch " +
                                      std::to_string(b) + " in " + ckpt_path.string() + " (continue with --resume)");
          }
          throw;
        }
      } else {
        loss_to_minimise.backward();
      }
      adam.step();
      ++step;
      const double l = sums[0].item<double>() / static_cast<double>(count);
      if (!std::isfinite(l)) throw Error(ErrorKind::Internal, "training diverged at step " + std::to_string(step) + " (loss is not finite); try a lower --lr");
      sum_loss += sums[0].item<double>();
      sum_recon += sums[1].item<double>();
      sum_kl += sums[2].item<double>();
      counted += static_cast<double>(count);
      images_seen += static_cast<double>(count);
      if (opt.on_step) opt.on_step(step, *vae);
      if (bar) {
        char note[96];
        std::snprintf(note, sizeof note, "loss %.1f (recon %.1f, KL %.1f)", sum_loss / counted, sum_recon / counted, sum_kl / counted);
        bar->set_note(note);
        bar->advance(static_cast<std::uint64_t>(count));
      }
      // Every rank stops at the same step: a stop request on any rank was summed into sums[3].
      const bool stop = sums[3].item<double>() > 0 || (opt.stop_after_steps > 0 && step >= opt.stop_after_steps);
      const auto now = std::chrono::steady_clock::now();
      if (lead && (stop || now - last_checkpoint > std::chrono::duration<double>(opt.checkpoint_minutes * 60.0))) {
        save_checkpoint(epoch, b + 1);
        last_checkpoint = now;
      }
      if (stop) {
        if (bar) bar->finish();
        if (lead) {
          std::fprintf(stderr, "stopped at epoch %d, batch %lld; checkpoint saved in %s (continue with --resume)\n", epoch + 1,
                       static_cast<long long>(b + 1), ckpt_path.c_str());
        }
        if (group) group->barrier("finishing");
        result.epochs_done = epoch;
        result.steps = step;
        result.images_per_second = images_seen / std::chrono::duration<double>(now - t_start).count();
        return result;
      }
    }
    result.epochs_done = epoch + 1;
    result.last_loss = sum_loss / counted;
    if (!lead) continue;
    bar->finish();
    const double epoch_rate = bar->rate();

    // Held-out loss, PSNR and a reconstruction sheet.
    vae->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor hx = held_out->batch(held_idx).to(device);
    const VaeOutput hout = vae->forward(hx);
    const VaeLoss hloss = vae_loss(hout, hx, opt.beta);
    const double mse = (hout.reconstruction - hx).pow(2).mean().item<double>();
    const double psnr = 10.0 * std::log10(1.0 / std::max(mse, 1e-12));
    std::vector<cv::Mat> cells;
    const std::int64_t show = std::min<std::int64_t>(8, held_out->size());
    for (std::int64_t i = 0; i < show; ++i) cells.push_back(tensor_to_bgr(hx[i].cpu()));
    for (std::int64_t i = 0; i < show; ++i) cells.push_back(tensor_to_bgr(hout.reconstruction[i].cpu()));
    char name[64];
    std::snprintf(name, sizeof name, "epoch_%03d.png", epoch + 1);
    plot::write_image_atomic((run / "recon" / name).string(), plot::tile(cells, static_cast<int>(show)));

    history.push_back({epoch + 1, sum_loss / counted, sum_recon / counted, sum_kl / counted, hloss.total.item<double>(),
                       hloss.reconstruction.item<double>(), psnr, epoch_rate});
    write_curves(run, history);
    save_checkpoint(epoch + 1, 0);
    last_checkpoint = std::chrono::steady_clock::now();
    std::fprintf(stderr, "epoch %d: loss %.2f  held-out loss %.2f  PSNR %.2f dB  %.1f img/s\n", epoch + 1, sum_loss / counted,
                 hloss.total.item<double>(), psnr, epoch_rate);
  }

  if (lead) {
    TensorMap weights = module_tensors(*vae);
    for (auto& [name, t] : weights) t = t.to(torch::kCPU);
    save_tensors((run / "model.safetensors").string(), weights, json{{"model", config_json(config)}}.dump());
  }
  if (group) group->barrier("finishing");
  result.steps = step;
  result.finished = true;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  result.images_per_second = secs > 0 ? images_seen / secs : 0.0;
  return result;
}

}  // namespace circumplex::tools
