// The statistics of mapping the manifold: ridge with CV, Gram–Schmidt, R², MIG, softmax
// regression for quadrant accuracy, splits, and input guards.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "circumplex/error.hpp"
#include "circumplex/percentile.hpp"
#include "map/stats.hpp"

using namespace circumplex;
using namespace circumplex::stats;

namespace {

Matrix gaussian_matrix(std::size_t n, std::size_t d, std::mt19937_64& rng, double sd = 1.0) {
  std::normal_distribution<double> g(0.0, sd);
  Matrix m(n, d);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < d; ++c) m(r, c) = g(rng);
  return m;
}

std::vector<double> gaussian_vector(std::size_t d, std::mt19937_64& rng, double sd = 1.0) {
  std::normal_distribution<double> g(0.0, sd);
  std::vector<double> v(d);
  for (double& x : v) x = g(rng);
  return v;
}

/// y = X·w + b + noise.
std::vector<double> linear_targets(const Matrix& X, const std::vector<double>& w, double b,
                                   double noise_sd, std::mt19937_64& rng) {
  std::normal_distribution<double> g(0.0, noise_sd);
  std::vector<double> y(X.rows());
  for (std::size_t r = 0; r < X.rows(); ++r) {
    double s = b;
    for (std::size_t c = 0; c < X.cols(); ++c) s += X(r, c) * w[c];
    y[r] = s + (noise_sd > 0 ? g(rng) : 0.0);
  }
  return y;
}

std::size_t argmin(const std::vector<double>& v) {
  return static_cast<std::size_t>(std::min_element(v.begin(), v.end()) - v.begin());
}

