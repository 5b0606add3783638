#include "judge_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "circumplex/error.hpp"

namespace circumplex::tools {

namespace {
[[noreturn]] void invalid(const std::string& what) { throw Error(ErrorKind::InvalidArgument, what); }

double mean_of(const std::vector<double>& x) { return std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size()); }

double std_of(const std::vector<double>& x) {
  const double m = mean_of(x);
  double s = 0.0;
  for (double v : x) s += (v - m) * (v - m);
  return std::sqrt(s / static_cast<double>(x.size()));
}
}  // namespace

DriftResult identity_drift(const std::vector<std::vector<std::vector<double>>>& p) {
  if (p.size() < 2) invalid("identity drift needs predictions for at least 2 identities, got " + std::to_string(p.size()));
  std::size_t factors = 0;
  for (std::size_t k = 0; k < p.size(); ++k) {
    if (p[k].empty()) invalid("identity drift: identity " + std::to_string(k) + " has no faces");
    for (const auto& face : p[k]) {
      if (factors == 0) factors = face.size();
      if (face.size() != factors || factors == 0) invalid("identity drift: every face needs the same number (≥ 1) of factor readings");
      for (double x : face) {
        if (!std::isfinite(x)) invalid("identity drift: a factor reading is not finite");
      }
    }
  }
  DriftResult r;
  r.per_factor.assign(factors, std::numeric_limits<double>::quiet_NaN());
  r.within.assign(factors, 0.0);
  r.between.assign(factors, 0.0);
  double sum = 0.0;
  for (std::size_t f = 0; f < factors; ++f) {
    std::vector<double> means;
    double within = 0.0;
    for (const auto& faces : p) {
      std::vector<double> x;
      for (const auto& face : faces) x.push_back(face[f]);
      within += std_of(x);
      means.push_back(mean_of(x));
    }
    r.within[f] = within / static_cast<double>(p.size());
    r.between[f] = std_of(means);
    if (r.between[f] > 1e-9) {
      r.per_factor[f] = r.within[f] / r.between[f];
      r.used.push_back(f);
      sum += r.per_factor[f];
    }
  }
  if (r.used.empty()) invalid("identity drift: no factor reading differs between the identities (is the judge reading identity at all?)");
  r.drift = sum / static_cast<double>(r.used.size());
  return r;
}

double monotone_fraction(const std::vector<double>& values) {
  if (values.size() < 2) invalid("monotonicity needs a sweep of at least 2 values");
  std::size_t up = 0;
  for (std::size_t i = 0; i + 1 < values.size(); ++i) {
    if (!std::isfinite(values[i]) || !std::isfinite(values[i + 1])) invalid("monotonicity: a sweep value is not finite");
    if (values[i + 1] >= values[i]) ++up;
  }
  return static_cast<double>(up) / static_cast<double>(values.size() - 1);
}

std::vector<double> ranks(const std::vector<double>& values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<double> r(values.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (std::size_t t = i; t <= j; ++t) r[order[t]] = mean_rank;
    i = j + 1;
  }
  return r;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) invalid("Spearman correlation needs two equal-length sequences of at least 2 values");
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) invalid("Spearman correlation: a value is not finite");
  }
  const std::vector<double> rx = ranks(x), ry = ranks(y);
  const double mx = mean_of(rx), my = mean_of(ry);
  double sxy = 0.0, sxx = 0.0, syy = 0.0;
  for (std::size_t i = 0; i < rx.size(); ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  if (sxx <= 0.0 || syy <= 0.0) return 0.0;
  return sxy / std::sqrt(sxx * syy);
}

double sweep_spearman(const std::vector<double>& values) {
  std::vector<double> index(values.size());
  std::iota(index.begin(), index.end(), 0.0);
  return spearman(index, values);
}

double psnr_db(double mse) {
  if (!std::isfinite(mse) || mse < 0) invalid("PSNR needs a finite, non-negative mean squared error");
  return mse <= 1e-10 ? 99.0 : std::min(99.0, 10.0 * std::log10(1.0 / mse));
}

double jackknife_se(const std::vector<double>& leave_one_out) {
  const std::size_t n = leave_one_out.size();
  if (n < 2 || !std::all_of(leave_one_out.begin(), leave_one_out.end(), [](double x) { return std::isfinite(x); })) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double mean = mean_of(leave_one_out);
  double ss = 0.0;
  for (double x : leave_one_out) ss += (x - mean) * (x - mean);
  return std::sqrt(static_cast<double>(n - 1) / static_cast<double>(n) * ss);
}

}  // namespace circumplex::tools
