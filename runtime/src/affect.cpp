#include "circumplex/affect.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "circumplex/error.hpp"

namespace circumplex {
namespace {
constexpr double kTwoPi = 6.283185307179586476925286766559;

double wrap_angle(double theta) {
  double t = std::fmod(theta, kTwoPi);
  if (t < 0) t += kTwoPi;
  return t >= kTwoPi ? 0.0 : t;
}
}  // namespace

const char* space_name(Space s) { return s == Space::Plane ? "2d" : "3d"; }

Space parse_space(const std::string& text) {
  std::string t;
  for (char c : text) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "2d" || t == "plane") return Space::Plane;
  if (t == "3d" || t == "ball") return Space::Ball;
  throw Error(ErrorKind::InvalidArgument, "space must be '2d' or '3d', got '" + text + "'");
}

AffectPoint operator+(AffectPoint p, AffectPoint q) { return {p.v + q.v, p.a + q.a, p.z + q.z}; }
AffectPoint operator-(AffectPoint p, AffectPoint q) { return {p.v - q.v, p.a - q.a, p.z - q.z}; }
AffectPoint operator*(double s, AffectPoint p) { return {s * p.v, s * p.a, s * p.z}; }
double dot(AffectPoint p, AffectPoint q) { return p.v * q.v + p.a * q.a + p.z * q.z; }
AffectPoint cross(AffectPoint p, AffectPoint q) {
  return {p.a * q.z - p.z * q.a, p.z * q.v - p.v * q.z, p.v * q.a - p.a * q.v};
}

AffectPoint project(AffectPoint p, Space space) {
  if (space == Space::Plane) p.z = 0.0;
  return p;
}

double radius(AffectPoint p, Space space) {
  p = project(p, space);
  return std::sqrt(dot(p, p));
}

double distance(AffectPoint p, AffectPoint q, Space space) { return radius(p - q, space); }

AffectPoint direction(AffectPoint p, Space space) {
  require_finite(p, "direction of point");
  const double r = radius(p, space);
  if (r < 1e-12) throw Error(ErrorKind::InvalidArgument, "the origin has no direction");
  return (1.0 / r) * project(p, space);
}

void require_finite(AffectPoint p, const char* what) {
  if (!std::isfinite(p.v) || !std::isfinite(p.a) || !std::isfinite(p.z)) {
    throw Error(ErrorKind::InvalidArgument,
                std::string(what) + " must have finite coordinates, got " + to_string(p));
  }
}

Polar to_polar(AffectPoint p) {
  require_finite(p, "point");
  Polar out;
  out.r = std::hypot(p.v, p.a);
  out.theta = out.r > 0 ? wrap_angle(std::atan2(p.a, p.v)) : 0.0;
  return out;
}

AffectPoint from_polar(Polar polar) {
  require_finite(polar.r, "polar radius");
  require_finite(polar.theta, "polar angle");
  if (polar.r < 0) throw Error(ErrorKind::InvalidArgument, "polar radius must be >= 0");
  return {polar.r * std::cos(polar.theta), polar.r * std::sin(polar.theta), 0.0};
}

Spherical to_spherical(AffectPoint p) {
  require_finite(p, "point");
  Spherical s;
  s.r = radius(p);
  const double planar = std::hypot(p.v, p.a);
  s.theta = planar > 0 ? wrap_angle(std::atan2(p.a, p.v)) : 0.0;
  s.elevation = s.r > 0 ? std::atan2(p.z, planar) : 0.0;
  return s;
}

AffectPoint from_spherical(Spherical s) {
  require_finite(s.r, "spherical radius");
  require_finite(s.theta, "spherical azimuth");
  require_finite(s.elevation, "spherical elevation");
  if (s.r < 0) throw Error(ErrorKind::InvalidArgument, "spherical radius must be >= 0");
  const double c = std::cos(s.elevation);
  return {s.r * c * std::cos(s.theta), s.r * c * std::sin(s.theta), s.r * std::sin(s.elevation)};
}

AffectPoint clamp_to_unit(AffectPoint p, Space space) {
  require_finite(p, "point");
  p = project(p, space);
  const double r = radius(p, space);
  return r > 1.0 ? (1.0 / r) * p : p;
}

AffectPoint parse_affect(const std::string& text) {
  std::vector<double> values;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string field = text.substr(start, end - start);
    char* stop = nullptr;
    const double x = std::strtod(field.c_str(), &stop);
    bool rest_blank = true;
    for (const char* c = stop; c && *c; ++c) rest_blank = rest_blank && std::isspace(static_cast<unsigned char>(*c));
    if (field.empty() || stop == field.c_str() || !rest_blank) {
      throw Error(ErrorKind::InvalidArgument,
                  "affect '" + text + "' must be 'v,a' or 'v,a,z' numbers; bad field '" + field + "'");
    }
    values.push_back(x);
    start = end + 1;
  }
  if (values.size() != 2 && values.size() != 3) {
    throw Error(ErrorKind::InvalidArgument,
                "affect '" + text + "' must have 2 or 3 comma-separated numbers (v,a[,z])");
  }
  static const char* const names[] = {"valence", "arousal", "z"};
  for (std::size_t i = 0; i < values.size(); ++i) {
    require_range(values[i], -1.0, 1.0, names[i]);
  }
  return {values[0], values[1], values.size() == 3 ? values[2] : 0.0};
}

std::string to_string(AffectPoint p) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "(%.3f, %.3f, %.3f)", p.v, p.a, p.z);
  return buf;
}

}  // namespace circumplex
