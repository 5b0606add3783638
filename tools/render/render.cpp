#include "render.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "circumplex/atlas.hpp"
#include "circumplex/photo.hpp"
#include "circumplex/error.hpp"
#include "common/progress.hpp"
#include "plot/chart.hpp"
#include "plot/plot.hpp"

namespace circumplex::tools {
namespace fs = std::filesystem;

namespace {
const cv::Scalar kInk(40, 40, 40), kMuted(110, 110, 110), kPaper(252, 250, 248);

cv::Mat scaled(const cv::Mat& face, int cell) {
  if (face.cols == cell) return face;
  cv::Mat out;
  cv::resize(face, out, {cell, cell}, 0, 0, cell > face.cols ? cv::INTER_CUBIC : cv::INTER_AREA);
  return out;
}
}  // namespace

RenderContext::RenderContext(const std::string& package_dir, int threads, const std::string& device)
    : RenderContext(ModelPackage::load(package_dir), threads, device) {}

RenderContext::RenderContext(ModelPackage loaded, int threads, const std::string& device)
    : package(std::move(loaded)), generator(package, threads, device) {
  identity = package.identity_from_seed(1);
}

void RenderContext::identity_from_seed(std::uint64_t seed) {
  identity = package.identity_from_seed(seed);
  detail.reset();
}

void RenderContext::identity_from_file(const std::string& path) {
  torch::Tensor image;
  identity = package.load_identity(path, &image);
  detail.reset();
  if (image.defined() && keep_detail) detail = generator.detail(image, identity);
}

void RenderContext::identity_from_image(const std::string& path) {
  const PhotoFile file = read_photo_file(path);
  const PreparedPhoto photo = prepare_photo(file.rgb.data(), file.width, file.height, 3, static_cast<std::size_t>(file.width) * 3, package, path);
  for (const std::string& note : photo.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  identity = generator.encode(photo.rgb.data(), photo.size, photo.size, 3);
  detail.reset();
  if (keep_detail) detail = generator.detail(photo.rgb.data(), photo.size, photo.size, 3, identity);
}

std::vector<cv::Mat> RenderContext::faces(const std::vector<AffectPoint>& points) {
  std::vector<cv::Mat> out;
  const int s = generator.image_size();
  for (std::size_t lo = 0; lo < points.size(); lo += 16) {
    std::vector<std::vector<float>> latents;
    for (std::size_t i = lo; i < std::min(points.size(), lo + 16); ++i) latents.push_back(package.manifold().compose(identity, points[i]));
    std::vector<std::vector<std::uint8_t>> rgba;
    generator.decode_batch(latents, rgba, detail.get());
    for (auto& px : rgba) {
      cv::Mat bgr;
      cv::cvtColor(cv::Mat(s, s, CV_8UC4, px.data()), bgr, cv::COLOR_RGBA2BGR);
      out.push_back(bgr);
    }
  }
  return out;
}

cv::Mat render_grid(RenderContext& ctx, int steps, int cell) {
  if (steps < 2 || steps > 25) throw Error(ErrorKind::InvalidArgument, "grid steps must be 2..25");
  std::vector<AffectPoint> points;
  for (int row = 0; row < steps; ++row) {
    for (int col = 0; col < steps; ++col) {
      const double v = -1.0 + 2.0 * col / (steps - 1), a = 1.0 - 2.0 * row / (steps - 1);  // top row = high arousal
      points.push_back({v, a, 0.0});
    }
  }
  const std::vector<cv::Mat> faces = ctx.faces(points);
  const int gap = 6, left = 90, top = 70, bottom = 80, label_h = 18;
  const int W = left + steps * (cell + gap) + 20, H = top + steps * (cell + label_h + gap) + bottom;
  cv::Mat img(H, W, CV_8UC3, kPaper);
  plot::draw_text(img, "circumplex: 7x7 affect grid (one identity)", {left, 14}, 0.7, kInk, 2);
  plot::draw_text(img, "points outside the unit disk are shown at its rim", {left, 44}, 0.45, kMuted);
  const Atlas& atlas = Atlas::builtin();
  for (int i = 0; i < steps * steps; ++i) {
    const int row = i / steps, col = i % steps;
    const cv::Rect r(left + col * (cell + gap), top + row * (cell + label_h + gap), cell, cell);
    scaled(faces[static_cast<std::size_t>(i)], cell).copyTo(img(r));
    const AffectPoint p = clamp_to_unit(points[static_cast<std::size_t>(i)], Space::Plane);
    const std::string name = atlas.nearest(p, Space::Plane, false).name;
    plot::draw_text(img, name, {r.x + 2, r.y + cell + 2}, 0.38, kInk);
  }
  // Axes: valence under the grid, arousal on the left.
  const int gx0 = left, gx1 = left + steps * (cell + gap) - gap, gy = H - 40;
  plot::draw_arrow(img, {static_cast<double>(gx0), static_cast<double>(gy)}, {static_cast<double>(gx1), static_cast<double>(gy)}, kInk, 2);
  plot::draw_text(img, "valence -1", {gx0, gy + 8}, 0.45, kMuted);
  plot::draw_text(img, "Valence", {(gx0 + gx1) / 2 - 30, gy + 8}, 0.55, kInk, 2);
  plot::draw_text(img, "+1", {gx1 - 24, gy + 8}, 0.45, kMuted);
  const int ax = 40, ay0 = top + steps * (cell + label_h + gap), ay1 = top;
  plot::draw_arrow(img, {static_cast<double>(ax), static_cast<double>(ay0)}, {static_cast<double>(ax), static_cast<double>(ay1)}, kInk, 2);
  plot::draw_text(img, "Arousal", {ax - 30, ay1 - 24}, 0.55, kInk, 2);
  plot::draw_text(img, "+1", {ax + 8, ay1}, 0.45, kMuted);
  plot::draw_text(img, "-1", {ax + 8, ay0 - 20}, 0.45, kMuted);
  return img;
}

cv::Mat render_strip(RenderContext& ctx, const Path& path, int steps, int cell, const std::string& title) {
  if (steps < 2 || steps > 64) throw Error(ErrorKind::InvalidArgument, "strip steps must be 2..64");
  std::vector<AffectPoint> points;
  for (int i = 0; i < steps; ++i) points.push_back(path.at(path.duration() * i / (steps - 1)));
  const std::vector<cv::Mat> faces = ctx.faces(points);
  const int gap = 6, top = 54, label_h = 40;
  cv::Mat img(top + cell + label_h + 10, 20 + steps * (cell + gap), CV_8UC3, kPaper);
  plot::draw_text(img, title, {12, 12}, 0.65, kInk, 2);
  const Atlas& atlas = Atlas::builtin();
  for (int i = 0; i < steps; ++i) {
    const cv::Rect r(12 + i * (cell + gap), top, cell, cell);
    scaled(faces[static_cast<std::size_t>(i)], cell).copyTo(img(r));
    const AffectPoint p = points[static_cast<std::size_t>(i)];
    char text[64];
    std::snprintf(text, sizeof text, "%+.2f %+.2f", p.v, p.a);
    plot::draw_text(img, text, {r.x, r.y + cell + 3}, 0.38, kMuted);
    plot::draw_text(img, atlas.nearest(p, ctx.space(), false).name, {r.x, r.y + cell + 20}, 0.4, kInk);
  }
  return img;
}

WalkRecording render_walk(RenderContext& ctx, const Path& path, double fps, int cell, const std::string& dir) {
  Progress bar("walk", std::max<std::size_t>(1, frame_times(path, fps).size()), "frame");
  const WalkRecording r = record_walk(ctx.package, ctx.generator, ctx.identity, path, fps, cell, dir,
                                      [&](std::size_t, std::size_t) { bar.advance(); }, ctx.detail.get());
  bar.finish();
  return r;
}

}  // namespace circumplex::tools
