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
#include "optim.hpp"
#include "critic.hpp"
#include "harness.hpp"
#include "gradient_loss.hpp"
#include "readback.hpp"
#include "render_targets.hpp"
#include "plot/chart.hpp"
#include "plot/plot.hpp"

namespace circumplex::tools {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json config_json(const VaeConfig& c) {
  json j = {{"image_size", c.image_size}, {"latent", c.latent}, {"width", c.width}, {"decoder_width", c.decoder_width}};
  if (c.decoder_refine) j["decoder_refine"] = c.decoder_refine;  // absent in runs and packages without it
  if (c.decoder_detail) j["decoder_detail"] = c.decoder_detail;  // the same
  if (c.encoder_width) j["encoder_width"] = c.encoder_width;
  if (c.encoder_depth) j["encoder_depth"] = c.encoder_depth;
  return j;
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
  std::vector<std::vector<double>> rows;
  for (const EpochRecord& r : history) rows.push_back({static_cast<double>(r.epoch), r.loss, r.recon, r.kl, r.val_loss, r.val_recon, r.val_psnr, r.images_per_second});
  write_epoch_log(run, {"loss", "reconstruction", "kl", "val_loss", "val_reconstruction", "val_psnr_db", "images_per_second"}, rows,
                  {{"beta-VAE training loss (per image)", "loss", {"loss", "val_loss", "kl"}, true},
                   {"held-out reconstruction quality", "PSNR (dB)", {"val_psnr_db"}, false}});
}

}  // namespace

VaeConfig run_model_config(const json& j, const std::string& origin) {
  try {
    VaeConfig c;
    c.image_size = j.at("image_size").get<int>();
    c.latent = j.at("latent").get<int>();
    c.width = j.at("width").get<int>();
    c.decoder_width = j.at("decoder_width").get<int>();
    c.decoder_refine = j.value("decoder_refine", 0);
    c.decoder_detail = j.value("decoder_detail", 0);
    c.encoder_width = j.value("encoder_width", 0);
    c.encoder_depth = j.value("encoder_depth", 0);
    c.validate();
    return c;
  } catch (const json::exception& e) {
    throw Error(ErrorKind::BadData, origin + ": bad model configuration (" + e.what() + ")");
  }
}

double scheduled_lr(const TrainOptions& opt, std::int64_t step, std::int64_t total) {
  if (opt.lr_end < 0.0 || total <= 1) return opt.lr;
  const double t = std::min(1.0, static_cast<double>(step) / static_cast<double>(total - 1));
  return opt.lr_end + (opt.lr - opt.lr_end) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * t));
}

