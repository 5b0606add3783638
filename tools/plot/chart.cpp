#include "chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "plot.hpp"

namespace circumplex::plot {
namespace {
const cv::Scalar kInk(40, 40, 40), kGrid(225, 225, 225), kMuted(120, 120, 120);

std::string tick_text(double v, bool log_y) {
  char buf[32];
  if (log_y) std::snprintf(buf, sizeof buf, "%.3g", std::pow(10.0, v));
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}
}  // namespace

cv::Mat line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                   const std::vector<Series>& series, bool log_y, int width, int height) {
  cv::Mat img(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const int left = 80, right = 30, top = 56, bottom = 60;
  const cv::Rect area(left, top, width - left - right, height - top - bottom);
  draw_text(img, title, {left, 14}, 0.7, kInk, 2);

  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const Series& s : series) {
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      const double y = log_y ? (s.y[i] > 0 ? std::log10(s.y[i]) : NAN) : s.y[i];
      if (!std::isfinite(y) || !std::isfinite(s.x[i])) continue;
      x0 = std::min(x0, s.x[i]); x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, y); y1 = std::max(y1, y);
    }
  }
  if (x0 > x1) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
  if (x1 - x0 < 1e-12) x1 = x0 + 1;
  if (y1 - y0 < 1e-12) { y0 -= 0.5; y1 += 0.5; }
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad; y1 += pad;
  auto px = [&](double x, double y) {
    return cv::Point2d(area.x + (x - x0) / (x1 - x0) * area.width, area.y + area.height - (y - y0) / (y1 - y0) * area.height);
  };
  for (int k = 0; k <= 5; ++k) {
    const double y = y0 + (y1 - y0) * k / 5.0, x = x0 + (x1 - x0) * k / 5.0;
    const cv::Point2d py = px(x0, y), pxx = px(x, y0);
    cv::line(img, cv::Point(area.x, cvRound(py.y)), cv::Point(area.x + area.width, cvRound(py.y)), kGrid, 1);
    cv::line(img, cv::Point(cvRound(pxx.x), area.y), cv::Point(cvRound(pxx.x), area.y + area.height), kGrid, 1);
    const std::string ty = tick_text(y, log_y), tx = tick_text(x, false);
    draw_text(img, ty, {area.x - 8 - text_size(ty, 0.4).width, cvRound(py.y) - 7}, 0.4, kMuted);
    draw_text(img, tx, {cvRound(pxx.x) - text_size(tx, 0.4).width / 2, area.y + area.height + 6}, 0.4, kMuted);
  }
  cv::rectangle(img, area, kInk, 1);
  draw_text_centred(img, x_label, {area.x + area.width / 2, height - 18}, 0.5, kInk);
  draw_text(img, y_label + (log_y ? " (log scale)" : ""), {8, top - 24}, 0.45, kInk);

  int legend_y = area.y + 8;
  for (const Series& s : series) {
    std::vector<cv::Point> pts;
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      const double y = log_y ? (s.y[i] > 0 ? std::log10(s.y[i]) : NAN) : s.y[i];
      if (!std::isfinite(y)) continue;
      const cv::Point2d p = px(s.x[i], y);
      pts.emplace_back(cvRound(p.x * 16), cvRound(p.y * 16));
    }
    if (pts.size() > 1) cv::polylines(img, pts, false, s.colour, 2, cv::LINE_AA, 4);
    else if (pts.size() == 1) cv::circle(img, pts[0], 3 * 16, s.colour, cv::FILLED, cv::LINE_AA, 4);
    const int lx = area.x + area.width - 190;
    cv::line(img, cv::Point(lx, legend_y + 8), cv::Point(lx + 24, legend_y + 8), s.colour, 3, cv::LINE_AA);
    draw_text(img, s.name, {lx + 30, legend_y}, 0.45, kInk);
    legend_y += 22;
  }
  return img;
}

