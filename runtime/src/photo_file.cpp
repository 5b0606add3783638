// Photo files for prepare_photo: the checks that come before decoding (size, sides, a cut-off
// end), then OpenCV's decoder, which turns greyscale, CMYK, 16-bit and EXIF-rotated files
// into 8-bit colour.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <string>
#include <utility>

#include "circumplex/error.hpp"
#include "circumplex/photo.hpp"

namespace circumplex {
namespace {

constexpr std::size_t kMaxPhotoFileBytes = std::size_t{256} << 20;

unsigned be16(const std::string& b, std::size_t i) { return (static_cast<unsigned char>(b[i]) << 8) | static_cast<unsigned char>(b[i + 1]); }
std::uint32_t be32(const std::string& b, std::size_t i) { return (std::uint32_t{be16(b, i)} << 16) | be16(b, i + 2); }

bool is_png(const std::string& b) { return b.size() >= 24 && b.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0; }
bool is_jpeg(const std::string& b) { return b.size() >= 4 && static_cast<unsigned char>(b[0]) == 0xFF && static_cast<unsigned char>(b[1]) == 0xD8; }

/// Width and height from a PNG's IHDR or a JPEG's first frame header; nothing for other formats
/// or when the header cannot be found.
std::optional<std::pair<std::uint32_t, std::uint32_t>> header_sides(const std::string& b) {
  if (is_png(b)) return std::make_pair(be32(b, 16), be32(b, 20));
  if (!is_jpeg(b)) return std::nullopt;
  for (std::size_t i = 2; i + 9 < b.size();) {
    if (static_cast<unsigned char>(b[i]) != 0xFF) return std::nullopt;
    const unsigned marker = static_cast<unsigned char>(b[i + 1]);
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame) return std::make_pair(std::uint32_t{be16(b, i + 7)}, std::uint32_t{be16(b, i + 5)});
    i += 2 + be16(b, i + 2);
  }
  return std::nullopt;
}

/// True when a PNG lacks its IEND chunk or a JPEG its end-of-image marker (trailing padding
/// after the marker is allowed): a file cut off in a copy or a download.
bool truncated(const std::string& b) {
  if (is_png(b)) return b.size() < 12 || b.find("IEND", b.size() - 12) == std::string::npos;
  if (!is_jpeg(b)) return false;
  const std::size_t tail = b.size() > 4096 ? b.size() - 4096 : 0;
  const std::size_t eoi = b.rfind("\xFF\xD9");
  return eoi == std::string::npos || eoi < tail;
}

}  // namespace

PhotoFile read_photo_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(ErrorKind::Io, path + ": cannot open the image");
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg()));
  if (size > kMaxPhotoFileBytes) {
    throw Error(ErrorKind::InvalidArgument, path + ": the file is " + std::to_string(size >> 20) + " MiB; photos may be at most " +
                                                std::to_string(kMaxPhotoFileBytes >> 20) + " MiB");
  }
  std::string bytes(size, '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) throw Error(ErrorKind::Io, path + ": cannot read the image");
  if (const auto sides = header_sides(bytes)) {
    if (sides->first > static_cast<std::uint32_t>(kMaxPhotoSide) || sides->second > static_cast<std::uint32_t>(kMaxPhotoSide)) {
      throw Error(ErrorKind::InvalidArgument, path + ": the image is " + std::to_string(sides->first) + "x" + std::to_string(sides->second) +
                                                  " pixels; photos must be 8.." + std::to_string(kMaxPhotoSide) + " pixels per side");
    }
  }
  if (truncated(bytes)) throw Error(ErrorKind::BadData, path + ": the image is truncated (its end is missing); copy or download it again");
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8U, bytes.data());
  const cv::Mat bgr = cv::imdecode(raw, cv::IMREAD_COLOR);  // 8-bit BGR whatever the file held; EXIF orientation applied
  if (bgr.empty()) throw Error(ErrorKind::BadData, path + ": cannot decode the image (not a format OpenCV reads, or damaged)");
  PhotoFile out;
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  out.width = rgb.cols;
  out.height = rgb.rows;
  out.rgb.assign(rgb.data, rgb.data + rgb.total() * 3);
  return out;
}

}  // namespace circumplex
