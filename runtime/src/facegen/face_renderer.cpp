// The procedural face: geometry from the identity and the action units, painted back to
// front on a supersampled float canvas.
//
// Face units: x to the right of the image, y down, origin between the eyes on the eye line;
// half the face width at the cheekbones is about 1. The head transform applies a small yaw
// (points shift by their depth on an ellipsoid), roll about the neck, scale and position.
#include "circumplex/facegen.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "circumplex/error.hpp"
#include "paint.hpp"
#include "circumplex/facegen_rng.hpp"

namespace circumplex::facegen {
namespace {
using namespace paint;

constexpr double kPi = 3.14159265358979323846;

double c01(double x) { return x >= 0.0 ? std::min(x, 1.0) : 0.0; }  // also maps NaN to 0
double sym(double x) { return 2.0 * c01(x) - 1.0; }                 // [0, 1] → [−1, 1]
double lerp(double a, double b, double t) { return a + (b - a) * t; }
double smooth(double e0, double e1, double x) {
  const double t = c01((x - e0) / (e1 - e0));
  return t * t * (3.0 - 2.0 * t);
}
P mirror(P p) { return {-p.x, p.y}; }

// The 17 action units by FACS number.
struct Au {
  double u1, u2, u4, u5, u6, u7, u9, u10, u12, u14, u15, u17, u20, u23, u25, u26, u43;
  explicit Au(const AuVector& v) {
    auto g = [&](int i) { return c01(static_cast<double>(v[static_cast<std::size_t>(i)])); };
    u1 = g(0), u2 = g(1), u4 = g(2), u5 = g(3), u6 = g(4), u7 = g(5), u9 = g(6), u10 = g(7), u12 = g(8);
    u14 = g(9), u15 = g(10), u17 = g(11), u20 = g(12), u23 = g(13), u25 = g(14), u26 = g(15), u43 = g(16);
  }
};

Colour palette(const std::vector<std::array<double, 3>>& stops, double t) {
  const double x = c01(t) * static_cast<double>(stops.size() - 1);
  const std::size_t i = std::min(static_cast<std::size_t>(x), stops.size() - 2);
  const double f = x - static_cast<double>(i);
  const auto& a = stops[i];
  const auto& b = stops[i + 1];
  return rgb(lerp(a[0], b[0], f), lerp(a[1], b[1], f), lerp(a[2], b[2], f));
}

Colour skin_colour(double tone, double undertone) {
  static const std::vector<std::array<double, 3>> stops = {
      {255, 226, 208}, {246, 208, 182}, {234, 188, 154}, {216, 163, 124}, {190, 135, 96},
      {156, 104, 70},  {124, 82, 56},   {100, 66, 46},   {82, 54, 40}};
  Colour c = palette(stops, tone);
  const double u = sym(undertone) * (1.0 - 0.6 * c01(tone));
  // undertone: a hue shift toward pink (cool) or olive-yellow (warm) at the same brightness
  Colour target = u < 0 ? rgb(250, 180, 200) : rgb(225, 205, 120);
  const double k = (c[0] + c[1] + c[2]) / std::max(1e-3f, target[0] + target[1] + target[2]);
  target = target * static_cast<float>(k);
  return mix(c, target, 0.28 * std::abs(u));
}

Colour hair_base(double t, double red) {
  static const std::vector<std::array<double, 3>> stops = {
      {24, 20, 19}, {52, 36, 28}, {88, 60, 40}, {128, 92, 60}, {170, 134, 88}, {212, 178, 120}, {232, 214, 172}};
  const Colour base = palette(stops, t);
  const Colour ginger = mix(rgb(96, 34, 20), rgb(206, 104, 48), std::min(1.0, c01(t) * 1.4));
  return mix(base, ginger, 0.85 * c01(red));
}

Colour iris_colour(int variant) {
  switch (variant) {
    case 0: return rgb(56, 34, 22);
    case 1: return rgb(106, 66, 34);
    case 2: return rgb(128, 104, 52);
    case 3: return rgb(78, 122, 72);
    case 4: return rgb(70, 118, 176);
    default: return rgb(118, 134, 146);
  }
}

class Face {
 public:
  Face(const Identity& id, const AuVector& aus, int canvas_size, int out_size);
  cv::Mat render();
  Landmarks landmarks(double to_output) const;

 private:
  // ---- transforms ----
  double depth(P p) const { return 0.8 * std::sqrt(std::max(0.0, 1.0 - (p.x * p.x) / 1.25)); }
  P head(P p, double extra = 0.0) const {
    const double d = depth(p) + extra;
    const double x = p.x * std::cos(yaw_) + d * std::sin(yaw_);
    const double y = p.y - 1.45;
    const double xr = x * std::cos(roll_) - y * std::sin(roll_);
    const double yr = x * std::sin(roll_) + y * std::cos(roll_) + 1.45;
    return {centre_.x + xr * unit_, centre_.y + yr * unit_};
  }
  Path head(const Path& p, double extra = 0.0) const {
    Path out;
    out.reserve(p.size());
    for (const P& q : p) out.push_back(head(q, extra));
    return out;
  }
  P body(P p) const { return {centre_.x + p.x * unit_, centre_.y + p.y * unit_}; }
  Path body(const Path& p) const {
    Path out;
    for (const P& q : p) out.push_back(body(q));
    return out;
  }
  // Jaw drop and chin raise move the lower face.
  P jaw(P p) const {
    const double w = smooth(0.15, 0.95, (p.y - 0.3) / (chin_y_ - 0.3));
    return {p.x * (1.0 - 0.06 * a_.u26 * w), p.y + drop_ * w - 0.035 * a_.u17 * smooth(0.6, 1.0, (p.y - 0.3) / (chin_y_ - 0.3))};
  }
  Mask hfill(const Path& p, double soft = 0.0, double level = 1.0, double extra = 0.0) const {
    return fill(head(p, extra), cs_, soft * unit_, level);
  }
  Mask hstroke(const Path& p, double width, double soft = 0.0, double level = 1.0, double extra = 0.0) const {
    return fill(head(ribbon(p, width, width), extra), cs_, soft * unit_, level);
  }
  Mask hellipse(P c, double rx, double ry, double soft, double angle = 0.0, double extra = 0.0) const {
    return hfill(ellipse(c, rx, ry, angle), soft, 1.0, extra);
  }
  double px(double units) const { return units * unit_; }

  // ---- geometry ----
  void build_geometry();
  Path face_outline() const;
  struct EyeGeo {
    int side;
    P centre, inner, outer, iris;
    double hu, hl, hu_rest, iris_r;
    Path upper, lower, crease;
    bool open;
  };
  EyeGeo eye(int side) const;
  Path brow_line(int side, std::vector<double>* widths) const;
  // Mouth lines as functions of s ∈ [−1, 1].
  double mouth_x(double s) const { return s * mcx_; }
  double upper_inner(double s) const { return mcy_ + (myu_ - mcy_) * (1.0 - std::pow(std::abs(s), ku_)); }
  double lower_inner(double s) const { return mcy_ + (myl_ - mcy_) * (1.0 - std::pow(std::abs(s), kl_)); }
  double upper_outer(double s) const;
  double lower_outer(double s) const {
    return lower_inner(s) + mtl_ * std::pow(std::max(0.0, 1.0 - std::pow(std::abs(s), 2.2)), 0.6);
  }
  Path mouth_curve(double (Face::*f)(double) const, double s0, double s1, int n = 24) const;

  // ---- layers ----
  void draw_background();
  void draw_hair(bool front);
  void draw_body();
  void draw_ears();
  void draw_face_base();
  void draw_lines();
  void draw_eye(const EyeGeo& e);
  void draw_brow(int side);
  void draw_nose();
  void draw_facial_hair(bool moustache_pass);
  void draw_mouth();
  void draw_glasses();
  Mask varying_stroke(const Path& line, double width, double soft, const std::vector<double>& level) const;

  struct HairShape {
    std::vector<Path> back, front;
    std::vector<std::pair<Path, Path>> rails;  // strands flow parallel to these pairs
    bool curly = false, stipple = false;
  };
  HairShape hair_shape() const;

