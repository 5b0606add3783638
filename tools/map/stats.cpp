#include "map/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>

#include "circumplex/error.hpp"

namespace circumplex::stats {
namespace {

// ---- errors and input guards --------------------------------------------------------------

[[noreturn]] void fail(const std::string& message) {
  throw Error(ErrorKind::InvalidArgument, message);
}

void check_finite(const std::vector<double>& v, const char* fn, const char* what) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      std::ostringstream msg;
      msg << fn << ": " << what << "[" << i << "] must be a finite number, got " << v[i];
      fail(msg.str());
    }
  }
}

void check_finite(const Matrix& m, const char* fn, const char* what) {
  const std::vector<double>& d = m.data();
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (!std::isfinite(d[i])) {
      std::ostringstream msg;
      msg << fn << ": " << what << "[" << i / m.cols() << "][" << i % m.cols()
          << "] must be a finite number, got " << d[i];
      fail(msg.str());
    }
  }
}

void check_rows(const Matrix& m, std::size_t n, const char* fn, const char* what,
                const char* other) {
  if (m.rows() != n) {
    std::ostringstream msg;
    msg << fn << ": " << what << " has " << m.rows() << " rows but " << other << " has " << n
        << " values";
    fail(msg.str());
  }
}

void check_same_size(std::size_t a, std::size_t b, const char* fn, const char* what_a,
                     const char* what_b) {
  if (a != b) {
    std::ostringstream msg;
    msg << fn << ": " << what_a << " has " << a << " values but " << what_b << " has " << b;
    fail(msg.str());
  }
}

void check_labels(const std::vector<int>& labels, std::size_t classes, const char* fn,
                  const char* what) {
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= classes) {
      std::ostringstream msg;
      msg << fn << ": " << what << "[" << i << "] = " << labels[i] << " is not a class in 0 to "
          << classes - 1;
      fail(msg.str());
    }
  }
}

void check_indices(const std::vector<std::size_t>& idx, std::size_t n, const char* fn,
                   const char* what) {
  for (std::size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] >= n) {
      std::ostringstream msg;
      msg << fn << ": " << what << "[" << i << "] = " << idx[i] << " is out of range (" << n
          << " rows)";
      fail(msg.str());
    }
  }
}

double to_d(std::size_t n) { return static_cast<double>(n); }

// ---- deterministic random numbers (SplitMix64) --------------------------------------------

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in 0 … bound−1 (bound > 0), without modulo bias: draws below 2^64 mod bound
  /// are rejected, so the remaining range is a whole multiple of bound.
  std::uint64_t below(std::uint64_t bound) {
    const std::uint64_t threshold = (0 - bound) % bound;
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % bound;
    }
  }

 private:
  std::uint64_t state_;
};

// ---- small dense linear algebra ------------------------------------------------------------

/// In-place Cholesky of the symmetric d × d matrix a (row-major, upper triangle read): on
/// return its lower triangle holds L with a = L·Lᵀ. False when a pivot is not clearly
/// positive (relative to the diagonal it started from).
bool cholesky(std::vector<double>& a, std::size_t d) {
  for (std::size_t j = 0; j < d; ++j) {
    const double original = a[j * d + j];
    double pivot = original;
    for (std::size_t k = 0; k < j; ++k) pivot -= a[j * d + k] * a[j * d + k];
    if (!(pivot > 1e-14 * std::fabs(original)) || !(pivot > 0.0)) return false;
    const double ljj = std::sqrt(pivot);
    a[j * d + j] = ljj;
    for (std::size_t i = j + 1; i < d; ++i) {
      double s = a[j * d + i];  // upper triangle = the symmetric entry (i, j)
      for (std::size_t k = 0; k < j; ++k) s -= a[i * d + k] * a[j * d + k];
      a[i * d + j] = s / ljj;
    }
  }
  return true;
}

/// Solves L·Lᵀ·x = b in place, with L in the lower triangle of l.
void cholesky_solve(const std::vector<double>& l, std::size_t d, std::vector<double>& b) {
  for (std::size_t i = 0; i < d; ++i) {
    double s = b[i];
    for (std::size_t k = 0; k < i; ++k) s -= l[i * d + k] * b[k];
    b[i] = s / l[i * d + i];
  }
  for (std::size_t i = d; i-- > 0;) {
    double s = b[i];
    for (std::size_t k = i + 1; k < d; ++k) s -= l[k * d + i] * b[k];
    b[i] = s / l[i * d + i];
  }
}

// ---- ridge internals -----------------------------------------------------------------------

/// Sums over a group of samples (already shifted by the global means): n, Σx, Σxxᵀ (upper
/// triangle), Σxy, Σy. Training moments of a fold are the total minus the fold's.
struct Moments {
  double n = 0.0;
  std::vector<double> sx, sxx, sxy;
  double sy = 0.0;

  explicit Moments(std::size_t d) : sx(d, 0.0), sxx(d * d, 0.0), sxy(d, 0.0) {}

  void add(const double* x, double y, std::size_t d) {
    n += 1.0;
    sy += y;
    for (std::size_t i = 0; i < d; ++i) {
      const double xi = x[i];
      sx[i] += xi;
      sxy[i] += xi * y;
      double* out = &sxx[i * d];
      for (std::size_t j = i; j < d; ++j) out[j] += xi * x[j];
    }
  }
  void add(const Moments& o, double sign) {
    n += sign * o.n;
    sy += sign * o.sy;
    for (std::size_t i = 0; i < sx.size(); ++i) sx[i] += sign * o.sx[i];
    for (std::size_t i = 0; i < sxy.size(); ++i) sxy[i] += sign * o.sxy[i];
    for (std::size_t i = 0; i < sxx.size(); ++i) sxx[i] += sign * o.sxx[i];
  }
};

/// The centred (and, if asked, standardised) normal equations of one training set, ready to
/// be solved for any λ.
struct NormalEquations {
  std::size_t d = 0;
  std::vector<double> gram;   // d × d, upper triangle: covariance (or correlation)
  std::vector<double> rhs;    // d: covariance with y (scaled likewise)
  std::vector<double> scale;  // d: w = β / scale (1 when not standardising)
  std::vector<double> mean;   // d: training means of x (in shifted coordinates)
  double y_mean = 0.0;        // training mean of y (shifted)
};