/// Runs f and checks it throws Error(InvalidArgument) whose message mentions `name`.
template <class F>
void check_rejects(F f, const std::string& name) {
  bool thrown = false;
  try {
    f();
  } catch (const Error& e) {
    thrown = true;
    CHECK(e.kind() == ErrorKind::InvalidArgument);
    INFO("message: " << e.what());
    CHECK(std::string(e.what()).find(name) != std::string::npos);
  }
  CHECK_MESSAGE(thrown, "expected an Error naming " << name);
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

// ---- ridge ---------------------------------------------------------------------------------

TEST_CASE("ridge recovers a planted direction and intercept") {
  std::mt19937_64 rng(11);
  const std::size_t n = 2000, d = 16;
  const Matrix X = gaussian_matrix(n, d, rng);
  const std::vector<double> w_true = gaussian_vector(d, rng);
  const std::vector<double> y = linear_targets(X, w_true, 3.0, 0.1, rng);

  const RidgeFit fit = ridge_cv(X, y);
  CHECK(cosine(fit.weights, w_true) > 0.99);
  CHECK(fit.intercept == doctest::Approx(3.0).epsilon(0.01));
  REQUIRE(fit.cv_mse.size() == fit.lambdas.size());
  CHECK(fit.lambdas.size() == 17);
  CHECK(fit.lambda == fit.lambdas[argmin(fit.cv_mse)]);
  CHECK(fit.cv_mse[argmin(fit.cv_mse)] < 0.011);  // ≈ the noise variance 0.01

  // Standardised: features on very different scales give the same direction back.
  Matrix Xs = X;
  std::vector<double> w_scaled = w_true;
  for (std::size_t c = 0; c < d; ++c) {
    const double s = std::pow(10.0, static_cast<double>(c % 4) - 1.5);
    for (std::size_t r = 0; r < n; ++r) Xs(r, c) *= s;
    w_scaled[c] /= s;
  }
  RidgeOptions opt;
  opt.standardize = true;
  const RidgeFit fs = ridge_cv(Xs, y, opt);
  CHECK(fs.standardized);
  CHECK(cosine(fs.weights, w_scaled) > 0.99);
  CHECK(r2_score(y, predict(fs, Xs)) > 0.99);
}

TEST_CASE("ridge_fit with lambda 0 is exact least squares and refuses singular systems") {
  std::mt19937_64 rng(3);
  const Matrix X = gaussian_matrix(50, 3, rng);
  const std::vector<double> y = linear_targets(X, {2.0, -1.0, 0.5}, -4.0, 0.0, rng);
  const RidgeFit fit = ridge_fit(X, y, 0.0);
  CHECK(fit.weights[0] == doctest::Approx(2.0).epsilon(1e-10));
  CHECK(fit.weights[1] == doctest::Approx(-1.0).epsilon(1e-10));
  CHECK(fit.weights[2] == doctest::Approx(0.5).epsilon(1e-10));
  CHECK(fit.intercept == doctest::Approx(-4.0).epsilon(1e-10));
  CHECK(r2_score(y, predict(fit, X)) == doctest::Approx(1.0).epsilon(1e-12));

  // A duplicated column: singular at λ = 0, fine with a penalty (weight shared equally).
  Matrix dup(50, 2);
  for (std::size_t r = 0; r < 50; ++r) dup(r, 0) = dup(r, 1) = X(r, 0);
  const std::vector<double> yd = linear_targets(dup, {1.0, 1.0}, 0.0, 0.0, rng);
  CHECK_THROWS_AS(ridge_fit(dup, yd, 0.0), Error);
  const RidgeFit shared = ridge_fit(dup, yd, 1e-3);
  CHECK(shared.weights[0] == doctest::Approx(shared.weights[1]).epsilon(1e-9));

  // A constant column gets weight 0, standardised or not.
  Matrix withconst(50, 2);
  for (std::size_t r = 0; r < 50; ++r) {
    withconst(r, 0) = X(r, 0);
    withconst(r, 1) = 7.0;
  }
  for (bool standardize : {false, true}) {
    const RidgeFit fc = ridge_fit(withconst, y, 1e-2, standardize);
    CHECK(std::fabs(fc.weights[1]) < 1e-9);
  }
}

TEST_CASE("ridge solutions satisfy their normal equations") {
  std::mt19937_64 rng(4);
  const std::size_t n = 40, d = 5;
  Matrix X = gaussian_matrix(n, d, rng);
  for (std::size_t r = 0; r < n; ++r) X(r, 2) = 10.0 * X(r, 2) + 3.0;  // unequal scale, offset
  const std::vector<double> y = gaussian_vector(n, rng);
  const double lambda = 0.5;
  for (bool standardize : {false, true}) {
    const RidgeFit fit = ridge_fit(X, y, lambda, standardize);
    const std::vector<double> pred = predict(fit, X);
    double mean_res = 0.0;
    for (std::size_t r = 0; r < n; ++r) mean_res += (y[r] - pred[r]) / static_cast<double>(n);
    CHECK(std::fabs(mean_res) < 1e-12);  // the intercept is unpenalised
    for (std::size_t c = 0; c < d; ++c) {
      double mean = 0.0, var = 0.0, grad = 0.0;
      for (std::size_t r = 0; r < n; ++r) mean += X(r, c) / static_cast<double>(n);
      for (std::size_t r = 0; r < n; ++r) {
        var += (X(r, c) - mean) * (X(r, c) - mean) / static_cast<double>(n);
        grad += (X(r, c) - mean) * (y[r] - pred[r]) / static_cast<double>(n);
      }
      // d/dw_c of (1/n)Σr² + λ·Σ(s_c w_c)² is zero: (1/n)Σ x_c r = λ s_c² w_c.
      const double penalty_scale = standardize ? var : 1.0;
      CHECK(grad == doctest::Approx(lambda * penalty_scale * fit.weights[c]).epsilon(1e-9));
    }
  }
}

TEST_CASE("ridge CV scores match refitting on each fold") {
  std::mt19937_64 rng(6);
  const std::size_t n = 53, d = 4;
  const Matrix X = gaussian_matrix(n, d, rng);
  const std::vector<double> y = linear_targets(X, gaussian_vector(d, rng), 2.0, 0.5, rng);
  RidgeOptions opt;
  opt.lambdas = {1e-3, 0.1, 10.0};
  opt.folds = 4;
  opt.seed = 99;
  opt.standardize = true;
  const RidgeFit cv = ridge_cv(X, y, opt);
  const std::vector<std::size_t> fold = fold_ids(n, opt.folds, opt.seed);
  for (std::size_t l = 0; l < opt.lambdas.size(); ++l) {
    double sse = 0.0;
    for (std::size_t f = 0; f < opt.folds; ++f) {
      std::vector<std::size_t> train, test;
      for (std::size_t r = 0; r < n; ++r) (fold[r] == f ? test : train).push_back(r);
      const RidgeFit fit = ridge_fit(select_rows(X, train), select(y, train), opt.lambdas[l], true);
      const std::vector<double> pred = predict(fit, select_rows(X, test));
      for (std::size_t i = 0; i < test.size(); ++i)
        sse += (y[test[i]] - pred[i]) * (y[test[i]] - pred[i]);
    }
    CHECK(cv.cv_mse[l] == doctest::Approx(sse / static_cast<double>(n)).epsilon(1e-10));
  }
  const RidgeFit all = ridge_fit(X, y, cv.lambda, true);
  for (std::size_t c = 0; c < d; ++c)
    CHECK(cv.weights[c] == doctest::Approx(all.weights[c]).epsilon(1e-12));
}

TEST_CASE("ridge CV picks a small lambda for low noise and a larger one for high noise") {
  std::mt19937_64 rng(5);
  const std::size_t n = 60, d = 10;
  const Matrix X = gaussian_matrix(n, d, rng);
  const std::vector<double> w = gaussian_vector(d, rng);
  const RidgeFit quiet = ridge_cv(X, linear_targets(X, w, 0.0, 0.01, rng));
  const RidgeFit loud = ridge_cv(X, linear_targets(X, w, 0.0, 10.0, rng));
  MESSAGE("lambda low noise " << quiet.lambda << ", high noise " << loud.lambda);
  CHECK(quiet.lambda <= 1e-3);
  CHECK(loud.lambda >= 0.1);
  CHECK(loud.lambda > 100 * quiet.lambda);
}

TEST_CASE("ridge CV picks a larger lambda when features are collinear") {
  // Same signal and noise; in the collinear design the columns share one direction (which
  // carries the signal) and differ only a little, so the directions in which they differ hold
  // mostly noise and CV shrinks them away with a larger λ. (Over 100 seeds this construction
  // gives a λ at least one grid step larger every time.)
  const std::size_t n = 200, d = 40;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> g(0.0, 1.0);
  Matrix independent(n, d), collinear(n, d);
  std::vector<double> ya(n), yb(n);
  for (std::size_t r = 0; r < n; ++r) {
    const double common = g(rng);
    double sa = 0.0, sb = 0.0;
    for (std::size_t c = 0; c < d; ++c) {
      independent(r, c) = g(rng);
      collinear(r, c) = common + 0.2 * g(rng);
      sa += independent(r, c);
      sb += collinear(r, c);
    }
    ya[r] = sa + g(rng);
    yb[r] = sb + g(rng);
  }
  RidgeOptions opt;
  opt.standardize = true;
  const RidgeFit a = ridge_cv(independent, ya, opt);
  const RidgeFit b = ridge_cv(collinear, yb, opt);
  MESSAGE("lambda independent " << a.lambda << ", collinear " << b.lambda);
  CHECK(b.lambda > 3 * a.lambda);
}

TEST_CASE("ridge CV is deterministic from its seed") {
  std::mt19937_64 rng(9);
  const Matrix X = gaussian_matrix(100, 5, rng);
  const std::vector<double> y = linear_targets(X, gaussian_vector(5, rng), 1.0, 2.0, rng);
  RidgeOptions opt;
  opt.seed = 42;
  const RidgeFit a = ridge_cv(X, y, opt), b = ridge_cv(X, y, opt);
  CHECK(a.cv_mse == b.cv_mse);
  CHECK(a.weights == b.weights);
  opt.seed = 43;
  CHECK(ridge_cv(X, y, opt).cv_mse != a.cv_mse);
}

// ---- directions ----------------------------------------------------------------------------

TEST_CASE("gram-schmidt is exact and keeps the order and the spans") {
  std::mt19937_64 rng(13);
  const std::size_t d = 64;
  const std::vector<double> base = gaussian_vector(d, rng);
  // Three nearly parallel vectors (pairwise cos ≈ 0.99995): a hard case for classical GS.
  std::vector<std::vector<double>> v(3, base);
  for (std::size_t k = 0; k < 3; ++k) {
    const std::vector<double> e = gaussian_vector(d, rng, 0.01);
    for (std::size_t j = 0; j < d; ++j) v[k][j] += e[j];
    for (double& x : v[k]) x *= static_cast<double>(k + 2);  // different lengths
  }
  const Matrix before = cosine_matrix(v);
  CHECK(before(0, 1) > 0.999);
  const auto u = gram_schmidt(v);
  REQUIRE(u.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(norm(u[i]) == doctest::Approx(1.0).epsilon(1e-14));
    for (std::size_t j = 0; j < i; ++j) CHECK(std::fabs(dot(u[i], u[j])) <= 1e-12);
  }
  // Order: the first vector is only normalised.
  const std::vector<double> first = normalized(v[0]);
  for (std::size_t j = 0; j < d; ++j) CHECK(u[0][j] == doctest::Approx(first[j]).epsilon(1e-14));
  // Spans: v_k lies in span(u_0 … u_k), and u_k points along v_k's new part.
  for (std::size_t k = 0; k < 3; ++k) {
    std::vector<double> r = v[k];
    for (std::size_t i = 0; i <= k; ++i) {
      const double p = dot(u[i], v[k]);
      for (std::size_t j = 0; j < d; ++j) r[j] -= p * u[i][j];
    }
    CHECK(norm(r) <= 1e-12 * norm(v[k]));
    CHECK(dot(u[k], v[k]) > 0.0);
  }
  // A vector in the span of the earlier ones is refused.
  std::vector<double> sum(d);
  for (std::size_t j = 0; j < d; ++j) sum[j] = v[0][j] - 2.0 * v[1][j];
  CHECK_THROWS_AS(gram_schmidt({v[0], v[1], sum}), Error);
}

TEST_CASE("map_directions reports cosines before and after and the scales") {
  const std::vector<double> wv = {2.0, 0.0, 0.0};  // valence
  const std::vector<double> wa = {1.0, 1.0, 0.0};  // arousal, 45° from valence
  const std::vector<double> wz = {0.0, 3.0, 4.0};  // third
  const Directions dir = map_directions({wv, wa, wz});
  CHECK(dir.cos_before(0, 1) == doctest::Approx(std::sqrt(0.5)));
  CHECK(dir.cos_before(1, 2) == doctest::Approx(3.0 / 5.0 * std::sqrt(0.5)));
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(dir.cos_after(i, i) == doctest::Approx(1.0));
    for (std::size_t j = 0; j < 3; ++j)
      if (i != j) CHECK(std::fabs(dir.cos_after(i, j)) <= 1e-12);
  }
  CHECK(dir.unit[0] == std::vector<double>{1.0, 0.0, 0.0});
  CHECK(dir.scales[0] == doctest::Approx(0.5));
  CHECK(dir.scales[1] == doctest::Approx(std::sqrt(0.5)));
  CHECK(dir.scales[2] == doctest::Approx(0.2));
  CHECK(dir.scales_orthogonal[0] == doctest::Approx(0.5));
  CHECK(dir.scales_orthogonal[1] == doctest::Approx(1.0));   // u_1 = e_1, w_a·e_1 = 1
  CHECK(dir.scales_orthogonal[2] == doctest::Approx(0.25));  // u_2 = e_2, w_z·e_2 = 4
  // Moving scale_orthogonal_i along u_i changes prediction i by exactly 1, earlier ones by 0.
  const std::vector<std::vector<double>> w = {wv, wa, wz};
  for (std::size_t i = 0; i < 3; ++i) {
    std::vector<double> step = dir.orthonormal[i];
    for (double& x : step) x *= dir.scales_orthogonal[i];
    CHECK(dot(w[i], step) == doctest::Approx(1.0));
    for (std::size_t j = 0; j < i; ++j) CHECK(std::fabs(dot(w[j], step)) <= 1e-12);
  }
}

