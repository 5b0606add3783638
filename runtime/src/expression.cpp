#include "circumplex/expression.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"

namespace circumplex {
namespace {

using nlohmann::json;

constexpr std::array<int, kAuCount> kAuNumbers = {1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 43};
constexpr const char* kAuKeys[kAuCount] = {"AU1",  "AU2",  "AU4",  "AU5",  "AU6",  "AU7",
                                           "AU9",  "AU10", "AU12", "AU14", "AU15", "AU17",
                                           "AU20", "AU23", "AU25", "AU26", "AU43"};
constexpr const char* kAuDescriptions[kAuCount] = {
    "inner brow raiser", "outer brow raiser", "brow lowerer",       "upper lid raiser",
    "cheek raiser",      "lid tightener",     "nose wrinkler",      "upper lip raiser",
    "lip corner puller", "dimpler",           "lip corner depressor", "chin raiser",
    "lip stretcher",     "lip tightener",     "lips part",          "jaw drop",
    "eyes closed"};

constexpr std::array<const char*, kArkitCount> kArkit = {
    "eyeBlinkLeft",     "eyeLookDownLeft",   "eyeLookInLeft",      "eyeLookOutLeft",
    "eyeLookUpLeft",    "eyeSquintLeft",     "eyeWideLeft",        "eyeBlinkRight",
    "eyeLookDownRight", "eyeLookInRight",    "eyeLookOutRight",    "eyeLookUpRight",
    "eyeSquintRight",   "eyeWideRight",      "jawForward",         "jawLeft",
    "jawRight",         "jawOpen",           "mouthClose",         "mouthFunnel",
    "mouthPucker",      "mouthLeft",         "mouthRight",         "mouthSmileLeft",
    "mouthSmileRight",  "mouthFrownLeft",    "mouthFrownRight",    "mouthDimpleLeft",
    "mouthDimpleRight", "mouthStretchLeft",  "mouthStretchRight",  "mouthRollLower",
    "mouthRollUpper",   "mouthShrugLower",   "mouthShrugUpper",    "mouthPressLeft",
    "mouthPressRight",  "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft",     "browDownRight",      "browInnerUp",
    "browOuterUpLeft",  "browOuterUpRight",  "cheekPuff",          "cheekSquintLeft",
    "cheekSquintRight", "noseSneerLeft",     "noseSneerRight",     "tongueOut"};

constexpr std::array<const char*, kVrmCount> kVrm = {
    "happy", "angry", "sad",    "relaxed",  "surprised", "aa",       "ih",     "ou",        "ee",
    "oh",    "blink", "blinkLeft", "blinkRight", "lookUp", "lookDown", "lookLeft", "lookRight", "neutral"};

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw Error(ErrorKind::BadData, where + ": " + what);
}

AuVector read_aus(const json& obj, const std::string& where) {
  if (!obj.is_object()) bad(where, "'au' must be an object of AU intensities");
  AuVector out{};
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const int i = au_index(it.key());
    if (i < 0) bad(where, "'" + it.key() + "' is not one of the 17 modelled AUs");
    if (!it.value().is_number()) bad(where, "'" + it.key() + "' must be a number");
    const double x = it.value().get<double>();
    if (!std::isfinite(x) || x < 0.0 || x > 1.0) bad(where, "'" + it.key() + "' must lie in [0, 1]");
    out[static_cast<std::size_t>(i)] = static_cast<float>(x);
  }
  return out;
}

template <std::size_t N>
LinearRig read_rig(const json& doc, const char* key, const std::array<const char*, N>& names,
                   const std::string& origin) {
  if (!doc.contains(key) || !doc[key].is_object()) bad(origin, std::string("'") + key + "' must be an object");
  LinearRig rig;
  rig.bias.assign(N, 0.0f);
  rig.weights.assign(N, std::array<float, kAuCount>{});
  const json& table = doc[key];
  for (auto it = table.begin(); it != table.end(); ++it) {
    const std::string where = origin + ": " + key + "." + it.key();
    std::size_t out = N;
    for (std::size_t i = 0; i < N; ++i) {
      if (it.key() == names[i]) out = i;
    }
    if (out == N) bad(where, std::string("'") + it.key() + "' is not a " + key + " output name");
    if (!it.value().is_object()) bad(where, "must be an object of AU weights");
    for (auto term = it.value().begin(); term != it.value().end(); ++term) {
      if (!term.value().is_number() || !std::isfinite(term.value().get<double>())) {
        bad(where, "'" + term.key() + "' must be a finite number");
      }
      const float w = term.value().get<float>();
      if (term.key() == "bias") {
        rig.bias[out] = w;
        continue;
      }
      const int i = au_index(term.key());
      if (i < 0) bad(where, "'" + term.key() + "' is not one of the 17 modelled AUs");
      rig.weights[out][static_cast<std::size_t>(i)] = w;
    }
  }
  return rig;
}