NormalEquations normal_equations(const Moments& m, std::size_t d, bool standardize) {
  NormalEquations ne;
  ne.d = d;
  ne.gram.assign(d * d, 0.0);
  ne.rhs.assign(d, 0.0);
  ne.scale.assign(d, 1.0);
  ne.mean.assign(d, 0.0);
  const double n = m.n;
  ne.y_mean = m.sy / n;
  for (std::size_t i = 0; i < d; ++i) ne.mean[i] = m.sx[i] / n;
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t j = i; j < d; ++j)
      ne.gram[i * d + j] = (m.sxx[i * d + j] - m.sx[i] * m.sx[j] / n) / n;
    ne.rhs[i] = (m.sxy[i] - m.sx[i] * m.sy / n) / n;
  }
  if (standardize) {
    double max_sd = 0.0;
    for (std::size_t i = 0; i < d; ++i) {
      ne.gram[i * d + i] = std::max(ne.gram[i * d + i], 0.0);
      ne.scale[i] = std::sqrt(ne.gram[i * d + i]);
      max_sd = std::max(max_sd, ne.scale[i]);
    }
    std::vector<bool> constant(d, false);
    for (std::size_t i = 0; i < d; ++i) {
      if (!(ne.scale[i] > 1e-12 * max_sd)) {
        constant[i] = true;  // z-scoring would blow rounding noise up: keep it out (w = 0)
        ne.scale[i] = 1.0;
      }
    }
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = i; j < d; ++j) {
        if (constant[i] || constant[j]) {
          ne.gram[i * d + j] = (i == j) ? 1.0 : 0.0;
        } else {
          ne.gram[i * d + j] /= ne.scale[i] * ne.scale[j];
        }
      }
      ne.rhs[i] = constant[i] ? 0.0 : ne.rhs[i] / ne.scale[i];
    }
  }
  return ne;
}

/// w (in shifted-coordinate units, same as original) for one λ.
std::vector<double> solve_ridge(const NormalEquations& ne, double lambda, const char* fn) {
  const std::size_t d = ne.d;
  std::vector<double> a = ne.gram;
  for (std::size_t i = 0; i < d; ++i) a[i * d + i] += lambda;
  if (!cholesky(a, d)) {
    std::ostringstream msg;
    msg << fn << ": the normal equations are singular at lambda = " << lambda
        << " (constant or collinear features); use a lambda > 0";
    fail(msg.str());
  }
  std::vector<double> w = ne.rhs;
  cholesky_solve(a, d, w);
  for (std::size_t i = 0; i < d; ++i) w[i] /= ne.scale[i];
  return w;
}

/// The input shifted by its column means (and y by its mean): the ridge solution does not
/// change, and the fold sums then lose little to cancellation.
struct Centred {
  Matrix x;
  std::vector<double> y;
  std::vector<double> x_mean;
  double y_mean = 0.0;
};

Centred centre(const Matrix& X, const std::vector<double>& y) {
  Centred c;
  const std::size_t n = X.rows(), d = X.cols();
  c.x = X;
  c.y = y;
  c.x_mean.assign(d, 0.0);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < d; ++j) c.x_mean[j] += X(r, j);
  for (double& m : c.x_mean) m /= to_d(n);
  c.y_mean = std::accumulate(y.begin(), y.end(), 0.0) / to_d(n);
  for (std::size_t r = 0; r < n; ++r) {
    double* row = c.x.row(r);
    for (std::size_t j = 0; j < d; ++j) row[j] -= c.x_mean[j];
    c.y[r] -= c.y_mean;
  }
  return c;
}

void check_ridge_input(const Matrix& X, const std::vector<double>& y, const char* fn) {
  if (X.cols() == 0) fail(std::string(fn) + ": X has no columns");
  check_rows(X, y.size(), fn, "X", "y");
  if (y.size() < 2)
    fail(std::string(fn) + ": needs at least 2 samples, got " + std::to_string(y.size()));
  check_finite(X, fn, "X");
  check_finite(y, fn, "y");
}

/// The final fit in original units from the equations of all samples.
RidgeFit finish_fit(const Centred& c, const NormalEquations& ne, double lambda, bool standardize,
                    const char* fn) {
  RidgeFit fit;
  fit.weights = solve_ridge(ne, lambda, fn);
  fit.lambda = lambda;
  fit.standardized = standardize;
  double b = c.y_mean + ne.y_mean;
  for (std::size_t j = 0; j < ne.d; ++j) b -= (c.x_mean[j] + ne.mean[j]) * fit.weights[j];
  fit.intercept = b;
  return fit;
}

// ---- MIG internals -------------------------------------------------------------------------

/// Labels made dense (0 … k−1 in order of value) when their range is wider than needed.
std::vector<std::size_t> dense_labels(const std::vector<std::size_t>& labels, std::size_t& count) {
  std::size_t max_label = 0;
  for (std::size_t l : labels) max_label = std::max(max_label, l);
  if (max_label < labels.size() + 64) {
    count = labels.empty() ? 0 : max_label + 1;
    return labels;
  }
  std::vector<std::size_t> values = labels;
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  std::vector<std::size_t> out(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i)
    out[i] = static_cast<std::size_t>(std::lower_bound(values.begin(), values.end(), labels[i]) -
                                      values.begin());
  count = values.size();
  return out;
}

/// Entropy (nats) of counts summing to n.
double entropy_of_counts(const std::vector<std::size_t>& counts, double n) {
  double h = 0.0;
  for (std::size_t c : counts) {
    if (c == 0) continue;
    const double p = to_d(c) / n;
    h -= p * std::log(p);
  }
  return h;
}

