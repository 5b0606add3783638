// The procedural route of photo identities: the facegen person who looks most like an aligned
// photo, found by analysis by synthesis (render a candidate, compare, keep the better one).
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>

#include "circumplex/error.hpp"
#include "circumplex/photo.hpp"

namespace circumplex {
namespace {

constexpr int kFitSide = 48;  // faces are compared this large: colours and shapes, not texture

/// An image as the fit compares it: blurred, in CIE Lab (float), kFitSide².
cv::Mat comparable(const cv::Mat& bgr) {
  cv::Mat small, f, lab;
  cv::resize(bgr, small, {kFitSide, kFitSide}, 0, 0, bgr.cols > kFitSide ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::GaussianBlur(small, small, {3, 3}, 0.8);
  small.convertTo(f, CV_32FC3, 1.0 / 255.0);
  cv::cvtColor(f, lab, cv::COLOR_BGR2Lab);
  return lab;
}

/// How far a candidate's render is from the photo: squared Lab distance, lightness at half the
/// weight of colour (a photo's lighting differs from the painter's more than its colours do),
/// the face's middle (where people look) at twice the weight of the rest.
double distance(const cv::Mat& a, const cv::Mat& b, const cv::Mat& weight) {
  double sum = 0;
  for (int y = 0; y < a.rows; ++y) {
    const auto* pa = a.ptr<cv::Vec3f>(y);
    const auto* pb = b.ptr<cv::Vec3f>(y);
    const auto* w = weight.ptr<float>(y);
    for (int x = 0; x < a.cols; ++x) {
      const cv::Vec3f d = pa[x] - pb[x];
      sum += w[x] * (0.5 * d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    }
  }
  return sum;
}

/// The factors the fit chooses, in the order it chooses them (large areas first), and the
/// values it tries for each. Factors not named keep the average person's value (0.5).
/// Glasses are not fitted: at this scale the shadows around a bare eye match a frame better
/// than no frame (the London sample, where nobody wears glasses, got them 9 times in 12).
/// Facial hair must cut the distance by 3 % (its margin): dark chin shading alone got goatees.
/// The backdrop is chosen on the picture's top corners, where no hair style or face shape can
/// stand in for it (on the whole picture the average person's hair cut across the backdrop,
/// and the same studio got different walls). Hair colour is chosen on the crown, the top of the
/// head above the face box, which is hair in every style but bald: on the whole picture the
/// average person's hair style decided which colour won (hair pulled back left the backdrop
/// showing where that style has hair, and a smiling woman with black hair got a grey bob).
enum class Region { Whole, Backdrop, Crown };
struct Trial {
  const char* factor;
  std::vector<double> values;
  bool relative = false;  ///< values are offsets from the factor's current value (a second, finer look)
  double margin = 1.0;    ///< another value must cut the distance below margin × the current value's
  Region region = Region::Whole;  ///< where the painting is compared with the photo
};
const std::vector<Trial>& trials() {
  static const std::vector<Trial> table = {
      {"background_light", {0.05, 0.3, 0.55, 0.8, 1.0}, false, 1.0, Region::Backdrop},
      // The painter's backdrop is greyest at these five hues (saturation 0.12; studio walls),
      // most coloured at the other four.
      {"background_hue", {0.108, 0.293, 0.478, 0.663, 0.848, 0.0, 0.25, 0.5, 0.75}, false, 1.0, Region::Backdrop},
      {"background_gradient", {0.0, 0.5, 1.0}, false, 1.0, Region::Backdrop},
      {"clothing_light", {0.0, 0.25, 0.5, 0.75, 1.0}},
      {"clothing_hue", {0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875}},
      {"skin_tone", {0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9}},
      {"skin_undertone", {0.1, 0.5, 0.9}},
      {"hair_colour", {0.0, 0.2, 0.4, 0.6, 0.8, 1.0}, false, 1.0, Region::Crown},
      {"hair_style", {0, 1, 2, 3, 4, 5, 6, 7}},
      {"hair_red", {0.0, 0.4, 0.8}},
      {"face_width", {0.1, 0.5, 0.9}},
      {"face_length", {0.1, 0.5, 0.9}},
      {"jaw_width", {0.1, 0.5, 0.9}},
      {"facial_hair", {0, 1, 2, 3, 4}, false, 0.97},
      {"age", {0.1, 0.4, 0.7}},
      {"light_direction", {0.2, 0.5, 0.8}},
      {"skin_tone", {-0.06, -0.03, 0.03, 0.06}, true},
      {"hair_style", {0, 1, 2, 3, 4, 5, 6, 7}},  // again, now that skin and hair colours are known
      {"hair_colour", {-0.1, 0.1}, true, 1.0, Region::Crown},
  };
  return table;
}

}  // namespace

facegen::Identity fit_procedural_person(const std::uint8_t* rgb, int size) {
  if (!rgb || size < 16) throw Error(ErrorKind::InvalidArgument, "fit_procedural_person: an aligned RGB face of at least 16 pixels is needed");
  cv::Mat photo_rgb(size, size, CV_8UC3, const_cast<std::uint8_t*>(rgb)), photo_bgr;
  cv::cvtColor(photo_rgb, photo_bgr, cv::COLOR_RGB2BGR);
  const cv::Mat target = comparable(photo_bgr);
  cv::Mat weight(kFitSide, kFitSide, CV_32F, cv::Scalar(1.0f));
  cv::ellipse(weight, {kFitSide / 2, kFitSide / 2}, {kFitSide / 4, kFitSide / 3}, 0, 0, 360, cv::Scalar(2.0f), cv::FILLED);

  // The backdrop: the top corners, outside the head and above the shoulders.
  cv::Mat backdrop(kFitSide, kFitSide, CV_32F, cv::Scalar(0.0f));
  backdrop.rowRange(0, kFitSide * 2 / 3).setTo(1.0f);
  cv::ellipse(backdrop, {kFitSide / 2, kFitSide * 5 / 12}, {kFitSide * 3 / 8, kFitSide * 11 / 24}, 0, 0, 360, cv::Scalar(0.0f), cv::FILLED);
  // The crown: the middle third across, from 8 % to 18 % down (the face box starts at about 20 %).
  cv::Mat crown(kFitSide, kFitSide, CV_32F, cv::Scalar(0.0f));
  crown(cv::Range(kFitSide * 8 / 100, kFitSide * 18 / 100 + 1), cv::Range(kFitSide / 3, kFitSide * 2 / 3)).setTo(1.0f);

  facegen::Identity person;  // the average person, facing the camera, centred
  person.iris_colour = 1;
  person.texture_seed = 1;
  const auto paint = [](const facegen::Identity& p) { return comparable(facegen::render_face(p, AuVector{}, kFitSide, /*draft=*/true)); };
  cv::Mat current = paint(person);
  for (const Trial& t : trials()) {
    const auto index = static_cast<std::size_t>(facegen::factor_index(t.factor));
    const double base = facegen::factor_value(person, index);
    // The candidates other than the current value (its painting is `current`) are painted in
    // parallel (each render is independent), then compared in order.
    std::vector<facegen::Identity> candidates;
    for (const double v : t.values) {
      facegen::Identity c = person;
      facegen::set_factor(c, index, t.relative ? base + v : v);
      if (facegen::factor_value(c, index) != base) candidates.push_back(c);
    }
    std::vector<cv::Mat> painted(candidates.size());
    cv::parallel_for_(cv::Range(0, static_cast<int>(candidates.size())), [&](const cv::Range& r) {
      for (int k = r.start; k < r.end; ++k) painted[static_cast<std::size_t>(k)] = paint(candidates[static_cast<std::size_t>(k)]);
    });
    const cv::Mat& w = t.region == Region::Backdrop ? backdrop : t.region == Region::Crown ? crown : weight;
    double best = distance(current, target, w);
    std::size_t chosen = painted.size();  // none: the current value stays
    for (std::size_t k = 0; k < painted.size(); ++k) {
      const double d = distance(painted[k], target, w);
      if (d < best * t.margin) best = d, chosen = k;
    }
    if (chosen < painted.size()) person = candidates[chosen], current = painted[chosen];
  }
  return person;
}

}  // namespace circumplex
