// circumplex/percentile.hpp — the one summary statistic the live engine's hosts report:
// percentiles of timings (the viewer's frame statistics, the bench's latencies).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace circumplex {

/// Percentile `q` (0 … 1) of `values`, linear between ranks; 0 for an empty list.
inline double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace circumplex