/// Plug-in MI (nats) of dense labels a (< ka) and b (< kb).
double mi_dense(const std::vector<std::size_t>& a, std::size_t ka,
                const std::vector<std::size_t>& b, std::size_t kb) {
  const std::size_t n = a.size();
  std::vector<std::size_t> ca(ka, 0), cb(kb, 0), joint(ka * kb, 0);
  for (std::size_t i = 0; i < n; ++i) {
    ++ca[a[i]];
    ++cb[b[i]];
    ++joint[a[i] * kb + b[i]];
  }
  const double nd = to_d(n);
  double mi = 0.0;
  for (std::size_t i = 0; i < ka; ++i) {
    if (ca[i] == 0) continue;
    for (std::size_t j = 0; j < kb; ++j) {
      const std::size_t c = joint[i * kb + j];
      if (c == 0) continue;
      mi += to_d(c) / nd * std::log(to_d(c) * nd / (to_d(ca[i]) * to_d(cb[j])));
    }
  }
  return std::max(mi, 0.0);
}

std::vector<std::size_t> discretize_unchecked(const std::vector<double>& x, std::size_t bins,
                                              Binning binning) {
  const std::size_t n = x.size();
  std::vector<std::size_t> out(n, 0);
  if (n == 0) return out;
  if (binning == Binning::EqualWidth) {
    const auto [lo_it, hi_it] = std::minmax_element(x.begin(), x.end());
    const double lo = *lo_it, hi = *hi_it;
    // Halves keep hi − lo finite even for values near ±DBL_MAX.
    const double half_width = hi / 2 - lo / 2;
    if (!(half_width > 0.0)) return out;
    const double b = to_d(bins);
    for (std::size_t i = 0; i < n; ++i) {
      const double t = (x[i] / 2 - lo / 2) / half_width * b;
      out[i] = t >= b ? bins - 1 : static_cast<std::size_t>(std::max(t, 0.0));
    }
    return out;
  }
  // Bin ⌊B·r/n⌋ from the rank r = the number of values below x: ≈ n/B values per bin, and
  // equal values share their lowest rank's bin (ties can leave bins empty; no MI changes).
  std::vector<double> sorted = x;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < n; ++i) {
    const auto rank = static_cast<std::size_t>(
        std::lower_bound(sorted.begin(), sorted.end(), x[i]) - sorted.begin());
    out[i] = rank * bins / n;
  }
  return out;
}

// ---- logistic internals --------------------------------------------------------------------

/// Regularised softmax loss and its gradient for parameters θ = [W (C × d, row-major), b (C)]
/// on standardised rows xs.
struct SoftmaxObjective {
  const Matrix& xs;
  const std::vector<int>& labels;
  std::size_t classes;
  double l2;

  double operator()(const std::vector<double>& theta, std::vector<double>& grad) const {
    const std::size_t n = xs.rows(), d = xs.cols(), k = classes;
    const double* w = theta.data();
    const double* b = theta.data() + k * d;
    grad.assign(theta.size(), 0.0);
    double* gw = grad.data();
    double* gb = grad.data() + k * d;
    std::vector<double> logits(k);
    double loss = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double* x = xs.row(i);
      double top = -std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < k; ++c) {
        double s = b[c];
        const double* wc = w + c * d;
        for (std::size_t j = 0; j < d; ++j) s += wc[j] * x[j];
        logits[c] = s;
        top = std::max(top, s);
      }
      double z = 0.0;
      for (std::size_t c = 0; c < k; ++c) z += std::exp(logits[c] - top);
      const double lse = top + std::log(z);
      const auto y = static_cast<std::size_t>(labels[i]);
      loss += lse - logits[y];
      for (std::size_t c = 0; c < k; ++c) {
        double p = std::exp(logits[c] - lse);
        if (c == y) p -= 1.0;
        if (p == 0.0) continue;
        double* gwc = gw + c * d;
        for (std::size_t j = 0; j < d; ++j) gwc[j] += p * x[j];
        gb[c] += p;
      }
    }
    const double inv_n = 1.0 / to_d(n);
    loss *= inv_n;
    for (double& g : grad) g *= inv_n;
    double penalty = 0.0;
    for (std::size_t i = 0; i < k * d; ++i) {
      penalty += w[i] * w[i];
      gw[i] += l2 * w[i];
    }
    return loss + 0.5 * l2 * penalty;
  }
};

double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

void axpy(double a, const std::vector<double>& x, std::vector<double>& y) {
  for (std::size_t i = 0; i < y.size(); ++i) y[i] += a * x[i];
}

std::vector<double> standardize_row(const LogisticModel& model, const double* x) {
  const std::size_t d = model.mean.size();
  std::vector<double> out(d);
  for (std::size_t j = 0; j < d; ++j) out[j] = (x[j] - model.mean[j]) / model.scale[j];
  return out;
}

}  // namespace

// ---- Matrix --------------------------------------------------------------------------------

Matrix::Matrix(std::size_t rows, std::size_t cols, double fill)
    : rows_(rows), cols_(cols), data_(rows * cols, fill) {}

Matrix Matrix::from_rows(const std::vector<std::vector<double>>& rows) {
  Matrix m(rows.size(), rows.empty() ? 0 : rows.front().size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != m.cols_) {
      std::ostringstream msg;
      msg << "Matrix::from_rows: rows[" << r << "] has " << rows[r].size()
          << " values but rows[0] has " << m.cols_;
      fail(msg.str());
    }
    std::copy(rows[r].begin(), rows[r].end(), m.row(r));
  }
  return m;
}

std::vector<double> Matrix::column(std::size_t c) const {
  if (c >= cols_) fail("Matrix::column: column " + std::to_string(c) + " is out of range");
  std::vector<double> out(rows_);
  for (std::size_t r = 0; r < rows_; ++r) out[r] = (*this)(r, c);
  return out;
}

// ---- splits --------------------------------------------------------------------------------

std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> p(n);
  std::iota(p.begin(), p.end(), std::size_t{0});
  SplitMix64 rng(seed);
  for (std::size_t i = n; i > 1; --i) {
    const auto j = static_cast<std::size_t>(rng.below(i));
    std::swap(p[i - 1], p[j]);
  }
  return p;
}