namespace {

// The data of a run: the training split and what the loss needs to know about each image.
struct TrainingData {
  ImageSet train;
  torch::Tensor sample_weights;  ///< [N] from --class-weights, or undefined
  torch::Tensor affect_labels;   ///< [N, 3] (v, a, z) for the affect guidance, or undefined
  torch::Tensor pixel_weights;   ///< [S, S] 1 + A·saliency on the device, or undefined
  std::vector<std::vector<std::int64_t>> same_person;  ///< the other images of each image's person (identity swap)
  bool three_d = false;          ///< some label has z ≠ 0
};

TrainingData load_training_data(const TrainOptions& opt, torch::Device device) {
  TrainingData d{ImageSet::load(opt.data, "train", opt.limit), {}, {}, {}, {}, false};
  const ImageSet& train = d.train;
  for (const ImageLabel& l : train.labels()) d.three_d = d.three_d || std::fabs(l.affect.z) > 1e-9;
  if (!opt.class_weights.empty()) {
    const auto weights = read_class_weights(opt.class_weights);
    std::vector<float> w;
    for (const ImageLabel& l : train.labels()) {
      const auto it = weights.find(l.category);
      if (it == weights.end()) throw Error(ErrorKind::BadData, opt.class_weights + ": no weight for category '" + l.category + "'");
      w.push_back(static_cast<float>(it->second));
    }
    d.sample_weights = torch::tensor(w);
  }
  if (opt.affect_weight > 0.0) {
    std::vector<float> a;
    a.reserve(static_cast<std::size_t>(train.size()) * 3);
    for (const ImageLabel& l : train.labels()) {
      for (double x : {l.affect.v, l.affect.a, l.affect.z}) a.push_back(static_cast<float>(x));
    }
    d.affect_labels = torch::tensor(a).view({train.size(), 3});
  }
  if (opt.expression_weight > 0.0) d.pixel_weights = (1.0 + opt.expression_weight * train.expression_saliency()).to(device);
  if (opt.identity_swap) {
    if (opt.affect_weight <= 0.0) throw Error(ErrorKind::InvalidArgument, "--identity-swap needs --affect-weight > 0 (it swaps everything but the affect dimensions)");
    const auto by_person = train.people();
    if (by_person.empty()) throw Error(ErrorKind::BadData, opt.data + ": --identity-swap needs labels.csv's identity column (synth data); " + train.labels().front().file + " has none");
    d.same_person.resize(static_cast<std::size_t>(train.size()));
    std::size_t alone = 0;
    for (const auto& [id, members] : by_person) {
      for (std::int64_t i : members) {
        for (std::int64_t j : members) if (j != i) d.same_person[static_cast<std::size_t>(i)].push_back(j);
      }
      alone += members.size() == 1;
    }
    if (alone == by_person.size()) throw Error(ErrorKind::BadData, opt.data + ": --identity-swap needs several images per person; every person in the train split has one");
  }
  return d;
}

json loss_settings(const TrainOptions& opt, const ReadBack* readback) {
  return {{"beta", opt.beta}, {"affect_weight", opt.affect_weight}, {"identity_swap", opt.identity_swap}, {"teacher_forcing", opt.teacher_forcing},
          {"readback_weight", opt.readback_weight}, {"readback_identity_weight", opt.readback_identity_weight}, {"readback_au_weight", opt.readback_au_weight}, {"render_weight", opt.render_weight}, {"reader_fingerprint", readback ? readback->fingerprint() : std::string()},
          {"adversarial_weight", opt.adversarial_weight}, {"critic_lr", opt.critic_lr}, {"gradient_weight", opt.gradient_weight},
          {"line_weight", opt.line_weight}, {"feature_weight", opt.feature_weight}, {"expression_weight", opt.expression_weight}, {"lr", opt.lr}, {"lr_end", opt.lr_end},
          {"freeze_decoder", opt.freeze_decoder}};
}

// A resumed run must use the loss settings it was started with (checkpoints from before they
// were recorded lack them).
void check_resumed_loss(const json& l, const TrainOptions& opt, const ReadBack* readback, const std::string& origin) {
  const auto differs = [](double a, double b) { return std::fabs(a - b) > 1e-9 * std::max(std::fabs(a), std::fabs(b)); };
  const double expression = l.value("expression_weight", 0.0);
  if (!differs(l.at("beta").get<double>(), opt.beta) && !differs(l.at("affect_weight").get<double>(), opt.affect_weight) &&
      l.at("identity_swap").get<bool>() == opt.identity_swap && l.value("teacher_forcing", false) == opt.teacher_forcing &&
      !differs(expression, opt.expression_weight) && !differs(l.value("readback_weight", 0.0), opt.readback_weight) &&
      !differs(l.value("readback_identity_weight", 1.0), opt.readback_identity_weight) &&
      !differs(l.value("readback_au_weight", 1.0), opt.readback_au_weight) &&
      !differs(l.value("render_weight", 0.0), opt.render_weight) &&
      !differs(l.value("adversarial_weight", 0.0), opt.adversarial_weight) && !differs(l.value("critic_lr", opt.critic_lr), opt.critic_lr) &&
      !differs(l.value("gradient_weight", 0.0), opt.gradient_weight) && !differs(l.value("feature_weight", 0.0), opt.feature_weight) &&
      !differs(l.value("line_weight", 0.0), opt.line_weight) &&
      l.value("reader_fingerprint", std::string()) == (readback ? readback->fingerprint() : std::string()) &&
      !differs(l.at("lr").get<double>(), opt.lr) && !differs(l.value("lr_end", -1.0), opt.lr_end) &&
      l.value("freeze_decoder", false) == opt.freeze_decoder) {
    return;
  }
  throw Error(ErrorKind::InvalidArgument, origin + ": --resume needs the run's loss settings: --beta " + l.at("beta").dump() +
                                              " --affect-weight " + l.at("affect_weight").dump() + " --expression-weight " + json(expression).dump() +
                                              " --lr " + l.at("lr").dump() +
                                              (l.value("lr_end", -1.0) >= 0 ? " --lr-end " + l.at("lr_end").dump() : std::string(" (without --lr-end)")) +
                                              (l.at("identity_swap").get<bool>() ? " --identity-swap" : " (without --identity-swap)") +
                                              (l.value("teacher_forcing", false) ? " --teacher-forcing" : " (without --teacher-forcing)") +
                                              (l.value("freeze_decoder", false) ? " --freeze-decoder" : " (without --freeze-decoder)") +
                                              " --readback-weight " + json(l.value("readback_weight", 0.0)).dump() +
                                              " --readback-identity-weight " + json(l.value("readback_identity_weight", 1.0)).dump() +
                                              " --readback-au-weight " + json(l.value("readback_au_weight", 1.0)).dump() +
                                              " --render-weight " + json(l.value("render_weight", 0.0)).dump() +
                                              " --adversarial-weight " + json(l.value("adversarial_weight", 0.0)).dump() +
                                              " --gradient-weight " + json(l.value("gradient_weight", 0.0)).dump() +
                                              " --line-weight " + json(l.value("line_weight", 0.0)).dump() +
                                              " --feature-weight " + json(l.value("feature_weight", 0.0)).dump() +
                                              " and the same --reader (weights " + l.value("reader_fingerprint", std::string("none")) + ")");
}

// The running sums of an epoch's loss terms (× images), saved with a mid-epoch checkpoint so
// a resumed epoch's means cover all of it.
struct EpochSums {
  double loss = 0, recon = 0, kl = 0, counted = 0;
  double critic = 0;  // the critic's hinge loss × images (shown, not saved)
  json to_json() const { return json::array({loss, recon, kl, counted}); }
  static EpochSums from_json(const json& j) { return {j.at(0).get<double>(), j.at(1).get<double>(), j.at(2).get<double>(), j.at(3).get<double>(), 0.0}; }
};

// One training run: built in the order a run needs its parts (device, data, loss terms,
// where to start, model and optimiser), then train() runs the epochs. Rank 0 ("lead") alone
// writes the run folder.
class VaeRun {
 public:
  explicit VaeRun(const TrainOptions& opt);
  TrainResult train();

