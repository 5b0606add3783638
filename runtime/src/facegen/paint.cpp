#include "paint.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace circumplex::facegen::paint {
namespace {

constexpr int kShift = 3;  // fillPoly sub-pixel bits
constexpr double kOne = 1 << kShift;
constexpr double kPi = 3.14159265358979323846;

cv::Rect bounds(const std::vector<Path>& polys, double margin, cv::Size canvas) {
  double x0 = 1e30, y0 = 1e30, x1 = -1e30, y1 = -1e30;
  for (const Path& p : polys) {
    for (const P& q : p) {
      x0 = std::min(x0, q.x);
      y0 = std::min(y0, q.y);
      x1 = std::max(x1, q.x);
      y1 = std::max(y1, q.y);
    }
  }
  if (x0 > x1) return {};
  const int ix0 = static_cast<int>(std::floor(x0 - margin)), iy0 = static_cast<int>(std::floor(y0 - margin));
  const int ix1 = static_cast<int>(std::ceil(x1 + margin)), iy1 = static_cast<int>(std::ceil(y1 + margin));
  return cv::Rect(ix0, iy0, ix1 - ix0 + 1, iy1 - iy0 + 1) & cv::Rect(0, 0, canvas.width, canvas.height);
}

std::vector<cv::Point> fixed(const Path& p, cv::Point origin) {
  std::vector<cv::Point> out;
  out.reserve(p.size());
  for (const P& q : p) {
    out.emplace_back(static_cast<int>(std::lround((q.x - origin.x) * kOne)),
                     static_cast<int>(std::lround((q.y - origin.y) * kOne)));
  }
  return out;
}

uchar level_byte(double level) { return cv::saturate_cast<uchar>(255.0 * std::clamp(level, 0.0, 1.0)); }

}  // namespace

Colour rgb(double r, double g, double b) {
  return {static_cast<float>(b / 255.0), static_cast<float>(g / 255.0), static_cast<float>(r / 255.0)};
}

Colour mix(const Colour& a, const Colour& b, double t) {
  const float k = static_cast<float>(t);
  return a + (b - a) * k;
}

Colour scale(const Colour& c, double k) {
  const float f = static_cast<float>(k);
  return {std::min(1.0f, c[0] * f), std::min(1.0f, c[1] * f), std::min(1.0f, c[2] * f)};
}

Colour hsv(double h, double s, double v) {
  h = h - std::floor(h);
  const double h6 = h * 6.0;
  const int i = static_cast<int>(h6) % 6;
  const double f = h6 - std::floor(h6);
  const double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r = v, g = t, b = p;
  switch (i) {
    case 0: r = v; g = t; b = p; break;
    case 1: r = q; g = v; b = p; break;
    case 2: r = p; g = v; b = t; break;
    case 3: r = p; g = q; b = v; break;
    case 4: r = t; g = p; b = v; break;
    default: r = v; g = p; b = q; break;
  }
  return {static_cast<float>(b), static_cast<float>(g), static_cast<float>(r)};
}

Path spline(const Path& c, bool closed, int per_seg) {
  Path out;
  const int n = static_cast<int>(c.size());
  if (n < 3) return c;
  auto at = [&](int i) -> P {
    if (closed) return c[static_cast<std::size_t>(((i % n) + n) % n)];
    if (i < 0) return 2.0 * c[0] - c[1];
    if (i >= n) return 2.0 * c[static_cast<std::size_t>(n - 1)] - c[static_cast<std::size_t>(n - 2)];
    return c[static_cast<std::size_t>(i)];
  };
  const int segs = closed ? n : n - 1;
  for (int i = 0; i < segs; ++i) {
    const P p0 = at(i - 1), p1 = at(i), p2 = at(i + 1), p3 = at(i + 2);
    for (int k = 0; k < per_seg; ++k) {
      const double t = static_cast<double>(k) / per_seg, t2 = t * t, t3 = t2 * t;
      out.push_back(0.5 * ((2.0 * p1) + (p2 - p0) * t + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * t2 +
                           (3.0 * p1 - p0 - 3.0 * p2 + p3) * t3));
    }
  }
  if (!closed) out.push_back(c.back());
  return out;
}

