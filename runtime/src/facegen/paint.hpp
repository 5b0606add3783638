// runtime/src/facegen/paint.hpp — the painting toolkit of the face renderer (internal).
//
// Shapes are polygons in canvas pixels (the supersampled canvas). A Mask is an 8-bit
// coverage map over a region of interest of the canvas; masks are filled anti-aliased with
// sub-pixel precision, softened with a Gaussian (large blurs go through a smaller copy), and
// combined (intersect, subtract). A Canvas is a float BGR image that masks are composited
// onto with a colour (flat or linear gradient) and a blend mode.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

namespace circumplex::facegen::paint {

using P = cv::Point2d;
using Path = std::vector<P>;
using Colour = cv::Vec3f;  ///< BGR, 0 … 1

/// Colour from 0–255 RGB components.
Colour rgb(double r, double g, double b);
Colour mix(const Colour& a, const Colour& b, double t);
Colour scale(const Colour& c, double k);
/// HSV (h in [0, 1), s and v in [0, 1]) → BGR colour.
Colour hsv(double h, double s, double v);

/// Catmull–Rom spline through `ctrl` (`per_seg` points per segment), open or closed.
Path spline(const Path& ctrl, bool closed, int per_seg = 8);
/// Cubic Bézier from p0 to p3 with `n` + 1 points.
Path bezier(P p0, P p1, P p2, P p3, int n = 16);
/// Ellipse polygon (angle in radians).
Path ellipse(P centre, double rx, double ry, double angle = 0.0, int n = 48);
/// A stroke along `line` as a closed polygon, width w0 at the start to w1 at the end with a
/// bulge `mid` (extra width at the middle, sine profile).
Path ribbon(const Path& line, double w0, double w1, double mid = 0.0);
/// A stroke along `line` with one width per point.
Path ribbon(const Path& line, const std::vector<double>& widths);
/// `n` points spaced evenly along the path (by arc length).
Path resample(const Path& line, int n);
/// Reverse of a path; concatenation.
Path reversed(Path p);
Path join(Path a, const Path& b);

struct Mask {
  cv::Rect roi;  ///< where m sits on the canvas
  cv::Mat m;     ///< CV_8U coverage, roi.size(); empty when nothing is covered
  bool empty() const { return m.empty(); }
};

/// Fills polygons (even-odd is not used: each polygon is filled) anti-aliased.
Mask fill(const std::vector<Path>& polys, cv::Size canvas, double soften = 0.0, double level = 1.0);
Mask fill(const Path& poly, cv::Size canvas, double soften = 0.0, double level = 1.0);
/// An open polyline of `width` pixels (round joins), optionally softened.
Mask stroke(const Path& line, double width, cv::Size canvas, double soften = 0.0, double level = 1.0);
/// Gaussian blur with standard deviation `sigma` pixels, growing the region as needed.
void soften(Mask& mask, double sigma, cv::Size canvas);
/// a × b (coverage product) on a's region.
Mask intersect(const Mask& a, const Mask& b);
/// a × (1 − b) on a's region.
Mask subtract(const Mask& a, const Mask& b);
/// The mask moved by (dx, dy) pixels (clipped to the canvas).
Mask shifted(const Mask& a, int dx, int dy, cv::Size canvas);
/// Union (max) of two masks.
Mask unite(const Mask& a, const Mask& b, cv::Size canvas);
/// Multiplies coverage by `k` (0 … 1).
void fade(Mask& a, double k);

enum class Blend {
  Normal,    ///< lerp toward the colour
  Multiply,  ///< darken: dst × lerp(1, colour, alpha)
  Screen,    ///< lighten: 1 − (1 − dst)(1 − colour·alpha)
};

class Canvas {
 public:
  explicit Canvas(int size) : img(size, size, CV_32FC3, cv::Scalar(0, 0, 0)) {}
  cv::Size size() const { return img.size(); }
  /// Composites `colour` through `mask` with `opacity`.
  void paint(const Mask& mask, const Colour& colour, double opacity = 1.0, Blend blend = Blend::Normal);
  /// Like paint, the colour running from c0 at p0 to c1 at p1 (clamped beyond).
  void gradient(const Mask& mask, const Colour& c0, const Colour& c1, P p0, P p1, double opacity = 1.0,
                Blend blend = Blend::Normal);
  /// Fills the whole canvas with a vertical-ish gradient plus a radial vignette.
  void backdrop(const Colour& top, const Colour& bottom, P light_centre, double vignette);

  cv::Mat img;  ///< CV_32FC3, BGR 0 … 1
};

}  // namespace circumplex::facegen::paint
