// circumplex/affect.hpp — points in the affect space and their geometry.
//
// A point is (v, a, z): valence (x, negative → positive), arousal (y, low → high) and the
// C2A2 third axis z (fear and sadness lifted off the plane; by default z = −PAD dominance).
// The space is either the unit disk (Space::Plane, z ignored and kept 0) or the unit ball
// (Space::Ball). The radius |p| is the intensity of the expression; 0 is neutral.
// Angles: θ is measured counter-clockwise from +valence in the valence–arousal plane,
// in radians, in [0, 2π); the elevation ψ is the angle above that plane toward +z.
#pragma once

#include <string>

namespace circumplex {

/// Which affect space a point, path or model lives in.
enum class Space {
  Plane,  ///< 2D circumplex: valence × arousal, unit disk
  Ball,   ///< 3D C2A2: valence × arousal × z, unit ball
};

/// "2d" or "3d".
const char* space_name(Space s);
/// Parses "2d"/"3d" (case-insensitive); throws Error naming the bad text otherwise.
Space parse_space(const std::string& text);

/// A point in the affect space. Plain data; z is 0 for points of the plane.
struct AffectPoint {
  double v = 0.0;  ///< valence, −1 … 1
  double a = 0.0;  ///< arousal, −1 … 1
  double z = 0.0;  ///< C2A2 third axis, −1 … 1 (0 in the plane)
};

AffectPoint operator+(AffectPoint p, AffectPoint q);
AffectPoint operator-(AffectPoint p, AffectPoint q);
AffectPoint operator*(double s, AffectPoint p);
double dot(AffectPoint p, AffectPoint q);
AffectPoint cross(AffectPoint p, AffectPoint q);

/// Euclidean length of the point in `space` (z is ignored in the plane).
double radius(AffectPoint p, Space space = Space::Ball);
/// Distance between two points in `space`.
double distance(AffectPoint p, AffectPoint q, Space space = Space::Ball);
/// The point with z set to 0 when `space` is the plane, unchanged otherwise.
AffectPoint project(AffectPoint p, Space space);
/// The unit vector in p's direction (projected to `space`); throws Error at the origin.
AffectPoint direction(AffectPoint p, Space space = Space::Ball);

/// Throws Error(InvalidArgument) naming `what` if any coordinate is NaN or infinite.
void require_finite(AffectPoint p, const char* what);

/// Polar form in the valence–arousal plane.
struct Polar {
  double r = 0.0;      ///< radius ≥ 0
  double theta = 0.0;  ///< radians, counter-clockwise from +valence, in [0, 2π)
};
Polar to_polar(AffectPoint p);            ///< z is ignored; θ = 0 at the origin
AffectPoint from_polar(Polar polar);      ///< z = 0; r must be ≥ 0

/// Spherical form in the ball: θ in the valence–arousal plane, ψ toward +z.
struct Spherical {
  double r = 0.0;          ///< radius ≥ 0
  double theta = 0.0;      ///< azimuth, radians, counter-clockwise from +valence, [0, 2π)
  double elevation = 0.0;  ///< radians above the plane, [−π/2, π/2]
};
Spherical to_spherical(AffectPoint p);
AffectPoint from_spherical(Spherical s);

/// Scales p back onto the unit disk/ball when it lies outside (direction kept); z is
/// dropped in the plane. Points inside are returned unchanged.
AffectPoint clamp_to_unit(AffectPoint p, Space space);

/// "v,a" or "v,a,z" text → point; throws Error naming the text when it is malformed,
/// non-finite, or outside [−1, 1] per coordinate.
AffectPoint parse_affect(const std::string& text);
/// "(0.500, -0.250, 0.000)"-style text for messages.
std::string to_string(AffectPoint p);

}  // namespace circumplex
