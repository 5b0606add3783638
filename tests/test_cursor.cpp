// The cursor controller: critically damped, no overshoot, frame-rate independent; the
// gamepad stick mapping.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "circumplex/cursor.hpp"
#include "circumplex/error.hpp"

using namespace circumplex;

namespace {
// Runs the controller from (0,0) toward `target` for `seconds` at `hz`, sampling at 0.1 s.
std::vector<AffectPoint> trajectory(double hz, AffectPoint target, double seconds, double half_life) {
  CursorController c(Space::Ball, half_life);
  c.set_target(target);
  std::vector<AffectPoint> samples;
  const double dt = 1.0 / hz;
  double t = 0, next_sample = 0.1;
  while (t < seconds - 1e-12) {
    const double step = std::min(dt, next_sample - t);
    c.update(step);
    t += step;
    if (std::fabs(t - next_sample) < 1e-9) {
      samples.push_back(c.position());
      next_sample += 0.1;
    }
  }
  return samples;
}
}  // namespace

TEST_CASE("converges to the target and covers half the distance in one half-life") {
  CursorController c(Space::Plane, 0.2);
  c.set_target({0.8, 0.4, 0});
  c.update(0.2);
  CHECK(radius(c.position() - AffectPoint{0.4, 0.2, 0}) < 1e-9);  // half way after one half-life
  for (int i = 0; i < 300; ++i) c.update(1.0 / 60);
  CHECK(distance(c.position(), c.target()) < 1e-6);
  CHECK(radius(c.velocity()) < 1e-5);
}

TEST_CASE("a step from rest never overshoots - in any direction") {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(-0.55, 0.55);  // inside the ball: no clamping
  for (int k = 0; k < 200; ++k) {
    CursorController c(Space::Ball, 0.1 + 0.002 * k);
    const AffectPoint start{u(rng), u(rng), u(rng)}, target{u(rng), u(rng), u(rng)};
    c.jump_to(start);
    c.set_target(target);
    const AffectPoint dir = direction(target - start);
    const double total = radius(target - start);
    double prev = 0;
    for (int i = 0; i < 400; ++i) {
      c.update(1.0 / 144);
      const double along = dot(c.position() - start, dir);
      CHECK(along <= total + 1e-12);  // never past the target
      CHECK(along >= prev - 1e-12);   // never turns back
      CHECK(radius((c.position() - start) - along * dir) < 1e-9);  // straight line
      prev = along;
    }
  }
}

TEST_CASE("the trajectory is the same at 30 - 60 and 144 Hz") {
  const AffectPoint target{-0.6, 0.5, 0.3};
  const auto ref = trajectory(1000, target, 2.0, 0.15);
  for (double hz : {30.0, 60.0, 144.0}) {
    const auto got = trajectory(hz, target, 2.0, 0.15);
    REQUIRE(got.size() == ref.size());
    for (std::size_t i = 0; i < ref.size(); ++i) CHECK(distance(got[i], ref[i]) < 1e-9);
  }
  // Also when the target moves mid-way (velocity carried across the change).
  auto moving = [&](double hz) {
    CursorController c(Space::Plane, 0.1);
    c.set_target({0.9, 0, 0});
    for (int i = 0; i < static_cast<int>(std::lround(0.5 * hz)); ++i) c.update(1.0 / hz);
    c.set_target({-0.3, 0.7, 0});
    for (int i = 0; i < static_cast<int>(std::lround(0.5 * hz)); ++i) c.update(1.0 / hz);
    return c.position();
  };
  CHECK(distance(moving(30), moving(144)) < 1e-9);
}

TEST_CASE("targets are clamped - intensity scales the target's radius - snap jumps") {
  CursorController c(Space::Plane, 0.1);
  c.set_target({2, 0, 0.5});
  CHECK(c.target().v == doctest::Approx(1.0));
  CHECK(c.target().z == 0.0);
  c.set_target({0.3, 0.4, 0});
  c.set_intensity(1.0);
  CHECK(radius(c.target()) == doctest::Approx(1.0));
  CHECK(c.target().v == doctest::Approx(0.6));
  c.jump_to({0.1, 0.1, 0});
  CHECK(distance(c.position(), {0.1, 0.1, 0}) == 0.0);
  CHECK(radius(c.velocity()) == 0.0);
  CursorController instant(Space::Ball, 0.0);
  instant.set_target({0.2, 0.2, 0.2});
  CHECK(distance(instant.update(0.001), {0.2, 0.2, 0.2}) == 0.0);
  // Leaving 3D drops z everywhere.
  CursorController b(Space::Ball, 0.1);
  b.jump_to({0, 0, 0.8});
  b.set_space(Space::Plane);
  CHECK(b.position().z == 0.0);
  CHECK(b.target().z == 0.0);
}

TEST_CASE("the cursor rejects NaN - infinity and out-of-range settings") {
  CursorController c;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(c.set_target({nan, 0, 0}), Error);
  CHECK_THROWS_AS(c.update(nan), Error);
  CHECK_THROWS_AS(c.update(-0.1), Error);
  CHECK_THROWS_AS(c.set_half_life(std::numeric_limits<double>::infinity()), Error);
  CHECK_THROWS_AS(c.set_half_life(-1), Error);
  CHECK_THROWS_AS(c.set_intensity(1.5), Error);
  CHECK_THROWS_AS(c.jump_to({0, nan, 0}), Error);
  CHECK(radius(c.position()) == 0.0);  // nothing changed by the failed calls
}

TEST_CASE("gamepad stick: radial dead zone - response curve - clamped to the disk") {
  const StickMapping m{0.2, 2.0};
  CHECK(radius(stick_to_affect(0.1, 0.1, m)) == 0.0);       // inside the dead zone
  CHECK(radius(stick_to_affect(0.2, 0.0, m)) == 0.0);       // its edge
  const AffectPoint full = stick_to_affect(1.0, 1.0, m);    // corner of the square throw
  CHECK(radius(full) == doctest::Approx(1.0));
  CHECK(full.v == doctest::Approx(full.a));
  const AffectPoint half = stick_to_affect(0.0, 0.6, m);    // (0.6 - 0.2) / 0.8 = 0.5, squared
  CHECK(half.a == doctest::Approx(0.25));
  CHECK(half.v == 0.0);
  const AffectPoint down = stick_to_affect(0.0, -1.0, m);
  CHECK(down.a == doctest::Approx(-1.0));
  double prev = 0;  // monotone in throw
  for (int k = 0; k <= 100; ++k) {
    const double r = radius(stick_to_affect(k / 100.0 * 0.6, k / 100.0 * 0.8, m));
    CHECK(r >= prev);
    CHECK(r <= 1.0);
    prev = r;
  }
  CHECK_THROWS_AS(stick_to_affect(std::nan(""), 0, m), Error);
  CHECK_THROWS_AS(stick_to_affect(0, 0, StickMapping{1.0, 1.0}), Error);
}
