#include "render_targets.hpp"

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "circumplex/expression.hpp"
#include "common/csv.hpp"
#include "dataset.hpp"

namespace circumplex::tools {

RenderTargets::RenderTargets(const std::string& data_dir, Space space, int size)
    : space_(space), size_(size), origin_((std::filesystem::path(data_dir) / "labels.csv").string()) {
  const std::string text = read_text_file(origin_);
  CsvReader csv(text, origin_);
  std::vector<std::string> row;
  if (!csv.next(row)) throw Error(ErrorKind::BadData, origin_ + ": empty");
  const auto column = [&](const char* name) {
    const auto it = std::find(row.begin(), row.end(), name);
    if (it == row.end()) throw Error(ErrorKind::BadData, origin_ + ": no '" + name + "' column (--render-weight needs synth data, which names each person's seed)");
    return static_cast<std::size_t>(it - row.begin());
  };
  const std::size_t id_col = column("identity"), seed_col = column("identity_seed");
  while (csv.next(row)) {
    try {
      if (std::max(id_col, seed_col) >= row.size()) throw std::invalid_argument("short row");
      const std::int64_t id = std::stoll(row[id_col]);
      if (!people_.count(id)) people_.emplace(id, facegen::sample_identity(std::stoull(row[seed_col])));
    } catch (const std::exception&) {
      throw Error(ErrorKind::BadData, origin_ + ":" + std::to_string(csv.line()) + ": 'identity' and 'identity_seed' must be whole numbers");
    }
  }
  if (people_.empty()) throw Error(ErrorKind::BadData, origin_ + ": lists no people");
}

torch::Tensor RenderTargets::faces(const std::vector<std::int64_t>& identities, const torch::Tensor& points, int threads) const {
  const auto n = static_cast<std::int64_t>(identities.size());
  if (points.dim() != 2 || points.size(0) != n || points.size(1) != 3) {
    throw Error(ErrorKind::InvalidArgument, "render targets: " + std::to_string(n) + " people but points of shape " + c10::str(points.sizes()));
  }
  std::vector<const facegen::Identity*> who;
  for (std::int64_t id : identities) {
    const auto it = people_.find(id);
    if (it == people_.end()) throw Error(ErrorKind::InvalidArgument, "render targets: person " + std::to_string(id) + " is not in " + origin_);
    who.push_back(&it->second);
  }
  const torch::Tensor p = points.to(torch::kCPU, torch::kDouble).contiguous();
  const double* xyz = p.data_ptr<double>();
  std::vector<torch::Tensor> out(static_cast<std::size_t>(n));
  const ExpressionModel& expression = ExpressionModel::builtin();
  const auto draw = [&](std::size_t first, std::size_t stride) {
    for (std::size_t i = first; i < out.size(); i += stride) {
      const AffectPoint q{xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]};
      out[i] = bgr_to_tensor(facegen::render_face(*who[i], expression.action_units(q, space_), size_));
    }
  };
  const std::size_t workers = std::clamp<std::size_t>(static_cast<std::size_t>(std::max(1, threads)), 1, std::max<std::size_t>(1, out.size()));
  std::vector<std::thread> pool;
  for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(draw, w, workers);
  draw(0, workers);
  for (auto& t : pool) t.join();
  return n == 0 ? torch::empty({0, 3, size_, size_}) : torch::stack(out);
}

}  // namespace circumplex::tools