cv::Mat bar_chart(const std::string& title, const std::string& x_label, const std::vector<std::string>& categories,
                  const std::vector<Series>& series, double x_min, double x_max, int width) {
  const int bar = 12, row = bar * static_cast<int>(std::max<std::size_t>(1, series.size())) + 10;
  const int left = 170, right = 70, top = 60 + 22 * static_cast<int>(series.size()), bottom = 56;
  const int height = top + row * static_cast<int>(categories.size()) + bottom;
  cv::Mat img(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const cv::Rect area(left, top, width - left - right, row * static_cast<int>(categories.size()));
  draw_text(img, title, {left, 14}, 0.7, kInk, 2);
  auto px = [&](double x) { return area.x + cvRound((std::clamp(x, x_min, x_max) - x_min) / (x_max - x_min) * area.width); };
  for (int k = 0; k <= 4; ++k) {
    const double x = x_min + (x_max - x_min) * k / 4.0;
    cv::line(img, cv::Point(px(x), area.y), cv::Point(px(x), area.y + area.height), kGrid, 1);
    const std::string t = tick_text(x, false);
    draw_text(img, t, {px(x) - text_size(t, 0.4).width / 2, area.y + area.height + 6}, 0.4, kMuted);
  }
  for (std::size_t c = 0; c < categories.size(); ++c) {
    const int y = area.y + static_cast<int>(c) * row + 5;
    draw_text(img, categories[c], {left - 10 - text_size(categories[c], 0.42).width, y + row / 2 - 12}, 0.42, kInk);
    for (std::size_t s = 0; s < series.size(); ++s) {
      const int by = y + static_cast<int>(s) * bar;
      const double v = c < series[s].y.size() ? series[s].y[c] : NAN;
      if (!std::isfinite(v)) {
        draw_text(img, "n/a", {area.x + 4, by - 2}, 0.35, kMuted);
        continue;
      }
      cv::rectangle(img, cv::Rect(area.x, by, std::max(1, px(v) - area.x), bar - 2), series[s].colour, cv::FILLED);
      char buf[16];
      std::snprintf(buf, sizeof buf, "%.2f", v);
      draw_text(img, buf, {px(v) + 4, by - 2}, 0.35, kInk);
    }
  }
  cv::rectangle(img, area, kInk, 1);
  draw_text_centred(img, x_label, {area.x + area.width / 2, height - 20}, 0.5, kInk);
  for (std::size_t s = 0; s < series.size(); ++s) {
    const int ly = 44 + 22 * static_cast<int>(s);
    cv::rectangle(img, cv::Rect(left, ly, 24, 12), series[s].colour, cv::FILLED);
    draw_text(img, series[s].name, {left + 32, ly - 3}, 0.45, kInk);
  }
  return img;
}

cv::Mat tile(const std::vector<cv::Mat>& images, int columns, int gap, cv::Scalar background) {
  if (images.empty() || columns <= 0) return {};
  const int w = images[0].cols, h = images[0].rows;
  const int n = static_cast<int>(images.size()), rows = (n + columns - 1) / columns;
  const int cols = std::min(columns, n);
  cv::Mat out(rows * h + (rows + 1) * gap, cols * w + (cols + 1) * gap, CV_8UC3, background);
  for (int i = 0; i < n; ++i) {
    const int r = i / columns, c = i % columns;
    images[static_cast<std::size_t>(i)].copyTo(out(cv::Rect(gap + c * (w + gap), gap + r * (h + gap), w, h)));
  }
  return out;
}

cv::Mat truth_scatter(const std::vector<std::string>& names, const std::vector<std::vector<double>>& truth,
                      const std::vector<std::vector<double>>& pred, const std::vector<double>& r2,
                      const std::string& title_prefix, const std::string& y_label) {
  std::vector<cv::Mat> panels;
  for (std::size_t k = 0; k < names.size(); ++k) {
    const int S = 420, m = 50;
    cv::Mat img(S, S, CV_8UC3, cv::Scalar(255, 255, 255));
    auto px = [&](double x, double y) { return cv::Point(cvRound(m + (x + 1.2) / 2.4 * (S - 2 * m)), cvRound(S - m - (y + 1.2) / 2.4 * (S - 2 * m))); };
    cv::rectangle(img, px(-1.2, -1.2), px(1.2, 1.2), cv::Scalar(40, 40, 40), 1);
    cv::line(img, px(-1.2, -1.2), px(1.2, 1.2), cv::Scalar(180, 180, 180), 1, cv::LINE_AA);
    for (std::size_t i = 0; i < truth[k].size(); ++i) {
      cv::circle(img, px(truth[k][i], std::clamp(pred[k][i], -1.2, 1.2)), 2, cv::Scalar(190, 110, 40), cv::FILLED, cv::LINE_AA);
    }
    char title[96];
    std::snprintf(title, sizeof title, "%s%s: held-out R2 = %.3f", title_prefix.c_str(), names[k].c_str(), r2[k]);
    draw_text(img, title, {m, 12}, 0.5, cv::Scalar(40, 40, 40), 1);
    draw_text(img, "true", {S / 2 - 14, S - 30}, 0.45, cv::Scalar(90, 90, 90));
    draw_text(img, y_label, {4, S / 2}, 0.45, cv::Scalar(90, 90, 90));
    panels.push_back(img);
  }
  cv::Mat out;
  cv::hconcat(panels, out);
  return out;
}

}  // namespace circumplex::plot
