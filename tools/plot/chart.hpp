// tools/plot/chart.hpp — line charts (loss curves, metric curves) as images.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace circumplex::plot {

/// One line of a chart.
struct Series {
  std::string name;
  std::vector<double> x, y;
  cv::Scalar colour;  ///< BGR
};

/// Draws the series on shared axes with ticks, labels and a legend. `log_y` plots log10(y)
/// (non-positive values are skipped). Returns a `width`×`height` BGR image.
cv::Mat line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                   const std::vector<Series>& series, bool log_y = false, int width = 900, int height = 520);

/// Grouped horizontal bars: one row per category, one bar per series in it (NaN: no bar,
/// "n/a" written). Values run from `x_min` to `x_max`; each bar is labelled with its value.
cv::Mat bar_chart(const std::string& title, const std::string& x_label, const std::vector<std::string>& categories,
                  const std::vector<Series>& series, double x_min, double x_max, int width = 900);

/// Tiles equally sized BGR images into a grid with `columns` columns and `gap` pixels between.
/// One square panel per name, side by side: predicted (y, clamped to ±1.2) against true (x) on
/// [-1.2, 1.2]², the diagonal, and "<title_prefix><name>: held-out R2 = …" above.
cv::Mat truth_scatter(const std::vector<std::string>& names, const std::vector<std::vector<double>>& truth,
                      const std::vector<std::vector<double>>& pred, const std::vector<double>& r2,
                      const std::string& title_prefix = "", const std::string& y_label = "predicted");

cv::Mat tile(const std::vector<cv::Mat>& images, int columns, int gap = 4, cv::Scalar background = {255, 255, 255});

}  // namespace circumplex::plot
