// circumplex/expression.hpp — affect point → FACS action units → rig outputs.
//
// The expression model turns (v, a, z) into the intensities of 17 FACS action units and
// those into the 52 ARKit blendshape weights and the 18 VRM 1.0 expression presets. The
// same model drives the procedural face renderer (training data) and the plugin's rig
// outputs, so the two agree by construction.
//
// How AUs are made: anchors are directions in the affect space (each atlas emotion's
// direction, plus a few modulators such as low arousal → drooping lids), each with an
// AU prototype. For a point p = r·d (|d| = 1) the AUs are r · A(d), where A interpolates
// the anchors' prototypes piecewise-linearly over the circle of directions (2D) or over
// a triangulation of the sphere of directions (3D). Hence: zero at neutral, continuous,
// the prototype exactly at r = 1 on an anchor's direction, and non-decreasing along rays.
// All tables live in assets/expression.json.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "circumplex/affect.hpp"
#include "circumplex/atlas.hpp"

namespace circumplex {

constexpr int kAuCount = 17;     ///< OpenFace's 17 AUs + eye closure (43), see au_numbers()
constexpr int kArkitCount = 52;  ///< Apple ARKit face blendshapes
constexpr int kVrmCount = 18;    ///< VRM 1.0 expression presets

using AuVector = std::array<float, kAuCount>;
using ArkitVector = std::array<float, kArkitCount>;
using VrmVector = std::array<float, kVrmCount>;

/// FACS numbers in AuVector order: 1 2 4 5 6 7 9 10 12 14 15 17 20 23 25 26 43.
const std::array<int, kAuCount>& au_numbers();
/// "AU12"-style key for index i (0 … 16).
const char* au_key(int i);
/// FACS name for index i, e.g. "lip corner puller".
const char* au_description(int i);
/// Index of an AU given as "AU12", "au12" or "12"; -1 when not one of the 17.
int au_index(std::string_view key);
/// ARKit blendshape names in ArkitVector order (Apple's order).
const std::array<const char*, kArkitCount>& arkit_names();
/// VRM 1.0 preset names in VrmVector order.
const std::array<const char*, kVrmCount>& vrm_names();

/// One anchor direction with its AU prototype.
struct ExpressionAnchor {
  std::string name;      ///< atlas emotion or modulator name
  AffectPoint plane;     ///< unit direction in the plane
  AffectPoint ball;      ///< unit direction in the ball
  AuVector prototype{};  ///< AU intensities at radius 1 in this direction
};

/// A clamped linear map from AUs to named outputs: out = clamp(bias + Σ w·AU, 0, 1).
struct LinearRig {
  std::vector<float> bias;                  ///< one per output
  std::vector<std::array<float, kAuCount>> weights;  ///< one row per output
};

/// The expression model. Immutable after loading; safe to share between threads.
class ExpressionModel {
 public:
  /// The model embedded from assets/expression.json over Atlas::builtin().
  static const ExpressionModel& builtin();
  /// Parses and validates JSON text; `origin` names it in errors. Emotion anchors take
  /// their directions from `atlas`.
  static ExpressionModel parse(std::string_view json_text, const std::string& origin,
                               const Atlas& atlas);
  static ExpressionModel load(const std::string& path, const Atlas& atlas);

  /// AU intensities in [0, 1] at p in `space`. Throws Error for non-finite p; points
  /// outside the unit disk/ball are clamped onto it first.
  AuVector action_units(AffectPoint p, Space space) const;
  /// ARKit-52 weights in [0, 1] from AU intensities.
  ArkitVector arkit(const AuVector& aus) const;
  /// VRM 1.0 preset weights in [0, 1] from AU intensities.
  VrmVector vrm(const AuVector& aus) const;

  const std::vector<ExpressionAnchor>& anchors() const { return anchors_; }
  /// The anchor named `name`, or nullptr.
  const ExpressionAnchor* anchor(std::string_view name) const;
  /// Number of triangles covering the sphere of directions (3D interpolation).
  std::size_t triangle_count() const { return triangles_.size(); }
  /// Sum of the triangles' solid angles; 4π when the sphere is covered exactly once.
  double covered_solid_angle() const;

 private:
  AuVector interpolate_plane(AffectPoint unit) const;
  AuVector interpolate_ball(AffectPoint unit) const;

  std::vector<ExpressionAnchor> anchors_;
  std::vector<int> ring_;                       // anchor indices sorted by plane angle
  std::vector<std::array<int, 3>> triangles_;   // faces of the anchors' convex hull (ball)
  LinearRig arkit_, vrm_;
};

}  // namespace circumplex