Path bezier(P p0, P p1, P p2, P p3, int n) {
  Path out;
  out.reserve(static_cast<std::size_t>(n) + 1);
  for (int i = 0; i <= n; ++i) {
    const double t = static_cast<double>(i) / n, u = 1 - t;
    out.push_back(u * u * u * p0 + 3 * u * u * t * p1 + 3 * u * t * t * p2 + t * t * t * p3);
  }
  return out;
}

Path ellipse(P centre, double rx, double ry, double angle, int n) {
  Path out;
  const double ca = std::cos(angle), sa = std::sin(angle);
  for (int i = 0; i < n; ++i) {
    const double t = 2 * kPi * i / n;
    const double x = rx * std::cos(t), y = ry * std::sin(t);
    out.emplace_back(centre.x + ca * x - sa * y, centre.y + sa * x + ca * y);
  }
  return out;
}

Path ribbon(const Path& line, const std::vector<double>& widths) {
  const std::size_t n = line.size();
  if (n < 2 || widths.size() != n) return {};
  Path left, right;
  for (std::size_t i = 0; i < n; ++i) {
    const P a = line[i == 0 ? 0 : i - 1], b = line[i + 1 < n ? i + 1 : n - 1];
    P d = b - a;
    const double len = std::hypot(d.x, d.y);
    d = len > 0 ? d * (1.0 / len) : P(1, 0);
    const P normal(-d.y, d.x);
    left.push_back(line[i] + normal * (0.5 * widths[i]));
    right.push_back(line[i] - normal * (0.5 * widths[i]));
  }
  std::reverse(right.begin(), right.end());
  left.insert(left.end(), right.begin(), right.end());
  return left;
}

Path ribbon(const Path& line, double w0, double w1, double mid) {
  std::vector<double> w(line.size());
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double t = w.size() > 1 ? static_cast<double>(i) / static_cast<double>(w.size() - 1) : 0.0;
    w[i] = w0 + (w1 - w0) * t + mid * std::sin(kPi * t);
  }
  return ribbon(line, w);
}

Path resample(const Path& line, int n) {
  if (line.size() < 2 || n < 2) return line;
  std::vector<double> cum(line.size(), 0.0);
  for (std::size_t i = 1; i < line.size(); ++i) {
    cum[i] = cum[i - 1] + std::hypot(line[i].x - line[i - 1].x, line[i].y - line[i - 1].y);
  }
  Path out;
  std::size_t j = 1;
  for (int k = 0; k < n; ++k) {
    const double s = cum.back() * k / (n - 1);
    while (j + 1 < line.size() && cum[j] < s) ++j;
    const double seg = cum[j] - cum[j - 1];
    const double t = seg > 0 ? std::clamp((s - cum[j - 1]) / seg, 0.0, 1.0) : 0.0;
    out.push_back(line[j - 1] + (line[j] - line[j - 1]) * t);
  }
  return out;
}

Path reversed(Path p) {
  std::reverse(p.begin(), p.end());
  return p;
}

