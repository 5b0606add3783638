#include "circumplex/paths.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"

namespace circumplex {
namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;

double progress(double t, double duration) {
  require_finite(t, "path time");
  return std::clamp(t / duration, 0.0, 1.0);
}

// Rotation R = Rz(phi) · Ry(theta) applied to p.
AffectPoint rotate(AffectPoint p, double theta, double phi) {
  const double ct = std::cos(theta), st = std::sin(theta);
  const AffectPoint y{ct * p.v + st * p.z, p.a, -st * p.v + ct * p.z};
  const double cp = std::cos(phi), sp = std::sin(phi);
  return {cp * y.v - sp * y.a, sp * y.v + cp * y.a, y.z};
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

bool parse_number(const std::string& field, double& out) {
  if (field.empty()) return false;
  char* stop = nullptr;
  out = std::strtod(field.c_str(), &stop);
  return stop == field.c_str() + field.size();
}

}  // namespace

CircleWalk::CircleWalk(double theta, double phi, double radius, double period)
    : radius_(radius), period_(period) {
  require_finite(theta, "circle walk theta");
  require_finite(phi, "circle walk phi");
  require_range(radius, 1e-6, 1.0, "circle walk radius");
  require_range(period, 1e-3, 1e6, "circle walk period (seconds)");
  u_ = rotate({1, 0, 0}, theta, phi);
  w_ = rotate({0, 1, 0}, theta, phi);
  n_ = rotate({0, 0, 1}, theta, phi);
}

AffectPoint CircleWalk::at(double t) const {
  require_finite(t, "path time");
  const double angle = kTwoPi * std::fmod(t / period_, 1.0);
  return (radius_ * std::cos(angle)) * u_ + (radius_ * std::sin(angle)) * w_;
}

LinePath::LinePath(AffectPoint from, AffectPoint to, double duration)
    : from_(from), to_(to), duration_(duration) {
  require_finite(from, "line start");
  require_finite(to, "line end");
  require_range(duration, 1e-3, 1e6, "path duration (seconds)");
}

AffectPoint LinePath::at(double t) const {
  const double s = progress(t, duration_);
  return from_ + s * (to_ - from_);
}

ArcPath::ArcPath(AffectPoint from, AffectPoint to, double duration)
    : from_(from), to_(to), duration_(duration) {
  require_finite(from, "arc start");
  require_finite(to, "arc end");
  require_range(duration, 1e-3, 1e6, "path duration (seconds)");
  r0_ = radius(from);
  r1_ = radius(to);
  angle_ = 0.0;
  if (r0_ < 1e-12 || r1_ < 1e-12) return;  // no direction at an end: at() runs straight
  u_ = direction(from);
  const AffectPoint e = direction(to);
  angle_ = std::acos(std::clamp(dot(u_, e), -1.0, 1.0));
  AffectPoint w = e - dot(e, u_) * u_;
  if (radius(w) < 1e-9) {  // same or opposite direction: pick the turning side
    w = AffectPoint{0, 1, 0} - u_.a * u_;
    if (radius(w) < 1e-9) w = AffectPoint{1, 0, 0} - u_.v * u_;
  }
  w_ = direction(w);
}

AffectPoint ArcPath::at(double t) const {
  const double s = progress(t, duration_);
  if (r0_ < 1e-12 || r1_ < 1e-12) return from_ + s * (to_ - from_);
  const double r = r0_ + s * (r1_ - r0_);
  return (r * std::cos(s * angle_)) * u_ + (r * std::sin(s * angle_)) * w_;
}

ScriptedPath::ScriptedPath(std::vector<Keyframe> keys) : keys_(std::move(keys)) {
  if (keys_.empty()) throw Error(ErrorKind::InvalidArgument, "a scripted path needs at least one keyframe");
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    require_finite(keys_[i].t, "keyframe time");
    require_finite(keys_[i].p, "keyframe point");
    if (radius(keys_[i].p) > 1.0 + 1e-9) {
      throw Error(ErrorKind::InvalidArgument, "keyframe " + std::to_string(i) + " lies outside the unit ball");
    }
    if (i > 0 && !(keys_[i].t > keys_[i - 1].t)) {
      throw Error(ErrorKind::InvalidArgument, "keyframe " + std::to_string(i) + ": times must strictly increase");
    }
  }
}

