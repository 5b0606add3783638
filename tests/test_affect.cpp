// Affect point geometry: polar/spherical round trips, clamping, parsing, NaN rejection.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

#include "circumplex/affect.hpp"
#include "circumplex/error.hpp"

using namespace circumplex;
constexpr double kPi = 3.14159265358979323846;
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

TEST_CASE("polar angles run counter-clockwise from +valence") {
  CHECK(to_polar({1, 0, 0}).theta == doctest::Approx(0.0));
  CHECK(to_polar({0, 1, 0}).theta == doctest::Approx(kPi / 2));
  CHECK(to_polar({-1, 0, 0}).theta == doctest::Approx(kPi));
  CHECK(to_polar({0, -1, 0}).theta == doctest::Approx(3 * kPi / 2));
  // Russell: excitement at 45 degrees, distress at 135.
  CHECK(to_polar({0.5, 0.5, 0}).theta == doctest::Approx(kPi / 4));
  CHECK(to_polar({-0.5, 0.5, 0}).theta == doctest::Approx(3 * kPi / 4));
  CHECK(to_polar({0, 0, 0}).r == 0.0);
}

TEST_CASE("polar and spherical conversions round-trip over random points") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int i = 0; i < 2000; ++i) {
    const AffectPoint p{u(rng), u(rng), u(rng)};
    const AffectPoint q = from_polar(to_polar(p));
    CHECK(q.v == doctest::Approx(p.v).epsilon(1e-12));
    CHECK(q.a == doctest::Approx(p.a).epsilon(1e-12));
    CHECK(q.z == 0.0);
    const Spherical s = to_spherical(p);
    CHECK(s.theta >= 0.0);
    CHECK(s.theta < 2 * kPi);
    CHECK(std::fabs(s.elevation) <= kPi / 2);
    const AffectPoint w = from_spherical(s);
    CHECK(distance(w, p) < 1e-12);
  }
}

TEST_CASE("clamping keeps points inside the unit disk or ball and leaves inner points alone") {
  const AffectPoint inside{0.3, -0.2, 0.4};
  CHECK(distance(clamp_to_unit(inside, Space::Ball), inside) == 0.0);
  const AffectPoint far{3, 4, 0};
  const AffectPoint c = clamp_to_unit(far, Space::Plane);
  CHECK(radius(c, Space::Plane) == doctest::Approx(1.0));
  CHECK(c.v == doctest::Approx(0.6));
  CHECK(c.a == doctest::Approx(0.8));
  const AffectPoint b = clamp_to_unit({1, 1, 1}, Space::Ball);
  CHECK(radius(b) == doctest::Approx(1.0));
  CHECK(b.z == doctest::Approx(1 / std::sqrt(3.0)));
  // The plane drops z before measuring.
  const AffectPoint flat = clamp_to_unit({0.5, 0.5, 0.9}, Space::Plane);
  CHECK(flat.z == 0.0);
  CHECK(flat.v == 0.5);
}

TEST_CASE("parse_affect accepts v a and v a z and names what is wrong") {
  const AffectPoint p = parse_affect("0.5, -0.25");
  CHECK(p.v == 0.5);
  CHECK(p.a == -0.25);
  CHECK(p.z == 0.0);
  CHECK(parse_affect("0,0,0.75").z == 0.75);
  CHECK_THROWS_WITH_AS(parse_affect("0.5"), doctest::Contains("2 or 3"), Error);
  CHECK_THROWS_WITH_AS(parse_affect("0.5,x"), doctest::Contains("'x'"), Error);
  CHECK_THROWS_WITH_AS(parse_affect("0.5,,0"), doctest::Contains("bad field"), Error);
  CHECK_THROWS_WITH_AS(parse_affect("1.5,0"), doctest::Contains("valence"), Error);
  CHECK_THROWS_WITH_AS(parse_affect("0,nan"), doctest::Contains("arousal"), Error);
  CHECK_THROWS_AS(parse_affect("0,0,inf"), Error);
  CHECK_THROWS_AS(parse_affect("1,2,3,4"), Error);
}

TEST_CASE("NaN and infinity are rejected by every affect function") {
  const AffectPoint bad{kNaN, 0, 0};
  CHECK_THROWS_AS(to_polar(bad), Error);
  CHECK_THROWS_AS(to_spherical({0, kInf, 0}), Error);
  CHECK_THROWS_AS(from_polar({kNaN, 0}), Error);
  CHECK_THROWS_AS(from_polar({1, kInf}), Error);
  CHECK_THROWS_AS(from_spherical({1, 0, kNaN}), Error);
  CHECK_THROWS_AS(clamp_to_unit({0, 0, kNaN}, Space::Ball), Error);
  CHECK_THROWS_AS(direction(bad), Error);
  CHECK_THROWS_AS(direction({0, 0, 0}), Error);
  CHECK_THROWS_AS(from_polar({-1, 0}), Error);
}

TEST_CASE("space names parse both ways") {
  CHECK(parse_space("2D") == Space::Plane);
  CHECK(parse_space("3d") == Space::Ball);
  CHECK(std::string(space_name(Space::Ball)) == "3d");
  CHECK_THROWS_WITH_AS(parse_space("4d"), doctest::Contains("'4d'"), Error);
}
