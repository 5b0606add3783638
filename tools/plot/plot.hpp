// tools/plot/plot.hpp — small drawing helpers over OpenCV for the pictures the CLI writes.
//
// Images are BGR cv::Mat. write_image_atomic never leaves a half-written file under the
// final name. LabelPlacer puts text next to points where it overlaps least.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace circumplex::plot {

/// Writes `image` to `path` (format from the extension) via a temporary file and rename,
/// creating parent directories. Throws circumplex::Error(Io) naming the path on failure.
void write_image_atomic(const std::string& path, const cv::Mat& image);

/// Draws anti-aliased text with its top-left corner at `top_left`; returns its box.
cv::Rect draw_text(cv::Mat& image, const std::string& text, cv::Point top_left, double scale,
                   cv::Scalar colour, int thickness = 1);
/// Size of `text` as draw_text would draw it.
cv::Size text_size(const std::string& text, double scale, int thickness = 1);
/// Draws text centred on `centre`.
void draw_text_centred(cv::Mat& image, const std::string& text, cv::Point centre, double scale,
                       cv::Scalar colour, int thickness = 1);
/// An arrow from a to b with an anti-aliased head.
void draw_arrow(cv::Mat& image, cv::Point2d a, cv::Point2d b, cv::Scalar colour, int thickness = 2);

/// Greedy placement of point labels: tries positions around each anchor and keeps the one
/// that overlaps least with everything placed (and every marked obstacle) so far.
class LabelPlacer {
 public:
  explicit LabelPlacer(cv::Size canvas) : canvas_(canvas) {}
  /// Marks a region labels should avoid (a dot, a title).
  void block(cv::Rect r) { taken_.push_back(r); }
  /// Chooses where `text` goes beside `anchor` (at least `gap` px away); blocks it; returns
  /// the top-left corner for draw_text. `outward` is the preferred direction (may be 0,0).
  cv::Point place(const std::string& text, cv::Point2d anchor, double scale, int gap,
                  cv::Point2d outward, int thickness = 1);

 private:
  cv::Size canvas_;
  std::vector<cv::Rect> taken_;
};

}  // namespace circumplex::plot
