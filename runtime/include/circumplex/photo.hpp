// circumplex/photo.hpp — a photo of a person as a model's identity.
//
// Every photo entry point (`render --image`, the viewer's Image field and drop target,
// cpx_set_identity_image) goes through prepare_photo: it finds the face with the same detector
// as `prep` (face_detect.hpp: OpenCV's frontal-face cascade; the largest face when there are
// several, and it says so), levels the eyes when the eye cascades find them, then rotates,
// scales and crops the photo so that the face box lands where the package's training faces have
// theirs (Framing, model_package.hpp). Then the package decides the route (a fact of its
// training data, Framing::procedural):
//   - photos (a model trained on `prep`'s photos): the aligned photo, matched to the training
//     faces' luminance, is what the encoder reads;
//   - procedural (a model trained on `synth`'s painted people): the photo is fitted to the
//     painted person who looks most like it (fit_procedural_person: background, clothing, skin,
//     hair, face shape, facial hair, glasses, age), and that person, painted at neutral, is what
//     the encoder reads. The model then draws someone it knows how to draw, and the photo's own
//     expression never reaches the identity.
// The result is an image of the model's size that the encoder reads like its own faces. A package without
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

#include <optional>

#include "circumplex/facegen.hpp"
#include "circumplex/model_package.hpp"

namespace circumplex {

/// Largest photo side prepare_photo accepts.
constexpr int kMaxPhotoSide = 8192;

struct PreparedPhoto {
  std::vector<std::uint8_t> rgb;   ///< size × size × 3, row-major: what the encoder reads
  std::vector<std::uint8_t> aligned_photo;  ///< size × size × 3: the photo as aligned, before the route (empty: centre square)
  int size = 0;                    ///< the package's image size
  bool aligned = false;            ///< false: centre square (no framing facts in the package)
  double face_x = 0, face_y = 0, face_side = 0;  ///< the face box found, in photo pixels (of the photo turned upright, when it was; see notes)
  double roll_deg = 0;             ///< the eye line's tilt that was levelled (0 without eyes)
  int faces = 0;                   ///< faces the detector found
  std::vector<std::string> notes;  ///< choices made on the user's behalf, one sentence each
  std::optional<facegen::Identity> person;  ///< the procedural route: the painted person fitted to the photo
};

/// Prepares `pixels` (RGB or RGBA, rows `stride` bytes apart) for `package`'s encoder. Throws
/// circumplex::Error naming `origin` for null pixels, sizes outside 8 … kMaxPhotoSide, other
/// channel counts, a stride shorter than a row, or a photo with no face in it.
PreparedPhoto prepare_photo(const std::uint8_t* pixels, int width, int height, int channels, std::size_t stride,
                            const ModelPackage& package, const std::string& origin);

/// The painted person (facegen.hpp) who looks most like `rgb`, a size² RGB face aligned to a
/// procedural package's framing: coordinate descent over the factors a photo shows (background,
/// clothing, skin, hair, face shape, facial hair, glasses, age, light), each chosen among a few
/// values by the Lab distance of the blurred, painted neutral face to the photo. Deterministic.
facegen::Identity fit_procedural_person(const std::uint8_t* rgb, int size);

/// A photo file's pixels, 8-bit RGB.
struct PhotoFile {
  std::vector<std::uint8_t> rgb;  ///< width × height × 3, row-major
  int width = 0, height = 0;
};
/// Reads a photo file for prepare_photo: any format OpenCV decodes (PNG, JPEG, …), greyscale,
/// CMYK and 16-bit files as 8-bit colour. Before decoding it refuses, naming `path`: files over
/// 256 MiB, PNG/JPEG headers with a side over kMaxPhotoSide (no 20000² image is decoded to be
/// refused), and PNG/JPEG files whose end is missing (OpenCV would fill the rest with grey).
PhotoFile read_photo_file(const std::string& path);

/// Measures the framing of training faces: `rgb` holds `count` images of `side`² RGB pixels.
/// Faces the detector misses are skipped; throws Error when it finds fewer than a fifth.
Framing measure_framing(const std::uint8_t* rgb, int count, int side);

}  // namespace circumplex
