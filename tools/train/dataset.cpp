#include "dataset.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "common/csv.hpp"
#include "data/shard.hpp"

namespace circumplex::tools {

cv::Mat tensor_to_bgr(const torch::Tensor& chw) {
  const torch::Tensor hwc = (chw.detach().cpu().clamp(0, 1) * 255.0).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  cv::Mat rgb(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3, hwc.data_ptr<std::uint8_t>());
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

torch::Tensor bgr_to_tensor(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).permute({2, 0, 1}).to(torch::kFloat32).div(255.0);
}
namespace fs = std::filesystem;

namespace {

double parse_field(const std::string& text, const std::string& where, const char* column) {
  char* stop = nullptr;
  const double x = std::strtod(text.c_str(), &stop);
  if (text.empty() || *stop != '\0' || !std::isfinite(x)) {
    throw Error(ErrorKind::BadData, where + ": column " + column + " is not a finite number: '" + text + "'");
  }
  return x;
}

}  // namespace

ImageSet ImageSet::load(const std::string& dir, const std::string& split, std::int64_t limit) {
  if (split != "train" && split != "val" && split != "test" && split != "all") {
    throw Error(ErrorKind::InvalidArgument, "split must be train, val, test or all, got '" + split + "'");
  }
  const fs::path root(dir);
  const fs::path csv_path = root / "labels.csv";
  if (!fs::exists(csv_path)) throw Error(ErrorKind::Io, csv_path.string() + ": not found (is " + dir + " a synth/prep output folder?)");
  const std::string text = read_text_file(csv_path.string());
  CsvReader csv(text, csv_path.string());
  std::vector<std::string> row;
  if (!csv.next(row)) throw Error(ErrorKind::BadData, csv_path.string() + ": empty");
  const std::vector<std::string> want = {"file", "split", "valence", "arousal", "z", "category"};
  if (row.size() < want.size() || !std::equal(want.begin(), want.end(), row.begin())) {
    throw Error(ErrorKind::BadData, csv_path.string() + ": line 1: columns must start with file,split,valence,arousal,z,category");
  }
  const std::size_t columns = row.size();
  const auto identity_column = std::find(row.begin(), row.end(), "identity");
  const std::size_t identity_at = identity_column == row.end() ? 0 : static_cast<std::size_t>(identity_column - row.begin());

  ImageSet set;
  std::vector<std::size_t> lines;
  while (csv.next(row)) {
    const std::string where = csv_path.string() + ": line " + std::to_string(csv.line());
    if (row.size() != columns) {
      throw Error(ErrorKind::BadData, where + ": " + std::to_string(row.size()) + " columns, header has " + std::to_string(columns));
    }
    if (split != "all" && row[1] != split) continue;
    ImageLabel label;
    label.file = row[0];
    label.affect = {parse_field(row[2], where, "valence"), parse_field(row[3], where, "arousal"), parse_field(row[4], where, "z")};
    label.category = row[5];
    if (identity_at) {
      const double id = parse_field(row[identity_at], where, "identity");
      if (id < 0 || id != std::floor(id) || id > 9.0e15) throw Error(ErrorKind::BadData, where + ": column identity must be a whole number >= 0: '" + row[identity_at] + "'");
      label.identity = static_cast<std::int64_t>(id);
    }
    set.labels_.push_back(std::move(label));
    lines.push_back(csv.line());
  }
  if (set.labels_.empty()) throw Error(ErrorKind::BadData, csv_path.string() + ": no images in split '" + split + "'");
  const std::int64_t total = set.size();
  if (limit > 0 && set.size() > limit) set.labels_.resize(static_cast<std::size_t>(limit));

  // Pixels from the split's shard when synth wrote one (its samples are in labels.csv order).
  const fs::path shard_path = root / (split + ".cpxshard");
  if (split != "all" && fs::exists(shard_path)) {
    const data::ShardReader shard(shard_path.string());
    if (static_cast<std::int64_t>(shard.count()) != total || shard.height() != shard.width() || shard.channels() != 3) {
      throw Error(ErrorKind::BadData, shard_path.string() + ": holds " + std::to_string(shard.count()) + " samples, labels.csv lists " +
                                          std::to_string(total) + " in split '" + split + "' (or is not square RGB)");
    }
    const int vi = shard.label_index("valence");
    set.image_size_ = static_cast<int>(shard.height());
    const std::int64_t s = set.image_size_;
    set.pixels_ = torch::empty({set.size(), s, s, 3}, torch::kUInt8);
    for (std::int64_t i = 0; i < set.size(); ++i) {
      const auto u = static_cast<std::uint64_t>(i);
      if (vi >= 0 && std::fabs(shard.labels(u)[vi] - set.labels_[static_cast<std::size_t>(i)].affect.v) > 1e-4) {
        throw Error(ErrorKind::BadData, shard_path.string() + ": sample " + std::to_string(i) + " disagrees with labels.csv line " +
                                            std::to_string(lines[static_cast<std::size_t>(i)]) + " (rerun synth)");
      }
      std::memcpy(set.pixels_[i].data_ptr<std::uint8_t>(), shard.pixels(u), shard.info().pixel_bytes());
    }
    set.source_ = shard_path.filename().string();
    return set;
  }

  set.source_ = "labels.csv";
  for (std::size_t i = 0; i < set.labels_.size(); ++i) {
    const std::string where = csv_path.string() + ": line " + std::to_string(lines[i]);
    const fs::path image_path = root / set.labels_[i].file;
    const cv::Mat bgr = cv::imread(image_path.string(), cv::IMREAD_COLOR);
    if (bgr.empty()) throw Error(ErrorKind::BadData, where + ": cannot read image " + image_path.string());
    if (bgr.rows != bgr.cols || (set.image_size_ && bgr.rows != set.image_size_)) {
      throw Error(ErrorKind::BadData, where + ": image " + image_path.string() + " is " + std::to_string(bgr.cols) + "x" +
                                          std::to_string(bgr.rows) + "; images must be square and of one size");
    }
    if (!set.image_size_) {
      set.image_size_ = bgr.rows;
      set.pixels_ = torch::empty({set.size(), bgr.rows, bgr.rows, 3}, torch::kUInt8);
    }
    cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3, set.pixels_[static_cast<std::int64_t>(i)].data_ptr<std::uint8_t>());
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  }
  return set;
}