ScriptedPath ScriptedPath::parse_csv(std::string_view text, const std::string& origin) {
  std::vector<Keyframe> keys;
  std::size_t columns = 0, line_no = 0, pos = 0;
  bool header_allowed = true;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const std::string where = origin + ": line " + std::to_string(line_no);
    std::vector<std::string> fields;
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = line.find(',', start);
      fields.push_back(trim(std::string_view(line).substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    double first = 0.0;
    if (header_allowed && !parse_number(fields[0], first)) {
      std::string lower;
      for (char c : line) if (!std::isspace(static_cast<unsigned char>(c))) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower != "t,v,a" && lower != "t,v,a,z") {
        throw Error(ErrorKind::BadData, where + ": header must be 't,v,a' or 't,v,a,z', got '" + line + "'");
      }
      columns = fields.size();
      header_allowed = false;
      continue;
    }
    header_allowed = false;
    if (columns == 0) columns = fields.size();
    if (fields.size() != columns || (columns != 3 && columns != 4)) {
      throw Error(ErrorKind::BadData, where + ": expected " + std::to_string(columns == 4 ? 4 : 3) +
                                          " columns (t,v,a[,z]), got " + std::to_string(fields.size()));
    }
    double x[4] = {0, 0, 0, 0};
    static const char* const names[] = {"t", "v", "a", "z"};
    for (std::size_t i = 0; i < columns; ++i) {
      if (!parse_number(fields[i], x[i])) {
        throw Error(ErrorKind::BadData, where + ": column " + names[i] + " is not a number: '" + fields[i] + "'");
      }
      if (!std::isfinite(x[i])) {
        throw Error(ErrorKind::BadData, where + ": column " + names[i] + " is " + fields[i] + " (NaN and infinities are not allowed)");
      }
      if (i > 0 && (x[i] < -1.0 || x[i] > 1.0)) {
        throw Error(ErrorKind::BadData, where + ": column " + names[i] + " = " + fields[i] + " is outside [-1, 1]");
      }
    }
    const Keyframe key{x[0], {x[1], x[2], x[3]}};
    if (radius(key.p) > 1.0 + 1e-9) {
      throw Error(ErrorKind::BadData, where + ": point " + to_string(key.p) + " lies outside the unit ball");
    }
    if (!keys.empty() && !(key.t > keys.back().t)) {
      throw Error(ErrorKind::BadData, where + ": time " + fields[0] + " does not increase (previous row has t = " +
                                          std::to_string(keys.back().t) + ")");
    }
    keys.push_back(key);
  }
  if (keys.empty()) throw Error(ErrorKind::BadData, origin + ": no keyframes");
  return ScriptedPath(std::move(keys));
}

ScriptedPath ScriptedPath::load_csv(const std::string& path) { return parse_csv(read_text_file(path), path); }

double ScriptedPath::duration() const {
  const double d = keys_.back().t - keys_.front().t;
  return d > 0 ? d : 1e-3;
}

AffectPoint ScriptedPath::at(double t) const {
  require_finite(t, "path time");
  t += keys_.front().t;  // path time 0 is the first keyframe
  if (t <= keys_.front().t) return keys_.front().p;
  if (t >= keys_.back().t) return keys_.back().p;
  const auto hi = std::upper_bound(keys_.begin(), keys_.end(), t,
                                   [](double x, const Keyframe& k) { return x < k.t; });
  const Keyframe& b = *hi;
  const Keyframe& a = *(hi - 1);
  const double s = (t - a.t) / (b.t - a.t);
  return a.p + s * (b.p - a.p);
}

std::unique_ptr<Path> emotion_axis(const Atlas& atlas, std::string_view name, double intensity,
                                   double duration, Space space) {
  const Emotion& e = atlas.find(name);
  return std::make_unique<LinePath>(AffectPoint{}, atlas.at_intensity(e, intensity, space), duration);
}

std::unique_ptr<Path> between_emotions(const Atlas& atlas, std::string_view from, std::string_view to,
                                       double intensity, BetweenStyle style, double duration, Space space) {
  const AffectPoint a = atlas.at_intensity(atlas.find(from), intensity, space);
  const AffectPoint b = atlas.at_intensity(atlas.find(to), intensity, space);
  if (style == BetweenStyle::Straight) return std::make_unique<LinePath>(a, b, duration);
  return std::make_unique<ArcPath>(a, b, duration);
}

std::vector<double> frame_times(const Path& path, double fps) {
  require_range(fps, 1.0, 1000.0, "frames per second");
  const auto frames = static_cast<std::size_t>(std::llround(path.duration() * fps));
  std::vector<double> times;
  for (std::size_t i = 0; i < frames; ++i) times.push_back(static_cast<double>(i) / fps);
  if (!path.periodic()) times.push_back(path.duration());
  return times;
}

std::string samples_to_csv(const std::vector<std::array<float, 4>>& samples) {
  std::string out = "t,v,a,z\n";
  out.reserve(out.size() + samples.size() * 40);
  char row[128];
  long long last_us = -1;  // times are written in microseconds: a row must be later than the last
  for (const auto& s : samples) {
    const long long us = std::llround(static_cast<double>(s[0]) * 1e6);
    if (us <= last_us) continue;  // an update with dt = 0 repeats a time: parse_csv would refuse it
    last_us = us;
    std::snprintf(row, sizeof row, "%.6f,%.6f,%.6f,%.6f\n", static_cast<double>(s[0]), static_cast<double>(s[1]),
                  static_cast<double>(s[2]), static_cast<double>(s[3]));
    out += row;
  }
  return out;
}

std::string path_to_csv(const Path& path, double fps) {
  std::string out = "t,v,a,z\n";
  char row[128];
  for (double t : frame_times(path, fps)) {
    const AffectPoint p = path.at(t);
    std::snprintf(row, sizeof row, "%.6f,%.6f,%.6f,%.6f\n", t, p.v, p.a, p.z);
    out += row;
  }
  return out;
}

}  // namespace circumplex
