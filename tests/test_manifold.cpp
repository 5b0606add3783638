// Composing a face: identity kept, only the direction components change.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "circumplex/error.hpp"
#include "circumplex/manifold.hpp"

using namespace circumplex;

namespace {
// Three orthonormal directions in 16 dimensions, built from random vectors.
Manifold make(std::size_t dims, std::size_t k, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0, 1);
  std::vector<std::vector<double>> dirs;
  for (std::size_t i = 0; i < k; ++i) {
    std::vector<double> v(dims);
    for (double& x : v) x = n(rng);
    for (const auto& d : dirs) {
      double c = 0;
      for (std::size_t t = 0; t < dims; ++t) c += v[t] * d[t];
      for (std::size_t t = 0; t < dims; ++t) v[t] -= c * d[t];
    }
    double len = 0;
    for (double x : v) len += x * x;
    for (double& x : v) x /= std::sqrt(len);
    dirs.push_back(v);
  }
  std::vector<double> origins = {0.3, -0.2, 0.1}, scales = {2.0, 1.5, 1.0};
  origins.resize(k);
  scales.resize(k);
  return Manifold(dirs, origins, scales);
}

std::vector<float> random_latent(std::size_t dims, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0, 1);
  std::vector<float> v(dims);
  for (float& x : v) x = n(rng);
  return v;
}
}  // namespace

TEST_CASE("compose puts the latent at the requested affect point") {
  const Manifold m = make(16, 3, 1);
  CHECK(m.space() == Space::Ball);
  const auto id = random_latent(16, 2);
  for (const AffectPoint p : {AffectPoint{0, 0, 0}, AffectPoint{0.5, -0.3, 0.2}, AffectPoint{-0.6, 0.6, -0.4}}) {
    const AffectPoint got = m.affect_of(m.compose(id, p));
    CHECK(got.v == doctest::Approx(p.v).epsilon(1e-5));
    CHECK(got.a == doctest::Approx(p.a).epsilon(1e-5));
    CHECK(got.z == doctest::Approx(p.z).epsilon(1e-5));
  }
  // Points outside the ball are clamped onto it.
  CHECK(radius(m.affect_of(m.compose(id, {2, 0, 0}))) == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("identity kept: two affects for one identity differ only along the directions") {
  const Manifold m = make(16, 2, 3);
  const auto id = random_latent(16, 4);
  const auto a = m.compose(id, {0.7, 0.1, 0});
  const auto b = m.compose(id, {-0.4, -0.5, 0});
  std::vector<double> diff(16);
  for (std::size_t t = 0; t < 16; ++t) diff[t] = static_cast<double>(a[t]) - static_cast<double>(b[t]);
  // Remove the components along the directions: nothing may remain.
  for (const auto& d : m.directions()) {
    double c = 0;
    for (std::size_t t = 0; t < 16; ++t) c += diff[t] * d[t];
    for (std::size_t t = 0; t < 16; ++t) diff[t] -= c * d[t];
  }
  for (double x : diff) CHECK(std::fabs(x) < 1e-5);
  // And the part of the identity orthogonal to the directions is the identity's own.
  std::vector<double> own(id.begin(), id.end()), kept(a.begin(), a.end());
  for (const auto& d : m.directions()) {
    double c1 = 0, c2 = 0;
    for (std::size_t t = 0; t < 16; ++t) { c1 += own[t] * d[t]; c2 += kept[t] * d[t]; }
    for (std::size_t t = 0; t < 16; ++t) { own[t] -= c1 * d[t]; kept[t] -= c2 * d[t]; }
  }
  for (std::size_t t = 0; t < 16; ++t) CHECK(own[t] == doctest::Approx(kept[t]).epsilon(1e-5));
  // In 2D, z is ignored.
  const auto c = m.compose(id, {0.7, 0.1, 0.9});
  for (std::size_t t = 0; t < 16; ++t) CHECK(c[t] == doctest::Approx(a[t]));
}

TEST_CASE("bad manifolds and inputs are refused") {
  CHECK_THROWS_WITH_AS(Manifold({{1, 0}}, {0}, {1}), doctest::Contains("2 or 3"), Error);
  CHECK_THROWS_WITH_AS(Manifold({{1, 0}, {0.6, 0.8}}, {0, 0}, {1, 1}), doctest::Contains("orthogonal"), Error);
  CHECK_THROWS_WITH_AS(Manifold({{2, 0}, {0, 1}}, {0, 0}, {1, 1}), doctest::Contains("unit"), Error);
  CHECK_THROWS_WITH_AS(Manifold({{1, 0}, {0, 1}}, {0, 0}, {1, 0}), doctest::Contains("scale"), Error);
  const Manifold m = make(8, 2, 5);
  CHECK_THROWS_AS(m.compose(std::vector<float>(7), {0, 0, 0}), Error);
  CHECK_THROWS_AS(m.compose(random_latent(8, 1), {std::nan(""), 0, 0}), Error);
  auto bad = random_latent(8, 1);
  bad[3] = std::nanf("");
  CHECK_THROWS_AS(m.compose(bad, {0, 0, 0}), Error);
}
