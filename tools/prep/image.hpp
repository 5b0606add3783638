// tools/prep/image.hpp — reading source images defensively, cropping faces, CLAHE.
//
// OpenCV's decoders print a warning and hand back a partial picture for a truncated JPEG, so
// the file's bytes are checked before decoding: a JPEG must have its end-of-image marker
// (FF D9) after its last start-of-scan (FF DA) — entropy-coded data stuffs every FF, so neither
// marker can occur inside a scan, and an EXIF thumbnail's own EOI comes before the main scan —
// and a PNG must end with its IEND chunk. Such files are "truncated"; files no decoder can read
// are "corrupt"; absent files are "missing_file".
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <string_view>

namespace circumplex::prep {

/// Outcome of load_image: an image, or a reject reason with a detail.
struct LoadedImage {
  cv::Mat bgr;         ///< CV_8UC3, empty when `reason` is set
  std::string reason;  ///< empty, "missing_file", "truncated" or "corrupt"
  std::string detail;
};

/// Reads and decodes `path` as 8-bit BGR (EXIF orientation ignored, so that pixel coordinates
/// match the annotation's face box and landmarks). Never throws for bad files.
LoadedImage load_image(const std::string& path);

/// True when the JPEG bytes end properly (EOI after the last SOS). False for non-JPEG bytes.
bool jpeg_complete(std::string_view bytes);
/// True when the PNG bytes end with an IEND chunk.
bool png_complete(std::string_view bytes);

/// The square around `face`'s centre with side max(w, h)·(1 + 2·margin), cut from `bgr`
/// (parts outside the picture are filled by repeating its border) and resized to size×size
/// (INTER_AREA when shrinking, INTER_CUBIC when enlarging).
cv::Mat square_crop(const cv::Mat& bgr, const cv::Rect2d& face, double margin, int size);
/// The square crop_square would cut, in source pixels (may extend past the picture).
cv::Rect square_box(const cv::Rect2d& face, double margin);

/// CLAHE on the luminance only: BGR → CIE Lab, contrast-limited adaptive histogram
/// equalisation of L (clip limit 2.0, 8×8 tiles), a and b untouched, → BGR.
cv::Mat clahe_luminance(const cv::Mat& bgr);

/// Builds OpenCV's lazily made colour-conversion tables on the calling thread. OpenCV 4.6
/// fills its Lab tables on first use without a lock, so two workers converting at once can
/// both build them (a race and a leak); call this once before starting threads.
void warm_up_opencv();

}  // namespace circumplex::prep
