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
#include <random>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "circumplex/torch_compat.hpp"
#include "circumplex/weights.hpp"
#include "common/files.hpp"
#include "common/progress.hpp"
#include "dataset.hpp"
#include "plot/chart.hpp"
#include "plot/plot.hpp"

namespace circumplex::tools {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::atomic<bool> g_stop{false};

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t x = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL + (a << 6) + (a >> 2));
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ULL;
  return x ^ (x >> 29);
}

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
  void load(const TensorMap& in, std::int64_t t, const std::string& origin) {
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
    t_ = t;
  }
  std::int64_t t() const { return t_; }

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
  } catch (const json::parse_error& e) {
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

cv::Mat to_bgr(const torch::Tensor& chw) {
  const auto hwc = (chw.clamp(0, 1) * 255.0).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  cv::Mat rgb(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3, hwc.data_ptr<std::uint8_t>());
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  return bgr;
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

void request_training_stop() { g_stop = true; }

TrainResult train_vae(const TrainOptions& opt) {
  if (opt.epochs < 1 || opt.batch < 1) throw Error(ErrorKind::InvalidArgument, "epochs and batch must be >= 1");
  torch_compat::set_threads(opt.threads);
  const fs::path run(opt.out);
  fs::create_directories(run / "recon");
  const fs::path ckpt_path = run / "checkpoint.cpxw";

  VaeConfig config = opt.model;
  int start_epoch = 0;
  std::int64_t start_batch = 0, step = 0;
  json resumed_sums;  // the interrupted epoch's running sums, so its means cover all of it
  std::vector<EpochRecord> history;
  TensorMap checkpoint;
  json ckpt_meta;
  if (opt.resume) {
    if (!fs::exists(ckpt_path)) throw Error(ErrorKind::Io, ckpt_path.string() + ": no checkpoint to resume from");
    std::string meta_text;
    checkpoint = load_tensors(ckpt_path.string(), &meta_text);
    ckpt_meta = json::parse(meta_text);
    config = config_from_json(ckpt_meta.at("model"), ckpt_path.string());
    start_epoch = ckpt_meta.at("epoch").get<int>();
    start_batch = ckpt_meta.at("batch").get<std::int64_t>();
    step = ckpt_meta.at("step").get<std::int64_t>();
    resumed_sums = ckpt_meta.at("epoch_sums");
    for (const json& h : ckpt_meta.at("history")) {
      history.push_back({h.at(0).get<int>(), h.at(1), h.at(2), h.at(3), h.at(4), h.at(5), h.at(6), h.at(7)});
    }
    if (ckpt_meta.at("seed").get<std::uint64_t>() != opt.seed || ckpt_meta.at("batch_size").get<int>() != opt.batch) {
      throw Error(ErrorKind::InvalidArgument, ckpt_path.string() + ": --resume needs the run's --seed and --batch (seed " +
                                                  ckpt_meta.at("seed").dump() + ", batch " + ckpt_meta.at("batch_size").dump() + ")");
    }
  }
  const ImageSet train = ImageSet::load(opt.data, "train", opt.limit);
  if (!opt.resume) config.image_size = train.image_size();  // a new model takes the data's size
  config.validate();
  ImageSet held_out = [&] {
    try {
      return ImageSet::load(opt.data, "val", std::max<std::int64_t>(opt.batch * 4, 64));
    } catch (const Error&) {
      return ImageSet::load(opt.data, "train", 64);  // no val split: watch the first train images
    }
  }();
  if (train.image_size() != config.image_size) {
    throw Error(ErrorKind::InvalidArgument, opt.data + ": images are " + std::to_string(train.image_size()) + "², the model expects " +
                                                std::to_string(config.image_size) + "² (--size of synth/prep, or the model's image_size)");
  }
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

  torch_compat::seed_everything(opt.seed);
  BetaVae vae(config);
  Adam adam(vae->parameters(), opt.lr);
  if (opt.resume) {
    assign_module_tensors(*vae, [&] {
      TensorMap weights;
      for (const auto& [k, v] : checkpoint) if (k.rfind("adam.", 0) != 0) weights[k] = v;
      return weights;
    }(), ckpt_path.string());
    adam.load(checkpoint, ckpt_meta.at("adam_t").get<std::int64_t>(), ckpt_path.string());
  }

  json run_config = {{"model", config_json(config)}, {"data", opt.data}, {"train_images", train.size()},
                     {"data_source", train.source()}, {"epochs", opt.epochs}, {"batch", opt.batch}, {"beta", opt.beta},
                     {"lr", opt.lr}, {"class_weights", opt.class_weights}, {"threads", opt.threads}, {"seed", opt.seed},
                     {"command", opt.command_line}, {"libtorch", torch_compat::version()}};
  write_file_atomic((run / "config.json").string(), run_config.dump(2) + "\n");

  const std::int64_t n = train.size();
  const std::int64_t batches = (n + opt.batch - 1) / opt.batch;
  double sum_loss = 0, sum_recon = 0, sum_kl = 0;
  double counted = 0;  // images in the running sums
  auto save_checkpoint = [&](int epoch, std::int64_t batch) {
    TensorMap all = module_tensors(*vae);
    adam.save(all);
    json hist = json::array();
    for (const auto& h : history) hist.push_back({h.epoch, h.loss, h.recon, h.kl, h.val_loss, h.val_recon, h.val_psnr, h.images_per_second});
    const json meta = {{"model", config_json(config)}, {"epoch", epoch}, {"batch", batch}, {"step", step},
                       {"adam_t", adam.t()}, {"seed", opt.seed}, {"batch_size", opt.batch}, {"history", hist},
                       {"epoch_sums", batch == 0 ? json::array({0.0, 0.0, 0.0, 0.0}) : json::array({sum_loss, sum_recon, sum_kl, counted})}};
    save_tensors(ckpt_path.string(), all, meta.dump());
  };

  TrainResult result;
  const auto t_start = std::chrono::steady_clock::now();
  auto last_checkpoint = t_start;
  double images_seen = 0;
  const auto held_idx = [&] { std::vector<std::int64_t> v(static_cast<std::size_t>(held_out.size())); std::iota(v.begin(), v.end(), 0); return v; }();

  for (int epoch = start_epoch; epoch < opt.epochs; ++epoch) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(mix(opt.seed, static_cast<std::uint64_t>(epoch)));
    std::shuffle(order.begin(), order.end(), rng);
    const std::int64_t first_batch = epoch == start_epoch ? start_batch : 0;
    Progress bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt.epochs),
                 static_cast<std::uint64_t>(std::max<std::int64_t>(1, std::min(n, batches * opt.batch) - first_batch * opt.batch)), "img");
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
      const std::int64_t lo = b * opt.batch, hi = std::min(n, lo + opt.batch);
      const std::vector<std::int64_t> idx(order.begin() + lo, order.begin() + hi);
      const torch::Tensor x = train.batch(idx);
      torch::manual_seed(mix(opt.seed ^ 0xA5A5A5A5ULL, static_cast<std::uint64_t>(step)));
      torch::Tensor w;
      if (sample_weights.defined()) w = sample_weights.index_select(0, torch::tensor(idx, torch::kLong));
      const VaeLoss loss = vae_loss(vae->forward(x), x, opt.beta, w);
      adam.zero_grad();
      loss.total.backward();
      adam.step();
      ++step;
      const double l = loss.total.item<double>(), r = loss.reconstruction.item<double>(), k = loss.kl.item<double>();
      if (!std::isfinite(l)) throw Error(ErrorKind::Internal, "training diverged at step " + std::to_string(step) + " (loss is not finite); try a lower --lr");
      sum_loss += l * static_cast<double>(idx.size());
      sum_recon += r * static_cast<double>(idx.size());
      sum_kl += k * static_cast<double>(idx.size());
      counted += static_cast<double>(idx.size());
      images_seen += static_cast<double>(idx.size());
      char note[96];
      std::snprintf(note, sizeof note, "loss %.1f (recon %.1f, KL %.1f)", sum_loss / counted, sum_recon / counted, sum_kl / counted);
      bar.set_note(note);
      bar.advance(idx.size());
      const bool stop = g_stop.load() || (opt.stop_after_steps > 0 && step >= opt.stop_after_steps);
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
        result.images_per_second = images_seen / std::chrono::duration<double>(now - t_start).count();
        return result;
      }
    }
    bar.finish();
    const double epoch_rate = bar.rate();

    // Held-out loss, PSNR and a reconstruction sheet.
    vae->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor hx = held_out.batch(held_idx);
    const VaeOutput hout = vae->forward(hx);
    const VaeLoss hloss = vae_loss(hout, hx, opt.beta);
    const double mse = (hout.reconstruction - hx).pow(2).mean().item<double>();
    const double psnr = 10.0 * std::log10(1.0 / std::max(mse, 1e-12));
    std::vector<cv::Mat> cells;
    const std::int64_t show = std::min<std::int64_t>(8, held_out.size());
    for (std::int64_t i = 0; i < show; ++i) cells.push_back(to_bgr(hx[i]));
    for (std::int64_t i = 0; i < show; ++i) cells.push_back(to_bgr(hout.reconstruction[i]));
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
    result.last_loss = sum_loss / counted;
    result.epochs_done = epoch + 1;
  }

  save_tensors((run / "model.cpxw").string(), module_tensors(*vae), json{{"model", config_json(config)}}.dump());
  result.steps = step;
  result.finished = true;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  result.images_per_second = secs > 0 ? images_seen / secs : 0.0;
  return result;
}

}  // namespace circumplex::tools