Path join(Path a, const Path& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Mask fill(const std::vector<Path>& polys, cv::Size canvas, double soft, double level) {
  Mask out;
  out.roi = bounds(polys, 2.0 + 3.0 * soft, canvas);
  if (out.roi.area() <= 0) return {};
  out.m = cv::Mat::zeros(out.roi.size(), CV_8U);
  for (const Path& p : polys) {
    if (p.size() < 3) continue;
    const std::vector<std::vector<cv::Point>> pts = {fixed(p, out.roi.tl())};
    cv::fillPoly(out.m, pts, cv::Scalar(level_byte(level)), cv::LINE_AA, kShift);
  }
  if (soft > 0) soften(out, soft, canvas);
  return out;
}

Mask fill(const Path& poly, cv::Size canvas, double soft, double level) {
  return fill(std::vector<Path>{poly}, canvas, soft, level);
}

Mask stroke(const Path& line, double width, cv::Size canvas, double soft, double level) {
  Mask out;
  out.roi = bounds({line}, width + 2.0 + 3.0 * soft, canvas);
  if (out.roi.area() <= 0 || line.size() < 2) return {};
  out.m = cv::Mat::zeros(out.roi.size(), CV_8U);
  const std::vector<std::vector<cv::Point>> pts = {fixed(line, out.roi.tl())};
  cv::polylines(out.m, pts, false, cv::Scalar(level_byte(level)), std::max(1, static_cast<int>(std::lround(width))),
                cv::LINE_AA, kShift);
  if (soft > 0) soften(out, soft, canvas);
  return out;
}

void soften(Mask& mask, double sigma, cv::Size canvas) {
  if (mask.empty() || sigma < 0.3) return;
  const int margin = static_cast<int>(std::ceil(3.0 * sigma));
  const cv::Rect grown = cv::Rect(mask.roi.x - margin, mask.roi.y - margin, mask.roi.width + 2 * margin,
                                  mask.roi.height + 2 * margin) &
                         cv::Rect(0, 0, canvas.width, canvas.height);
  cv::Mat big = cv::Mat::zeros(grown.size(), CV_8U);
  mask.m.copyTo(big(cv::Rect(mask.roi.x - grown.x, mask.roi.y - grown.y, mask.roi.width, mask.roi.height)));
  if (sigma > 6.0) {
    // Large blurs: blur a reduced copy, then bring it back (smooth enough after a Gaussian).
    const double f = std::floor(sigma / 3.0);
    const cv::Size small_size(std::max(1, static_cast<int>(std::lround(grown.width / f))),
                              std::max(1, static_cast<int>(std::lround(grown.height / f))));
    cv::Mat small;
    cv::resize(big, small, small_size, 0, 0, cv::INTER_AREA);
    cv::GaussianBlur(small, small, cv::Size(0, 0), sigma / f, 0, cv::BORDER_CONSTANT);
    cv::resize(small, big, grown.size(), 0, 0, cv::INTER_LINEAR);
  } else {
    cv::GaussianBlur(big, big, cv::Size(0, 0), sigma, 0, cv::BORDER_CONSTANT);
  }
  mask.roi = grown;
  mask.m = big;
}

Mask intersect(const Mask& a, const Mask& b) {
  if (a.empty() || b.empty()) return {};
  const cv::Rect o = a.roi & b.roi;
  if (o.area() <= 0) return {};
  Mask out;
  out.roi = o;
  cv::multiply(a.m(o - a.roi.tl()), b.m(o - b.roi.tl()), out.m, 1.0 / 255.0);
  return out;
}

Mask subtract(const Mask& a, const Mask& b) {
  if (a.empty() || b.empty()) return a;
  Mask out{a.roi, a.m.clone()};
  const cv::Rect o = a.roi & b.roi;
  if (o.area() <= 0) return out;
  cv::Mat inv;
  cv::subtract(cv::Scalar(255), b.m(o - b.roi.tl()), inv);
  cv::Mat dst = out.m(o - a.roi.tl());
  cv::multiply(dst, inv, dst, 1.0 / 255.0);
  return out;
}

Mask shifted(const Mask& a, int dx, int dy, cv::Size canvas) {
  if (a.empty()) return {};
  const cv::Rect moved(a.roi.x + dx, a.roi.y + dy, a.roi.width, a.roi.height);
  const cv::Rect kept = moved & cv::Rect(0, 0, canvas.width, canvas.height);
  if (kept.area() <= 0) return {};
  return {kept, a.m(kept - moved.tl()).clone()};
}

Mask unite(const Mask& a, const Mask& b, cv::Size canvas) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  const cv::Rect r = (a.roi | b.roi) & cv::Rect(0, 0, canvas.width, canvas.height);
  Mask out{r, cv::Mat::zeros(r.size(), CV_8U)};
  a.m.copyTo(out.m(a.roi - r.tl()));
  cv::Mat dst = out.m(b.roi - r.tl());
  cv::max(dst, b.m, dst);
  return out;
}