 private:
  torch::Device choose_device() const;
  void load_loss_terms();
  json decide_start();
  void build_model();
  void write_config() const;
  // One optimiser step on the global batch b of `order`; returns false when the run must stop.
  bool step(int epoch, std::int64_t b, const std::vector<std::int64_t>& order, Progress* bar);
  torch::Tensor loss_of_slice(const dist::StepSlice& slice, std::int64_t b, const std::vector<std::int64_t>& order, torch::Tensor& sums,
                              torch::Tensor& real, torch::Tensor& fakes);
  void end_epoch(int epoch, double rate);
  void save_checkpoint(int epoch, std::int64_t batch);
  std::int64_t partner_of(std::int64_t image, std::int64_t step_no, std::int64_t slot) const;

  const TrainOptions& opt_;
  const bool distributed_;
  const int world_, rank_;
  const bool lead_;
  torch::Device device_;
  fs::path run_, ckpt_path_;
  TrainingData data_;
  std::unique_ptr<ReadBack> readback_;
  std::unique_ptr<RenderTargets> render_targets_;  // --render-weight
  std::unique_ptr<PatchCritic> critic_;
  std::unique_ptr<dist::Group> group_;
  TensorMap checkpoint_;
  json start_;
  VaeConfig config_;
  std::int64_t step_ = 0, first_step_ = 0, batches_ = 0;
  std::vector<EpochRecord> history_;
  std::optional<ImageSet> held_out_;
  BetaVae vae_{nullptr};
  std::unique_ptr<Adam> adam_;
  std::unique_ptr<dist::GradientReducer> reducer_;
  EpochSums sums_;
  TrainResult result_;
  double images_seen_ = 0;
  std::chrono::steady_clock::time_point t_start_, last_checkpoint_;
};

VaeRun::VaeRun(const TrainOptions& opt)
    : opt_(opt), distributed_(opt.dist.enabled()), world_(distributed_ ? opt.dist.world : 1), rank_(distributed_ ? opt.dist.rank : 0),
      lead_(rank_ == 0), device_(torch::kCPU), run_(opt.out), ckpt_path_(run_ / "checkpoint.safetensors") {
  if (opt.epochs < 1 || opt.batch < 1) throw Error(ErrorKind::InvalidArgument, "epochs and batch must be >= 1");
  if (distributed_) {
    dist::validate(opt.dist);
    if (opt.batch < world_) {
      throw Error(ErrorKind::InvalidArgument, "--batch (" + std::to_string(opt.batch) + ") must be at least the number of ranks (" +
                                                  std::to_string(world_) + "): it is the global batch, split over the ranks");
    }
  }
  torch_compat::set_threads(opt.threads);
  device_ = choose_device();
  // Every rank loads the training split (the data must be on every machine).
  data_ = load_training_data(opt, device_);
  load_loss_terms();
  if (distributed_) group_ = std::make_unique<dist::Group>(opt.dist);
  start_ = decide_start();
  config_ = run_model_config(start_.at("model"), opt.data);
  step_ = first_step_ = start_.at("step").get<std::int64_t>();
  for (const json& h : start_.at("history")) {
    history_.push_back({h.at(0).get<int>(), h.at(1), h.at(2), h.at(3), h.at(4), h.at(5), h.at(6), h.at(7)});
  }
  if (data_.train.image_size() != config_.image_size) {
    throw Error(ErrorKind::InvalidArgument, opt.data + ": images are " + std::to_string(data_.train.image_size()) + "², the model expects " +
                                                std::to_string(config_.image_size) + "² (--size of synth/prep, or the model's image_size)");
  }
  if (lead_) {
    try {  // rank 0 scores these held-out images after each epoch
      held_out_ = ImageSet::load(opt.data, "val", std::max<std::int64_t>(opt.batch * 4, 64));
    } catch (const Error&) {
      held_out_ = ImageSet::load(opt.data, "train", 64);  // no val split: watch the first train images
    }
  }
  build_model();
  if (lead_) write_config();
  batches_ = (data_.train.size() + opt.batch - 1) / opt.batch;
}

torch::Device VaeRun::choose_device() const {
  if (opt_.device != "cpu" && opt_.device != "cuda") throw Error(ErrorKind::InvalidArgument, "--device must be cpu or cuda, got '" + opt_.device + "'");
  if (opt_.device == "cuda" && !torch_compat::cuda_available()) {
    throw Error(ErrorKind::InvalidArgument, "--device cuda: this LibTorch (" + torch_compat::version() + ") has no CUDA or no GPU is visible");
  }
  // With several ranks on a machine, rank LOCAL_RANK uses GPU LOCAL_RANK.
  return opt_.device == "cuda" ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(distributed_ ? opt_.dist.local_rank : 0)) : torch::Device(torch::kCPU);
}