// ---- R² --------------------------------------------------------------------------------------

TEST_CASE("r2 is 1 for a perfect fit and 0 for a constant predictor") {
  const std::vector<double> y = {0.3, -0.2, 0.9, 0.1, -0.7, 0.5};
  CHECK(r2_score(y, y) == 1.0);
  double mean = 0.0;
  for (double v : y) mean += v;
  mean /= static_cast<double>(y.size());
  CHECK(std::fabs(r2_score(y, std::vector<double>(y.size(), mean))) < 1e-12);
  CHECK(r2_score(y, std::vector<double>(y.size(), 5.0)) < -10.0);  // worse than the mean
  std::vector<double> half = y;
  for (double& v : half) v = mean + 0.5 * (v - mean);
  CHECK(r2_score(y, half) == doctest::Approx(0.75));
  CHECK_THROWS_AS(r2_score({1.0, 1.0, 1.0}, {1.0, 1.0, 1.0}), Error);

  // Held-out R² of a ridge fit on fresh data from the same model.
  std::mt19937_64 rng(17);
  const Matrix X = gaussian_matrix(400, 6, rng);
  const std::vector<double> w = gaussian_vector(6, rng);
  const std::vector<double> yy = linear_targets(X, w, 0.0, 0.3, rng);
  const Split s = train_test_split(400, 0.25, 1);
  const RidgeFit fit = ridge_cv(select_rows(X, s.train), select(yy, s.train));
  const double r2 = r2_score(select(yy, s.held_out), predict(fit, select_rows(X, s.held_out)));
  CHECK(r2 > 0.9);
  CHECK(r2 < 1.0);
}

