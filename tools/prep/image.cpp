#include "prep/image.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace circumplex::prep {
namespace {

bool starts_with(std::string_view bytes, std::string_view magic) {
  return bytes.size() >= magic.size() && bytes.substr(0, magic.size()) == magic;
}

}  // namespace

bool jpeg_complete(std::string_view bytes) {
  if (!starts_with(bytes, "\xFF\xD8")) return false;
  // Last SOS (FF DA) and last EOI (FF D9): inside entropy-coded data every FF is followed by
  // 00 or a restart marker (D0–D7), so the file's final scan can only be closed by an EOI.
  std::size_t last_sos = std::string_view::npos, last_eoi = std::string_view::npos;
  for (std::size_t i = 2; i + 1 < bytes.size(); ++i) {
    if (static_cast<unsigned char>(bytes[i]) != 0xFF) continue;
    const auto m = static_cast<unsigned char>(bytes[i + 1]);
    if (m == 0xDA)
      last_sos = i;
    else if (m == 0xD9)
      last_eoi = i;
  }
  return last_sos != std::string_view::npos && last_eoi != std::string_view::npos && last_eoi > last_sos;
}

bool png_complete(std::string_view bytes) {
  if (!starts_with(bytes, "\x89PNG\r\n\x1A\n")) return false;
  // IEND: length 0, type "IEND", CRC AE 42 60 82 — the last 12 bytes, possibly followed by junk
  // some writers append; look for it in the tail.
  const std::size_t tail = std::min<std::size_t>(bytes.size(), 256);
  return bytes.substr(bytes.size() - tail).find("IEND\xAE\x42\x60\x82") != std::string_view::npos;
}

LoadedImage load_image(const std::string& path) {
  LoadedImage out;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    out.reason = "missing_file";
    out.detail = std::string("cannot open (") + std::strerror(errno) + ")";
    return out;
  }
  if (!S_ISREG(st.st_mode)) {
    out.reason = "missing_file";
    out.detail = "not a regular file";
    return out;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.reason = "missing_file";
    out.detail = "cannot open for reading";
    return out;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    out.reason = "corrupt";
    out.detail = "read error";
    return out;
  }
  if (bytes.empty()) {
    out.reason = "truncated";
    out.detail = "empty file";
    return out;
  }
  if (starts_with(bytes, "\xFF\xD8") && !jpeg_complete(bytes)) {
    out.reason = "truncated";
    out.detail = "JPEG without its end-of-image marker (FF D9) after the last scan";
    return out;
  }
  if (starts_with(bytes, "\x89PNG") && !png_complete(bytes)) {
    out.reason = "truncated";
    out.detail = "PNG without its IEND chunk";
    return out;
  }
  cv::Mat decoded;
  try {
    const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1, bytes.data());
    decoded = cv::imdecode(raw, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    out.reason = "corrupt";
    out.detail = std::string("decoder error: ") + e.what();
    return out;
  }
  if (decoded.empty() || decoded.type() != CV_8UC3) {
    out.reason = "corrupt";
    out.detail = "no decoder could read it (" + std::to_string(bytes.size()) + " bytes)";
    return out;
  }
  out.bgr = decoded;
  return out;
}

cv::Rect square_box(const cv::Rect2d& face, double margin) {
  const double side = std::max(face.width, face.height) * (1.0 + 2.0 * margin);
  const double cx = face.x + face.width / 2.0, cy = face.y + face.height / 2.0;
  const int s = std::max(1, static_cast<int>(std::lround(side)));
  return {static_cast<int>(std::lround(cx - s / 2.0)), static_cast<int>(std::lround(cy - s / 2.0)), s, s};
}

cv::Mat square_crop(const cv::Mat& bgr, const cv::Rect2d& face, double margin, int size) {
  const cv::Rect box = square_box(face, margin);
  const cv::Rect inside = box & cv::Rect(0, 0, bgr.cols, bgr.rows);
  cv::Mat square;
  if (inside == box) {
    square = bgr(box);
  } else if (inside.area() > 0) {
    cv::copyMakeBorder(bgr(inside), square, inside.y - box.y, box.br().y - inside.br().y, inside.x - box.x,
                       box.br().x - inside.br().x, cv::BORDER_REPLICATE);
  } else {
    square = cv::Mat(box.size(), CV_8UC3, cv::Scalar::all(0));
  }
  cv::Mat out;
  cv::resize(square, out, cv::Size(size, size), 0, 0, square.cols > size ? cv::INTER_AREA : cv::INTER_CUBIC);
  return out;
}

cv::Mat clahe_luminance(const cv::Mat& bgr) {
  cv::Mat lab;
  cv::cvtColor(bgr, lab, cv::COLOR_BGR2Lab);
  cv::Mat channels[3];
  cv::split(lab, channels);
  const cv::Ptr<cv::CLAHE> clahe = cv::createCLAHE(2.0, cv::Size(8, 8));
  cv::Mat l;
  clahe->apply(channels[0], l);
  channels[0] = l;
  cv::merge(channels, 3, lab);
  cv::Mat out;
  cv::cvtColor(lab, out, cv::COLOR_Lab2BGR);
  return out;
}

void warm_up_opencv() {
  const cv::Mat pixel(8, 8, CV_8UC3, cv::Scalar(40, 120, 200));
  (void)clahe_luminance(pixel);
}

}  // namespace circumplex::prep