void VaeRun::load_loss_terms() {
  if (opt_.freeze_decoder && opt_.init.empty() && !opt_.resume) {
    throw Error(ErrorKind::InvalidArgument, "--freeze-decoder needs --init WEIGHTS (the decoder it keeps)");
  }
  if (opt_.teacher_forcing && !opt_.identity_swap) throw Error(ErrorKind::InvalidArgument, "--teacher-forcing needs --identity-swap (it forces the affect of the swapped latent)");
  if (!opt_.reader.empty()) {
    if (!opt_.identity_swap) throw Error(ErrorKind::InvalidArgument, "--reader needs --identity-swap (it draws the partner's person at random affect points)");
    if (!(opt_.readback_weight > 0.0)) throw Error(ErrorKind::InvalidArgument, "--reader needs --readback-weight W > 0");
    readback_ = std::make_unique<ReadBack>(opt_.reader, data_.three_d ? Space::Ball : Space::Plane, device_, opt_.readback_identity_weight, opt_.readback_au_weight);
  }
  if (opt_.feature_weight > 0.0 && !readback_) throw Error(ErrorKind::InvalidArgument, "--feature-weight needs --reader (it compares the reader's activations)");
  if (opt_.render_weight > 0.0) {
    if (!readback_) throw Error(ErrorKind::InvalidArgument, "--render-weight needs --reader (it renders the read-back's faces)");
    render_targets_ = std::make_unique<RenderTargets>(opt_.data, data_.three_d ? Space::Ball : Space::Plane, data_.train.image_size());
  }
  if (opt_.adversarial_weight > 0.0) {
    if (distributed_) throw Error(ErrorKind::InvalidArgument, "--adversarial-weight runs in a single process only (the critic's gradients are not summed over ranks)");
    if (!(opt_.critic_lr > 0.0) || opt_.critic_width < 1) throw Error(ErrorKind::InvalidArgument, "--critic-lr must be > 0 and --critic-width ≥ 1");
    critic_ = std::make_unique<PatchCritic>(opt_.critic_width, opt_.critic_lr, opt_.seed ^ 0xC417C0DEULL, device_);
  }
}

// Where training starts, decided by rank 0 (from its checkpoint on --resume) and shared.
json VaeRun::decide_start() {
  json start;
  if (lead_) {
    try {
      fs::create_directories(run_ / "recon");
      VaeConfig config = opt_.model;
      start = {{"epoch", 0}, {"batch", 0}, {"step", 0}, {"adam_t", 0}, {"critic_t", 0}, {"epoch_sums", json::array({0.0, 0.0, 0.0, 0.0})},
               {"history", json::array()}};
      if (opt_.resume) {
        if (!fs::exists(ckpt_path_)) throw Error(ErrorKind::Io, ckpt_path_.string() + ": no checkpoint to resume from");
        std::string meta_text;
        checkpoint_ = load_tensors(ckpt_path_.string(), &meta_text);
        const json meta = json::parse(meta_text);
        config = run_model_config(meta.at("model"), ckpt_path_.string());
        if (meta.at("seed").get<std::uint64_t>() != opt_.seed || meta.at("batch_size").get<int>() != opt_.batch) {
          throw Error(ErrorKind::InvalidArgument, ckpt_path_.string() + ": --resume needs the run's --seed and --batch (seed " +
                                                      meta.at("seed").dump() + ", batch " + meta.at("batch_size").dump() + ")");
        }
        if (meta.contains("loss")) check_resumed_loss(meta["loss"], opt_, readback_.get(), ckpt_path_.string());
        for (const char* key : {"epoch", "batch", "step", "adam_t", "epoch_sums", "history"}) start[key] = meta.at(key);
        start["critic_t"] = meta.value("critic_t", 0);
      } else {
        config.image_size = data_.train.image_size();  // a new model takes the data's size
      }
      start["model"] = config_json(config);
      start["train_images"] = data_.train.size();
    } catch (const std::exception& e) {
      if (group_) group_->share_from_rank0("start", e.what(), true);
      throw;
    }
  }
  if (group_) start = json::parse(group_->share_from_rank0("start", lead_ ? start.dump() : std::string()));
  if (start.at("train_images").get<std::int64_t>() != data_.train.size()) {
    throw Error(ErrorKind::BadData, opt_.data + ": " + (group_ ? group_->who() : std::string("this rank")) + " has " +
                                        std::to_string(data_.train.size()) + " training images, rank 0 has " + start.at("train_images").dump() +
                                        " (every rank needs the same data and --limit)");
  }
  return start;
}