// ---- MIG -------------------------------------------------------------------------------------

TEST_CASE("discretize makes equal-width and equal-frequency bins") {
  const std::vector<double> x = {0.0, 0.1, 0.2, 0.5, 0.9, 1.0, 10.0};
  const auto w = discretize(x, 10, Binning::EqualWidth);
  CHECK(w == std::vector<std::size_t>{0, 0, 0, 0, 0, 1, 9});
  const auto q = discretize(x, 7, Binning::EqualFrequency);
  CHECK(q == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6});
  const auto ties = discretize({1.0, 1.0, 1.0, 2.0}, 2, Binning::EqualFrequency);
  CHECK(ties[0] == ties[1]);
  CHECK(ties[1] == ties[2]);
  CHECK(ties[3] != ties[0]);
  CHECK(discretize({4.0, 4.0, 4.0}, 20) == std::vector<std::size_t>{0, 0, 0});
  CHECK(entropy({0, 1, 2, 3}) == doctest::Approx(std::log(4.0)));
  CHECK(mutual_information({0, 1, 0, 1}, {5, 9, 5, 9}) == doctest::Approx(std::log(2.0)));
  CHECK(mutual_information({0, 1, 0, 1}, {0, 0, 1, 1}) == doctest::Approx(0.0));
}

