// circumplex/paths.hpp — scripted motions of the affect point over time.
//
// A Path maps time t (seconds, 0 … duration) to a point. Times outside are clamped, except
// for the circle walk, which repeats. Kinds:
//   CircleWalk   — C2A2's circle walk (θ, φ, r): the circle of radius r about the origin in
//                  the plane with normal n = (sin θ cos φ, sin θ sin φ, cos θ). It is the
//                  valence–arousal circle rotated by R = Rz(φ)·Ry(θ), starting at R·(r,0,0)
//                  and running counter-clockwise about n. θ = 0 is the plane's circle.
//   LinePath     — straight from one point to another (an emotion's axis: neutral → emotion).
//   ArcPath      — along the sphere: direction slerped, radius interpolated linearly.
//   ScriptedPath — keyframes (t, v, a[, z]) from CSV, linearly interpolated.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "circumplex/affect.hpp"
#include "circumplex/atlas.hpp"

namespace circumplex {

/// A motion of the affect point. Immutable; safe to evaluate from several threads.
class Path {
 public:
  virtual ~Path() = default;
  /// The point at time t (seconds); throws Error for non-finite t.
  virtual AffectPoint at(double t) const = 0;
  /// Length in seconds (> 0); a circle walk's period.
  virtual double duration() const = 0;
  /// True when the path repeats (its end is its start), as a circle walk does.
  virtual bool periodic() const { return false; }
};

/// C2A2's circle walk; see the file comment for the exact parametrisation.
class CircleWalk final : public Path {
 public:
  /// theta, phi in radians; radius in (0, 1]; period in seconds (> 0).
  CircleWalk(double theta, double phi, double radius, double period);
  AffectPoint at(double t) const override;
  double duration() const override { return period_; }
  bool periodic() const override { return true; }
  /// Unit normal of the walk's plane.
  AffectPoint normal() const { return n_; }
  double radius() const { return radius_; }

 private:
  double radius_, period_;
  AffectPoint u_, w_, n_;  // orthonormal: start direction, quarter-turn direction, normal
};

/// Straight line from `from` to `to` over `duration` seconds.
class LinePath final : public Path {
 public:
  LinePath(AffectPoint from, AffectPoint to, double duration);
  AffectPoint at(double t) const override;
  double duration() const override { return duration_; }

 private:
  AffectPoint from_, to_;
  double duration_;
};

/// Great-circle arc: direction slerped from `from` to `to`, radius linear between theirs.
/// Antipodal directions turn through the +arousal side (+valence when on the arousal axis).
/// An endpoint at the origin has no direction: the arc is then the straight line.
class ArcPath final : public Path {
 public:
  ArcPath(AffectPoint from, AffectPoint to, double duration);
  AffectPoint at(double t) const override;
  double duration() const override { return duration_; }

 private:
  AffectPoint from_, to_, u_, w_;  // u_, w_: orthonormal basis of the arc's plane
  double r0_, r1_, angle_, duration_;
};

/// One keyframe of a scripted path.
struct Keyframe {
  double t = 0.0;
  AffectPoint p;
};

/// Keyframes, linearly interpolated; held at the ends.
class ScriptedPath final : public Path {
 public:
  /// At least one keyframe; times strictly increasing, points finite and in the unit ball.
  explicit ScriptedPath(std::vector<Keyframe> keys);
  /// Reads CSV "t,v,a[,z]" (header optional, '#' comments, blank lines skipped). Throws
  /// Error naming `origin` and the line of the first bad row: wrong column count, a
  /// non-number, NaN/Inf, a coordinate outside [−1, 1] or a point outside the unit ball,
  /// time not strictly increasing.
  static ScriptedPath parse_csv(std::string_view text, const std::string& origin);
  static ScriptedPath load_csv(const std::string& path);

  AffectPoint at(double t) const override;
  double duration() const override;
  const std::vector<Keyframe>& keys() const { return keys_; }

 private:
  std::vector<Keyframe> keys_;
};

/// How to travel between two emotions.
enum class BetweenStyle { Straight, Sphere };

/// Neutral → emotion `name` at `intensity` (radius) over `duration` seconds.
std::unique_ptr<Path> emotion_axis(const Atlas& atlas, std::string_view name,
                                   double intensity, double duration, Space space);
/// Emotion `from` → emotion `to`, both at `intensity`, straight or along the sphere.
std::unique_ptr<Path> between_emotions(const Atlas& atlas, std::string_view from,
                                       std::string_view to, double intensity,
                                       BetweenStyle style, double duration, Space space);

/// Frame times for recording `path` at `fps` (1 … 1000): round(duration·fps) frames
/// i/fps, plus the end point unless the path is periodic (its end repeats its start).
std::vector<double> frame_times(const Path& path, double fps);
/// "t,v,a,z" CSV (with header) of `path` at frame_times(path, fps), for recordings.
std::string path_to_csv(const Path& path, double fps);
/// The same "t,v,a,z" CSV of recorded samples {t, v, a, z} (a cursor path captured live);
/// a sample whose time (to the microsecond written) is not later than the row before is left
/// out, so ScriptedPath::parse_csv reads both back.
std::string samples_to_csv(const std::vector<std::array<float, 4>>& samples);

}  // namespace circumplex