void VaeRun::build_model() {
  vae_ = [&] {
    // Initialisation draws from LibTorch's global generator: one at a time in a process
    // (ranks may be threads of one test).
    static std::mutex init_mutex;
    const std::lock_guard<std::mutex> lock(init_mutex);
    torch_compat::seed_everything(opt_.seed);
    return BetaVae(config_);
  }();
  vae_->to(device_);
  // --freeze-decoder: the decoder keeps its weights and only the encoder learns.
  if (opt_.freeze_decoder) {
    for (auto& p : vae_->decoder->parameters()) p.set_requires_grad(false);
  }
  const std::vector<torch::Tensor> trained = opt_.freeze_decoder ? vae_->encoder->parameters() : vae_->parameters();
  adam_ = std::make_unique<Adam>(trained, AdamOptions{opt_.lr});
  const auto vae_only = [&](TensorMap tensors) {
    for (auto it = tensors.begin(); it != tensors.end();) it = adam_->owns(it->first) || PatchCritic::owns(it->first) ? tensors.erase(it) : std::next(it);
    return tensors;
  };
  if (lead_ && opt_.resume) {
    assign_module_tensors(*vae_, vae_only(checkpoint_), ckpt_path_.string());
    adam_->load(checkpoint_, ckpt_path_.string());
    if (critic_) critic_->load(checkpoint_, start_.at("critic_t").get<std::int64_t>(), ckpt_path_.string());
  } else if (lead_ && !opt_.init.empty()) {
    TensorMap init = vae_only(load_tensors(opt_.init));
    const TensorMap mine = module_tensors(*vae_);
    if (opt_.freeze_decoder) {
      // Only the decoder must match: encoder tensors of another shape (--encoder-width) or
      // that this model lacks (an affect head) are left out, and those start afresh.
      const auto is_encoder = [](const std::string& name) { return name.rfind("encoder.", 0) == 0; };
      for (auto it = init.begin(); it != init.end();) {
        const auto own = mine.find(it->first);
        it = is_encoder(it->first) && (own == mine.end() || own->second.sizes() != it->second.sizes()) ? init.erase(it) : std::next(it);
      }
      int fresh = 0;
      for (const auto& [name, t] : mine) {
        if (is_encoder(name) && !init.count(name)) fresh += static_cast<int>(init.emplace(name, t.clone()).second);
      }
      std::fprintf(stderr, "--freeze-decoder: the decoder from %s; %d encoder tensors start afresh\n", opt_.init.c_str(), fresh);
    }
    // Weights without the decoder's refinement or detail convolutions or the encoder's depth
    // (--decoder-refine, --decoder-detail, --encoder-depth) widen: those start at zero, and
    // the model first draws (and reads) exactly what the init did.
    for (const auto& [name, t] : mine) {
      const bool widening = name.rfind("decoder.refine.", 0) == 0 || name.rfind("decoder.detail.", 0) == 0 || name.rfind("encoder.depth.", 0) == 0;
      if (widening && !init.count(name)) init.emplace(name, t.clone());
    }
    assign_module_tensors(*vae_, init, opt_.init + " (--init: needs the same --latent, --width and --decoder-width)");
  }
  checkpoint_.clear();
  adam_->set_t(start_.at("adam_t").get<std::int64_t>());
  if (group_) {
    // Every rank starts from rank 0's weights and optimiser state.
    std::vector<torch::Tensor> state;
    for (const auto& [name, t] : module_tensors(*vae_)) state.push_back(t);
    for (const auto& t : adam_->state()) state.push_back(t);
    group_->broadcast_from_rank0(state, "the weights and optimiser state");
    reducer_ = std::make_unique<dist::GradientReducer>(*group_, trained);
  }
}

void VaeRun::write_config() const {
  const TrainOptions& o = opt_;
  json c = {{"model", config_json(config_)}, {"data", o.data}, {"train_images", data_.train.size()}, {"data_source", data_.train.source()},
            {"epochs", o.epochs}, {"batch", o.batch}, {"beta", o.beta}, {"affect_weight", o.affect_weight}, {"identity_swap", o.identity_swap},
            {"teacher_forcing", o.teacher_forcing}, {"readback_weight", o.readback_weight}, {"readback_identity_weight", o.readback_identity_weight},
            {"readback_au_weight", o.readback_au_weight},
            {"render_weight", o.render_weight},
            {"adversarial_weight", o.adversarial_weight}, {"critic_lr", o.critic_lr}, {"critic_width", o.critic_width}, {"gradient_weight", o.gradient_weight},
            {"line_weight", o.line_weight}, {"feature_weight", o.feature_weight}, {"freeze_decoder", o.freeze_decoder}, {"reader", readback_ ? json{{"dir", readback_->dir()}, {"fingerprint", readback_->fingerprint()}} : json(nullptr)},
            {"expression_weight", o.expression_weight}, {"lr", o.lr}, {"lr_end", o.lr_end}, {"init", o.init.empty() ? json(nullptr) : json(o.init)},
            {"class_weights", o.class_weights}, {"threads", o.threads}, {"seed", o.seed}, {"world_size", world_}, {"command", o.command_line},
            {"libtorch", torch_compat::version()}};
  if (distributed_) c["backend"] = o.dist.backend;
  write_file_atomic((run_ / "config.json").string(), c.dump(2) + "\n");
  if (data_.pixel_weights.defined()) write_weight_picture((run_ / "expression_weight.png").string(), data_.pixel_weights.cpu(), data_.train, o.expression_weight);
}