TEST_CASE("MIG is near 1 when one latent equals each factor and the rest is noise") {
  std::mt19937_64 rng(19);
  const std::size_t n = 5000, d = 8;
  Matrix z = gaussian_matrix(n, d, rng);
  Matrix factors(n, 2);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::uniform_int_distribution<int> category(0, 6);
  for (std::size_t r = 0; r < n; ++r) {
    factors(r, 0) = u(rng);         // valence, continuous
    factors(r, 1) = category(rng);  // an emotion label, categorical
    z(r, 3) = factors(r, 0);
    z(r, 5) = factors(r, 1);
  }
  const std::vector<FactorKind> kinds = {FactorKind::Continuous, FactorKind::Categorical};
  for (Binning binning : {Binning::EqualWidth, Binning::EqualFrequency}) {
    MigOptions opt;
    opt.binning = binning;
    const MigResult m = mutual_information_gap(z, factors, kinds, opt);
    MESSAGE("MIG " << m.mig);
    CHECK(m.mig > 0.95);
    CHECK(m.mig <= 1.0);
    REQUIRE(m.factors.size() == 2);
    CHECK(m.factors[0].top.size() == 3);
    CHECK(m.factors[0].top[0].dim == 3);
    CHECK(m.factors[1].top[0].dim == 5);
    CHECK(m.factors[0].entropy == doctest::Approx(std::log(20.0)).epsilon(0.01));
    CHECK(m.factors[1].entropy == doctest::Approx(std::log(7.0)).epsilon(0.01));
    CHECK(m.factors[0].top[0].mi == doctest::Approx(m.factors[0].entropy));
    CHECK(m.mi(3, 0) == m.factors[0].top[0].mi);
    CHECK(m.mi.rows() == d);
    CHECK(m.mi.cols() == 2);
  }
}

