#include "affect_ceiling.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "circumplex/error.hpp"
#include "circumplex/facegen_rng.hpp"
#include "facegen/synth.hpp"
#include "map/stats.hpp"

namespace circumplex::tools {
namespace {

constexpr double kNoise = facegen::kSynthAuNoise;
constexpr double kTolerance = 1e-5;  // the labels are stored as float
constexpr std::size_t kNearest = 16;  // the fallback reader's neighbours

// How likely a model AU value `m` makes the face's value `x` (up to a factor shared by every
// reference: the density 1 / (2 kNoise) inside (0, 1) is the same for all of them).
double au_likelihood(double x, double m) {
  if (x <= kTolerance) return std::clamp((kNoise - m) / (2 * kNoise), 0.0, 1.0);          // m + jitter <= 0
  if (x >= 1.0 - kTolerance) return std::clamp((m + kNoise - 1.0) / (2 * kNoise), 0.0, 1.0);  // m + jitter >= 1
  return std::fabs(x - m) <= kNoise + kTolerance ? 1.0 : 0.0;
}

}  // namespace

AffectCeiling::AffectCeiling(Space space, std::uint64_t seed, std::int64_t references) {
  if (references < 1000) throw Error(ErrorKind::InvalidArgument, "the Bayes reader needs at least 1000 references, got " + std::to_string(references));
  points_.reserve(static_cast<std::size_t>(references));
  model_aus_.reserve(static_cast<std::size_t>(references));
  const std::uint64_t stream = facegen::mix_seed(seed, 0xCE111Aull);
  for (std::int64_t i = 0; i < references; ++i) {
    const facegen::SampleLabel l = facegen::sample_label(stream, static_cast<std::uint64_t>(i), space);
    points_.push_back(l.p);
    model_aus_.push_back(l.model_aus);
  }
}

AffectCeiling::Reading AffectCeiling::read(const AuVector& aus) const {
  Reading r;
  double total = 0, v = 0, a = 0, z = 0;
  for (std::size_t j = 0; j < points_.size(); ++j) {
    double w = 1.0;
    for (std::size_t k = 0; k < aus.size() && w > 0.0; ++k) w *= au_likelihood(aus[k], model_aus_[j][k]);
    if (w <= 0.0) continue;
    const AffectPoint& p = points_[j];
    total += w;
    v += w * p.v;
    a += w * p.a;
    z += w * p.z;
    r.quadrant[static_cast<std::size_t>(stats::quadrant(p.v, p.a))] += w;
    ++r.support;
  }
  if (total <= 0.0) {  // no reference fits: the nearest ones in AU space, equally weighted
    r.matched = false;
    std::vector<std::pair<double, std::size_t>> d(points_.size());
    for (std::size_t j = 0; j < points_.size(); ++j) {
      double s = 0;
      for (std::size_t k = 0; k < aus.size(); ++k) s += (aus[k] - model_aus_[j][k]) * (aus[k] - model_aus_[j][k]);
      d[j] = {s, j};
    }
    const std::size_t n = std::min(kNearest, d.size());
    std::partial_sort(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(n), d.end());
    for (std::size_t i = 0; i < n; ++i) {
      const AffectPoint& p = points_[d[i].second];
      total += 1;
      v += p.v;
      a += p.a;
      z += p.z;
      r.quadrant[static_cast<std::size_t>(stats::quadrant(p.v, p.a))] += 1;
    }
  }
  r.mean = {v / total, a / total, z / total};
  for (double& q : r.quadrant) q /= total;
  return r;
}

CeilingFigures ceiling_figures(const AffectCeiling& reader, const std::vector<AuVector>& aus,
                               const std::vector<AffectPoint>& truth, const std::vector<std::size_t>& held_out) {
  if (aus.size() != truth.size() || aus.empty()) {
    throw Error(ErrorKind::InvalidArgument, "ceiling_figures: " + std::to_string(aus.size()) + " AU rows for " + std::to_string(truth.size()) + " faces");
  }
  CeilingFigures f;
  f.faces = static_cast<std::int64_t>(aus.size());
  f.references = reader.references();
  std::vector<double> tv, ta, tz, pv, pa, pz;
  std::vector<int> correct(aus.size(), 0);
  for (std::size_t i = 0; i < aus.size(); ++i) {
    const AffectCeiling::Reading r = reader.read(aus[i]);
    f.unmatched += r.matched ? 0 : 1;
    tv.push_back(truth[i].v), ta.push_back(truth[i].a), tz.push_back(truth[i].z);
    pv.push_back(r.mean.v), pa.push_back(r.mean.a), pz.push_back(r.mean.z);
    const auto best = std::max_element(r.quadrant.begin(), r.quadrant.end()) - r.quadrant.begin();
    correct[i] = best == stats::quadrant(truth[i].v, truth[i].a) ? 1 : 0;
  }
  f.r2_valence = stats::r2_score(tv, pv);
  f.r2_arousal = stats::r2_score(ta, pa);
  const auto [lo, hi] = std::minmax_element(tz.begin(), tz.end());
  f.r2_z = *hi - *lo > 1e-9 ? stats::r2_score(tz, pz) : std::numeric_limits<double>::quiet_NaN();
  double all = 0, held = 0;
  for (int c : correct) all += c;
  for (std::size_t i : held_out) {
    if (i >= correct.size()) throw Error(ErrorKind::InvalidArgument, "ceiling_figures: held-out row " + std::to_string(i) + " past the " + std::to_string(correct.size()) + " faces");
    held += correct[i];
  }
  f.quadrant_accuracy_all = all / static_cast<double>(correct.size());
  f.quadrant_accuracy = held_out.empty() ? f.quadrant_accuracy_all : held / static_cast<double>(held_out.size());
  return f;
}

}  // namespace circumplex::tools