Split train_test_split(std::size_t n, double held_out_fraction, std::uint64_t seed) {
  if (n < 2) fail("train_test_split: n must be at least 2, got " + std::to_string(n));
  require_finite(held_out_fraction, "train_test_split: held_out_fraction");
  if (!(held_out_fraction > 0.0 && held_out_fraction < 1.0)) {
    std::ostringstream msg;
    msg << "train_test_split: held_out_fraction must be in (0, 1), got " << held_out_fraction;
    fail(msg.str());
  }
  auto held = static_cast<std::size_t>(std::llround(held_out_fraction * to_d(n)));
  held = std::clamp<std::size_t>(held, 1, n - 1);
  const std::vector<std::size_t> p = permutation(n, seed);
  Split s;
  s.held_out.assign(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(held));
  s.train.assign(p.begin() + static_cast<std::ptrdiff_t>(held), p.end());
  std::sort(s.held_out.begin(), s.held_out.end());
  std::sort(s.train.begin(), s.train.end());
  return s;
}

std::vector<std::size_t> fold_ids(std::size_t n, std::size_t folds, std::uint64_t seed) {
  if (folds < 2 || folds > n) {
    fail("fold_ids: folds must be in 2 to n = " + std::to_string(n) + ", got " +
         std::to_string(folds));
  }
  const std::vector<std::size_t> p = permutation(n, seed);
  std::vector<std::size_t> ids(n);
  for (std::size_t pos = 0; pos < n; ++pos) ids[p[pos]] = pos % folds;
  return ids;
}

Matrix select_rows(const Matrix& m, const std::vector<std::size_t>& indices) {
  check_indices(indices, m.rows(), "select_rows", "indices");
  Matrix out(indices.size(), m.cols());
  for (std::size_t i = 0; i < indices.size(); ++i)
    std::copy(m.row(indices[i]), m.row(indices[i]) + m.cols(), out.row(i));
  return out;
}

std::vector<double> select(const std::vector<double>& v, const std::vector<std::size_t>& indices) {
  check_indices(indices, v.size(), "select", "indices");
  std::vector<double> out(indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) out[i] = v[indices[i]];
  return out;
}

std::vector<int> select(const std::vector<int>& v, const std::vector<std::size_t>& indices) {
  check_indices(indices, v.size(), "select", "indices");
  std::vector<int> out(indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) out[i] = v[indices[i]];
  return out;
}

// ---- ridge regression ----------------------------------------------------------------------

std::vector<double> log_grid(double lo, double hi, std::size_t per_decade) {
  require_finite(lo, "log_grid: lo");
  require_finite(hi, "log_grid: hi");
  if (!(lo > 0.0) || !(hi >= lo)) {
    std::ostringstream msg;
    msg << "log_grid: needs 0 < lo <= hi, got lo = " << lo << ", hi = " << hi;
    fail(msg.str());
  }
  if (per_decade == 0) fail("log_grid: per_decade must be at least 1");
  const double a = std::log10(lo), b = std::log10(hi);
  const auto steps = static_cast<std::size_t>(std::llround((b - a) * to_d(per_decade)));
  std::vector<double> out;
  out.reserve(steps + 1);
  for (std::size_t i = 0; i <= steps; ++i) {
    const double t = steps == 0 ? 0.0 : to_d(i) / to_d(steps);
    out.push_back(std::pow(10.0, a + t * (b - a)));
  }
  out.front() = lo;
  out.back() = hi;
  return out;
}

RidgeFit ridge_fit(const Matrix& X, const std::vector<double>& y, double lambda, bool standardize) {
  const char* fn = "ridge_fit";
  check_ridge_input(X, y, fn);
  require_finite(lambda, "ridge_fit: lambda");
  if (lambda < 0.0) fail("ridge_fit: lambda must be >= 0, got " + std::to_string(lambda));
  const Centred c = centre(X, y);
  const std::size_t d = X.cols();
  Moments all(d);
  for (std::size_t r = 0; r < X.rows(); ++r) all.add(c.x.row(r), c.y[r], d);
  return finish_fit(c, normal_equations(all, d, standardize), lambda, standardize, fn);
}

RidgeFit ridge_cv(const Matrix& X, const std::vector<double>& y, const RidgeOptions& options) {
  const char* fn = "ridge_cv";
  check_ridge_input(X, y, fn);
  if (options.lambdas.empty()) fail("ridge_cv: options.lambdas is empty");
  check_finite(options.lambdas, fn, "options.lambdas");
  for (std::size_t i = 0; i < options.lambdas.size(); ++i) {
    if (options.lambdas[i] < 0.0) {
      std::ostringstream msg;
      msg << "ridge_cv: options.lambdas[" << i << "] must be >= 0, got " << options.lambdas[i];
      fail(msg.str());
    }
  }
  const std::size_t n = X.rows(), d = X.cols(), k = options.folds;
  if (k < 2 || k > n) {
    fail("ridge_cv: options.folds must be in 2 to n = " + std::to_string(n) + ", got " +
         std::to_string(k));
  }
  const Centred c = centre(X, y);
  const std::vector<std::size_t> fold = fold_ids(n, k, options.seed);
  std::vector<Moments> per_fold(k, Moments(d));
  for (std::size_t r = 0; r < n; ++r) per_fold[fold[r]].add(c.x.row(r), c.y[r], d);
  Moments all(d);
  for (const Moments& m : per_fold) all.add(m, 1.0);

  std::vector<std::vector<std::size_t>> members(k);
  for (std::size_t r = 0; r < n; ++r) members[fold[r]].push_back(r);

  const std::size_t nl = options.lambdas.size();
  std::vector<double> sse(nl, 0.0);
  for (std::size_t f = 0; f < k; ++f) {
    Moments train = all;
    train.add(per_fold[f], -1.0);
    const NormalEquations ne = normal_equations(train, d, options.standardize);
    for (std::size_t l = 0; l < nl; ++l) {
      const std::vector<double> w = solve_ridge(ne, options.lambdas[l], fn);
      double offset = ne.y_mean;
      for (std::size_t j = 0; j < d; ++j) offset -= ne.mean[j] * w[j];
      for (std::size_t r : members[f]) {
        const double* x = c.x.row(r);
        double pred = offset;
        for (std::size_t j = 0; j < d; ++j) pred += x[j] * w[j];
        const double e = c.y[r] - pred;
        sse[l] += e * e;
      }
    }
  }
  std::size_t best = 0;
  for (std::size_t l = 1; l < nl; ++l) {
    const bool lower = sse[l] < sse[best];
    const bool tie_larger = sse[l] == sse[best] && options.lambdas[l] > options.lambdas[best];
    if (lower || tie_larger) best = l;
  }
  RidgeFit fit = finish_fit(c, normal_equations(all, d, options.standardize), options.lambdas[best],
                            options.standardize, fn);
  fit.lambdas = options.lambdas;
  fit.cv_mse.resize(nl);
  for (std::size_t l = 0; l < nl; ++l) fit.cv_mse[l] = sse[l] / to_d(n);
  return fit;
}