void VaeRun::save_checkpoint(int epoch, std::int64_t batch) {
  TensorMap all = module_tensors(*vae_);
  adam_->save(all);
  if (critic_) critic_->save(all);
  for (auto& [name, t] : all) t = t.to(torch::kCPU);
  json hist = json::array();
  for (const auto& h : history_) hist.push_back({h.epoch, h.loss, h.recon, h.kl, h.val_loss, h.val_recon, h.val_psnr, h.images_per_second});
  const json meta = {{"model", config_json(config_)}, {"epoch", epoch}, {"batch", batch}, {"step", step_},
                     {"adam_t", adam_->t()}, {"critic_t", critic_ ? critic_->t() : 0}, {"seed", opt_.seed}, {"batch_size", opt_.batch},
                     {"history", hist}, {"world_size", world_}, {"loss", loss_settings(opt_, readback_.get())},
                     {"epoch_sums", batch == 0 ? EpochSums{}.to_json() : sums_.to_json()}};
  save_tensors(ckpt_path_.string(), all, meta.dump());  // atomic: a temporary file renamed into place
}

// Partner of the image at position `slot` of step `step_no`'s global batch: drawn from (seed,
// step, slot), so it does not depend on how the batch is split over ranks. An image whose
// person has no other image is its own partner.
std::int64_t VaeRun::partner_of(std::int64_t image, std::int64_t step_no, std::int64_t slot) const {
  const auto& others = data_.same_person[static_cast<std::size_t>(image)];
  if (others.empty()) return image;
  const std::uint64_t h = dist::mix_seed(dist::mix_seed(opt_.seed ^ 0x1D5A9C3BULL, static_cast<std::uint64_t>(step_no)), static_cast<std::uint64_t>(slot));
  return others[static_cast<std::size_t>(h % others.size())];
}

// The loss of this rank's share of the global batch (already scaled for a distributed step),
// with `sums` = [total, reconstruction, KL, 0] × images and, for the critic, the real images
// and the decoded faces.
torch::Tensor VaeRun::loss_of_slice(const dist::StepSlice& slice, std::int64_t b, const std::vector<std::int64_t>& order, torch::Tensor& sums,
                                    torch::Tensor& real, torch::Tensor& fakes) {
  const std::vector<std::int64_t>& idx = slice.images;
  const std::int64_t count = slice.count, share_lo = slice.first, mine = static_cast<std::int64_t>(idx.size());
  // ε for every image of the global batch from (seed, step); this rank takes its rows.
  auto gen = at::detail::createCPUGenerator(dist::mix_seed(opt_.seed ^ 0xA5A5A5A5ULL, static_cast<std::uint64_t>(step_)));
  const torch::Tensor noise = torch::randn({count, config_.latent}, gen).narrow(0, share_lo, mine).to(device_);
  const torch::Tensor x = data_.train.batch(idx).to(device_);
  const torch::Tensor rows = torch::tensor(idx, torch::kLong);
  torch::Tensor w;
  double share = static_cast<double>(mine) / static_cast<double>(count);  // of the global batch's mean loss
  if (data_.sample_weights.defined()) {
    w = data_.sample_weights.index_select(0, rows).to(device_);
    if (distributed_) {
      // vae_loss normalises weights by this rank's mean; rescale to the global batch's.
      const std::vector<std::int64_t> all(order.begin() + b * opt_.batch, order.begin() + b * opt_.batch + count);
      share *= w.mean().item<double>() / data_.sample_weights.index_select(0, torch::tensor(all, torch::kLong)).mean().item<double>();
    }
  }
  torch::Tensor y;
  if (data_.affect_labels.defined()) y = data_.affect_labels.index_select(0, rows).to(device_);
  VaeOutput out;
  if (opt_.identity_swap) {
    std::vector<std::int64_t> partners;
    for (std::int64_t k = 0; k < mine; ++k) partners.push_back(partner_of(idx[static_cast<std::size_t>(k)], step_, share_lo + k));
    out = vae_->forward_identity_swap(x, data_.train.batch(partners).to(device_), noise, data_.affect_labels.size(1), opt_.teacher_forcing ? y : torch::Tensor());
  } else {
    out = vae_->forward(x, noise);
  }
  const VaeLoss loss = vae_loss(out, x, opt_.beta, w, y, opt_.affect_weight, data_.pixel_weights);
  torch::Tensor total = loss.total;
  // A per-image term's batch mean, with the sample weights as vae_loss weighs its terms.
  const auto weighted_mean = [&w](const torch::Tensor& per_image) { return (w.defined() ? per_image * (w / w.mean()) : per_image).mean(); };
  if (opt_.gradient_weight > 0.0) total = total + opt_.gradient_weight * weighted_mean(gradient_difference(out.reconstruction, x, data_.pixel_weights));
  if (opt_.line_weight > 0.0) total = total + opt_.line_weight * weighted_mean(line_difference(out.reconstruction, x, data_.pixel_weights));
  if (readback_) {
    // The partner's person (its sampled identity latents) at random points of the whole
    // disk/ball, drawn from (seed, step) for the global batch; this rank takes its rows.
    auto pgen = at::detail::createCPUGenerator(dist::mix_seed(opt_.seed ^ 0x52EADB4CULL, static_cast<std::uint64_t>(step_)));
    const torch::Tensor asked = readback_->sample_points(count, pgen).narrow(0, share_lo, mine).to(device_);
    const std::int64_t k = asked.size(1), rest = config_.latent - k;
    const torch::Tensor who = (out.mu + noise * torch::exp(0.5 * out.logvar)).narrow(1, k, rest);
    const torch::Tensor faces = vae_->decoder->forward(torch::cat({kAffectLatentScale * asked, who}, 1));
    torch::Tensor reference = x;
    if (render_targets_) {
      // The same people, rendered at the asked points: the faces' pixel targets and identity references.
      std::vector<std::int64_t> people;
      for (std::int64_t i : idx) people.push_back(data_.train.labels()[static_cast<std::size_t>(i)].identity);
      reference = render_targets_->faces(people, asked, opt_.threads).to(device_);
      torch::Tensor squared = (faces - reference).pow(2);
      if (data_.pixel_weights.defined()) squared = squared * data_.pixel_weights;
      total = total + opt_.render_weight * weighted_mean(squared.flatten(1).sum(1));
    }
    total = total + opt_.readback_weight * readback_->loss(faces, asked, reference);
    if (opt_.feature_weight > 0.0) total = total + opt_.feature_weight * readback_->feature_loss(out.reconstruction, x);
    if (critic_) fakes = torch::cat({out.reconstruction, faces}, 0);
  }
  if (critic_) {
    if (!fakes.defined()) fakes = out.reconstruction;
    total = total + opt_.adversarial_weight * critic_->generator_loss(fakes);
    real = x;
  }
  sums = torch::tensor({total.item<double>() * share * static_cast<double>(count), loss.reconstruction.item<double>() * static_cast<double>(mine),
                        loss.kl.item<double>() * static_cast<double>(mine), 0.0}, torch::kDouble).to(device_);
  return distributed_ ? total * share : total;
}

