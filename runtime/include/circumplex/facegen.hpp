// circumplex/facegen.hpp — procedural frontal faces with ground-truth action units.
//
// The training data of circumplex, and the person a photo is fitted to (photo.hpp): a
// stylised but realistic-looking painted portrait (head, hair, neck and shoulders on a
// background) of one of many sampled people, showing the 17
// FACS action units the runtime's ExpressionModel uses (AuVector order: 1 2 4 5 6 7 9 10 12
// 14 15 17 20 23 25 26 43) as geometric deformations of brows, lids, cheeks, nose, lips and jaw.
//
//   using namespace circumplex;
//   const facegen::Identity id = facegen::sample_identity(42);          // a person
//   const AuVector aus = ExpressionModel::builtin().action_units({0.8, 0.5, 0}, Space::Plane);
//   const cv::Mat bgr = facegen::render_face(id, aus, 128);             // 128×128 CV_8UC3 BGR
//
// Everything is deterministic: sample_identity is a pure function of its seed and
// render_face of its arguments (no global RNG; safe to call from many threads at once).
// The face is drawn 2–3× larger with anti-aliased polygons, blurred masks for soft shading
// and alpha compositing, then reduced with INTER_AREA.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "circumplex/expression.hpp"

namespace circumplex::facegen {

/// One person: the identity factors of the renderer. Continuous factors are in [0, 1]
/// unless noted (0.5 is "average"); discrete ones are small integers (variants).
struct Identity {
  // Face shape
  double face_width = 0.5;     ///< narrow … wide head
  double face_length = 0.5;    ///< short … long face (eye line to chin)
  double jaw_width = 0.5;      ///< pointed … square jaw
  double chin_size = 0.5;      ///< small … prominent chin
  // Skin
  double skin_tone = 0.3;      ///< very light … very dark (along a human skin-colour curve)
  double skin_undertone = 0.5; ///< cool/pink … warm/olive
  // Hair
  int hair_style = 2;          ///< 0 bald, 1 buzz cut, 2 short side part, 3 quiff, 4 bob with fringe,
                               ///< 5 long, 6 curly/afro, 7 bun (pulled back)
  double hair_colour = 0.2;    ///< black … brown … blonde (auburn/red with hair_red)
  double hair_red = 0.0;       ///< how red/auburn the hair is
  // Brows
  double brow_thickness = 0.5; ///< thin … bushy
  double brow_arch = 0.5;      ///< straight … arched
  // Eyes
  double eye_size = 0.5;       ///< small … large
  double eye_spacing = 0.5;    ///< close … wide set
  double eye_tilt = 0.5;       ///< outer corners down … up (canthal tilt)
  int iris_colour = 0;         ///< 0 dark brown, 1 brown, 2 hazel, 3 green, 4 blue, 5 grey
  double lashes = 0.3;         ///< faint … heavy lashes / eyeliner
  // Nose
  double nose_length = 0.5;    ///< short … long
  double nose_width = 0.5;     ///< narrow … broad
  // Mouth
  double mouth_width = 0.5;    ///< narrow … wide
  double lip_fullness = 0.5;   ///< thin … full lips
  double lip_colour = 0.5;     ///< close to skin … rosy/red
  // Accessories, facial hair, age
  int glasses = 0;             ///< 0 none, 1 round, 2 rectangular, 3 thin metal
  int facial_hair = 0;         ///< 0 none, 1 stubble, 2 moustache, 3 goatee, 4 full beard
  double age = 0.3;            ///< young … old: wrinkles, nasolabial lines, grey hair
  // Picture
  double background_hue = 0.5; ///< 0 … 1 around the colour wheel
  double background_light = 0.5; ///< dark … light backdrop
  double background_gradient = 0.5; ///< flat … strong gradient / vignette
  double clothing_hue = 0.5;   ///< shirt colour around the wheel
  double clothing_light = 0.5; ///< dark … light shirt
  double light_direction = 0.5; ///< key light from the left (0) … front (0.5) … right (1)
  double head_roll = 0.5;      ///< tilted left … upright (0.5) … right (±8°)
  double head_yaw = 0.5;       ///< turned left … frontal (0.5) … right (small)
  double scale = 0.5;          ///< head size in the frame, smaller … larger (±8 %)
  double offset_x = 0.5;       ///< head position, left … right (±4 % of the frame)
  double offset_y = 0.5;       ///< head position, up … down (±3 % of the frame)
  /// Seed for fine texture (hair strands, stubble, freckle noise); part of the identity.
  std::uint64_t texture_seed = 0;
};

/// A random person, deterministic in `seed` (no global state). Factors are drawn with
/// plausible correlations (e.g. beards with short hair and wider jaws); every variant of every
/// factor occurs.
Identity sample_identity(std::uint64_t seed);

/// Renders `id` showing `aus` (each clamped to [0, 1]) as a size×size 8-bit BGR image
/// (CV_8UC3). size must be in [16, 1024]. A pure function of its arguments.
/// `draft`: painted at the output size itself, not 2–3× larger (about 5× faster, edges not
/// anti-aliased; for comparisons such as the photo fit, not for pictures).
cv::Mat render_face(const Identity& id, const circumplex::AuVector& aus, int size, bool draft = false);

/// Where the main features are drawn, in pixels of a size×size render (for tests, crops and
/// regions of interest). "left"/"right" are as seen in the image.
struct Landmarks {
  cv::Point2d eye_left, eye_right;    ///< eye centres
  cv::Point2d brow_left, brow_right;  ///< brow middles
  cv::Point2d nose_tip;
  cv::Point2d mouth_left, mouth_right, mouth_centre;  ///< lip corners, centre of the lips
  cv::Point2d chin;                   ///< bottom of the chin
  double face_unit = 0;               ///< pixels per face unit (half the face width ≈ 1 unit)
};
/// The landmarks of render_face(id, aus, size).
Landmarks face_landmarks(const Identity& id, const circumplex::AuVector& aus, int size);

/// One identity factor, for labels and for tests that vary a single factor.
struct FactorInfo {
  const char* name;  ///< column name, e.g. "skin_tone"
  double lo, hi;     ///< range of values
  bool discrete;     ///< integer variants lo … hi
};
/// All identity factors in a fixed order (texture_seed is not one of them).
const std::vector<FactorInfo>& identity_factors();
/// The value of factor i (index into identity_factors()) as a number.
double factor_value(const Identity& id, std::size_t i);
/// Sets factor i (clamped to its range; rounded for discrete factors).
void set_factor(Identity& id, std::size_t i, double value);
/// Index of the factor named `name`, or -1.
int factor_index(const std::string& name);

}  // namespace circumplex::facegen