std::vector<double> predict(const RidgeFit& fit, const Matrix& X) {
  if (X.cols() != fit.weights.size()) {
    fail("predict: X has " + std::to_string(X.cols()) + " columns but the fit has " +
         std::to_string(fit.weights.size()) + " weights");
  }
  check_finite(X, "predict", "X");
  check_finite(fit.weights, "predict", "fit.weights");
  require_finite(fit.intercept, "predict: fit.intercept");
  std::vector<double> out(X.rows());
  for (std::size_t r = 0; r < X.rows(); ++r) {
    const double* x = X.row(r);
    double s = fit.intercept;
    for (std::size_t j = 0; j < X.cols(); ++j) s += x[j] * fit.weights[j];
    out[r] = s;
  }
  return out;
}

double r2_score(const std::vector<double>& y_true, const std::vector<double>& y_pred) {
  check_same_size(y_true.size(), y_pred.size(), "r2_score", "y_true", "y_pred");
  if (y_true.size() < 2) fail("r2_score: y_true needs at least 2 values");
  check_finite(y_true, "r2_score", "y_true");
  check_finite(y_pred, "r2_score", "y_pred");
  const double mean = std::accumulate(y_true.begin(), y_true.end(), 0.0) / to_d(y_true.size());
  double ss_res = 0.0, ss_tot = 0.0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    ss_res += (y_true[i] - y_pred[i]) * (y_true[i] - y_pred[i]);
    ss_tot += (y_true[i] - mean) * (y_true[i] - mean);
  }
  if (!(ss_tot > 0.0)) fail("r2_score: y_true is constant, so R^2 is undefined");
  return 1.0 - ss_res / ss_tot;
}

// ---- directions ----------------------------------------------------------------------------

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  check_same_size(a.size(), b.size(), "dot", "a", "b");
  check_finite(a, "dot", "a");
  check_finite(b, "dot", "b");
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double norm(const std::vector<double>& v) {
  check_finite(v, "norm", "v");
  // Scaled by the largest entry so huge or tiny vectors neither overflow nor underflow.
  const double m = max_abs(v);
  if (m == 0.0) return 0.0;
  double s = 0.0;
  for (double x : v) s += (x / m) * (x / m);
  return m * std::sqrt(s);
}

std::vector<double> normalized(const std::vector<double>& v) {
  const double len = norm(v);
  if (!(len > 0.0)) fail("normalized: v is the zero vector (or empty)");
  std::vector<double> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = v[i] / len;
  return out;
}

double cosine(const std::vector<double>& a, const std::vector<double>& b) {
  check_same_size(a.size(), b.size(), "cosine", "a", "b");
  check_finite(a, "cosine", "a");
  check_finite(b, "cosine", "b");
  const double na = norm(a), nb = norm(b);
  if (!(na > 0.0)) fail("cosine: a is the zero vector (or empty)");
  if (!(nb > 0.0)) fail("cosine: b is the zero vector (or empty)");
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] / na) * (b[i] / nb);
  return std::clamp(s, -1.0, 1.0);
}

Matrix cosine_matrix(const std::vector<std::vector<double>>& vectors) {
  const std::size_t k = vectors.size();
  Matrix m(k, k, 1.0);
  for (std::size_t i = 0; i < k; ++i) {
    if (vectors[i].size() != vectors.front().size()) {
      fail("cosine_matrix: vectors[" + std::to_string(i) + "] has " +
           std::to_string(vectors[i].size()) + " values but vectors[0] has " +
           std::to_string(vectors.front().size()));
    }
  }
  for (std::size_t i = 0; i < k; ++i) {
    check_finite(vectors[i], "cosine_matrix", ("vectors[" + std::to_string(i) + "]").c_str());
    if (!(norm(vectors[i]) > 0.0))
      fail("cosine_matrix: vectors[" + std::to_string(i) + "] is the zero vector (or empty)");
  }
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = i + 1; j < k; ++j) m(i, j) = m(j, i) = cosine(vectors[i], vectors[j]);
  return m;
}

std::vector<std::vector<double>> gram_schmidt(const std::vector<std::vector<double>>& vectors) {
  const std::size_t k = vectors.size();
  std::vector<std::vector<double>> out;
  out.reserve(k);
  for (std::size_t i = 0; i < k; ++i) {
    const std::string name = "vectors[" + std::to_string(i) + "]";
    if (vectors[i].size() != vectors.front().size()) {
      fail("gram_schmidt: " + name + " has " + std::to_string(vectors[i].size()) +
           " values but vectors[0] has " + std::to_string(vectors.front().size()));
    }
    check_finite(vectors[i], "gram_schmidt", name.c_str());
    if (i >= vectors[i].size()) {
      fail("gram_schmidt: " + std::to_string(k) + " vectors of length " +
           std::to_string(vectors[i].size()) + " cannot be independent");
    }
    const double original = norm(vectors[i]);
    if (!(original > 0.0)) fail("gram_schmidt: " + name + " is the zero vector");
    // Work on the unit vector so the dependence test below is relative.
    std::vector<double> v = vectors[i];
    for (double& x : v) x /= original;
    // Modified Gram–Schmidt (subtract each projection from the updated residual), twice:
    // the second pass removes what rounding left in the first.
    for (int pass = 0; pass < 2; ++pass) {
      for (const std::vector<double>& u : out) {
        double p = 0.0;
        for (std::size_t j = 0; j < v.size(); ++j) p += u[j] * v[j];
        for (std::size_t j = 0; j < v.size(); ++j) v[j] -= p * u[j];
      }
    }
    const double residual = norm(v);
    if (!(residual > 1e-10)) {
      fail("gram_schmidt: " + name + " is (numerically) in the span of the vectors before it");
    }
    for (double& x : v) x /= residual;
    out.push_back(std::move(v));
  }
  return out;
}