bool VaeRun::step(int epoch, std::int64_t b, const std::vector<std::int64_t>& order, Progress* bar) {
  // The global batch b of this epoch's order; this rank trains on its share.
  const dist::StepSlice slice = dist::step_slice(order, opt_.batch, b, rank_, world_);
  const std::int64_t count = slice.count;
  // Loss terms of the global batch × its size: [total, reconstruction, KL, stop requested].
  torch::Tensor sums = torch::zeros({4}, torch::TensorOptions(torch::kDouble).device(device_));
  torch::Tensor loss, real, fakes;
  if (!slice.images.empty()) loss = loss_of_slice(slice, b, order, sums, real, fakes);
  if (stop_requested()) sums[3].fill_(1.0);
  adam_->set_lr(scheduled_lr(opt_, step_, static_cast<std::int64_t>(opt_.epochs) * batches_));
  adam_->zero_grad();
  if (group_) {
    try {
      group_->start_sum(sums);  // overlaps the backward pass, like the gradient buckets
      if (loss.defined()) loss.backward();
      reducer_->finish();       // waits for every sum, writes the summed gradients
    } catch (const Error& e) {
      // Nothing of this step is applied yet: rank 0 keeps the state before it.
      if (lead_ && step_ > first_step_) {
        save_checkpoint(epoch, b);
        throw Error(e.kind(), std::string(e.what()) + "\nrank 0 saved a checkpoint at epoch " + std::to_string(epoch + 1) + ", batch " +
                                  std::to_string(b) + " in " + ckpt_path_.string() + " (continue with --resume)");
      }
      throw;
    }
  } else {
    loss.backward();
  }
  adam_->step();
  if (critic_) sums_.critic += critic_->update(real, fakes) * static_cast<double>(count);
  ++step_;
  const double l = sums[0].item<double>() / static_cast<double>(count);
  if (!std::isfinite(l)) throw Error(ErrorKind::Internal, "training diverged at step " + std::to_string(step_) + " (loss is not finite); try a lower --lr");
  sums_.loss += sums[0].item<double>();
  sums_.recon += sums[1].item<double>();
  sums_.kl += sums[2].item<double>();
  sums_.counted += static_cast<double>(count);
  images_seen_ += static_cast<double>(count);
  if (opt_.on_step) opt_.on_step(step_, *vae_);
  if (bar) {
    char note[128];
    const double n = sums_.counted;
    if (critic_) {
      std::snprintf(note, sizeof note, "loss %.1f (recon %.1f, KL %.1f, critic %.3f)", sums_.loss / n, sums_.recon / n, sums_.kl / n, sums_.critic / n);
    } else {
      std::snprintf(note, sizeof note, "loss %.1f (recon %.1f, KL %.1f)", sums_.loss / n, sums_.recon / n, sums_.kl / n);
    }
    bar->set_note(note);
    bar->advance(static_cast<std::uint64_t>(count));
  }
  // Every rank stops at the same step: a stop request on any rank was summed into sums[3].
  const bool stop = sums[3].item<double>() > 0 || (opt_.stop_after_steps > 0 && step_ >= opt_.stop_after_steps);
  const auto now = std::chrono::steady_clock::now();
  if (lead_ && (stop || now - last_checkpoint_ > std::chrono::duration<double>(opt_.checkpoint_minutes * 60.0))) {
    save_checkpoint(epoch, b + 1);
    last_checkpoint_ = now;
  }
  return !stop;
}