  const Identity& id_;
  Au a_;
  Canvas canvas_;
  cv::Size cs_;
  int out_size_;
  double unit_, roll_, yaw_;
  P centre_;
  P light_;  // unit vector toward the key light (image coordinates)
  Colour skin_, skin_shadow_, skin_light_, hair_, brow_, lip_, cloth_;
  double grey_;
  double sheen_;  // darker skin shows its highlights more
  // geometry (face units)
  double hw_, chin_y_, jaw_w_, jaw_y_, chin_w_, drop_;
  double eye_x_, eye_k_;
  double nose_y_, nose_w_;
  double mcx_, mcy_, myu_, myl_, mtu_, mtl_, ku_, kl_, mouth_y_;
  int part_side_;
  Mask face_mask_;
};

Face::Face(const Identity& id, const AuVector& aus, int canvas_size, int out_size)
    : id_(id), a_(aus), canvas_(canvas_size), cs_(canvas_size, canvas_size), out_size_(out_size) {
  const double n = canvas_size;
  unit_ = n * 0.25 * (1.0 + 0.08 * sym(id.scale));
  centre_ = {n * (0.5 + 0.04 * sym(id.offset_x)), n * (0.455 + 0.03 * sym(id.offset_y))};
  roll_ = sym(id.head_roll) * 8.0 * kPi / 180.0;
  yaw_ = sym(id.head_yaw) * 0.13;
  const double lx = sym(id.light_direction);
  light_ = P(0.95 * lx, -0.55) * (1.0 / std::hypot(0.95 * lx, 0.55));

  skin_ = skin_colour(id.skin_tone, id.skin_undertone);
  skin_shadow_ = mix(skin_, rgb(110, 50, 45), 0.35) * 0.8f;
  skin_light_ = mix(skin_, rgb(255, 236, 215), 0.4);
  grey_ = smooth(0.45, 1.0, id.age) * 0.85;
  sheen_ = 1.0 + 0.6 * c01(id.skin_tone);
  hair_ = mix(hair_base(id.hair_colour, id.hair_red), rgb(196, 194, 190), grey_);
  brow_ = mix(scale(hair_base(id.hair_colour, id.hair_red), 0.8), rgb(150, 146, 140), grey_ * 0.6);
  const Colour lip_tint = mix(rgb(214, 104, 112), rgb(120, 56, 60), c01(id.skin_tone));
  lip_ = mix(skin_, lip_tint, 0.35 + 0.45 * c01(id.lip_colour));
  cloth_ = hsv(id.clothing_hue, 0.1 + 0.35 * std::fabs(std::sin(id.clothing_hue * 13.0)), 0.18 + 0.7 * c01(id.clothing_light));
  part_side_ = (id.texture_seed & 1u) ? 1 : -1;
  build_geometry();
}

void Face::build_geometry() {
  const Identity& id = id_;
  hw_ = 0.98 + 0.16 * sym(id.face_width);
  chin_y_ = 1.36 + 0.15 * sym(id.face_length) + 0.04 * sym(id.chin_size);
  jaw_w_ = hw_ * (0.75 + 0.19 * sym(id.jaw_width));
  jaw_y_ = 0.86 + 0.06 * sym(id.face_length) + 0.06 * sym(id.jaw_width);
  chin_w_ = 0.21 + 0.09 * sym(id.chin_size) + 0.05 * sym(id.jaw_width);
  drop_ = 0.30 * a_.u26 + 0.02 * a_.u25;

  eye_k_ = 1.0 + 0.17 * sym(id.eye_size);
  eye_x_ = 0.41 + 0.055 * sym(id.eye_spacing);
  nose_y_ = 0.50 + 0.07 * sym(id.nose_length);
  nose_w_ = 0.16 + 0.06 * sym(id.nose_width);

  // Mouth: corners (mcx_, mcy_), inner lines at the centre (myu_, myl_), lip thickness.
  mouth_y_ = nose_y_ + 0.34 + 0.2 * (chin_y_ - 1.36);
  const double mw = 0.37 + 0.065 * sym(id.mouth_width);
  const Au& a = a_;
  mcx_ = mw * (1.0 + 0.2 * a.u12 + 0.32 * a.u20 - 0.16 * a.u23 - 0.1 * a.u14 + 0.04 * a.u10 -
               0.12 * a.u26 * (1.0 - a.u20));
  mcy_ = mouth_y_ - 0.18 * a.u12 + 0.14 * a.u15 + 0.03 * a.u20 - 0.02 * a.u14 + 0.03 * drop_ - 0.03 * a.u10 +
         0.035 * a.u17;
  const double fullness = 0.75 + 0.5 * c01(id.lip_fullness);
  double thin = (1.0 - 0.8 * a.u23) * (1.0 - 0.3 * a.u20) * (1.0 - 0.15 * c01(id.age));
  mtu_ = 0.075 * fullness * thin * (1.0 - 0.25 * a.u12);
  mtl_ = 0.095 * fullness * thin * (1.0 - 0.2 * a.u12) * (1.0 + 0.15 * a.u17);
  myu_ = mouth_y_ - 0.09 * a.u10 - 0.02 * a.u17;
  myl_ = mouth_y_ + 0.1 * a.u25 + 0.07 * a.u12 * a.u25 + 0.95 * drop_ - 0.06 * a.u17 * (1.0 - a.u25);
  if (myl_ < myu_) myl_ = myu_;
  ku_ = 2.0 + 0.8 * a.u12 + 2.5 * a.u20 + 1.2 * a.u10;
  kl_ = 1.8 + 2.2 * a.u20 - 0.3 * a.u26;
}

double Face::upper_outer(double s) const {
  const double as = std::abs(s);
  double bow = std::pow(std::max(0.0, 1.0 - std::pow(as, 2.4)), 0.55);
  bow *= 1.0 + 0.22 * std::exp(-std::pow((as - 0.3) / 0.14, 2)) - 0.22 * std::exp(-std::pow(s / 0.1, 2));
  return upper_inner(s) - mtu_ * bow;
}

Path Face::mouth_curve(double (Face::*f)(double) const, double s0, double s1, int n) const {
  Path out;
  for (int i = 0; i <= n; ++i) {
    const double t = static_cast<double>(i) / n;
    const double s = s0 + (s1 - s0) * t;
    out.emplace_back(mouth_x(s), (this->*f)(s));
  }
  return out;
}

Path Face::face_outline() const {
  const double hw = hw_;
  const Path right = {{0.56 * hw, -1.40},
                      {0.88 * hw, -1.12},
                      {1.0 * hw, -0.66},
                      {1.02 * hw, -0.18},
                      {0.99 * hw, 0.22},
                      {0.5 * (hw + jaw_w_) + 0.04, 0.5 * (0.22 + jaw_y_) + 0.02},
                      {jaw_w_, jaw_y_},
                      {0.5 * (jaw_w_ + chin_w_) + 0.05, 0.5 * (jaw_y_ + chin_y_) + 0.08},
                      {chin_w_, chin_y_ - 0.05},
                      {0.0, chin_y_}};
  Path ctrl = {{0.0, -1.50}};
  for (const P& p : right) ctrl.push_back(jaw(p));
  for (int i = static_cast<int>(right.size()) - 2; i >= 0; --i) ctrl.push_back(jaw(mirror(right[static_cast<std::size_t>(i)])));
  return spline(ctrl, true, 10);
}

Face::EyeGeo Face::eye(int side) const {
  const Au& a = a_;
  EyeGeo e;
  e.side = side;
  const double s = side, k = eye_k_;
  const double ew = 0.205 * k;
  const double tilt = 0.04 * sym(id_.eye_tilt);
  e.centre = {s * eye_x_, 0.0};
  e.inner = {s * eye_x_ - s * ew, 0.014 + 0.008 * a.u6};
  e.outer = {s * eye_x_ + s * ew * (1.0 - 0.04 * a.u7), -tilt - 0.01 * a.u6};
  e.hu_rest = 0.088 * k;
  double hu = e.hu_rest + 0.09 * a.u5 - 0.04 * a.u7 - 0.02 * a.u6 - 0.012 * a.u4 - 0.01 * a.u9;
  const double hl = std::max(0.01, 0.06 * k - 0.04 * a.u7 - 0.045 * a.u6 - 0.014 * a.u9 + 0.012 * a.u5);
  const double closure = c01(a.u43);
  hu = lerp(hu, -hl + 0.003, closure);
  e.hu = hu;
  e.hl = hl;
  e.open = hu + hl > 0.012;
  e.iris_r = 0.09 * k;
  e.iris = {e.centre.x, -0.1 * k + e.iris_r + 0.01 * a.u43};
  const P in = e.inner, out = e.outer;
  auto along = [&](double t, double h) {
    return P(lerp(in.x, out.x, t), lerp(in.y, out.y, t) + h);
  };
  e.upper = bezier(in, along(0.28, -1.34 * hu), along(0.70, -1.26 * hu), out, 20);
  e.lower = bezier(in, along(0.35, 1.28 * hl), along(0.76, 1.34 * hl), out, 20);
  const double hc = std::max(e.hu_rest + 0.05, hu + 0.03) + 0.01 * a.u5;
  e.crease = bezier(along(0.02, -0.02), along(0.28, -1.34 * hc), along(0.72, -1.28 * hc), along(1.06, -0.03), 20);
  return e;
}

Path Face::brow_line(int side, std::vector<double>* widths) const {
  const Au& a = a_;
  const double s = side;
  const double ex = eye_x_ - 0.41;  // follows the eyes' spacing
  const double arch = 0.05 * sym(id_.brow_arch);
  std::array<P, 4> p = {P(0.15 + ex, -0.265), P(0.33 + ex, -0.315 - 0.3 * arch), P(0.52 + ex, -0.345 - arch),
                        P(0.69 + ex, -0.29 + 0.3 * arch)};
  const std::array<double, 4> up1 = {0.19, 0.13, 0.05, 0.01};
  const std::array<double, 4> up2 = {0.03, 0.08, 0.16, 0.16};
  const std::array<double, 4> down4 = {0.11, 0.075, 0.04, 0.02};
  const std::array<double, 4> in4 = {0.075, 0.05, 0.025, 0.01};
  const std::array<double, 4> down9 = {0.06, 0.035, 0.01, 0.0};
  for (std::size_t i = 0; i < 4; ++i) {
    p[i].y += -up1[i] * a.u1 - up2[i] * a.u2 + down4[i] * a.u4 + down9[i] * a.u9 + (i == 3 ? 0.02 * a.u6 : 0.0) +
              0.015 * a.u7 * (i < 2 ? 1 : 0);
    p[i].x -= in4[i] * a.u4 + 0.6 * in4[i] * a.u9;
  }
  Path ctrl;
  for (const P& q : p) ctrl.push_back({s * q.x, q.y});
  Path line = spline(ctrl, false, 8);
  if (widths) {
    const double th = c01(id_.brow_thickness);
    const double w_in = 0.04 + 0.07 * th + 0.012 * a_.u4, w_peak = 0.03 + 0.055 * th, w_tail = 0.012 + 0.014 * th;
    widths->clear();
    for (std::size_t i = 0; i < line.size(); ++i) {
      const double t = static_cast<double>(i) / static_cast<double>(line.size() - 1);
      widths->push_back(t < 0.55 ? lerp(w_in, w_peak, t / 0.55) : lerp(w_peak, w_tail, (t - 0.55) / 0.45));
    }
  }
  return line;
}

// A stroke whose coverage varies along the line (one level per point, 0 … 1).
Mask Face::varying_stroke(const Path& line, double width, double soft, const std::vector<double>& level) const {
  const Path pts = head(line);
  const double w = std::max(1.0, px(width));
  Mask out = fill(ribbon(pts, w + 2.0, w + 2.0), cs_, 0.0, 0.0);  // an empty mask covering the stroke
  if (out.empty()) return out;
  for (std::size_t i = 0; i + 1 < pts.size(); ++i) {
    const double lv = 0.5 * (level[i] + level[i + 1]);
    if (lv <= 0.004) continue;
    const cv::Point2d a = pts[i] - cv::Point2d(out.roi.tl()), b = pts[i + 1] - cv::Point2d(out.roi.tl());
    cv::line(out.m, cv::Point(cvRound(a.x * 8), cvRound(a.y * 8)), cv::Point(cvRound(b.x * 8), cvRound(b.y * 8)),
             cv::Scalar(std::min(255.0, 255.0 * lv)), static_cast<int>(std::lround(w)), cv::LINE_AA, 3);
  }
  soften(out, px(soft), cs_);
  return out;
}

// ------------------------------------------------------------------------------------------
void Face::draw_background() {
  const double h = id_.background_hue;
  const double l = c01(id_.background_light);
  const double sat = 0.12 + 0.35 * std::fabs(std::sin(h * 17.0 + 1.3));
  const Colour top = hsv(h, sat, 0.22 + 0.7 * l);
  const Colour bottom = hsv(h + 0.04, sat * 1.1, (0.22 + 0.7 * l) * (1.0 - 0.45 * c01(id_.background_gradient)));
  canvas_.backdrop(top, bottom, P(cs_.width * (0.5 + 0.25 * sym(id_.light_direction)), cs_.height * 0.3),
                   0.55 * c01(id_.background_gradient));
}

Face::HairShape Face::hair_shape() const {
  HairShape hs;
  const double hw = hw_;
  const P c(0.0, -0.40);
  const double rx = hw * 1.03, ry = 1.12;
  auto outer = [&](double vs, double vt, double a0, double a1, int n) {
    Path p;
    for (int i = 0; i <= n; ++i) {
      const double a = lerp(a0, a1, static_cast<double>(i) / n);
      const double sa = std::sin(a);
      const double v = lerp(vs, vt, std::min(1.0, sa * sa));
      p.emplace_back(c.x + (rx + v) * std::cos(a), c.y + (ry + v) * sa);
    }
    return p;
  };
  const double ps = part_side_;
  const double recede = id_.hair_style <= 3 ? 0.12 * smooth(0.5, 1.0, id_.age) : 0.0;
  // The usual hairline: temple to temple over the forehead, right to left.
  auto hairline = [&](double y_mid, double part_dip) {
    Path h = {{hw * 0.93, -0.22},        {hw * 0.91, -0.55 + recede * 0.3}, {0.62, -0.80 - recede},
              {0.22, y_mid - recede * 0.6}, {-0.22, y_mid - recede * 0.6},     {-0.62, -0.80 - recede},
              {-hw * 0.91, -0.55 + recede * 0.3}, {-hw * 0.93, -0.22}};
    if (part_dip != 0.0) {
      // side part: the swept side comes lower over the forehead, the parted side higher
      for (P& q : h) q.y += part_dip * (q.x * ps > 0 ? -0.4 : 1.0) * smooth(0.95, 0.1, std::abs(q.x));
    }
    return spline(h, false, 6);
  };
  auto sideburn = [&](double s, double bottom) {
    return Path{{s * hw * 1.0, -0.22}, {s * hw * 0.99, bottom}, {s * hw * 0.93, bottom}, {s * hw * 0.93, -0.22}};
  };
  auto arc_front = [&](double vs, double vt, double y_mid, double dip, double burn) {
    // outer arc right → left over the top, left sideburn, hairline left → right, right sideburn
    Path p = outer(vs, vt, 0.16, -kPi - 0.16, 40);
    Path lb = sideburn(-1, burn);
    p.insert(p.end(), lb.begin(), lb.end());
    Path hl = reversed(hairline(y_mid, dip));
    p.insert(p.end(), hl.begin(), hl.end());
    Path rb = reversed(sideburn(1, burn));
    p.insert(p.end(), rb.begin(), rb.end());
    return p;
  };
  switch (id_.hair_style) {
    case 0: {  // bald: a horseshoe of short hair at the sides and back
      for (int s : {-1, 1}) {
        Path patch = {{s * hw * 0.985, -0.66}, {s * hw * 1.05, -0.56}, {s * hw * 1.075, -0.3}, {s * hw * 1.04, -0.06},
                      {s * hw * 0.975, -0.04}, {s * hw * 0.97, -0.35}};
        hs.front.push_back(spline(patch, true, 6));
        hs.rails.push_back({Path{{s * hw * 0.98, -0.62}, {s * hw * 0.975, -0.06}}, Path{{s * hw * 1.06, -0.55}, {s * hw * 1.04, -0.06}}});
      }
      break;
    }
    case 1: {  // buzz cut
      hs.front.push_back(arc_front(0.015, 0.025, -0.9, 0.0, 0.02));
      hs.stipple = true;
      break;
    }
    case 2: {  // short, side part
      hs.front.push_back(arc_front(0.07, 0.16, -0.9, 0.07, 0.06));
      const P part(ps * 0.36, -1.0);
      for (int s : {-1, 1}) {
        const bool wide = s != ps;
        Path r1 = {part, {s * (wide ? 0.1 : 0.55), wide ? -0.86 : -0.97}, {s * hw * 0.8, -0.72}, {s * hw * 0.95, -0.3}};
        Path r2 = {{ps * 0.3, -1.56}, {s * 0.6, -1.52}, {s * hw * 1.05, -1.0}, {s * hw * 1.1, -0.32}};
        hs.rails.push_back({spline(r1, false, 8), spline(r2, false, 8)});
      }
      break;
    }
    case 3: {  // quiff: volume up front, short sides
      Path p = arc_front(0.06, 0.14, -0.94, 0.0, 0.05);
      hs.front.push_back(p);
      hs.front.push_back(ellipse({0.08 * ps, -1.42}, 0.62, 0.28, -0.15 * ps, 40));
      hs.rails.push_back({spline(Path{{-0.6, -0.82}, {-0.55, -1.3}, {-0.3, -1.64}}, false, 8),
                          spline(Path{{0.6, -0.82}, {0.55, -1.3}, {0.3, -1.64}}, false, 8)});
      break;
    }
    case 4: {  // bob with a fringe
      Path back = outer(0.22, 0.2, 0.0, -kPi, 40);
      for (P q : Path{{-hw * 1.24, 0.3}, {-hw * 1.22, 1.02}, {-0.4, 1.08}, {0.4, 1.08}, {hw * 1.22, 1.02}, {hw * 1.24, 0.3}})
        back.push_back(q);
      hs.back.push_back(spline(back, true, 4));
      Path f = outer(0.22, 0.2, 0.0, -kPi, 40);
      const Path rest = {{-hw * 1.25, 0.3},  {-hw * 1.23, 1.02}, {-hw * 0.97, 1.05}, {-hw * 0.9, 0.45},
                         {-hw * 0.88, -0.1}, {-hw * 0.84, -0.5}, {-0.56, -0.62},    {-0.2, -0.6},
                         {0.2, -0.62},       {0.56, -0.6},      {hw * 0.84, -0.5},  {hw * 0.88, -0.1},
                         {hw * 0.9, 0.45},   {hw * 0.97, 1.05}, {hw * 1.23, 1.02},  {hw * 1.25, 0.3}};
      f.insert(f.end(), rest.begin(), rest.end());
      hs.front.push_back(spline(f, true, 4));
      hs.rails.push_back({spline(Path{{-0.35, -1.55}, {-0.5, -1.0}, {-0.56, -0.62}}, false, 8),
                          spline(Path{{0.35, -1.55}, {0.5, -1.0}, {0.56, -0.62}}, false, 8)});
      for (int s : {-1, 1}) {
        hs.rails.push_back({spline(Path{{s * 0.35, -1.5}, {s * hw * 0.86, -0.6}, {s * hw * 0.9, 0.4}, {s * hw * 0.97, 1.02}}, false, 8),
                            spline(Path{{s * 0.7, -1.55}, {s * hw * 1.2, -0.7}, {s * hw * 1.25, 0.3}, {s * hw * 1.23, 1.02}}, false, 8)});
      }
      break;
    }
    case 5: {  // long, middle part
      Path back = outer(0.16, 0.13, 0.0, -kPi, 40);
      for (P q : Path{{-hw * 1.2, 0.3}, {-hw * 1.36, 1.4}, {-hw * 1.46, 2.7}, {hw * 1.46, 2.7}, {hw * 1.36, 1.4}, {hw * 1.2, 0.3}})
        back.push_back(q);
      hs.back.push_back(spline(back, true, 4));
      for (int s : {-1, 1}) {
        Path f;
        for (P q : outer(0.16, 0.13, -kPi / 2 + s * 0.03, s > 0 ? 0.0 : -kPi, 20)) f.push_back(q);
        const Path rest = {{s * hw * 1.2, 0.3},  {s * hw * 1.34, 1.4},  {s * hw * 1.44, 2.65}, {s * hw * 1.12, 2.7},
                           {s * hw * 1.0, 1.6},  {s * hw * 0.93, 0.7},  {s * hw * 0.88, 0.0},  {s * hw * 0.84, -0.5},
                           {s * 0.5, -0.86},     {s * 0.1, -1.02}};
        f.insert(f.end(), rest.begin(), rest.end());
        hs.front.push_back(spline(f, true, 4));
        hs.rails.push_back({spline(Path{{s * 0.05, -1.5}, {s * 0.5, -0.9}, {s * hw * 0.86, -0.3}, {s * hw * 0.95, 1.0}, {s * hw * 1.1, 2.6}}, false, 8),
                            spline(Path{{s * 0.08, -1.56}, {s * 0.9, -1.3}, {s * hw * 1.22, 0.2}, {s * hw * 1.35, 1.4}, {s * hw * 1.44, 2.6}}, false, 8)});
      }
      break;
    }
    case 6: {  // curly / afro
      Rng r(id_.texture_seed ^ 0xC0FFEEull);
      const double ph1 = r.uniform(0, 6.28), ph2 = r.uniform(0, 6.28);
      auto bumpy = [&](double a) {
        const double k = 1.0 + 0.035 * std::sin(11 * a + ph1) + 0.02 * std::sin(19 * a + ph2);
        return P(hw * 1.5 * k * std::cos(a), -0.52 + 1.36 * k * std::sin(a));
      };
      Path back;
      for (int i = 0; i < 120; ++i) back.push_back(bumpy(2 * kPi * i / 120.0));
      // flatten the bottom behind the neck
      for (P& q : back) q.y = std::min(q.y, 0.75);
      hs.back.push_back(back);
      Path f;
      for (int i = 0; i <= 60; ++i) f.push_back(bumpy(lerp(0.2, -kPi - 0.2, i / 60.0)));
      const Path hl = {{-hw * 0.99, 0.05}, {-hw * 0.93, 0.05}, {-hw * 0.92, -0.3}, {-hw * 0.86, -0.62}, {-0.55, -0.84},
                       {0.0, -0.9},        {0.55, -0.84},      {hw * 0.86, -0.62}, {hw * 0.92, -0.3},  {hw * 0.93, 0.05},
                       {hw * 0.99, 0.05}};
      Path hls = spline(hl, false, 6);
      for (std::size_t i = 0; i < hls.size(); ++i) hls[i].y -= 0.025 * std::fabs(std::sin(static_cast<double>(i) * 0.9 + ph1));
      f.insert(f.end(), hls.begin(), hls.end());
      hs.front.push_back(f);
      hs.curly = true;
      break;
    }
    default: {  // bun, hair pulled back
      hs.back.push_back(ellipse({0.0, -1.66}, 0.36, 0.3, 0.0, 40));
      hs.front.push_back(arc_front(0.035, 0.05, -0.93, 0.0, -0.1));
      hs.rails.push_back({spline(Path{{-hw * 0.92, -0.25}, {-0.62, -0.8}, {-0.5, -1.3}, {-0.16, -1.55}}, false, 8),
                          spline(Path{{hw * 0.92, -0.25}, {0.62, -0.8}, {0.5, -1.3}, {0.16, -1.55}}, false, 8)});
      break;
    }
  }
  return hs;
}

void Face::draw_hair(bool front) {
  const HairShape hs = hair_shape();
  const std::vector<Path>& shapes = front ? hs.front : hs.back;
  if (shapes.empty()) return;
  std::vector<Path> px_shapes;
  for (const Path& p : shapes) px_shapes.push_back(head(p, front ? 0.1 : -0.4));
  Mask m = fill(px_shapes, cs_, px(id_.hair_style == 0 ? 0.02 : 0.008));
  const Colour base = front ? hair_ : scale(hair_, 0.72);
  if (front && !hs.stipple) {
    // soft shadow the hair casts on the forehead
    Mask sh = shifted(m, static_cast<int>(std::lround(-light_.x * px(0.03))), static_cast<int>(std::lround(px(0.05))), cs_);
    soften(sh, px(0.04), cs_);
    canvas_.paint(intersect(sh, face_mask_), skin_shadow_, 0.45, Blend::Multiply);
  }
  if (hs.stipple) {
    // buzz cut: skin shows through a fine stipple
    canvas_.paint(m, mix(skin_shadow_, hair_, 0.6), 0.9);
  } else {
    canvas_.gradient(m, scale(base, 1.08), scale(base, 0.7), head(P(light_.x * 0.6, -1.4)), head(P(-light_.x * 0.8, 0.6)));
  }
  // texture: strands along the rails (or curls), light and dark
  Rng rng(id_.texture_seed ^ (front ? 0x51A4Dull : 0xBAC4ull));
  cv::Mat light_m = cv::Mat::zeros(m.roi.size(), CV_8U), dark_m = cv::Mat::zeros(m.roi.size(), CV_8U);
  const cv::Point2d o(m.roi.tl());
  auto draw_poly = [&](cv::Mat& dst, const Path& path_px, double width, double level) {
    std::vector<cv::Point> pts;
    for (const P& q : path_px) pts.emplace_back(cvRound((q.x - o.x) * 8), cvRound((q.y - o.y) * 8));
    cv::polylines(dst, std::vector<std::vector<cv::Point>>{pts}, false, cv::Scalar(255.0 * level),
                  std::max(1, static_cast<int>(std::lround(width))), cv::LINE_AA, 3);
  };
  if (hs.curly || hs.stipple) {
    const int n = hs.curly ? 420 : 500;
    for (int i = 0; i < n; ++i) {
      // sample a point inside the bounding region, drawing a small coil (or dot) there
      const P q(m.roi.x + rng.uniform() * m.roi.width, m.roi.y + rng.uniform() * m.roi.height);
      const double r = hs.curly ? px(rng.uniform(0.018, 0.035)) : px(0.006);
      const double a0 = rng.uniform(0, 2 * kPi);
      Path arc;
      for (int k = 0; k <= 8; ++k) {
        const double a = a0 + (hs.curly ? 1.5 * kPi : 2 * kPi) * k / 8.0;
        arc.emplace_back(q.x + r * std::cos(a), q.y + r * std::sin(a));
      }
      draw_poly(rng.chance(0.5) ? light_m : dark_m, arc, hs.curly ? px(0.012) : px(0.01), rng.uniform(0.5, 1.0));
    }
  } else if (!front || !hs.rails.empty()) {
    const auto& rails = hs.rails;
    for (const auto& rail : rails) {
      const Path a = resample(rail.first, 24), b = resample(rail.second, 24);
      const int n = front ? 34 : 20;
      for (int i = 0; i < n; ++i) {
        const double w = rng.uniform();
        const double t0 = rng.uniform(0.0, 0.35), t1 = rng.uniform(0.65, 1.0);
        const double wave = rng.uniform(-0.02, 0.02);
        Path strand;
        for (int k = 0; k < 24; ++k) {
          const double t = static_cast<double>(k) / 23.0;
          if (t < t0 || t > t1) continue;
          P q = a[static_cast<std::size_t>(k)] * (1 - w) + b[static_cast<std::size_t>(k)] * w;
          q.x += wave * std::sin(t * 9.0);
          strand.push_back(head(q, 0.1));
        }
        if (strand.size() < 2) continue;
        draw_poly(rng.chance(0.5) ? light_m : dark_m, strand, px(rng.uniform(0.01, 0.02)), rng.uniform(0.4, 1.0));
      }
    }
  }
  Mask lm{m.roi, light_m}, dm{m.roi, dark_m};
  soften(lm, px(0.004), cs_);
  soften(dm, px(0.004), cs_);
  canvas_.paint(intersect(dm, m), scale(base, 0.55), hs.stipple ? 0.5 : 0.45);
  canvas_.paint(intersect(lm, m), mix(base, rgb(255, 240, 215), 0.35), hs.stipple ? 0.2 : 0.35);
  if (front) {
    // sheen on the lit side of the crown
    Mask sheen = hellipse({light_.x * 0.35 + 0.0, -1.28}, 0.42, 0.13, 0.08, 0.25 * light_.x, 0.1);
    canvas_.paint(intersect(sheen, m), mix(base, rgb(255, 250, 240), 0.6), hs.stipple ? 0.15 : 0.4, Blend::Screen);
    // darker where the hair meets the face
    Mask edge = subtract(m, shifted(m, 0, static_cast<int>(px(-0.06)), cs_));
    soften(edge, px(0.02), cs_);
    canvas_.paint(intersect(edge, m), scale(base, 0.6), 0.35);
  }
}

void Face::draw_body() {
  const double nk = 0.45 + 0.07 * sym(id_.jaw_width);
  const Path neck = {{-nk, 0.4}, {nk, 0.4}, {nk * 1.02, 1.6}, {nk + 0.5, 2.6}, {-nk - 0.5, 2.6}, {-nk * 1.02, 1.6}};
  Mask nm = fill(body(spline(neck, true, 6)), cs_, 0.0);
  canvas_.gradient(nm, scale(skin_, 0.95), scale(skin_, 0.72), body(P(light_.x * 0.5, 1.2)), body(P(-light_.x * 0.7, 1.3)));
  // shadow under the jaw
  Mask jaw_shadow = hfill(face_outline(), 0.0);
  jaw_shadow = shifted(jaw_shadow, static_cast<int>(std::lround(-light_.x * px(0.1))), static_cast<int>(px(0.2)), cs_);
  soften(jaw_shadow, px(0.08), cs_);
  canvas_.paint(intersect(jaw_shadow, nm), skin_shadow_, 0.8, Blend::Multiply);
  // clothes: shoulders with a neckline
  Rng r(id_.texture_seed ^ 0x5417ull);
  const bool vneck = r.chance(0.4);
  const Path shirt = {{-3.0, 3.4},        {-2.9, 2.25},  {-2.0, 1.88}, {-nk - 0.3, 1.7},
                      {-nk * 0.9, 1.74},  {0.0, vneck ? 2.25 : 1.92}, {nk * 0.9, 1.74},
                      {nk + 0.3, 1.7},    {2.0, 1.88},   {2.9, 2.25},  {3.0, 3.4}};
  Mask sm = fill(body(spline(shirt, true, 6)), cs_, px(0.006));
  canvas_.gradient(sm, scale(cloth_, 1.1), scale(cloth_, 0.7), body(P(light_.x * 1.5, 1.9)), body(P(-light_.x * 1.0, 2.9)));
  // collar edge and a fold shadow
  const Path collar = {{-nk - 0.3, 1.7}, {-nk * 0.9, 1.74}, {0.0, vneck ? 2.25 : 1.92}, {nk * 0.9, 1.74}, {nk + 0.3, 1.7}};
  Mask cm = fill(body(ribbon(spline(collar, false, 6), 0.07, 0.07)), cs_, px(0.02));
  canvas_.paint(intersect(cm, sm), scale(cloth_, 0.55), 0.6);
  for (int s : {-1, 1}) {
    Mask fold = fill(body(ribbon(spline(Path{{s * 1.4, 2.1}, {s * 1.55, 2.45}, {s * 1.6, 2.9}}, false, 6), 0.14, 0.05)), cs_, px(0.06));
    canvas_.paint(intersect(fold, sm), scale(cloth_, 0.7), 0.25);
  }
}

void Face::draw_ears() {
  const double hw = hw_;
  for (int s : {-1, 1}) {
    auto e = [&](double x, double y) { return P(s * hw * x, y); };
    const Path ear = spline({e(0.95, -0.12), e(1.06, -0.2), e(1.15, -0.12), e(1.17, 0.1), e(1.12, 0.3), e(1.05, 0.48),
                             e(0.96, 0.5)}, true, 8);
    Mask em = hfill(ear, 0.004, 1.0, -0.35);
    canvas_.gradient(em, mix(skin_, rgb(230, 130, 120), 0.1), scale(skin_, 0.78), head(e(1.0, 0.0), -0.35),
                     head(e(1.17, 0.2), -0.35));
    const Path inner = spline({e(1.04, -0.1), e(1.11, -0.05), e(1.12, 0.15), e(1.07, 0.3), e(1.02, 0.34)}, false, 6);
    Mask im = fill(head(ribbon(inner, 0.035, 0.02), -0.35), cs_, px(0.015));
    canvas_.paint(im, skin_shadow_, 0.6, Blend::Multiply);
    Mask bowl = hellipse(e(1.06, 0.12), 0.045, 0.1, 0.03, 0.0, -0.35);
    canvas_.paint(bowl, skin_shadow_, 0.5, Blend::Multiply);
  }
}

void Face::draw_face_base() {
  const Path outline = face_outline();
  face_mask_ = hfill(outline, 0.003);
  const Mask& f = face_mask_;
  canvas_.gradient(f, scale(skin_, 1.04), scale(skin_, 0.9), head(P(light_.x * 0.9, -0.6)), head(P(-light_.x * 0.9, 0.9)));
  // form shadow away from the light
  Mask lit = shifted(f, static_cast<int>(std::lround(light_.x * px(0.3))), static_cast<int>(std::lround(light_.y * px(0.12))), cs_);
  soften(lit, px(0.16), cs_);
  canvas_.paint(subtract(f, lit), skin_shadow_, 0.55, Blend::Multiply);
  // rim: the face turns away at its edges
  Path inner_o = outline;
  for (P& q : inner_o) q = P(q.x * 0.86, (q.y - 0.1) * 0.9 + 0.1);
  Mask inner = hfill(inner_o, 0.12);
  canvas_.paint(subtract(f, inner), skin_shadow_, 0.3, Blend::Multiply);
  // eye sockets, brow ridge and cheekbone light
  for (int s : {-1, 1}) {
    canvas_.paint(intersect(hellipse({s * eye_x_, -0.04}, 0.29, 0.18, 0.07), f), skin_shadow_, 0.32, Blend::Multiply);
    const double lift = 0.09 * a_.u6 + 0.05 * a_.u12;
    const double lit_side = 0.5 + 0.5 * s * light_.x;
    canvas_.paint(intersect(hellipse({s * 0.56, 0.36 - lift}, 0.22, 0.13, 0.09), f), skin_light_, (0.2 + 0.18 * lit_side + 0.15 * a_.u6) * sheen_,
                  Blend::Screen);
    canvas_.paint(intersect(hellipse({s * 0.56, 0.44 - lift}, 0.2, 0.13, 0.09), f), rgb(226, 110, 110),
                  0.05 + 0.1 * (1.0 - c01(id_.skin_tone)) + 0.12 * a_.u6 + 0.05 * a_.u12);
    canvas_.paint(intersect(hellipse({s * 0.42, -0.42}, 0.22, 0.06, 0.05), f), skin_light_, 0.15 + 0.1 * lit_side, Blend::Screen);
  }
  canvas_.paint(hellipse({light_.x * 0.25, -0.85}, 0.38, 0.2, 0.12), skin_light_, 0.22 * sheen_, Blend::Screen);
  canvas_.paint(hellipse({0.0, -0.18}, 0.1, 0.12, 0.06), skin_light_, 0.15 * sheen_, Blend::Screen);
}

void Face::draw_lines() {
  const Au& a = a_;
  const double age = c01(id_.age);
  const Colour line = skin_shadow_;
  // forehead: AU1 creases the middle, AU2 the sides; age adds faint lines everywhere
  for (int k = 0; k < 3; ++k) {
    const double y = -0.58 - 0.1 * k - 0.06 * (a.u1 + a.u2) * 0.5;
    Path l;
    std::vector<double> lv;
    for (int i = 0; i <= 24; ++i) {
      const double x = lerp(-0.62, 0.62, i / 24.0);
      const double centre = std::exp(-std::pow(x / 0.3, 2));
      const double bend = -0.05 * a.u1 * centre + 0.03 * a.u2 * (1 - centre) - 0.02 * std::cos(x * 2.0);
      l.emplace_back(x, y + bend + 0.008 * std::sin(x * 9 + k));
      const double taper = smooth(0.62, 0.45, std::abs(x));
      lv.push_back(taper * c01(0.85 * a.u1 * (0.3 + 0.7 * centre) + 0.8 * a.u2 * (0.25 + 0.75 * (1 - centre)) +
                               0.35 * smooth(0.3, 1.0, age)) * (k == 2 ? 0.7 : 1.0));
    }
    canvas_.paint(intersect(varying_stroke(l, 0.022, 0.008, lv), face_mask_), line, 0.6, Blend::Multiply);
    // a lit ridge just below each crease
    for (P& q : l) q.y += 0.03;
    canvas_.paint(intersect(varying_stroke(l, 0.03, 0.012, lv), face_mask_), skin_light_, 0.25, Blend::Screen);
  }
  // frown lines between the brows (AU4, a little with AU9)
  const double frown = c01(0.9 * a.u4 + 0.3 * a.u9 + 0.2 * smooth(0.5, 1.0, age));
  for (int s : {-1, 1}) {
    const Path l = {{s * 0.055, -0.34}, {s * 0.065, -0.25}, {s * 0.06, -0.14}};
    canvas_.paint(hfill(ribbon(spline(l, false, 6), 0.014, 0.024, 0.01), 0.008), line, 0.75 * frown, Blend::Multiply);
  }
  // crow's feet (AU6, age)
  const double crow = c01(0.8 * a.u6 + 0.25 * smooth(0.4, 1.0, age));
  for (int s : {-1, 1}) {
    const P oc(s * (eye_x_ + 0.205 * eye_k_ + 0.05), -0.01);
    for (int k = -1; k <= 1; ++k) {
      const double ang = k * 0.42;
      const P d(s * std::cos(ang), std::sin(ang));
      const Path l = {oc, oc + d * 0.07, oc + d * 0.13 + P(0, 0.01 * k)};
      canvas_.paint(hfill(ribbon(spline(l, false, 4), 0.022, 0.008), 0.006), line, 0.7 * crow, Blend::Multiply);
    }
  }
  // nasolabial folds: deepen with smiling (AU12), AU10, AU9, AU6 and age
  const double fold = c01(0.06 + 0.5 * age + 0.6 * a.u12 + 0.5 * a.u10 + 0.4 * a.u9 + 0.25 * a.u6 + 0.25 * a.u20);
  for (int s : {-1, 1}) {
    const double cx = mouth_x(s) + s * (0.07 + 0.03 * a.u12), cy = mcy_ + 0.05;
    const Path l = spline({{s * (nose_w_ + 0.05), nose_y_ - 0.06 - 0.05 * a.u9 - 0.02 * a.u10},
                           {s * (nose_w_ + 0.15 + 0.05 * a.u12), nose_y_ + 0.14},
                           {cx, cy}},
                          false, 8);
    canvas_.paint(hfill(ribbon(l, 0.022, 0.012, 0.02), 0.014), line, 0.75 * fold, Blend::Multiply);
    Path hi = l;
    for (P& q : hi) q.x += s * 0.045;
    canvas_.paint(hfill(ribbon(hi, 0.05, 0.03, 0.03), 0.03), skin_light_, 0.35 * fold, Blend::Screen);
  }
  // marionette lines (AU15, age)
  const double mar = c01(0.55 * a.u15 + 0.5 * smooth(0.55, 1.0, age));
  for (int s : {-1, 1}) {
    const P c(mouth_x(s) + s * 0.02, mcy_ + 0.02);
    const Path l = spline({c, c + P(s * 0.025, 0.12), jaw(c + P(s * 0.03, 0.24))}, false, 6);
    canvas_.paint(hfill(ribbon(l, 0.02, 0.008), 0.01), line, 0.7 * mar, Blend::Multiply);
  }
  // dimples (AU14): short creases lateral to the lip corners
  for (int s : {-1, 1}) {
    const P c(mouth_x(s) + s * 0.06, mcy_ + 0.01);
    const Path l = spline({c + P(-s * 0.015, -0.075), c + P(s * 0.015, 0.0), c + P(-s * 0.005, 0.07)}, false, 6);
    canvas_.paint(hfill(ribbon(l, 0.012, 0.012, 0.03), 0.012), line, 0.95 * a.u14, Blend::Multiply);
    canvas_.paint(hellipse(c + P(-s * 0.03, 0.0), 0.03, 0.05, 0.02), line, 0.5 * a.u14, Blend::Multiply);
    Path hl = l;
    for (P& q : hl) q.x += s * 0.03;
    canvas_.paint(hfill(ribbon(hl, 0.02, 0.02, 0.02), 0.015), skin_light_, 0.45 * a.u14, Blend::Screen);
  }
  // under-eye: the cheek pushes up (AU6) and age bags
  for (int s : {-1, 1}) {
    const EyeGeo e = eye(s);
    Path l = e.lower;
    for (P& q : l) q.y += 0.065 + 0.01 * a.u6;
    std::vector<double> lv(l.size());
    for (std::size_t i = 0; i < l.size(); ++i) {
      const double t = static_cast<double>(i) / static_cast<double>(l.size() - 1);
      lv[i] = std::sin(kPi * t) * c01(0.85 * a.u6 + 0.5 * a.u7 + 0.35 * smooth(0.35, 1.0, age));
    }
    canvas_.paint(varying_stroke(l, 0.024, 0.012, lv), line, 0.55, Blend::Multiply);
    for (P& q : l) q.y -= 0.035;
    canvas_.paint(varying_stroke(l, 0.04, 0.015, lv), skin_light_, 0.3, Blend::Screen);
  }
  // chin: AU17 pushes the chin boss up, bunching the skin under the lower lip
  const double chin_boss = c01(0.2 + 0.8 * a.u17);
  const P chin_c = jaw(P(0.0, chin_y_ - 0.2));
  canvas_.paint(hellipse(chin_c, 0.17, 0.09 + 0.02 * a.u17, 0.05), skin_light_, 0.3 * chin_boss + 0.1, Blend::Screen);
  canvas_.paint(hellipse(chin_c + P(0.0, 0.12), 0.16, 0.035, 0.03), line, 0.45 * a.u17, Blend::Multiply);
  const double lip_bottom = lower_outer(0.0);
  const Path sulcus = spline({{-0.17, lip_bottom + 0.05}, {0.0, lip_bottom + 0.075 - 0.02 * a.u17}, {0.17, lip_bottom + 0.05}},
                             false, 8);
  canvas_.paint(hfill(ribbon(sulcus, 0.02, 0.02, 0.03), 0.02), line, 0.2 + 0.5 * a.u17, Blend::Multiply);
  if (a.u17 > 0.01) {
    // dimpled chin skin (peau d'orange)
    Rng r(id_.texture_seed ^ 0x17ull);
    for (int i = 0; i < 7; ++i) {
      const P q = chin_c + P(r.uniform(-0.11, 0.11), r.uniform(-0.05, 0.05));
      canvas_.paint(hellipse(q, 0.018, 0.014, 0.01), line, 0.5 * a.u17, Blend::Multiply);
    }
  }
}

void Face::draw_eye(const EyeGeo& e) {
  const double s = e.side;
  const Colour lid_line = mix(scale(hair_base(id_.hair_colour, id_.hair_red), 0.35), rgb(20, 14, 12), 0.6);
  // the lid above the eye (between crease and lashes) is lit; the crease is a soft shadow
  Mask lid = hfill(join(e.crease, reversed(e.upper)), 0.01);
  canvas_.paint(lid, skin_light_, 0.12, Blend::Screen);
  canvas_.paint(hfill(ribbon(e.crease, 0.008, 0.012, 0.014), 0.01), skin_shadow_, 0.45 + 0.15 * c01(id_.age),
                Blend::Multiply);
  if (e.open) {
    const Path opening = join(e.upper, reversed(e.lower));
    Mask om = hfill(opening, 0.002);
    const Colour sclera = mix(rgb(240, 236, 230), skin_, 0.06);
    canvas_.paint(om, sclera, 1.0);
    // corners of the eye are pinker and darker
    canvas_.paint(intersect(hellipse(e.inner + P(s * 0.03, 0.0), 0.05, 0.05, 0.02), om), rgb(220, 150, 150), 0.4);
    canvas_.paint(intersect(hellipse(e.outer - P(s * 0.03, 0.0), 0.05, 0.05, 0.03), om), skin_shadow_, 0.4, Blend::Multiply);
    // iris, limbal ring, pupil, highlight
    const Colour ic = iris_colour(id_.iris_colour);
    Mask iris = intersect(hellipse(e.iris, e.iris_r, e.iris_r, 0.003), om);
    canvas_.paint(iris, scale(ic, 0.75), 1.0);
    canvas_.paint(intersect(hellipse(e.iris + P(0, 0.01), e.iris_r * 0.72, e.iris_r * 0.72, e.iris_r * 0.25), om),
                  mix(ic, rgb(255, 240, 200), 0.25), 0.8);
    Path ring = ellipse(e.iris, e.iris_r * 0.96, e.iris_r * 0.96, 0, 40);
    ring.push_back(ring.front());
    canvas_.paint(intersect(hfill(ribbon(ring, 0.014, 0.014), 0.004), om), scale(ic, 0.35), 0.8);
    canvas_.paint(intersect(hellipse(e.iris, e.iris_r * 0.42, e.iris_r * 0.42, 0.004), om), rgb(12, 10, 12), 1.0);
    // the upper lid shades the top of the eyeball
    canvas_.paint(intersect(hfill(ribbon(e.upper, 0.05, 0.05), 0.025), om), rgb(120, 100, 100), 0.55, Blend::Multiply);
    const P hl = e.iris + P(0.35 * e.iris_r * light_.x - 0.1 * e.iris_r, -0.38 * e.iris_r);
    canvas_.paint(intersect(hellipse(hl, e.iris_r * 0.2, e.iris_r * 0.2, 0.004), om), rgb(255, 255, 255), 0.95, Blend::Screen);
    // lower lid: a soft line with a light rim
    canvas_.paint(hfill(ribbon(e.lower, 0.01, 0.016, 0.006), 0.005), skin_shadow_, 0.55, Blend::Multiply);
  }
  // upper lash line (thicker outwards), with a flick for heavier lashes
  const double lash = c01(id_.lashes);
  canvas_.paint(hfill(ribbon(e.upper, 0.014, 0.022 + 0.02 * lash, 0.012), 0.003), lid_line, 0.95);
  if (lash > 0.35) {
    const P o = e.upper.back();
    const Path flick = {o - P(s * 0.03, -0.005), o + P(s * 0.025, -0.02), o + P(s * 0.05, -0.04)};
    canvas_.paint(hfill(ribbon(spline(flick, false, 4), 0.02, 0.004), 0.003), lid_line, 0.9 * (lash - 0.35) / 0.65);
  }
  if (!e.open) {
    // closed: the lid fold just above the lash line
    Path fold = e.upper;
    for (P& q : fold) q.y -= 0.03;
    canvas_.paint(hfill(ribbon(fold, 0.006, 0.006, 0.012), 0.01), skin_shadow_, 0.35, Blend::Multiply);
  }
}

void Face::draw_brow(int side) {
  std::vector<double> w;
  const Path line = brow_line(side, &w);
  const Path shape = ribbon(line, w);
  canvas_.paint(hfill(shape, 0.02), brow_, 0.3);
  canvas_.paint(hfill(shape, 0.006), brow_, 0.88);
  // hair texture: short strokes along the brow
  Rng r(id_.texture_seed ^ (side > 0 ? 0xB40Aull : 0xB40Bull));
  for (int i = 0; i < 14; ++i) {
    const std::size_t k = static_cast<std::size_t>(r.below(static_cast<int>(line.size()) - 1));
    const P p = line[k], d = line[k + 1] - line[k];
    const double len = std::hypot(d.x, d.y);
    if (len <= 0) continue;
    const P u = d * (1.0 / len);
    const P n(-u.y, u.x);
    const P a = p + n * (r.uniform(-0.4, 0.4) * w[k]);
    const Path stroke = {a - u * 0.02, a + u * 0.03 + n * 0.01};
    canvas_.paint(hfill(ribbon(stroke, 0.008, 0.004), 0.002), scale(brow_, r.chance(0.5) ? 0.6 : 1.4), 0.5);
  }
}

void Face::draw_nose() {
  const Au& a = a_;
  const double nl = nose_y_, nw = nose_w_;
  const double lift = 0.05 * a.u9 + 0.025 * a.u10;
  const double flare = 1.0 + 0.2 * a.u9 + 0.08 * a.u10;
  const double dark = light_.x > 0 ? -1.0 : 1.0;
  const double side_k = std::abs(light_.x);
  // bridge: shadowed side and lit ridge
  for (int s : {-1, 1}) {
    const Path l = spline({{s * 0.085, -0.05}, {s * 0.1, 0.2}, {s * 0.12, nl - 0.12 - lift}}, false, 6);
    const double k = (s == dark ? 0.22 + 0.3 * side_k : 0.14);
    canvas_.paint(hfill(ribbon(l, 0.04, 0.06), 0.03, 1.0, 0.2), skin_shadow_, k, Blend::Multiply);
  }
  const Path ridge = {{0.02 * light_.x, -0.02}, {0.03 * light_.x, nl - 0.13}};
  canvas_.paint(hfill(ribbon(spline(ridge, false, 4), 0.03, 0.045), 0.025, 1.0, 0.3), skin_light_, 0.3 * sheen_, Blend::Screen);
  // tip highlight and the shadow under it
  canvas_.paint(hellipse({0.02 * light_.x, nl - 0.05 - 0.5 * lift}, 0.065, 0.055, 0.03, 0.0, 0.4), skin_light_, 0.32 * sheen_, Blend::Screen);
  canvas_.paint(hellipse({-0.03 * light_.x, nl + 0.06 - 0.6 * lift}, 0.12, 0.04, 0.025, 0.0, 0.35), skin_shadow_, 0.6,
                Blend::Multiply);
  for (int s : {-1, 1}) {
    // alar wing outline and its shading
    const Path ala = spline({{s * nw * 0.72, nl - 0.13 - lift},
                             {s * nw * flare, nl - 0.045 - lift},
                             {s * nw * 0.96 * flare, nl + 0.03 - 0.7 * lift},
                             {s * nw * 0.58, nl + 0.065 - 0.6 * lift}},
                            false, 6);
    canvas_.paint(hfill(ribbon(ala, 0.016, 0.02, 0.012), 0.01, 1.0, 0.25), skin_shadow_, 0.65, Blend::Multiply);
    canvas_.paint(hellipse({s * nw * 0.8, nl - 0.03 - lift}, nw * 0.32, 0.05, 0.02, 0.0, 0.25), skin_shadow_, 0.15,
                  Blend::Multiply);
    // nostril
    canvas_.paint(hellipse({s * (0.068 + 0.2 * (nw - 0.16)), nl + 0.045 - 0.8 * lift}, 0.044 * flare,
                           0.019 * (1.0 + 0.5 * a.u9 + 0.3 * a.u10), 0.007, s * 0.35, 0.3),
                  mix(skin_shadow_, rgb(30, 12, 10), 0.6), 0.85);
  }
  // AU9: wrinkles across and beside the bridge
  if (a.u9 > 0.001) {
    for (int k = 0; k < 3; ++k) {
      const double y = 0.03 + 0.07 * k;
      const Path l = spline({{-0.11, y + 0.02}, {0.0, y}, {0.11, y + 0.02}}, false, 6);
      canvas_.paint(hfill(ribbon(l, 0.008, 0.008, 0.014), 0.007, 1.0, 0.2), skin_shadow_, 0.8 * a.u9, Blend::Multiply);
      Path hl = l;
      for (P& q : hl) q.y += 0.03;
      canvas_.paint(hfill(ribbon(hl, 0.01, 0.01, 0.01), 0.01, 1.0, 0.2), skin_light_, 0.4 * a.u9, Blend::Screen);
    }
    for (int s : {-1, 1}) {
      const Path l = {{s * 0.11, 0.12}, {s * 0.2, 0.24}};
      canvas_.paint(hfill(ribbon(l, 0.012, 0.006), 0.007), skin_shadow_, 0.7 * a.u9, Blend::Multiply);
    }
  }
  // philtrum: two soft ridges from the nose to the cupid's bow
  for (int s : {-1, 1}) {
    const Path l = {{s * 0.035, nl + 0.09 - 0.5 * lift}, {s * 0.055, upper_outer(0.28 * s) - 0.005}};
    canvas_.paint(hfill(ribbon(l, 0.018, 0.022), 0.012), skin_shadow_, 0.22, Blend::Multiply);
  }
}

void Face::draw_facial_hair(bool moustache_pass) {
  const int style = id_.facial_hair;
  if (style == 0) return;
  const Colour col = mix(hair_, brow_, 0.4);
  const double nl = nose_y_;
  const double top = nl + 0.085;
  // the moustache follows the upper lip
  auto moustache = [&](double thick) {
    Path l;
    std::vector<double> w;
    for (int i = 0; i <= 20; ++i) {
      const double s = lerp(-1.12, 1.12, i / 20.0);
      const double sc = std::clamp(s, -1.0, 1.0);
      const double y = std::min(upper_outer(sc) - 0.035, top + 0.06) + 0.05 * std::max(0.0, std::abs(s) - 0.85);
      l.emplace_back(mouth_x(s) * 1.02, y);
      w.push_back(thick * (1.0 - 0.55 * std::pow(std::abs(s) / 1.12, 2)));
    }
    return ribbon(l, w);
  };
  if (moustache_pass) {
    if (style == 2 || style == 3 || style == 4) {
      Mask m = hfill(moustache(style == 4 ? 0.1 : 0.085), 0.008, 1.0, 0.2);
      canvas_.paint(m, col, 0.92);
      Rng r(id_.texture_seed ^ 0x3057ull);
      for (int i = 0; i < 30; ++i) {
        const double s = r.uniform(-1.0, 1.0);
        const P q(mouth_x(s), upper_outer(s) - 0.06 + r.uniform(-0.02, 0.02));
        const Path st = {q, q + P(0.02 * s, 0.05)};
        canvas_.paint(intersect(hfill(ribbon(st, 0.008, 0.003), 0.002, 1.0, 0.2), m), scale(col, r.chance(0.5) ? 0.6 : 1.5), 0.5);
      }
    }
    return;
  }
  const double hw = hw_;
  Path region;
  if (style == 1 || style == 4) {  // the whole beard area: sideburns, jaw, chin, upper lip
    const Path outer = {{hw * 0.99, 0.05}, {0.5 * (hw + jaw_w_) + 0.04, 0.5 * (0.22 + jaw_y_) + 0.02}, {jaw_w_, jaw_y_},
                        {0.5 * (jaw_w_ + chin_w_) + 0.05, 0.5 * (jaw_y_ + chin_y_) + 0.08}, {chin_w_, chin_y_ - 0.05}};
    for (const P& q : outer) region.push_back(jaw(q));
    region.push_back(jaw(P(0.0, chin_y_ + 0.01)));
    for (int i = static_cast<int>(outer.size()) - 1; i >= 0; --i) region.push_back(jaw(mirror(outer[static_cast<std::size_t>(i)])));
    const Path inner = {{-hw * 0.9, 0.05}, {-0.7, 0.42}, {-mcx_ - 0.12, mcy_ - 0.06}, {-0.22, top}, {0.22, top},
                        {mcx_ + 0.12, mcy_ - 0.06}, {0.7, 0.42}, {hw * 0.9, 0.05}};
    region.insert(region.end(), inner.begin(), inner.end());
  } else if (style == 3) {  // goatee: around the mouth and down the chin
    region = {{-mcx_ - 0.06, mcy_ - 0.04}, {-0.2, top + 0.02}, {0.2, top + 0.02}, {mcx_ + 0.06, mcy_ - 0.04},
              jaw(P(mcx_ * 0.6, lower_outer(0.5) + 0.12)), jaw(P(0.22, chin_y_ - 0.04)), jaw(P(0.0, chin_y_ + 0.01)),
              jaw(P(-0.22, chin_y_ - 0.04)), jaw(P(-mcx_ * 0.6, lower_outer(0.5) + 0.12))};
  } else {
    return;  // moustache only
  }
  Mask m = hfill(spline(region, true, 6), style == 1 ? 0.05 : 0.02, 1.0, 0.1);
  if (style == 1) {
    // stubble: a speckled shadow
    cv::Mat noise(m.roi.size(), CV_8U);
    cv::RNG rng(id_.texture_seed ^ 0x57ull);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 256);
    cv::threshold(noise, noise, 150, 255, cv::THRESH_BINARY);
    Mask nm{m.roi, noise};
    soften(nm, px(0.004), cs_);
    canvas_.paint(m, mix(skin_shadow_, rgb(90, 95, 110), 0.3), 0.3, Blend::Multiply);
    canvas_.paint(intersect(nm, m), scale(col, 0.6), 0.22);
    return;
  }
  canvas_.paint(m, col, 0.93);
  Rng r(id_.texture_seed ^ 0xBEA4Dull);
  cv::Mat lt = cv::Mat::zeros(m.roi.size(), CV_8U), dk = cv::Mat::zeros(m.roi.size(), CV_8U);
  for (int i = 0; i < 220; ++i) {
    const P q(r.uniform() * m.roi.width, r.uniform() * m.roi.height);
    const P d(r.uniform(-0.3, 0.3) * px(0.05), px(0.05));
    cv::line(r.chance(0.5) ? lt : dk, cv::Point(cvRound(q.x * 8), cvRound(q.y * 8)),
             cv::Point(cvRound((q.x + d.x) * 8), cvRound((q.y + d.y) * 8)), cv::Scalar(255),
             std::max(1, static_cast<int>(px(0.012))), cv::LINE_AA, 3);
  }
  canvas_.paint(intersect(Mask{m.roi, dk}, m), scale(col, 0.55), 0.5);
  canvas_.paint(intersect(Mask{m.roi, lt}, m), mix(col, rgb(255, 245, 230), 0.3), 0.35);
}

void Face::draw_mouth() {
  const Au& a = a_;
  const double gap = myl_ - myu_;
  // shadow under the lower lip and at the corners
  canvas_.paint(hellipse({0.0, lower_outer(0.0) + 0.04}, mcx_ * 0.6, 0.04, 0.03), skin_shadow_, 0.4, Blend::Multiply);
  for (int s : {-1, 1}) {
    canvas_.paint(hellipse({mouth_x(s) + s * 0.01, mcy_}, 0.035, 0.03, 0.02), skin_shadow_, 0.3 + 0.3 * a.u14,
                  Blend::Multiply);
  }
  if (gap > 0.006) {
    const Path cavity = join(mouth_curve(&Face::upper_inner, -1, 1), reversed(mouth_curve(&Face::lower_inner, -1, 1)));
    Mask cm = hfill(cavity, 0.003, 1.0, 0.4);
    canvas_.paint(cm, rgb(58, 22, 26), 1.0);
    // tongue low in the mouth
    canvas_.paint(intersect(hellipse({0.0, myl_ + 0.01}, mcx_ * 0.55, 0.07 + 0.15 * gap, 0.02, 0.0, 0.4), cm),
                  rgb(168, 76, 84), 0.8);
    // upper teeth under the upper lip, lower teeth when it is wide open
    const double th = 0.075;
    Path upper_teeth = mouth_curve(&Face::upper_inner, -0.78, 0.78);
    Path ut_low = upper_teeth;
    for (std::size_t i = 0; i < ut_low.size(); ++i) {
      const double s = lerp(-0.78, 0.78, static_cast<double>(i) / static_cast<double>(ut_low.size() - 1));
      ut_low[i].y += th * (1.0 - 0.35 * s * s);
    }
    Mask teeth = intersect(hfill(join(upper_teeth, reversed(ut_low)), 0.003, 1.0, 0.4), cm);
    const Colour tooth = rgb(238, 234, 220);
    canvas_.paint(teeth, tooth, 0.97);
    if (gap > 0.09) {
      Path lower_teeth = mouth_curve(&Face::lower_inner, -0.6, 0.6);
      Path lt_top = lower_teeth;
      for (P& q : lt_top) q.y -= 0.05;
      canvas_.paint(intersect(hfill(join(lower_teeth, reversed(lt_top)), 0.003, 1.0, 0.4), cm), scale(tooth, 0.85),
                    0.9 * smooth(0.09, 0.2, gap));
    }
    // gaps between the front teeth, and the lip's shadow on them
    for (double s : {-0.13, 0.13, -0.38, 0.38}) {
      const Path l = {{mouth_x(s), upper_inner(s)}, {mouth_x(s) * 1.02, upper_inner(s) + th * 0.9}};
      canvas_.paint(intersect(hfill(ribbon(l, 0.008, 0.006), 0.003, 1.0, 0.4), teeth), rgb(150, 130, 120), 0.5,
                    Blend::Multiply);
    }
    canvas_.paint(intersect(hfill(ribbon(mouth_curve(&Face::upper_inner, -1, 1), 0.035, 0.035), 0.015, 1.0, 0.4), cm),
                  rgb(110, 80, 80), 0.6, Blend::Multiply);
    // the sides of the mouth are darker
    for (int s : {-1, 1}) {
      canvas_.paint(intersect(hellipse({mouth_x(s) * 0.85, (myu_ + myl_) * 0.5}, mcx_ * 0.3, 0.3, 0.04, 0.0, 0.4), cm),
                    rgb(40, 14, 18), 0.7);
    }
  }
  // lips
  const Path upper = join(mouth_curve(&Face::upper_outer, -1, 1, 32), reversed(mouth_curve(&Face::upper_inner, -1, 1, 32)));
  const Path lower = join(mouth_curve(&Face::lower_inner, -1, 1, 32), reversed(mouth_curve(&Face::lower_outer, -1, 1, 32)));
  Mask um = hfill(upper, 0.006, 1.0, 0.4), lm = hfill(lower, 0.006, 1.0, 0.4);
  canvas_.gradient(um, scale(lip_, 0.92), scale(lip_, 0.72), head(P(0, upper_outer(0) - 0.03), 0.4),
                   head(P(0, myu_), 0.4));
  canvas_.gradient(lm, scale(lip_, 1.04), scale(lip_, 0.78), head(P(0, myl_), 0.4), head(P(0, lower_outer(0)), 0.4));
  // lip highlight on the lower lip and a light edge on the cupid's bow
  canvas_.paint(intersect(hellipse({0.05 * light_.x, 0.5 * (myl_ + lower_outer(0.0)) - 0.005}, mcx_ * 0.35,
                                   0.3 * mtl_ + 0.005, 0.02, 0.0, 0.4),
                          lm),
                rgb(255, 240, 235), 0.3, Blend::Screen);
  const Path bow = mouth_curve(&Face::upper_outer, -0.7, 0.7, 20);
  Path bow_up = bow;
  for (P& q : bow_up) q.y -= 0.018;
  canvas_.paint(hfill(ribbon(bow_up, 0.02, 0.02), 0.01, 1.0, 0.4), skin_light_, 0.3, Blend::Screen);
  // the line where the lips meet (or the inner edges when open), darkest at the corners
  const Colour seam = mix(lip_, rgb(40, 14, 18), 0.7);
  if (gap <= 0.006) {
    const Path l = mouth_curve(&Face::upper_inner, -1.03, 1.03, 32);
    canvas_.paint(hfill(ribbon(l, 0.012, 0.012, 0.01), 0.006, 1.0, 0.4), seam, 0.85);
  }
  for (int s : {-1, 1}) {
    const double sc = s;
    const Path corner = {{mouth_x(sc * 0.9), upper_inner(sc * 0.9)}, {mouth_x(sc * 1.04), mcy_ + 0.005}};
    canvas_.paint(hfill(ribbon(corner, 0.016, 0.01), 0.006, 1.0, 0.4), seam, 0.8);
  }
}

void Face::draw_glasses() {
  const int g = id_.glasses;
  if (g == 0) return;
  const Colour frame = g == 3 ? rgb(150, 125, 70) : (id_.texture_seed & 2u) ? rgb(70, 42, 26) : rgb(22, 20, 24);
  const double th = g == 3 ? 0.026 : 0.036;
  std::vector<Path> rims;
  for (int s : {-1, 1}) {
    const P c(s * eye_x_, -0.01);
    Path rim;
    if (g == 1) {
      rim = ellipse(c, 0.255, 0.235, 0.0, 48);
    } else {
      // rounded rectangle (superellipse)
      const double rx = g == 2 ? 0.28 : 0.26, ry = g == 2 ? 0.19 : 0.2, e = g == 2 ? 0.25 : 0.45;
      for (int i = 0; i < 48; ++i) {
        const double t = 2 * kPi * i / 48.0;
        const double ct = std::cos(t), st = std::sin(t);
        rim.emplace_back(c.x + rx * (ct < 0 ? -1 : 1) * std::pow(std::abs(ct), e),
                         c.y + ry * (st < 0 ? -1 : 1) * std::pow(std::abs(st), e) + (st > 0 ? 0.02 : 0.0));
      }
    }
    rims.push_back(rim);
  }
  // lenses: a faint tint and a reflection streak
  for (const Path& rim : rims) {
    Mask lens = hfill(rim, 0.002, 1.0, 0.3);
    canvas_.paint(lens, rgb(235, 240, 250), 0.06);
    const P c = rim[0] * 0.5 + rim[24] * 0.5;
    const Path streak = {c + P(-0.12, 0.12), c + P(0.06, -0.18)};
    canvas_.paint(intersect(hfill(ribbon(streak, 0.05, 0.03), 0.02, 1.0, 0.3), lens), rgb(255, 255, 255), 0.22, Blend::Screen);
  }
  // frame shadow on the face
  for (const Path& rim : rims) {
    Path closed = rim;
    closed.push_back(rim.front());
    Mask sh = hfill(ribbon(closed, th, th), 0.02, 1.0, 0.3);
    sh = shifted(sh, static_cast<int>(-light_.x * px(0.03)), static_cast<int>(px(0.04)), cs_);
    canvas_.paint(sh, skin_shadow_, 0.35, Blend::Multiply);
  }
  for (const Path& rim : rims) {
    Path closed = rim;
    closed.push_back(rim.front());
    canvas_.paint(hfill(ribbon(closed, th, th), 0.002, 1.0, 0.3), frame, 0.95);
    Path glint = Path(closed.begin() + 28, closed.begin() + 40);
    canvas_.paint(hfill(ribbon(glint, th * 0.35, th * 0.35), 0.002, 1.0, 0.3), rgb(255, 255, 255), 0.25, Blend::Screen);
  }
  // bridge and temples
  const double inner = eye_x_ - (g == 1 ? 0.255 : 0.27);
  const Path bridge = spline({{-inner, -0.03}, {0.0, -0.07}, {inner, -0.03}}, false, 6);
  canvas_.paint(hfill(ribbon(bridge, th * 0.8, th * 0.8), 0.002, 1.0, 0.3), frame, 0.95);
  for (int s : {-1, 1}) {
    const double o = eye_x_ + (g == 1 ? 0.255 : 0.275);
    const Path arm = {{s * (o - 0.01), -0.04}, {s * hw_ * 1.0, -0.06}};
    canvas_.paint(hfill(ribbon(arm, th * 0.8, th * 0.6), 0.002, 1.0, 0.0), frame, 0.95);
  }
}

cv::Mat Face::render() {
  draw_background();
  draw_hair(false);
  draw_body();
  draw_ears();
  draw_face_base();
  draw_lines();
  draw_nose();
  draw_facial_hair(false);
  for (int s : {-1, 1}) draw_eye(eye(s));
  for (int s : {-1, 1}) draw_brow(s);
  draw_mouth();
  draw_facial_hair(true);
  draw_hair(true);
  draw_glasses();
  cv::Mat small;
  cv::resize(canvas_.img, small, cv::Size(out_size_, out_size_), 0, 0, cv::INTER_AREA);
  cv::Mat out;
  small.convertTo(out, CV_8UC3, 255.0);
  return out;
}

Landmarks Face::landmarks(double k) const {
  Landmarks l;
  auto at = [&](P p, double extra = 0.0) { return head(p, extra) * k; };
  l.eye_left = at(eye(-1).centre);
  l.eye_right = at(eye(1).centre);
  std::vector<double> w;
  const Path bl = brow_line(-1, &w), br = brow_line(1, &w);
  l.brow_left = at(bl[bl.size() / 2]);
  l.brow_right = at(br[br.size() / 2]);
  l.nose_tip = at(P(0.0, nose_y_), 0.4);
  l.mouth_left = at(P(mouth_x(-1), mcy_), 0.4);
  l.mouth_right = at(P(mouth_x(1), mcy_), 0.4);
  l.mouth_centre = at(P(0.0, 0.5 * (upper_outer(0.0) + lower_outer(0.0))), 0.4);
  l.chin = at(jaw(P(0.0, chin_y_)));
  l.face_unit = unit_ * k;
  return l;
}

int supersample(int size) { return size <= 320 ? 3 : 2; }

void check_size(int size) {
  if (size < 16 || size > 1024) {
    throw Error(ErrorKind::InvalidArgument, "render_face: size must be in [16, 1024], got " + std::to_string(size));
  }
}

}  // namespace

cv::Mat render_face(const Identity& id, const AuVector& aus, int size, bool draft) {
  check_size(size);
  Face face(id, aus, size * (draft ? 1 : supersample(size)), size);
  return face.render();
}

Landmarks face_landmarks(const Identity& id, const AuVector& aus, int size) {
  check_size(size);
  const int ss = supersample(size);
  Face face(id, aus, size * ss, size);
  return face.landmarks(1.0 / ss);
}

}  // namespace circumplex::facegen