Directions map_directions(const std::vector<std::vector<double>>& coefficients) {
  if (coefficients.empty()) fail("map_directions: coefficients is empty");
  Directions out;
  out.orthonormal = gram_schmidt(coefficients);  // validates sizes, finiteness, independence
  for (const std::vector<double>& w : coefficients) {
    out.unit.push_back(normalized(w));
    out.scales.push_back(1.0 / norm(w));
  }
  for (std::size_t i = 0; i < coefficients.size(); ++i) {
    double along = 0.0;  // w_i·u_i = the norm of w_i's part orthogonal to earlier ones (> 0)
    for (std::size_t j = 0; j < coefficients[i].size(); ++j)
      along += coefficients[i][j] * out.orthonormal[i][j];
    out.scales_orthogonal.push_back(1.0 / along);
  }
  out.cos_before = cosine_matrix(out.unit);
  out.cos_after = cosine_matrix(out.orthonormal);
  return out;
}

// ---- mutual information gap ----------------------------------------------------------------

std::vector<std::size_t> discretize(const std::vector<double>& x, std::size_t bins,
                                    Binning binning) {
  if (bins < 1) fail("discretize: bins must be at least 1");
  check_finite(x, "discretize", "x");
  return discretize_unchecked(x, bins, binning);
}

double entropy(const std::vector<std::size_t>& labels) {
  if (labels.empty()) fail("entropy: labels is empty");
  std::size_t k = 0;
  const std::vector<std::size_t> dense = dense_labels(labels, k);
  std::vector<std::size_t> counts(k, 0);
  for (std::size_t l : dense) ++counts[l];
  return entropy_of_counts(counts, to_d(labels.size()));
}

double mutual_information(const std::vector<std::size_t>& a, const std::vector<std::size_t>& b) {
  check_same_size(a.size(), b.size(), "mutual_information", "a", "b");
  if (a.empty()) fail("mutual_information: a is empty");
  std::size_t ka = 0, kb = 0;
  const std::vector<std::size_t> da = dense_labels(a, ka), db = dense_labels(b, kb);
  if (static_cast<double>(ka) * static_cast<double>(kb) <= 1.6e7) return mi_dense(da, ka, db, kb);
  // Too many cells for a table: count (a, b) pairs by sorting instead.
  std::vector<std::size_t> ca(ka, 0), cb(kb, 0);
  std::vector<std::pair<std::size_t, std::size_t>> pairs(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    pairs[i] = {da[i], db[i]};
    ++ca[da[i]];
    ++cb[db[i]];
  }
  std::sort(pairs.begin(), pairs.end());
  const double n = to_d(a.size());
  double mi = 0.0;
  for (std::size_t i = 0; i < pairs.size();) {
    std::size_t j = i;
    while (j < pairs.size() && pairs[j] == pairs[i]) ++j;
    const double c = to_d(j - i);
    mi += c / n * std::log(c * n / (to_d(ca[pairs[i].first]) * to_d(cb[pairs[i].second])));
    i = j;
  }
  return std::max(mi, 0.0);
}

MigResult mutual_information_gap(const Matrix& latents, const Matrix& factors,
                                 const std::vector<FactorKind>& kinds, const MigOptions& options) {
  const char* fn = "mutual_information_gap";
  const std::size_t n = latents.rows(), d = latents.cols(), nf = factors.cols();
  if (factors.rows() != n) {
    fail(std::string(fn) + ": latents has " + std::to_string(n) + " rows but factors has " +
         std::to_string(factors.rows()));
  }
  if (n < 2) fail(std::string(fn) + ": needs at least 2 samples, got " + std::to_string(n));
  if (d == 0) fail(std::string(fn) + ": latents has no columns");
  if (nf == 0) fail(std::string(fn) + ": factors has no columns");
  if (kinds.size() != nf) {
    fail(std::string(fn) + ": kinds has " + std::to_string(kinds.size()) +
         " entries but factors has " + std::to_string(nf) + " columns");
  }
  if (options.bins < 2) fail(std::string(fn) + ": options.bins must be at least 2");
  check_finite(latents, fn, "latents");
  check_finite(factors, fn, "factors");

  std::vector<std::vector<std::size_t>> z(d);
  std::vector<std::size_t> kz(d);
  for (std::size_t j = 0; j < d; ++j) {
    z[j] =
        dense_labels(discretize_unchecked(latents.column(j), options.bins, options.binning), kz[j]);
  }

  MigResult result;
  result.mi = Matrix(d, nf);
  for (std::size_t f = 0; f < nf; ++f) {
    const std::vector<double> col = factors.column(f);
    std::vector<std::size_t> v;
    if (kinds[f] == FactorKind::Categorical) {
      std::vector<double> values = col;
      for (std::size_t i = 0; i < n; ++i) {
        if (col[i] != std::floor(col[i])) {
          std::ostringstream msg;
          msg << fn << ": factors[" << i << "][" << f << "] = " << col[i]
              << " is not a whole number, but factor " << f << " is categorical";
          fail(msg.str());
        }
      }
      std::sort(values.begin(), values.end());
      values.erase(std::unique(values.begin(), values.end()), values.end());
      v.resize(n);
      for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::size_t>(std::lower_bound(values.begin(), values.end(), col[i]) -
                                        values.begin());
    } else {
      v = discretize_unchecked(col, options.bins, options.binning);
    }
    std::size_t kv = 0;
    v = dense_labels(v, kv);
    std::vector<std::size_t> counts(kv, 0);
    for (std::size_t l : v) ++counts[l];
    FactorMig fm;
    fm.entropy = entropy_of_counts(counts, to_d(n));
    if (!(fm.entropy > 0.0)) {
      fail(std::string(fn) + ": factor " + std::to_string(f) +
           " is constant (entropy 0), so its MIG is undefined");
    }
    std::vector<LatentMi> all(d);
    for (std::size_t j = 0; j < d; ++j) {
      const double mi = mi_dense(z[j], kz[j], v, kv);
      result.mi(j, f) = mi;
      all[j] = {j, mi};
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const LatentMi& a, const LatentMi& b) { return a.mi > b.mi; });
    const double second = d > 1 ? all[1].mi : 0.0;
    fm.gap = (all[0].mi - second) / fm.entropy;
    all.resize(std::min(options.top, d));
    fm.top = std::move(all);
    result.mig += fm.gap;
    result.factors.push_back(std::move(fm));
  }
  result.mig /= to_d(nf);
  return result;
}