TEST_CASE("MIG is near 0 when no latent relates to any factor") {
  std::mt19937_64 rng(23);
  const std::size_t n = 5000, d = 8;
  const Matrix z = gaussian_matrix(n, d, rng);
  const Matrix factors = gaussian_matrix(n, 3, rng);
  const MigResult m = mutual_information_gap(
      z, factors, {FactorKind::Continuous, FactorKind::Continuous, FactorKind::Continuous});
  MESSAGE("MIG " << m.mig);
  CHECK(m.mig >= 0.0);
  CHECK(m.mig < 0.02);
  for (const FactorMig& f : m.factors) CHECK(f.top[0].mi < 0.1);
  // A constant factor has no entropy: MIG undefined.
  Matrix constant(n, 1, 2.0);
  check_rejects([&] { mutual_information_gap(z, constant, {FactorKind::Continuous}); }, "factor 0");
}

// ---- logistic regression -------------------------------------------------------------------

TEST_CASE("logistic regression is perfect on four separated clusters") {
  std::mt19937_64 rng(29);
  const std::size_t n = 400, d = 6;
  Matrix z = gaussian_matrix(n, d, rng, 0.5);
  std::vector<double> valence(n), arousal(n);
  std::uniform_real_distribution<double> mag(0.2, 1.0);
  for (std::size_t r = 0; r < n; ++r) {
    const double sv = (r % 2 == 0) ? 1.0 : -1.0;
    const double sa = (r % 4 < 2) ? 1.0 : -1.0;
    valence[r] = sv * mag(rng);
    arousal[r] = sa * mag(rng);
    z(r, 1) += 4.0 * sv;  // latent 1 carries the sign of valence, latent 4 that of arousal
    z(r, 4) += 4.0 * sa;
  }
  const Split split = train_test_split(n, 0.3, 2);
  const QuadrantResult q = quadrant_accuracy(z, valence, arousal, split);
  CHECK(q.held_out.accuracy == 1.0);
  REQUIRE(q.held_out.confusion.size() == 4);
  std::size_t total = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    for (std::size_t j = 0; j < 4; ++j) {
      total += q.held_out.confusion[i][j];
      if (i != j) CHECK(q.held_out.confusion[i][j] == 0);
    }
    CHECK(q.held_out.confusion[i][i] > 0);
  }
  CHECK(total == split.held_out.size());
  CHECK(q.model.converged);
  const Matrix p = predict_proba(q.model, z);
  for (std::size_t r = 0; r < n; ++r) {
    double s = 0.0;
    for (std::size_t c = 0; c < 4; ++c) s += p(r, c);
    CHECK(s == doctest::Approx(1.0));
  }
}