template <std::size_t N>
std::array<float, N> apply_rig(const LinearRig& rig, const AuVector& aus) {
  std::array<float, N> out{};
  for (std::size_t o = 0; o < N; ++o) {
    float x = rig.bias[o];
    for (std::size_t i = 0; i < kAuCount; ++i) x += rig.weights[o][i] * aus[i];
    out[o] = std::clamp(x, 0.0f, 1.0f);
  }
  return out;
}

AuVector blend(const AuVector* const* protos, const double* w, int n) {
  AuVector out{};
  for (int k = 0; k < n; ++k) {
    for (std::size_t i = 0; i < kAuCount; ++i) out[i] += static_cast<float>(w[k] * (*protos[k])[i]);
  }
  for (float& x : out) x = std::clamp(x, 0.0f, 1.0f);
  return out;
}

double det3(AffectPoint a, AffectPoint b, AffectPoint c) { return dot(a, cross(b, c)); }

// Solid angle of the spherical triangle (a, b, c), all unit vectors (Van Oosterom–Strackee).
double solid_angle(AffectPoint a, AffectPoint b, AffectPoint c) {
  const double num = std::fabs(det3(a, b, c));
  const double den = 1.0 + dot(a, b) + dot(b, c) + dot(c, a);
  return 2.0 * std::atan2(num, den);
}

}  // namespace

const std::array<int, kAuCount>& au_numbers() { return kAuNumbers; }
const char* au_key(int i) { return (i >= 0 && i < kAuCount) ? kAuKeys[i] : "?"; }
const char* au_description(int i) { return (i >= 0 && i < kAuCount) ? kAuDescriptions[i] : "?"; }
const std::array<const char*, kArkitCount>& arkit_names() { return kArkit; }
const std::array<const char*, kVrmCount>& vrm_names() { return kVrm; }

int au_index(std::string_view key) {
  std::string_view digits = key;
  if (digits.size() > 2 && std::tolower(static_cast<unsigned char>(digits[0])) == 'a' &&
      std::tolower(static_cast<unsigned char>(digits[1])) == 'u') {
    digits.remove_prefix(2);
  }
  if (digits.empty() || digits.size() > 2) return -1;
  int n = 0;
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
    n = n * 10 + (c - '0');
  }
  for (int i = 0; i < kAuCount; ++i) {
    if (kAuNumbers[static_cast<std::size_t>(i)] == n) return i;
  }
  return -1;
}

const ExpressionModel& ExpressionModel::builtin() {
  static const ExpressionModel model =
      parse(embedded_asset("expression.json"), "assets/expression.json (embedded)", Atlas::builtin());
  return model;
}

ExpressionModel ExpressionModel::load(const std::string& path, const Atlas& atlas) {
  return parse(read_text_file(path), path, atlas);
}