// ---- logistic regression and quadrant accuracy ---------------------------------------------

LogisticModel logistic_fit(const Matrix& X, const std::vector<int>& labels, std::size_t classes,
                           const LogisticOptions& options) {
  const char* fn = "logistic_fit";
  const std::size_t n = X.rows(), d = X.cols();
  check_rows(X, labels.size(), fn, "X", "labels");
  if (n == 0) fail("logistic_fit: needs at least 1 sample");
  if (d == 0) fail("logistic_fit: X has no columns");
  if (classes < 2) fail("logistic_fit: classes must be at least 2");
  check_finite(X, fn, "X");
  check_labels(labels, classes, fn, "labels");
  require_finite(options.l2, "logistic_fit: options.l2");
  if (options.l2 < 0.0) fail("logistic_fit: options.l2 must be >= 0");
  require_finite(options.tolerance, "logistic_fit: options.tolerance");
  if (!(options.tolerance > 0.0)) fail("logistic_fit: options.tolerance must be > 0");
  if (options.max_iterations < 1) fail("logistic_fit: options.max_iterations must be >= 1");
  if (options.memory < 1) fail("logistic_fit: options.memory must be >= 1");

  LogisticModel model;
  model.classes = classes;
  model.mean.assign(d, 0.0);
  model.scale.assign(d, 0.0);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < d; ++j) model.mean[j] += X(r, j);
  for (double& m : model.mean) m /= to_d(n);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < d; ++j)
      model.scale[j] += (X(r, j) - model.mean[j]) * (X(r, j) - model.mean[j]);
  double max_sd = 0.0;
  for (double& s : model.scale) {
    s = std::sqrt(s / to_d(n));
    max_sd = std::max(max_sd, s);
  }
  for (double& s : model.scale)
    if (!(s > 1e-12 * max_sd) || !(s > 0.0)) s = 1.0;  // constant feature: left as is (0)
  Matrix xs(n, d);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < d; ++j) xs(r, j) = (X(r, j) - model.mean[j]) / model.scale[j];

  const SoftmaxObjective objective{xs, labels, classes, options.l2};
  const std::size_t p = classes * d + classes;
  std::vector<double> theta(p, 0.0), grad, next(p), next_grad;
  double f = objective(theta, grad);

  // L-BFGS: the two-loop recursion over the last `memory` pairs (s, y) gives the direction;
  // a backtracking line search enforces the Armijo condition.
  std::vector<std::vector<double>> s_hist, y_hist;
  std::vector<double> rho_hist;
  std::vector<double> dir(p), alpha;
  std::size_t it = 0;
  for (; it < options.max_iterations; ++it) {
    if (max_abs(grad) <= options.tolerance) {
      model.converged = true;
      break;
    }
    dir = grad;
    const std::size_t m = s_hist.size();
    alpha.assign(m, 0.0);
    for (std::size_t i = m; i-- > 0;) {
      double a = 0.0;
      for (std::size_t q = 0; q < p; ++q) a += s_hist[i][q] * dir[q];
      alpha[i] = rho_hist[i] * a;
      axpy(-alpha[i], y_hist[i], dir);
    }
    if (m > 0) {
      double sy = 0.0, yy = 0.0;
      for (std::size_t q = 0; q < p; ++q) {
        sy += s_hist[m - 1][q] * y_hist[m - 1][q];
        yy += y_hist[m - 1][q] * y_hist[m - 1][q];
      }
      for (double& x : dir) x *= sy / yy;
    } else {
      const double gnorm =
          std::sqrt(std::inner_product(grad.begin(), grad.end(), grad.begin(), 0.0));
      for (double& x : dir) x *= std::min(1.0, 1.0 / gnorm);
    }
    for (std::size_t i = 0; i < m; ++i) {
      double b = 0.0;
      for (std::size_t q = 0; q < p; ++q) b += y_hist[i][q] * dir[q];
      b *= rho_hist[i];
      axpy(alpha[i] - b, s_hist[i], dir);
    }
    for (double& x : dir) x = -x;
    double slope = std::inner_product(grad.begin(), grad.end(), dir.begin(), 0.0);
    if (!(slope < 0.0)) {  // not a descent direction: forget the history, go downhill
      s_hist.clear();
      y_hist.clear();
      rho_hist.clear();
      const double gnorm =
          std::sqrt(std::inner_product(grad.begin(), grad.end(), grad.begin(), 0.0));
      for (std::size_t q = 0; q < p; ++q) dir[q] = -grad[q] * std::min(1.0, 1.0 / gnorm);
      slope = std::inner_product(grad.begin(), grad.end(), dir.begin(), 0.0);
    }
    double step = 1.0, f_next = 0.0;
    bool accepted = false;
    for (int tries = 0; tries < 60; ++tries) {
      for (std::size_t q = 0; q < p; ++q) next[q] = theta[q] + step * dir[q];
      f_next = objective(next, next_grad);
      if (std::isfinite(f_next) && f_next <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) break;  // no decrease possible at this precision
    std::vector<double> s(p), y(p);
    double sy = 0.0;
    for (std::size_t q = 0; q < p; ++q) {
      s[q] = next[q] - theta[q];
      y[q] = next_grad[q] - grad[q];
      sy += s[q] * y[q];
    }
    if (sy > 1e-12 * std::sqrt(std::inner_product(s.begin(), s.end(), s.begin(), 0.0) *
                               std::inner_product(y.begin(), y.end(), y.begin(), 0.0))) {
      if (s_hist.size() == options.memory) {
        s_hist.erase(s_hist.begin());
        y_hist.erase(y_hist.begin());
        rho_hist.erase(rho_hist.begin());
      }
      s_hist.push_back(std::move(s));
      y_hist.push_back(std::move(y));
      rho_hist.push_back(1.0 / sy);
    }
    theta.swap(next);
    grad.swap(next_grad);
    f = f_next;
  }
  if (!model.converged && max_abs(grad) <= options.tolerance) model.converged = true;
  model.iterations = it;
  model.loss = f;
  model.weights = Matrix(classes, d);
  std::copy(theta.begin(), theta.begin() + static_cast<std::ptrdiff_t>(classes * d),
            model.weights.row(0));
  model.bias.assign(theta.begin() + static_cast<std::ptrdiff_t>(classes * d), theta.end());
  return model;
}