void fade(Mask& a, double k) {
  if (!a.empty()) a.m.convertTo(a.m, CV_8U, std::clamp(k, 0.0, 1.0));
}

void Canvas::paint(const Mask& mask, const Colour& c, double opacity, Blend blend) {
  if (mask.empty() || opacity <= 0) return;
  const float k = static_cast<float>(std::min(opacity, 1.0) / 255.0);
  for (int y = 0; y < mask.roi.height; ++y) {
    const uchar* mk = mask.m.ptr<uchar>(y);
    cv::Vec3f* d = img.ptr<cv::Vec3f>(mask.roi.y + y) + mask.roi.x;
    for (int x = 0; x < mask.roi.width; ++x) {
      if (!mk[x]) continue;
      const float a = mk[x] * k;
      cv::Vec3f& px = d[x];
      for (int ch = 0; ch < 3; ++ch) {
        switch (blend) {
          case Blend::Normal: px[ch] += (c[ch] - px[ch]) * a; break;
          case Blend::Multiply: px[ch] *= 1.0f - a + a * c[ch]; break;
          case Blend::Screen: px[ch] = 1.0f - (1.0f - px[ch]) * (1.0f - c[ch] * a); break;
        }
      }
    }
  }
}

void Canvas::gradient(const Mask& mask, const Colour& c0, const Colour& c1, P p0, P p1, double opacity,
                      Blend blend) {
  if (mask.empty() || opacity <= 0) return;
  const float k = static_cast<float>(std::min(opacity, 1.0) / 255.0);
  const P d = p1 - p0;
  const double len2 = std::max(1e-9, d.dot(d));
  const cv::Vec3f dc = c1 - c0;
  for (int y = 0; y < mask.roi.height; ++y) {
    const uchar* mk = mask.m.ptr<uchar>(y);
    cv::Vec3f* row = img.ptr<cv::Vec3f>(mask.roi.y + y) + mask.roi.x;
    const double py = mask.roi.y + y - p0.y;
    for (int x = 0; x < mask.roi.width; ++x) {
      if (!mk[x]) continue;
      const double px0 = mask.roi.x + x - p0.x;
      const float t = static_cast<float>(std::clamp((px0 * d.x + py * d.y) / len2, 0.0, 1.0));
      const cv::Vec3f c = c0 + dc * t;
      const float a = mk[x] * k;
      cv::Vec3f& px = row[x];
      for (int ch = 0; ch < 3; ++ch) {
        switch (blend) {
          case Blend::Normal: px[ch] += (c[ch] - px[ch]) * a; break;
          case Blend::Multiply: px[ch] *= 1.0f - a + a * c[ch]; break;
          case Blend::Screen: px[ch] = 1.0f - (1.0f - px[ch]) * (1.0f - c[ch] * a); break;
        }
      }
    }
  }
}

void Canvas::backdrop(const Colour& top, const Colour& bottom, P light_centre, double vignette) {
  const double n = img.rows;
  for (int y = 0; y < img.rows; ++y) {
    cv::Vec3f* row = img.ptr<cv::Vec3f>(y);
    const float t = static_cast<float>(y / n);
    const cv::Vec3f base = top + (bottom - top) * t;
    for (int x = 0; x < img.cols; ++x) {
      const double dx = (x - light_centre.x) / n, dy = (y - light_centre.y) / n;
      const float v = static_cast<float>(1.0 - vignette * std::min(1.0, 1.6 * (dx * dx + dy * dy)));
      row[x] = base * v;
    }
  }
}

}  // namespace circumplex::facegen::paint