TEST_CASE("logistic regression is near chance when z carries no quadrant") {
  std::mt19937_64 rng(31);
  const std::size_t n = 800;
  const Matrix z = gaussian_matrix(n, 4, rng);
  const std::vector<double> v = gaussian_vector(n, rng), a = gaussian_vector(n, rng);
  const Split split = train_test_split(n, 0.5, 3);
  LogisticOptions opt;
  opt.l2 = 0.05;
  const QuadrantResult q = quadrant_accuracy(z, v, a, split, opt);
  CHECK(q.held_out.accuracy < 0.4);
  REQUIRE(q.model.converged);
  // At the optimum the gradient vanishes: (1/n)·Σ (p − onehot)·x' + λW = 0 and, for the
  // biases, Σ (p − onehot) = 0, with x' the standardised rows.
  const Matrix zt = select_rows(z, split.train);
  const std::vector<int> labels = select(quadrants(v, a), split.train);
  const Matrix p = predict_proba(q.model, zt);
  const double nt = static_cast<double>(zt.rows());
  for (std::size_t c = 0; c < 4; ++c) {
    double gb = 0.0;
    std::vector<double> gw(4, 0.0);
    for (std::size_t r = 0; r < zt.rows(); ++r) {
      const double e = p(r, c) - (labels[r] == static_cast<int>(c) ? 1.0 : 0.0);
      gb += e / nt;
      for (std::size_t j = 0; j < 4; ++j)
        gw[j] += e * (zt(r, j) - q.model.mean[j]) / q.model.scale[j] / nt;
    }
    CHECK(std::fabs(gb) < 1e-6);
    for (std::size_t j = 0; j < 4; ++j)
      CHECK(std::fabs(gw[j] + opt.l2 * q.model.weights(c, j)) < 1e-6);
  }
}

TEST_CASE("quadrants follow the sign convention") {
  CHECK(quadrant(0.5, 0.5) == 0);
  CHECK(quadrant(0.0, 0.0) == 0);
  CHECK(quadrant(-0.5, 0.5) == 1);
  CHECK(quadrant(-0.5, 0.0) == 1);
  CHECK(quadrant(-0.5, -0.5) == 2);
  CHECK(quadrant(0.5, -0.5) == 3);
  CHECK(quadrant(0.0, -0.5) == 3);
  const Classification c = classification_report({0, 1, 2, 2}, {0, 1, 2, 1}, 3);
  CHECK(c.accuracy == 0.75);
  CHECK(c.confusion[2][1] == 1);
}

// ---- splits and guards ---------------------------------------------------------------------

TEST_CASE("splits and folds are deterministic partitions") {
  const Split a = train_test_split(101, 0.2, 7), b = train_test_split(101, 0.2, 7);
  CHECK(a.train == b.train);
  CHECK(a.held_out == b.held_out);
  CHECK(a.held_out.size() == 20);
  std::vector<std::size_t> all = a.train;
  all.insert(all.end(), a.held_out.begin(), a.held_out.end());
  std::sort(all.begin(), all.end());
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i] == i);
  CHECK(train_test_split(101, 0.2, 8).held_out != a.held_out);
  CHECK(train_test_split(2, 0.01, 0).held_out.size() == 1);

  const std::vector<std::size_t> folds = fold_ids(103, 5, 1);
  std::vector<std::size_t> sizes(5, 0);
  for (std::size_t f : folds) ++sizes[f];
  const auto [smallest, largest] = std::minmax_element(sizes.begin(), sizes.end());
  CHECK(*largest - *smallest <= 1);
  CHECK(permutation(10, 5) == permutation(10, 5));
}