ExpressionModel ExpressionModel::parse(std::string_view json_text, const std::string& origin,
                                       const Atlas& atlas) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& e) {
    bad(origin, std::string("malformed JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("format") || doc["format"] != "circumplex-expression") {
    bad(origin, "'format' must be \"circumplex-expression\"");
  }
  if (!doc.contains("version") || !doc["version"].is_number_integer() || doc["version"].get<int>() != 1) {
    bad(origin, "'version' must be 1 (the only version this build reads)");
  }
  if (!doc.contains("anchors") || !doc["anchors"].is_array() || doc["anchors"].size() < 4) {
    bad(origin, "'anchors' must be an array of at least 4 anchors");
  }

  ExpressionModel m;
  std::set<std::string> names;
  for (std::size_t k = 0; k < doc["anchors"].size(); ++k) {
    const json& a = doc["anchors"][k];
    const std::string where = origin + ": anchors[" + std::to_string(k) + "]";
    if (!a.is_object() || !a.contains("name") || !a["name"].is_string()) bad(where, "needs a string 'name'");
    ExpressionAnchor anchor;
    anchor.name = a["name"].get<std::string>();
    const std::string w = where + " '" + anchor.name + "'";
    if (!names.insert(anchor.name).second) bad(w, "anchor name used twice");
    if (!a.contains("au")) bad(w, "needs 'au'");
    anchor.prototype = read_aus(a["au"], w);
    if (a.contains("ball")) {  // a modulator: explicit directions
      auto unit = [&](const json& v, std::size_t dims, const char* key) -> AffectPoint {
        if (!v.is_array() || v.size() != dims) bad(w, std::string("'") + key + "' must hold " + std::to_string(dims) + " numbers");
        double c[3] = {0, 0, 0};
        for (std::size_t i = 0; i < dims; ++i) {
          if (!v[i].is_number()) bad(w, std::string("'") + key + "' holds a non-number");
          c[i] = v[i].get<double>();
        }
        const AffectPoint p{c[0], c[1], c[2]};
        if (!std::isfinite(radius(p)) || std::fabs(radius(p) - 1.0) > 1e-3) bad(w, std::string("'") + key + "' must be a unit vector");
        return (1.0 / radius(p)) * p;
      };
      anchor.ball = unit(a["ball"], 3, "ball");
      if (a.contains("plane") && !a["plane"].is_null()) anchor.plane = unit(a["plane"], 2, "plane");
    } else {  // an atlas emotion: directions from the atlas
      const Emotion* e = atlas.try_find(anchor.name);
      if (!e) bad(w, "is neither an atlas emotion nor a modulator with a 'ball' direction");
      if (radius(e->plane, Space::Plane) < 1e-9) bad(w, "an anchor needs a direction; neutral has none");
      anchor.plane = direction(e->plane, Space::Plane);
      anchor.ball = direction(e->ball, Space::Ball);
    }
    m.anchors_.push_back(anchor);
  }

  // 2D: the anchors with a plane direction, sorted by angle around the circle.
  for (std::size_t i = 0; i < m.anchors_.size(); ++i) {
    if (radius(m.anchors_[i].plane, Space::Plane) > 0.5) m.ring_.push_back(static_cast<int>(i));
  }
  std::sort(m.ring_.begin(), m.ring_.end(), [&](int l, int r) {
    return to_polar(m.anchors_[static_cast<std::size_t>(l)].plane).theta <
           to_polar(m.anchors_[static_cast<std::size_t>(r)].plane).theta;
  });
  if (m.ring_.size() < 3) bad(origin, "at least 3 anchors need a plane direction");
  for (std::size_t k = 0; k < m.ring_.size(); ++k) {
    const AffectPoint p = m.anchors_[static_cast<std::size_t>(m.ring_[k])].plane;
    const AffectPoint q = m.anchors_[static_cast<std::size_t>(m.ring_[(k + 1) % m.ring_.size()])].plane;
    if (cross(p, q).z <= 1e-9) {
      bad(origin, "plane anchors '" + m.anchors_[static_cast<std::size_t>(m.ring_[k])].name + "' and '" +
                      m.anchors_[static_cast<std::size_t>(m.ring_[(k + 1) % m.ring_.size()])].name +
                      "' are less than 180 degrees apart in the wrong order or coincide: directions must surround the origin");
    }
  }

  // 3D: faces of the convex hull of the anchors' unit directions (it must enclose the origin).
  const std::size_t n = m.anchors_.size();
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      for (std::size_t k = j + 1; k < n; ++k) {
        const AffectPoint a = m.anchors_[i].ball, b = m.anchors_[j].ball, c = m.anchors_[k].ball;
        AffectPoint normal = cross(b - a, c - a);
        if (radius(normal) < 1e-9) continue;
        const double offset = dot(normal, a);
        if (std::fabs(offset) < 1e-9) continue;  // plane through the origin: not a face
        const double sign = offset > 0 ? 1.0 : -1.0;
        bool face = true;
        for (std::size_t o = 0; o < n && face; ++o) {
          if (o == i || o == j || o == k) continue;
          face = sign * (dot(normal, m.anchors_[o].ball) - offset) < -1e-9;
        }
        if (face) m.triangles_.push_back({static_cast<int>(i), static_cast<int>(j), static_cast<int>(k)});
      }
    }
  }
  if (std::fabs(m.covered_solid_angle() - 4.0 * 3.14159265358979323846) > 1e-6) {
    bad(origin, "the anchors' 3D directions must surround the origin with no four on one hull face "
                "(their triangulation does not cover the sphere once)");
  }

  m.arkit_ = read_rig(doc, "arkit", kArkit, origin);
  m.vrm_ = read_rig(doc, "vrm", kVrm, origin);
  return m;
}

