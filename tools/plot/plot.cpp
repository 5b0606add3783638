#include "plot.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "circumplex/error.hpp"
#include "circumplex/files.hpp"

namespace circumplex::plot {
namespace fs = std::filesystem;

void write_image_atomic(const std::string& path, const cv::Mat& image) {
  std::vector<unsigned char> bytes;
  bool ok = false;
  try {
    ok = cv::imencode(fs::path(path).extension().string(), image, bytes);
  } catch (const cv::Exception& e) {
    throw Error(ErrorKind::Io, path + ": cannot encode the image (" + e.what() + ")");
  }
  if (!ok) throw Error(ErrorKind::Io, path + ": cannot encode the image (unsupported extension)");
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

cv::Size text_size(const std::string& text, double scale, int thickness) {
  int baseline = 0;
  cv::Size s = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &baseline);
  return {s.width, s.height + baseline};
}

cv::Rect draw_text(cv::Mat& image, const std::string& text, cv::Point top_left, double scale,
                   cv::Scalar colour, int thickness) {
  int baseline = 0;
  const cv::Size s = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &baseline);
  cv::putText(image, text, {top_left.x, top_left.y + s.height}, cv::FONT_HERSHEY_SIMPLEX, scale, colour,
              thickness, cv::LINE_AA);
  return {top_left.x, top_left.y, s.width, s.height + baseline};
}

void draw_text_centred(cv::Mat& image, const std::string& text, cv::Point centre, double scale,
                       cv::Scalar colour, int thickness) {
  const cv::Size s = text_size(text, scale, thickness);
  draw_text(image, text, {centre.x - s.width / 2, centre.y - s.height / 2}, scale, colour, thickness);
}

void draw_arrow(cv::Mat& image, cv::Point2d a, cv::Point2d b, cv::Scalar colour, int thickness) {
  constexpr int kShift = 4;  // sub-pixel precision
  auto fixed = [](cv::Point2d p) { return cv::Point(cvRound(p.x * 16), cvRound(p.y * 16)); };
  cv::line(image, fixed(a), fixed(b), colour, thickness, cv::LINE_AA, kShift);
  const cv::Point2d d = b - a;
  const double len = std::hypot(d.x, d.y);
  if (len < 1e-6) return;
  const cv::Point2d u = d / len, n(-u.y, u.x);
  const double head = 6.0 + 3.0 * thickness;
  const cv::Point tri[3] = {fixed(b), fixed(b - head * u + 0.5 * head * n), fixed(b - head * u - 0.5 * head * n)};
  cv::fillConvexPoly(image, tri, 3, colour, cv::LINE_AA, kShift);
}

cv::Point LabelPlacer::place(const std::string& text, cv::Point2d anchor, double scale, int gap,
                             cv::Point2d outward, int thickness) {
  const cv::Size s = text_size(text, scale, thickness);
  const double out_len = std::hypot(outward.x, outward.y);
  const cv::Point2d pref = out_len > 1e-9 ? outward / out_len : cv::Point2d(1, 0);
  cv::Rect best;
  double best_cost = 1e300;
  // Candidates: 16 directions at three distances; the box's near side faces the anchor.
  for (int ring = 0; ring < 3; ++ring) {
    const double dist = gap + ring * 0.8 * s.height;
    for (int k = 0; k < 16; ++k) {
      const double ang = k * 3.14159265358979 / 8.0;
      const cv::Point2d dir(std::cos(ang), std::sin(ang));
      const cv::Point2d c(anchor.x + dir.x * (dist + 0.5 * s.width), anchor.y + dir.y * (dist + 0.5 * s.height));
      const cv::Rect box(cvRound(c.x - s.width / 2.0), cvRound(c.y - s.height / 2.0), s.width, s.height);
      double cost = ring * 40.0 + (1.0 - (dir.x * pref.x + dir.y * pref.y)) * 25.0;
      const cv::Rect inside = box & cv::Rect(0, 0, canvas_.width, canvas_.height);
      cost += (box.area() - inside.area()) * 10.0;
      for (const cv::Rect& t : taken_) cost += (box & t).area() * 4.0;
      if (cost < best_cost) {
        best_cost = cost;
        best = box;
      }
    }
  }
  taken_.push_back(best);
  return best.tl();
}

}  // namespace circumplex::plot