TEST_CASE("NaN and infinite input and mismatched sizes are rejected") {
  std::mt19937_64 rng(37);
  Matrix X = gaussian_matrix(20, 3, rng);
  std::vector<double> y = gaussian_vector(20, rng);
  Matrix bad = X;
  bad(4, 2) = kNaN;
  std::vector<double> ybad = y;
  ybad[7] = kInf;

  check_rejects([&] { ridge_cv(bad, y); }, "X[4][2]");
  check_rejects([&] { ridge_cv(X, ybad); }, "y[7]");
  check_rejects([&] { ridge_fit(X, std::vector<double>(19, 0.0), 1.0); }, "y");
  check_rejects([&] { ridge_fit(X, y, kNaN); }, "lambda");
  RidgeOptions opt;
  opt.lambdas = {1.0, kNaN};
  check_rejects([&] { ridge_cv(X, y, opt); }, "lambdas");
  opt.lambdas = {1.0};
  opt.folds = 50;
  check_rejects([&] { ridge_cv(X, y, opt); }, "folds");
  const RidgeFit fit = ridge_fit(X, y, 1.0);
  check_rejects([&] { predict(fit, bad); }, "X[4][2]");
  check_rejects([&] { predict(fit, Matrix(2, 4)); }, "columns");

  check_rejects([&] { r2_score(y, ybad); }, "y_pred");
  check_rejects([&] { r2_score(y, {1.0, 2.0}); }, "y_pred");

  check_rejects([&] { gram_schmidt({{1.0, 0.0}, {kNaN, 1.0}}); }, "vectors[1]");
  check_rejects([&] { gram_schmidt({{1.0, 0.0}, {1.0, 1.0, 0.0}}); }, "vectors[1]");
  check_rejects([&] { map_directions({{0.0, 0.0}}); }, "vectors[0]");
  check_rejects([&] { cosine({1.0, kInf}, {1.0, 0.0}); }, "a[1]");

  const std::vector<FactorKind> kinds = {FactorKind::Continuous};
  check_rejects([&] { mutual_information_gap(bad, Matrix(20, 1), kinds); }, "latents[4][2]");
  check_rejects([&] { mutual_information_gap(X, Matrix(19, 1), kinds); }, "factors");
  check_rejects([&] { mutual_information_gap(X, Matrix(20, 2), kinds); }, "kinds");
  Matrix half(20, 1, 0.5);
  half(0, 0) = 1.0;
  check_rejects([&] { mutual_information_gap(X, half, {FactorKind::Categorical}); },
                "factors[1][0]");

  const std::vector<int> labels(20, 1);
  check_rejects([&] { logistic_fit(bad, labels, 4); }, "X[4][2]");
  check_rejects([&] { logistic_fit(X, std::vector<int>(20, 4), 4); }, "labels[0]");
  check_rejects([&] { logistic_fit(X, std::vector<int>(3, 0), 4); }, "labels");
  const Split s = train_test_split(20, 0.25, 0);
  check_rejects([&] { quadrant_accuracy(X, ybad, y, s); }, "valence[7]");
  check_rejects([&] { quadrant_accuracy(X, y, std::vector<double>(5, 0.0), s); }, "arousal");
  Split out_of_range = s;
  out_of_range.held_out.push_back(20);
  check_rejects([&] { quadrant_accuracy(X, y, y, out_of_range); }, "split.held_out");
  check_rejects([&] { quadrant(kNaN, 0.0); }, "valence");
  check_rejects([&] { train_test_split(10, 1.0, 0); }, "held_out_fraction");
  check_rejects([&] { Matrix::from_rows({{1.0, 2.0}, {3.0}}); }, "rows[1]");
}

TEST_CASE("percentile interpolates between ranks") {
  using circumplex::percentile;
  CHECK(percentile({}, 0.5) == 0.0);
  CHECK(percentile({3, 1, 2}, 0.5) == doctest::Approx(2.0));
  CHECK(percentile({0, 10}, 0.99) == doctest::Approx(9.9));
  CHECK(percentile({5}, 0.99) == doctest::Approx(5.0));
}
