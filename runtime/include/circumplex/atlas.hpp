// circumplex/atlas.hpp — the named emotions and where they sit in the affect space.
//
// The atlas holds the 7 basic emotions (with neutral), contempt, and C2A2's 13 compound
// emotions, each with a 2D point (v, a) and a 3D point (v, a, z). Compound "X-ly-Y" points
// are the direction of p_X + p_Y with the mean radius of the two; the loader checks that.
// Coordinates are the sources' values: in 3D, happy (r = 1.061) and happily-fearful
// (r = 1.007) lie just outside the unit ball; the cursor never leaves the ball, and
// at_intensity() gives any emotion's direction at a radius within it.
// Typical use:
//   const Atlas& atlas = Atlas::builtin();
//   const Emotion& e = atlas.find("joy");                 // aliases, any case
//   const Emotion& n = atlas.nearest({0.7, 0.5, 0}, Space::Plane);
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "circumplex/affect.hpp"

namespace circumplex {

/// Basic (incl. neutral and contempt) or compound ("happily-sad").
enum class EmotionKind { Basic, Compound };

/// One named emotion of the atlas.
struct Emotion {
  std::string name;                  ///< canonical lower-case name, e.g. "happy", "happily-sad"
  EmotionKind kind = EmotionKind::Basic;
  AffectPoint plane;                 ///< 2D coordinates (z = 0)
  AffectPoint ball;                  ///< 3D coordinates
  std::string source;                ///< where the coordinates come from
  std::vector<std::string> aliases;  ///< other accepted names (lower-case)
  std::string first, second;         ///< components of a compound, empty for basics
  bool in_c2a2 = true;               ///< one of C2A2's 20 classes (contempt is not)

  /// The point in `space`.
  AffectPoint point(Space space) const { return space == Space::Plane ? plane : ball; }
};

/// The set of named emotions. Immutable after loading; safe to share between threads.
class Atlas {
 public:
  /// The atlas embedded from assets/atlas.json (parsed once, on first use).
  static const Atlas& builtin();
  /// Loads and validates a file; throws Error naming the file and the problem.
  static Atlas load(const std::string& path);
  /// Parses and validates JSON text; `origin` names it in error messages.
  static Atlas parse(std::string_view json_text, const std::string& origin);

  const std::vector<Emotion>& emotions() const { return emotions_; }
  /// Finds by name or alias, case-insensitive, accepting '-', '_' or ' ' between the parts
  /// of a compound; throws Error listing the closest valid names when unknown.
  const Emotion& find(std::string_view name) const;
  /// Like find, but returns nullptr when unknown.
  const Emotion* try_find(std::string_view name) const;
  /// The emotion nearest to p (Euclidean) in `space`; compounds optional.
  const Emotion& nearest(AffectPoint p, Space space, bool include_compounds = true) const;
  /// Up to `count` valid names closest in spelling to `name` (for error messages).
  std::vector<std::string> suggest(std::string_view name, std::size_t count = 3) const;

  /// The emotion's direction at radius `intensity` (0 … 1) in `space`; neutral → origin.
  AffectPoint at_intensity(const Emotion& e, double intensity, Space space) const;

 private:
  std::vector<Emotion> emotions_;
};

/// Compound rule: direction of p + q with the mean of their radii (the origin if p = −q).
AffectPoint compound_point(AffectPoint p, AffectPoint q, Space space);

}  // namespace circumplex
