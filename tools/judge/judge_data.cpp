#include "judge_data.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "circumplex/expression.hpp"
#include "circumplex/judge.hpp"
#include "common/csv.hpp"
#include "train/dataset.hpp"

namespace circumplex::tools {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> header_of(const std::string& text, const std::string& origin) {
  CsvReader csv(text, origin);
  std::vector<std::string> row;
  if (!csv.next(row)) throw Error(ErrorKind::BadData, origin + ": empty");
  return row;
}

int column_index(const std::vector<std::string>& header, const std::string& name) {
  const auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? -1 : static_cast<int>(it - header.begin());
}

}  // namespace

JudgeColumns judge_columns(const std::string& dir) {
  const std::string path = (fs::path(dir) / "labels.csv").string();
  if (!fs::exists(path)) throw Error(ErrorKind::Io, path + ": not found (is " + dir + " a `circumplex synth` folder?)");
  const std::vector<std::string> header = header_of(read_text_file(path), path);
  JudgeColumns c;
  int last_au = -1;
  for (int i = 0; i < kAuCount; ++i) {
    const int at = column_index(header, au_key(i));
    if (at < 0) {
      throw Error(ErrorKind::BadData, path + ": no " + au_key(i) + " column: the judge learns from `circumplex synth` folders "
                                                                    "(labels.csv with AU and identity-factor columns)");
    }
    c.aus.emplace_back(au_key(i));
    last_au = std::max(last_au, at);
  }
  for (std::size_t i = static_cast<std::size_t>(last_au) + 1; i < header.size(); ++i) {
    if (header[i] == "identity_seed" || header[i] == "seed") continue;
    c.factors.push_back(header[i]);
  }
  if (c.factors.empty()) throw Error(ErrorKind::BadData, path + ": no identity-factor columns after the AUs (an old synth folder?)");
  return c;
}

JudgeLabels load_judge_labels(const std::string& dir, const std::string& split, const JudgeColumns& columns, std::int64_t limit) {
  const std::string path = (fs::path(dir) / "labels.csv").string();
  const std::string text = read_text_file(path);
  CsvReader csv(text, path);
  std::vector<std::string> header, row;
  csv.next(header);
  std::vector<int> cols = {column_index(header, "valence"), column_index(header, "arousal"), column_index(header, "z")};
  for (const auto& n : columns.aus) cols.push_back(column_index(header, n));
  for (const auto& n : columns.factors) cols.push_back(column_index(header, n));
  for (std::size_t j = 0; j < cols.size(); ++j) {
    if (cols[j] < 0) throw Error(ErrorKind::BadData, path + ": no column for judge target " + std::to_string(j) + " (the judge's columns differ from this folder's)");
  }
  const int split_col = column_index(header, "split"), file_col = column_index(header, "file"), seed_col = column_index(header, "identity_seed");
  if (split_col < 0 || file_col < 0) throw Error(ErrorKind::BadData, path + ": line 1: needs file and split columns");

  std::vector<float> values;
  JudgeLabels out;
  while (csv.next(row)) {
    if (row.size() != header.size()) {
      throw Error(ErrorKind::BadData, path + ": line " + std::to_string(csv.line()) + ": " + std::to_string(row.size()) + " columns, header has " +
                                          std::to_string(header.size()));
    }
    if (row[static_cast<std::size_t>(split_col)] != split) continue;
    if (limit > 0 && static_cast<std::int64_t>(out.files.size()) >= limit) break;
    for (std::size_t j = 0; j < cols.size(); ++j) {
      const std::string& field = row[static_cast<std::size_t>(cols[j])];
      char* stop = nullptr;
      const double x = std::strtod(field.c_str(), &stop);
      if (field.empty() || *stop != '\0' || !std::isfinite(x)) {
        throw Error(ErrorKind::BadData, path + ": line " + std::to_string(csv.line()) + ": column " + header[static_cast<std::size_t>(cols[j])] +
                                            " is not a finite number: '" + field + "'");
      }
      values.push_back(static_cast<float>(x));
    }
    out.files.push_back(row[static_cast<std::size_t>(file_col)]);
    out.identity_seeds.push_back(seed_col >= 0 ? row[static_cast<std::size_t>(seed_col)] : std::string());
  }
  const auto rows = static_cast<std::int64_t>(out.files.size()), width = static_cast<std::int64_t>(cols.size());
  out.targets = torch::from_blob(values.data(), {rows, width}, torch::kFloat32).clone();
  return out;
}

JudgeSet load_judge_set(const std::string& dir, const std::string& split, const JudgeColumns& columns, int side_wanted,
                        std::int64_t limit) {
  const std::string path = (fs::path(dir) / "labels.csv").string();
  JudgeLabels labels = load_judge_labels(dir, split, columns, limit);
  const std::vector<std::string>& files = labels.files;
  if (files.empty()) throw Error(ErrorKind::BadData, path + ": no images in split '" + split + "'");

  JudgeSet set;
  {
    const ImageSet images = ImageSet::load(dir, split, limit);
    if (images.size() != static_cast<std::int64_t>(files.size())) {
      throw Error(ErrorKind::BadData, path + ": split '" + split + "' has " + std::to_string(images.size()) + " images but " +
                                          std::to_string(files.size()) + " label rows");
    }
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (images.labels()[i].file != files[i]) throw Error(ErrorKind::BadData, path + ": image order disagrees with labels.csv at " + files[i]);
    }
    set.source_size = images.image_size();
    set.source = images.source();
    const int side = side_wanted > 0 ? std::min(side_wanted, images.image_size()) : images.image_size();
    const std::int64_t n = images.size();
    if (side == images.image_size()) {
      set.pixels = images.pixels();  // shares the pixels, no copy
    } else {
      set.pixels = torch::empty({n, side, side, 3}, torch::kUInt8);
      for (std::int64_t lo = 0; lo < n; lo += 256) {
        const std::int64_t count = std::min<std::int64_t>(256, n - lo);
        const torch::Tensor x = images.pixels().narrow(0, lo, count).permute({0, 3, 1, 2}).to(torch::kFloat32);
        const torch::Tensor small = judge_resize(x, side).round().clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1});
        set.pixels.narrow(0, lo, count).copy_(small);
      }
    }
  }
  set.targets = labels.targets;
  set.identity_seeds = std::move(labels.identity_seeds);
  return set;
}

torch::Tensor JudgeSet::batch(const std::vector<std::int64_t>& rows) const {
  // NHWC bytes permuted to NCHW is channels-last memory already; the float copy keeps it.
  return pixels.index_select(0, torch::tensor(rows, torch::kLong)).permute({0, 3, 1, 2}).to(torch::kFloat32).div_(255.0f);
}

torch::Tensor JudgeSet::batch_targets(const std::vector<std::int64_t>& rows) const {
  return targets.index_select(0, torch::tensor(rows, torch::kLong));
}

}  // namespace circumplex::tools
