// circumplex/cursor.hpp — the smoothed cursor that turns input into an affect point.
//
// CursorController follows a target with a critically damped spring, integrated in closed
// form, so a trajectory is the same at 30, 60 or 144 Hz and a step from rest never
// overshoots. The half-life is the time to cover half the remaining distance from rest.
// The target is kept in the unit disk (Space::Plane) or ball (Space::Ball).
// Thread use: one thread at a time (the owner serialises access).
#pragma once

#include "circumplex/affect.hpp"

namespace circumplex {

class CursorController {
 public:
  /// half_life in seconds (≥ 0; 0 means the cursor jumps straight to the target).
  explicit CursorController(Space space = Space::Plane, double half_life = 0.12);

  /// Sets where the cursor goes (clamped to the unit disk/ball). Throws Error for NaN/Inf.
  void set_target(AffectPoint target);
  /// Keeps the target's direction and sets its radius (0 … 1); at the origin it stays there.
  void set_intensity(double intensity);
  /// Sets the smoothing half-life in seconds (0 … 60).
  void set_half_life(double seconds);
  /// Moves cursor and target to p at once, velocity zero.
  void jump_to(AffectPoint p);
  /// Switches the space; leaving the ball drops z from target, position and velocity.
  void set_space(Space space);

  /// Advances by dt seconds (0 … 10) and returns the new position.
  AffectPoint update(double dt);

  AffectPoint position() const { return position_; }
  AffectPoint velocity() const { return velocity_; }
  AffectPoint target() const { return target_; }
  double half_life() const { return half_life_; }
  Space space() const { return space_; }

 private:
  Space space_;
  double half_life_;
  AffectPoint position_, velocity_, target_;
};

/// Gamepad stick → cursor target in the disk.
struct StickMapping {
  double dead_zone = 0.15;  ///< radial dead zone, 0 … <1 of the stick's throw
  double exponent = 1.6;    ///< response curve: out = in^exponent after the dead zone (> 0)
};

/// Maps a stick (x right, y up, each −1 … 1; note GLFW reports y down) to a point in the
/// unit disk: radial dead zone, then the response curve, direction kept. Pure function.
AffectPoint stick_to_affect(double x, double y_up, const StickMapping& mapping = {});

}  // namespace circumplex
