// circumplex/photo.hpp — a photo of a person as a model's identity.
//
// Every photo entry point (`render --image`, the viewer's Image field and drop target,
// cpx_set_identity_image) goes through prepare_photo: it finds the face with the same detector
// as `prep` (face_detect.hpp: OpenCV's frontal-face cascade; the largest face when there are
// several, and it says so), levels the eyes when the eye cascades find them, then rotates,
// scales and crops the photo so that the face box lands where the package's training faces have
// theirs (Framing, model_package.hpp) and matches the training faces' luminance. The result is
// an image of the model's size that the encoder reads like its own faces. A package without
// framing facts (made before circumplex 0.2) gets the photo's centre square, as before, and a
// note that says so.
//
//   const PreparedPhoto p = prepare_photo(rgb, w, h, 3, w * 3, package, "me.jpg");
//   identity = generator.encode(p.rgb.data(), p.size, p.size, 3);
//   for (const std::string& n : p.notes) log(n);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "circumplex/model_package.hpp"

namespace circumplex {

/// Largest photo side prepare_photo accepts.
constexpr int kMaxPhotoSide = 8192;

struct PreparedPhoto {
  std::vector<std::uint8_t> rgb;   ///< size × size × 3, row-major
  int size = 0;                    ///< the package's image size
  bool aligned = false;            ///< false: centre square (no framing facts in the package)
  double face_x = 0, face_y = 0, face_side = 0;  ///< the face box found, in photo pixels
  double roll_deg = 0;             ///< the eye line's tilt that was levelled (0 without eyes)
  int faces = 0;                   ///< faces the detector found
  std::vector<std::string> notes;  ///< choices made on the user's behalf, one sentence each
};

/// Prepares `pixels` (RGB or RGBA, rows `stride` bytes apart) for `package`'s encoder. Throws
/// circumplex::Error naming `origin` for null pixels, sizes outside 8 … kMaxPhotoSide, other
/// channel counts, a stride shorter than a row, or a photo with no face in it.
PreparedPhoto prepare_photo(const std::uint8_t* pixels, int width, int height, int channels, std::size_t stride,
                            const ModelPackage& package, const std::string& origin);

/// Measures the framing of training faces: `rgb` holds `count` images of `side`² RGB pixels.
/// Faces the detector misses are skipped; throws Error when it finds fewer than a fifth.
Framing measure_framing(const std::uint8_t* rgb, int count, int side);

}  // namespace circumplex
