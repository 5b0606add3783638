#include "atlas_plot.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "plot.hpp"

namespace circumplex::plot {
namespace {

constexpr double kPi = 3.14159265358979323846;
const cv::Scalar kInk(40, 40, 40), kFaint(215, 215, 215), kMuted(130, 130, 130), kPaper(252, 250, 248);

cv::Scalar basic_colour(const std::string& name) {
  if (name == "happy") return {0, 170, 235};
  if (name == "sad") return {190, 110, 40};
  if (name == "surprised") return {0, 130, 245};
  if (name == "fearful") return {160, 60, 140};
  if (name == "disgusted") return {60, 150, 60};
  if (name == "angry") return {40, 40, 210};
  if (name == "contempt") return {50, 100, 150};
  return {120, 120, 120};
}

void draw_dot(cv::Mat& img, cv::Point2d p, double r, cv::Scalar fill, bool hollow) {
  const cv::Point c(cvRound(p.x * 16), cvRound(p.y * 16));
  const int rr = cvRound(r * 16);
  if (hollow) {
    cv::circle(img, c, rr, cv::Scalar(255, 255, 255), cv::FILLED, cv::LINE_AA, 4);
    cv::circle(img, c, rr, fill, 2, cv::LINE_AA, 4);
  } else {
    cv::circle(img, c, rr, fill, cv::FILLED, cv::LINE_AA, 4);
    cv::circle(img, c, rr, kInk, 1, cv::LINE_AA, 4);
  }
}

void polyline(cv::Mat& img, const std::vector<cv::Point2d>& pts, cv::Scalar colour, int thickness, bool closed) {
  std::vector<cv::Point> fixed;
  for (const auto& p : pts) fixed.emplace_back(cvRound(p.x * 16), cvRound(p.y * 16));
  cv::polylines(img, fixed, closed, colour, thickness, cv::LINE_AA, 4);
}

// Orthographic view: rotate (v, a, z) by yaw about the arousal axis, then pitch about the
// screen's horizontal axis; screen x right, y up, depth toward the viewer.
struct View {
  double yaw, pitch;
  std::string title;
  cv::Point3d map(AffectPoint p) const {
    const double cy = std::cos(yaw), sy = std::sin(yaw), cp = std::cos(pitch), sp = std::sin(pitch);
    // world: x = v, y = a (up), depth = z toward the viewer at yaw = pitch = 0
    const double x1 = cy * p.v + sy * p.z, d1 = -sy * p.v + cy * p.z;
    const double y2 = cp * p.a - sp * d1, d2 = sp * p.a + cp * d1;
    return {x1, y2, d2};
  }
};

}  // namespace

cv::Scalar emotion_colour(const Atlas& atlas, const Emotion& e) {
  if (e.kind == EmotionKind::Basic) return basic_colour(e.name);
  (void)atlas;
  const cv::Scalar a = basic_colour(e.first), b = basic_colour(e.second);
  return (a + b) * 0.5;
}

cv::Mat draw_atlas_2d(const Atlas& atlas, int size) {
  cv::Mat img(size, size, CV_8UC3, kPaper);
  const double margin = size * 0.13, R = (size - 2 * margin) / 2.0;
  const cv::Point2d O(size / 2.0, size / 2.0 + size * 0.02);
  auto to_px = [&](double v, double a) { return cv::Point2d(O.x + v * R, O.y - a * R); };
  LabelPlacer labels(img.size());

  // Title.
  labels.block(draw_text(img, "circumplex atlas - 2D: valence x arousal", {24, 18}, 0.9, kInk, 2));
  labels.block(draw_text(img, "filled: basic emotions   hollow: C2A2 compounds (X-ly-Y)   grey: Russell's octants",
                         {24, 56}, 0.5, kMuted));
  // Rings, grid, unit circle.
  for (double r : {0.25, 0.5, 0.75}) {
    std::vector<cv::Point2d> ring;
    for (int k = 0; k < 180; ++k) ring.push_back(to_px(r * std::cos(k * 2 * kPi / 180), r * std::sin(k * 2 * kPi / 180)));
    polyline(img, ring, kFaint, 1, true);
  }
  std::vector<cv::Point2d> unit;
  for (int k = 0; k < 360; ++k) unit.push_back(to_px(std::cos(k * 2 * kPi / 360), std::sin(k * 2 * kPi / 360)));
  polyline(img, unit, kInk, 2, true);
  // Axes.
  draw_arrow(img, to_px(-1.12, 0), to_px(1.14, 0), kInk, 2);
  draw_arrow(img, to_px(0, -1.12), to_px(0, 1.14), kInk, 2);
  labels.block(draw_text(img, "Valence", cv::Point(cvRound(to_px(1.02, 0).x), cvRound(to_px(0, 0).y) + 10), 0.75, kInk, 2));
  const cv::Point2d top = to_px(0, 1.14);
  labels.block(draw_text(img, "Arousal", cv::Point(cvRound(top.x) + 12, cvRound(top.y) - 8), 0.75, kInk, 2));
  const cv::Point2d left = to_px(-1.12, 0), bottom = to_px(0, -1.12);
  labels.block(cv::Rect(cvRound(left.x), cvRound(O.y) - 4, cvRound(2.26 * R), 8));
  labels.block(cv::Rect(cvRound(O.x) - 4, cvRound(top.y), 8, cvRound(bottom.y - top.y)));
  for (double t : {-1.0, -0.5, 0.5, 1.0}) {
    const cv::Point2d pv = to_px(t, 0), pa = to_px(0, t);
    cv::line(img, cv::Point(cvRound(pv.x), cvRound(pv.y) - 5), cv::Point(cvRound(pv.x), cvRound(pv.y) + 5), kInk, 1, cv::LINE_AA);
    cv::line(img, cv::Point(cvRound(pa.x) - 5, cvRound(pa.y)), cv::Point(cvRound(pa.x) + 5, cvRound(pa.y)), kInk, 1, cv::LINE_AA);
  }
  // Russell's octants outside the rim.
  const char* octants[8] = {"pleasure", "excitement", "arousal", "distress", "displeasure", "depression", "sleepiness", "relaxation"};
  for (int k = 0; k < 8; ++k) {
    const double ang = k * kPi / 4;
    const cv::Point2d p = to_px(std::cos(ang), std::sin(ang));
    const cv::Point tl = labels.place(octants[k], p, 0.5, 10, {std::cos(ang), -std::sin(ang)});
    draw_text(img, octants[k], tl, 0.5, kMuted);
  }

  // Dots first (so labels avoid every dot), then labels.
  std::vector<std::pair<const Emotion*, cv::Point2d>> dots;
  for (const Emotion& e : atlas.emotions()) dots.emplace_back(&e, to_px(e.plane.v, e.plane.a));
  for (const auto& [e, p] : dots) {
    const double r = e->kind == EmotionKind::Basic ? 9.0 : 6.0;
    labels.block(cv::Rect(cvRound(p.x - r), cvRound(p.y - r), cvRound(2 * r), cvRound(2 * r)));
  }
  for (const auto& [e, p] : dots) draw_dot(img, p, e->kind == EmotionKind::Basic ? 9.0 : 6.0, emotion_colour(atlas, *e), e->kind == EmotionKind::Compound);
  for (const auto& [e, p] : dots) {
    const bool basic = e->kind == EmotionKind::Basic;
    const double scale = basic ? 0.62 : 0.42;
    const cv::Point2d out = p - O;
    const cv::Point tl = labels.place(e->name, p, scale, basic ? 10 : 7, out, basic ? 2 : 1);
    const cv::Scalar colour = basic ? emotion_colour(atlas, *e) * 0.8 : kInk;
    draw_text(img, e->name, tl, scale, colour, basic ? 2 : 1);
  }
  return img;
}

cv::Mat draw_atlas_3d(const Atlas& atlas, int panel) {
  const std::vector<View> views = {
      {-0.62, 0.38, "oblique view"},
      {0.0, 1.35, "from above: valence x z"},
      {-1.45, 0.12, "from the side: z x arousal"},
  };
  cv::Mat out(panel + 70, panel * static_cast<int>(views.size()), CV_8UC3, kPaper);
  draw_text(out, "circumplex atlas - 3D (C2A2): valence, arousal, z = -dominance", {24, 16}, 0.85, kInk, 2);
  draw_text(out, "unit sphere with its three great circles; nearer points drawn larger and darker", {24, 50}, 0.5, kMuted);

  for (std::size_t vi = 0; vi < views.size(); ++vi) {
    const View& view = views[vi];
    cv::Mat img = out(cv::Rect(static_cast<int>(vi) * panel, 70, panel, panel));
    const double R = panel * 0.33;
    const cv::Point2d O(panel / 2.0, panel / 2.0 + 10);
    auto px = [&](AffectPoint p) {
      const cv::Point3d q = view.map(p);
      return std::make_pair(cv::Point2d(O.x + q.x * R, O.y - q.y * R), q.z);
    };
    LabelPlacer labels(img.size());
    labels.block(draw_text(img, view.title, {20, 8}, 0.6, kInk, 1));
    std::vector<cv::Point2d> rim;
    for (int k = 0; k < 180; ++k) rim.push_back(O + R * cv::Point2d(std::cos(k * 2 * kPi / 180), std::sin(k * 2 * kPi / 180)));
    polyline(img, rim, kMuted, 1, true);
    // Great circles: the v-a plane (z = 0), v-z (a = 0) and a-z (v = 0); back halves fainter.
    for (int plane = 0; plane < 3; ++plane) {
      std::vector<cv::Point2d> front, back;
      for (int k = 0; k <= 240; ++k) {
        const double t = k * 2 * kPi / 240, c = std::cos(t), s = std::sin(t);
        const AffectPoint p = plane == 0 ? AffectPoint{c, s, 0} : plane == 1 ? AffectPoint{c, 0, s} : AffectPoint{0, c, s};
        const auto [q, depth] = px(p);
        (depth >= 0 ? front : back).push_back(q);
        auto& other = depth >= 0 ? back : front;
        if (other.size() > 1) { polyline(img, other, depth >= 0 ? kFaint : cv::Scalar(170, 170, 170), 1, false); other.clear(); }
      }
      polyline(img, back, kFaint, 1, false);
      polyline(img, front, cv::Scalar(170, 170, 170), 1, false);
    }
    // Axes.
    const char* axis_names[3] = {"valence", "arousal", "z"};
    const AffectPoint axis_dirs[3] = {{1.25, 0, 0}, {0, 1.25, 0}, {0, 0, 1.25}};
    for (int k = 0; k < 3; ++k) {
      const auto [a, da] = px((-1.0) * axis_dirs[k]);
      const auto [b, db] = px(axis_dirs[k]);
      (void)da; (void)db;
      if (std::hypot(b.x - a.x, b.y - a.y) < 12) {  // axis points at the viewer
        labels.block(draw_text(img, std::string(axis_names[k]) + " (toward you)", cv::Point(cvRound(O.x) + 6, cvRound(O.y) + 6), 0.5, kInk));
        continue;
      }
      draw_arrow(img, a, b, kInk, 1);
      const cv::Point tl = labels.place(axis_names[k], b, 0.6, 6, b - O, 2);
      draw_text(img, axis_names[k], tl, 0.6, kInk, 2);
    }
    // Points, far to near.
    std::vector<std::tuple<double, const Emotion*, cv::Point2d>> pts;
    for (const Emotion& e : atlas.emotions()) {
      const auto [q, depth] = px(e.ball);
      pts.emplace_back(depth, &e, q);
    }
    std::sort(pts.begin(), pts.end(), [](const auto& l, const auto& r) { return std::get<0>(l) < std::get<0>(r); });
    for (const auto& [depth, e, q] : pts) {
      const double r = (e->kind == EmotionKind::Basic ? 8.0 : 5.0) * (1.0 + 0.25 * depth);
      labels.block(cv::Rect(cvRound(q.x - r), cvRound(q.y - r), cvRound(2 * r), cvRound(2 * r)));
    }
    for (const auto& [depth, e, q] : pts) {
      const double r = (e->kind == EmotionKind::Basic ? 8.0 : 5.0) * (1.0 + 0.25 * depth);
      const double fade = std::clamp(0.75 + 0.35 * depth, 0.4, 1.0);
      const cv::Scalar c = emotion_colour(atlas, *e) * fade + kPaper * (1.0 - fade);
      draw_dot(img, q, r, c, e->kind == EmotionKind::Compound);
    }
    for (const auto& [depth, e, q] : pts) {
      const bool basic = e->kind == EmotionKind::Basic;
      const double scale = basic ? 0.5 : 0.36;
      const cv::Point tl = labels.place(e->name, q, scale, 6, q - O, basic ? 2 : 1);
      draw_text(img, e->name, tl, scale, basic ? emotion_colour(atlas, *e) * 0.8 : kInk, basic ? 2 : 1);
    }
    if (vi > 0) cv::line(out, cv::Point(static_cast<int>(vi) * panel, 80), cv::Point(static_cast<int>(vi) * panel, out.rows - 10), kFaint, 1);
  }
  return out;
}

}  // namespace circumplex::plot