std::map<std::int64_t, std::vector<std::int64_t>> ImageSet::people() const {
  std::map<std::int64_t, std::vector<std::int64_t>> out;
  for (std::int64_t i = 0; i < size(); ++i) {
    const std::int64_t id = labels_[static_cast<std::size_t>(i)].identity;
    if (id >= 0) out[id].push_back(i);  // labels.csv has the column for every row or for none
  }
  return out;
}

torch::Tensor ImageSet::expression_saliency() const {
  const auto people = this->people();
  if (people.empty()) throw Error(ErrorKind::BadData, "expression weighting needs labels.csv's identity column (synth data); " + labels_.front().file + " has none");
  torch::Tensor sum = torch::zeros({image_size_, image_size_}, torch::kDouble);
  std::int64_t terms = 0;
  for (const auto& [id, members] : people) {
    if (members.size() < 2) continue;
    const torch::Tensor x = pixels_.index_select(0, torch::tensor(members, torch::kLong)).to(torch::kDouble);  // [k, S, S, 3]
    sum += (x - x.mean(0, true)).pow(2).sum(std::vector<std::int64_t>{0, 3});
    terms += static_cast<std::int64_t>(members.size()) - 1;
  }
  if (terms == 0) throw Error(ErrorKind::BadData, "expression weighting needs people with several images; every person here has one");
  cv::Mat variance(image_size_, image_size_, CV_64F);
  std::memcpy(variance.data, (sum / static_cast<double>(terms)).contiguous().data_ptr<double>(), sizeof(double) * static_cast<std::size_t>(image_size_ * image_size_));
  cv::GaussianBlur(variance, variance, cv::Size(0, 0), image_size_ / 32.0);
  double lo = 0, hi = 0;
  cv::minMaxLoc(variance, &lo, &hi);
  if (!(hi > 0)) throw Error(ErrorKind::BadData, "expression weighting: the images of each person are identical");
  torch::Tensor out = torch::from_blob(variance.data, {image_size_, image_size_}, torch::kDouble).clone() / hi;
  return out.to(torch::kFloat);
}

torch::Tensor ImageSet::batch(const std::vector<std::int64_t>& indices) const {
  const auto idx = torch::tensor(indices, torch::kLong);
  return pixels_.index_select(0, idx).permute({0, 3, 1, 2}).to(torch::kFloat32).div_(255.0f).contiguous();
}

}  // namespace circumplex::tools