Matrix predict_proba(const LogisticModel& model, const Matrix& X) {
  const std::size_t d = model.mean.size(), k = model.classes;
  if (X.cols() != d) {
    fail("predict_proba: X has " + std::to_string(X.cols()) + " columns but the model has " +
         std::to_string(d) + " features");
  }
  if (model.weights.rows() != k || model.weights.cols() != d || model.bias.size() != k ||
      model.scale.size() != d) {
    fail("predict_proba: model is not a fitted LogisticModel");
  }
  check_finite(X, "predict_proba", "X");
  Matrix out(X.rows(), k);
  std::vector<double> logits(k);
  for (std::size_t r = 0; r < X.rows(); ++r) {
    const std::vector<double> x = standardize_row(model, X.row(r));
    double top = -std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < k; ++c) {
      double s = model.bias[c];
      for (std::size_t j = 0; j < d; ++j) s += model.weights(c, j) * x[j];
      logits[c] = s;
      top = std::max(top, s);
    }
    double z = 0.0;
    for (std::size_t c = 0; c < k; ++c) z += std::exp(logits[c] - top);
    for (std::size_t c = 0; c < k; ++c) out(r, c) = std::exp(logits[c] - top) / z;
  }
  return out;
}

std::vector<int> predict_class(const LogisticModel& model, const Matrix& X) {
  const Matrix p = predict_proba(model, X);
  std::vector<int> out(X.rows());
  for (std::size_t r = 0; r < X.rows(); ++r) {
    const double* row = p.row(r);
    out[r] = static_cast<int>(std::max_element(row, row + model.classes) - row);
  }
  return out;
}

Classification classification_report(const std::vector<int>& truth,
                                     const std::vector<int>& predicted, std::size_t classes) {
  const char* fn = "classification_report";
  check_same_size(truth.size(), predicted.size(), fn, "truth", "predicted");
  if (truth.empty()) fail("classification_report: truth is empty");
  if (classes < 1) fail("classification_report: classes must be at least 1");
  check_labels(truth, classes, fn, "truth");
  check_labels(predicted, classes, fn, "predicted");
  Classification out;
  out.confusion.assign(classes, std::vector<std::size_t>(classes, 0));
  std::size_t correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    ++out.confusion[static_cast<std::size_t>(truth[i])][static_cast<std::size_t>(predicted[i])];
    if (truth[i] == predicted[i]) ++correct;
  }
  out.accuracy = to_d(correct) / to_d(truth.size());
  return out;
}

int quadrant(double valence, double arousal) {
  require_finite(valence, "quadrant: valence");
  require_finite(arousal, "quadrant: arousal");
  if (arousal >= 0.0) return valence >= 0.0 ? 0 : 1;
  return valence < 0.0 ? 2 : 3;
}

std::vector<int> quadrants(const std::vector<double>& valence, const std::vector<double>& arousal) {
  check_same_size(valence.size(), arousal.size(), "quadrants", "valence", "arousal");
  check_finite(valence, "quadrants", "valence");
  check_finite(arousal, "quadrants", "arousal");
  std::vector<int> out(valence.size());
  for (std::size_t i = 0; i < valence.size(); ++i) out[i] = quadrant(valence[i], arousal[i]);
  return out;
}

QuadrantResult quadrant_accuracy(const Matrix& z, const std::vector<double>& valence,
                                 const std::vector<double>& arousal, const Split& split,
                                 const LogisticOptions& options) {
  const char* fn = "quadrant_accuracy";
  check_rows(z, valence.size(), fn, "z", "valence");
  check_rows(z, arousal.size(), fn, "z", "arousal");
  check_finite(z, fn, "z");
  check_finite(valence, fn, "valence");
  check_finite(arousal, fn, "arousal");
  if (split.train.empty()) fail("quadrant_accuracy: split.train is empty");
  if (split.held_out.empty()) fail("quadrant_accuracy: split.held_out is empty");
  check_indices(split.train, z.rows(), fn, "split.train");
  check_indices(split.held_out, z.rows(), fn, "split.held_out");
  const std::vector<int> labels = quadrants(valence, arousal);
  QuadrantResult out;
  out.model = logistic_fit(select_rows(z, split.train), select(labels, split.train), 4, options);
  const std::vector<int> predicted = predict_class(out.model, select_rows(z, split.held_out));
  out.held_out = classification_report(select(labels, split.held_out), predicted, 4);
  return out;
}

}  // namespace circumplex::stats