// Rank 0 after each epoch: held-out loss and PSNR, a reconstruction sheet, the curves and a checkpoint.
void VaeRun::end_epoch(int epoch, double rate) {
  vae_->eval();
  torch::NoGradGuard no_grad;
  std::vector<std::int64_t> held_idx(static_cast<std::size_t>(held_out_->size()));
  std::iota(held_idx.begin(), held_idx.end(), 0);
  const torch::Tensor hx = held_out_->batch(held_idx).to(device_);
  const VaeOutput hout = vae_->forward(hx);
  const VaeLoss hloss = vae_loss(hout, hx, opt_.beta);
  const double mse = (hout.reconstruction - hx).pow(2).mean().item<double>();
  const double psnr = 10.0 * std::log10(1.0 / std::max(mse, 1e-12));
  std::vector<cv::Mat> cells;
  const std::int64_t show = std::min<std::int64_t>(8, held_out_->size());
  for (std::int64_t i = 0; i < show; ++i) cells.push_back(tensor_to_bgr(hx[i].cpu()));
  for (std::int64_t i = 0; i < show; ++i) cells.push_back(tensor_to_bgr(hout.reconstruction[i].cpu()));
  char name[64];
  std::snprintf(name, sizeof name, "epoch_%03d.png", epoch + 1);
  plot::write_image_atomic((run_ / "recon" / name).string(), plot::tile(cells, static_cast<int>(show)));

  const double n = sums_.counted;
  history_.push_back({epoch + 1, sums_.loss / n, sums_.recon / n, sums_.kl / n, hloss.total.item<double>(), hloss.reconstruction.item<double>(), psnr, rate});
  write_curves(run_, history_);
  save_checkpoint(epoch + 1, 0);
  last_checkpoint_ = std::chrono::steady_clock::now();
  std::fprintf(stderr, "epoch %d: loss %.2f  held-out loss %.2f  PSNR %.2f dB  %.1f img/s%s\n", epoch + 1, sums_.loss / n, hloss.total.item<double>(), psnr,
               rate, critic_ ? ("  critic " + std::to_string(sums_.critic / n)).c_str() : "");
}

TrainResult VaeRun::train() {
  t_start_ = last_checkpoint_ = std::chrono::steady_clock::now();
  const std::int64_t n = data_.train.size();
  const int start_epoch = start_.at("epoch").get<int>();
  const std::int64_t start_batch = start_.at("batch").get<std::int64_t>();
  for (int epoch = start_epoch; epoch < opt_.epochs; ++epoch) {
    const std::vector<std::int64_t> order = dist::epoch_order(n, opt_.seed, epoch);
    const std::int64_t first_batch = epoch == start_epoch ? start_batch : 0;
    std::optional<Progress> bar;
    if (lead_) {
      bar.emplace("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt_.epochs),
                  static_cast<std::uint64_t>(std::max<std::int64_t>(1, std::min(n, batches_ * opt_.batch) - first_batch * opt_.batch)), "img");
    }
    sums_ = epoch == start_epoch && first_batch > 0 ? EpochSums::from_json(start_.at("epoch_sums")) : EpochSums{};
    vae_->train();
    for (std::int64_t b = first_batch; b < batches_; ++b) {
      if (step(epoch, b, order, bar ? &*bar : nullptr)) continue;
      if (bar) bar->finish();
      if (lead_) {
        std::fprintf(stderr, "stopped at epoch %d, batch %lld; checkpoint saved in %s (continue with --resume)\n", epoch + 1,
                     static_cast<long long>(b + 1), ckpt_path_.c_str());
      }
      if (group_) group_->barrier("finishing");
      result_.epochs_done = epoch;
      result_.steps = step_;
      result_.images_per_second = images_seen_ / std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start_).count();
      return result_;
    }
    result_.epochs_done = epoch + 1;
    result_.last_loss = sums_.loss / sums_.counted;
    if (!lead_) continue;
    bar->finish();
    end_epoch(epoch, bar->rate());
  }
  if (lead_) {
    TensorMap weights = module_tensors(*vae_);
    for (auto& [name, t] : weights) t = t.to(torch::kCPU);
    save_tensors((run_ / "model.safetensors").string(), weights, json{{"model", config_json(config_)}}.dump());
  }
  if (group_) group_->barrier("finishing");
  result_.steps = step_;
  result_.finished = true;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start_).count();
  result_.images_per_second = secs > 0 ? images_seen_ / secs : 0.0;
  return result_;
}

}  // namespace

TrainResult train_vae(const TrainOptions& opt) { return VaeRun(opt).train(); }

}  // namespace circumplex::tools