double ExpressionModel::covered_solid_angle() const {
  double total = 0.0;
  for (const auto& t : triangles_) {
    total += solid_angle(anchors_[static_cast<std::size_t>(t[0])].ball, anchors_[static_cast<std::size_t>(t[1])].ball,
                         anchors_[static_cast<std::size_t>(t[2])].ball);
  }
  return total;
}

const ExpressionAnchor* ExpressionModel::anchor(std::string_view name) const {
  for (const ExpressionAnchor& a : anchors_) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

AuVector ExpressionModel::interpolate_plane(AffectPoint d) const {
  // Find the ring sector [p, q) containing d and split d = α p + β q (α, β ≥ 0).
  const std::size_t count = ring_.size();
  for (std::size_t k = 0; k < count; ++k) {
    const ExpressionAnchor& P = anchors_[static_cast<std::size_t>(ring_[k])];
    const ExpressionAnchor& Q = anchors_[static_cast<std::size_t>(ring_[(k + 1) % count])];
    const double det = cross(P.plane, Q.plane).z;
    const double alpha = cross(d, Q.plane).z / det;
    const double beta = cross(P.plane, d).z / det;
    if (alpha >= -1e-12 && beta >= -1e-12) {
      const double sum = std::max(alpha, 0.0) + std::max(beta, 0.0);
      const double w[2] = {std::max(alpha, 0.0) / sum, std::max(beta, 0.0) / sum};
      const AuVector* protos[2] = {&P.prototype, &Q.prototype};
      return blend(protos, w, 2);
    }
  }
  throw Error(ErrorKind::Internal, "expression ring does not cover direction " + to_string(d));
}

AuVector ExpressionModel::interpolate_ball(AffectPoint d) const {
  for (const auto& t : triangles_) {
    const AffectPoint a = anchors_[static_cast<std::size_t>(t[0])].ball;
    const AffectPoint b = anchors_[static_cast<std::size_t>(t[1])].ball;
    const AffectPoint c = anchors_[static_cast<std::size_t>(t[2])].ball;
    const double det = det3(a, b, c);  // d = α a + β b + γ c by Cramer's rule
    const double alpha = det3(d, b, c) / det, beta = det3(a, d, c) / det, gamma = det3(a, b, d) / det;
    if (alpha >= -1e-12 && beta >= -1e-12 && gamma >= -1e-12) {
      const double s = std::max(alpha, 0.0) + std::max(beta, 0.0) + std::max(gamma, 0.0);
      const double w[3] = {std::max(alpha, 0.0) / s, std::max(beta, 0.0) / s, std::max(gamma, 0.0) / s};
      const AuVector* protos[3] = {&anchors_[static_cast<std::size_t>(t[0])].prototype,
                                   &anchors_[static_cast<std::size_t>(t[1])].prototype,
                                   &anchors_[static_cast<std::size_t>(t[2])].prototype};
      return blend(protos, w, 3);
    }
  }
  throw Error(ErrorKind::Internal, "expression triangulation does not cover direction " + to_string(d));
}

AuVector ExpressionModel::action_units(AffectPoint p, Space space) const {
  require_finite(p, "affect point");
  p = clamp_to_unit(p, space);
  const double r = radius(p, space);
  if (r < 1e-12) return AuVector{};
  const AffectPoint d = (1.0 / r) * p;
  AuVector aus = space == Space::Plane ? interpolate_plane(d) : interpolate_ball(d);
  for (float& x : aus) x = static_cast<float>(std::clamp(r * x, 0.0, 1.0));
  return aus;
}

ArkitVector ExpressionModel::arkit(const AuVector& aus) const {
  for (float x : aus) require_finite(x, "AU intensity");
  return apply_rig<kArkitCount>(arkit_, aus);
}

VrmVector ExpressionModel::vrm(const AuVector& aus) const {
  for (float x : aus) require_finite(x, "AU intensity");
  return apply_rig<kVrmCount>(vrm_, aus);
}

}  // namespace circumplex
