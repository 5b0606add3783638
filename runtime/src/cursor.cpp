#include "circumplex/cursor.hpp"

#include <algorithm>
#include <cmath>

#include "circumplex/error.hpp"

namespace circumplex {
namespace {
// x solving (1 + x)·e^(−x) = 1/2: a critically damped spring with ω = x / half-life covers
// half the distance from rest in one half-life.
constexpr double kHalfLifeToOmega = 1.6783469900166608;
}  // namespace

CursorController::CursorController(Space space, double half_life) : space_(space), half_life_(0.0) {
  set_half_life(half_life);
}

void CursorController::set_target(AffectPoint target) {
  require_finite(target, "cursor target");
  target_ = clamp_to_unit(target, space_);
}

void CursorController::set_intensity(double intensity) {
  require_range(intensity, 0.0, 1.0, "intensity");
  const double r = radius(target_, space_);
  if (r > 1e-12) target_ = (intensity / r) * target_;
}

void CursorController::set_half_life(double seconds) {
  require_range(seconds, 0.0, 60.0, "smoothing half-life (seconds)");
  half_life_ = seconds;
}

void CursorController::jump_to(AffectPoint p) {
  set_target(p);
  position_ = target_;
  velocity_ = {};
}

void CursorController::set_space(Space space) {
  space_ = space;
  target_ = clamp_to_unit(target_, space);
  position_ = clamp_to_unit(position_, space);
  velocity_ = project(velocity_, space);
}

AffectPoint CursorController::update(double dt) {
  require_range(dt, 0.0, 10.0, "time step dt (seconds)");
  if (half_life_ <= 0.0) {
    position_ = target_;
    velocity_ = {};
    return position_;
  }
  // Exact solution of x'' = −2ω x' − ω² x about the target, so any step size gives the
  // same trajectory: x(t) = (x0 + j t) e^(−ωt), v(t) = (v0 − ω j t) e^(−ωt), j = v0 + ω x0.
  const double omega = kHalfLifeToOmega / half_life_;
  const AffectPoint x0 = position_ - target_;
  const AffectPoint j = velocity_ + omega * x0;
  const double decay = std::exp(-omega * dt);
  position_ = target_ + decay * (x0 + dt * j);
  velocity_ = decay * (velocity_ - (omega * dt) * j);
  position_ = project(position_, space_);
  velocity_ = project(velocity_, space_);
  const double r = radius(position_, space_);
  if (r > 1.0) {  // only reachable with outward velocity: stop at the rim
    const AffectPoint n = (1.0 / r) * position_;
    position_ = n;
    const double outward = dot(velocity_, n);
    if (outward > 0) velocity_ = velocity_ - outward * n;
  }
  return position_;
}

AffectPoint stick_to_affect(double x, double y_up, const StickMapping& mapping) {
  require_finite(x, "stick x");
  require_finite(y_up, "stick y");
  require_range(mapping.dead_zone, 0.0, 0.95, "stick dead zone");
  require_range(mapping.exponent, 0.1, 10.0, "stick response exponent");
  const double m = std::hypot(x, y_up);
  if (m <= mapping.dead_zone) return {};
  const double live = std::min((std::min(m, 1.0) - mapping.dead_zone) / (1.0 - mapping.dead_zone), 1.0);
  const double out = std::pow(live, mapping.exponent);
  return {out * x / m, out * y_up / m, 0.0};
}

}  // namespace circumplex
