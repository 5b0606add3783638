#include "circumplex/photo.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <opencv2/imgproc.hpp>

#include "circumplex/error.hpp"
#include "circumplex/face_detect.hpp"

namespace circumplex {

namespace {
constexpr int kDetectSide = 640;  // photos are searched at most this large (faster, same boxes)

/// The photo as BGR (OpenCV's order), whatever its channels and stride.
cv::Mat to_bgr(const std::uint8_t* pixels, int width, int height, int channels, std::size_t stride) {
  const cv::Mat view(height, width, channels == 4 ? CV_8UC4 : CV_8UC3, const_cast<std::uint8_t*>(pixels), stride);
  cv::Mat bgr;
  cv::cvtColor(view, bgr, channels == 4 ? cv::COLOR_RGBA2BGR : cv::COLOR_RGB2BGR);
  return bgr;
}

double luma_of(const cv::Mat& bgr, const cv::Rect& box, double& stdev) {
  cv::Mat gray;
  cv::cvtColor(bgr(box & cv::Rect(0, 0, bgr.cols, bgr.rows)), gray, cv::COLOR_BGR2GRAY);
  cv::Scalar mean, sd;
  cv::meanStdDev(gray, mean, sd);
  stdev = sd[0] / 255.0;
  return mean[0] / 255.0;
}

/// The largest face the strict detector accepts, in `bgr`'s pixels; `count` = faces found
/// at least 0.4 times its width (smaller hits in a portrait are the cascade's false alarms).
bool largest_face(FaceDetector& detector, const cv::Mat& bgr, cv::Rect2d& box, int& count) {
  const std::vector<FaceCandidate> found = detector.detect(bgr, nullptr, std::max(24, std::min(bgr.cols, bgr.rows) / 10));
  std::vector<cv::Rect2d> kept;
  for (const FaceCandidate& c : found) {
    if (c.score >= default_min_score(DetectorKind::Haar)) kept.push_back(c.box);
  }
  count = 0;
  if (kept.empty()) return false;
  box = *std::max_element(kept.begin(), kept.end(), [](const cv::Rect2d& a, const cv::Rect2d& b) { return a.area() < b.area(); });
  for (const cv::Rect2d& k : kept) count += k.width >= 0.4 * box.width ? 1 : 0;
  return true;
}

/// What the detector found in one orientation of a photo: the largest face, how many, and
/// whether the eye check found two eyes in it (then `roll` levels the eye line).
struct FoundFace {
  cv::Rect2d box;
  int faces = 0;
  bool eyes = false;
  double roll = 0;
  std::string why;  ///< why the eyes were not found
};

bool find_face(FaceDetector& detector, const cv::Mat& bgr, FoundFace& found) {
  if (!largest_face(detector, bgr, found.box, found.faces)) return false;
  double asymmetry = 0;
  found.eyes = detector.eyes_check(bgr, found.box, asymmetry, found.roll, found.why);
  if (!found.eyes) found.roll = 0;
  return true;
}

/// The photo turned so that its face is upright, when it is not: a scan or a picture without
/// its orientation tag can hold a face lying on its side or upside down. The upright photo is
/// searched first. Only when it shows no face with two eyes, or one tilted by more than 12°
/// (a face on its side can pass for a smaller, tilted one), are the turned copies searched;
/// then the largest face with two eyes wins, and an upright face without eyes (eyes can hide
/// behind glasses) keeps its place unless a turned one is at least 0.8 times as large.
/// Returns the cv::rotate code used, or -1 (not turned).
int upright_face(FaceDetector& detector, cv::Mat& small, FoundFace& found) {
  const bool upright = find_face(detector, small, found);
  if (upright && found.eyes && std::fabs(found.roll) <= 12.0) return -1;
  double floor = !upright ? 0.0 : found.eyes ? found.box.area() : 0.8 * found.box.area();
  int best = -1;
  cv::Mat best_image;
  for (const int turn : {cv::ROTATE_90_CLOCKWISE, cv::ROTATE_90_COUNTERCLOCKWISE, cv::ROTATE_180}) {
    cv::Mat turned;
    cv::rotate(small, turned, turn);
    FoundFace there;
    if (!find_face(detector, turned, there) || !there.eyes || there.box.area() <= floor) continue;
    best = turn, found = there, best_image = turned, floor = there.box.area();
  }
  if (best >= 0) small = best_image;
  return best;
}

const char* turn_words(int turn) {
  return turn == cv::ROTATE_180 ? "upside down; it was turned over" : turn == cv::ROTATE_90_CLOCKWISE ? "on its side; it was turned a quarter clockwise"
                                                                                                      : "on its side; it was turned a quarter anticlockwise";
}

/// The photo warped to the model's S×S framing, from the face box and roll found in it (`p`).
/// One similarity transform: the face box's centre onto the framing's, its side onto the
/// framing's side, and the eye line level. Shrinking by more than 2 goes through an
/// area-averaging resize first (warpAffine only interpolates).
cv::Mat align_to_framing(FaceDetector& detector, const cv::Mat& bgr, const PreparedPhoto& p, const Framing& f, int S) {
  const double scale = f.face_size * S / p.face_side;
  cv::Mat source = bgr;
  double pre = 1.0;
  if (scale < 0.5) {
    pre = 2.0 * scale;
    cv::resize(bgr, source, {}, pre, pre, cv::INTER_AREA);
  }
  const cv::Point2d centre((p.face_x + p.face_side / 2) * pre, (p.face_y + p.face_side / 2) * pre);
  cv::Mat m = cv::getRotationMatrix2D(centre, p.roll_deg, scale / pre);
  m.at<double>(0, 2) += (f.face_x + f.face_size / 2) * S - centre.x;
  m.at<double>(1, 2) += (f.face_y + f.face_size / 2) * S - centre.y;
  cv::Mat aligned;
  cv::warpAffine(source, aligned, m, {S, S}, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  // The cascade's box depends on the scale it is found at, and the framing was measured on
  // faces S pixels wide: find the face again in the aligned image and correct by the difference
  // (one more scale and shift, composed with the first transform, then one warp from the source).
  cv::Rect2d again;
  int found_again = 0;
  if (largest_face(detector, aligned, again, found_again)) {
    const double k2 = f.face_size * S / again.width;
    const cv::Point2d from(again.x + again.width / 2, again.y + again.height / 2), to((f.face_x + f.face_size / 2) * S, (f.face_y + f.face_size / 2) * S);
    cv::Mat m3 = cv::Mat::eye(3, 3, CV_64F), fix = cv::Mat::eye(3, 3, CV_64F);
    m.copyTo(m3.rowRange(0, 2));
    fix.at<double>(0, 0) = fix.at<double>(1, 1) = k2;
    fix.at<double>(0, 2) = to.x - k2 * from.x;
    fix.at<double>(1, 2) = to.y - k2 * from.y;
    const cv::Mat both = fix * m3;
    m = both.rowRange(0, 2).clone();
    cv::warpAffine(source, aligned, m, {S, S}, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  }
  return aligned;
}

/// One detector per thread, loaded once: reading the cascades is a good part of a photo's cost,
/// and a cascade classifier must not be shared between threads.
FaceDetector& thread_detector() {
  thread_local FaceDetector detector{DetectorSpec{}};
  return detector;
}

std::vector<std::uint8_t> to_rgb_bytes(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return std::vector<std::uint8_t>(rgb.data, rgb.data + rgb.total() * 3);
}
}  // namespace

PreparedPhoto prepare_photo(const std::uint8_t* pixels, int width, int height, int channels, std::size_t stride,
                            const ModelPackage& package, const std::string& origin) {
  if (!pixels) throw Error(ErrorKind::InvalidArgument, origin + ": image pixels must not be null");
  if (width < 8 || height < 8 || width > kMaxPhotoSide || height > kMaxPhotoSide) {
    throw Error(ErrorKind::InvalidArgument, origin + ": the image is " + std::to_string(width) + "x" + std::to_string(height) +
                                                " pixels; photos must be 8.." + std::to_string(kMaxPhotoSide) + " pixels per side");
  }
  if (channels != 3 && channels != 4) throw Error(ErrorKind::InvalidArgument, origin + ": image channels must be 3 (RGB) or 4 (RGBA)");
  if (stride < static_cast<std::size_t>(width) * static_cast<std::size_t>(channels)) {
    throw Error(ErrorKind::InvalidArgument, origin + ": the row stride is shorter than a row of pixels");
  }
  PreparedPhoto out;
  out.size = package.config().image_size;
  const int S = out.size;
  cv::Mat bgr = to_bgr(pixels, width, height, channels, stride);
  if (!package.framing()) {
    const int side = std::min(width, height);
    cv::Mat square;
    cv::resize(bgr(cv::Rect((width - side) / 2, (height - side) / 2, side, side)), square, {S, S}, 0, 0, side > S ? cv::INTER_AREA : cv::INTER_LINEAR);
    out.rgb = to_rgb_bytes(square);
    out.notes.push_back(package.dir() + " states no framing of its faces (made before circumplex 0.2), so the photo's centre square is used "
                        "as it is; `circumplex map --add-framing` adds it");
    return out;
  }
  const Framing& f = *package.framing();

  // Find the face on a copy at most kDetectSide large; boxes are scaled back to the photo.
  const double k = std::min(1.0, static_cast<double>(kDetectSide) / std::max(width, height));
  cv::Mat small;
  if (k < 1.0) cv::resize(bgr, small, {}, k, k, cv::INTER_AREA);
  else small = bgr;
  FaceDetector& detector = thread_detector();
  FoundFace found;
  const int turn = upright_face(detector, small, found);
  if (found.faces == 0) {
    throw Error(ErrorKind::BadData, origin + ": no face found (the detector looks for one frontal, upright face at least a tenth of the "
                                             "picture wide; crop closer, or use a frontal photo)");
  }
  if (turn >= 0) {
    cv::rotate(bgr, bgr, turn);
    out.notes.push_back(origin + ": the face was lying " + turn_words(turn));
  }
  out.faces = found.faces;
  if (out.faces > 1) out.notes.push_back(origin + ": " + std::to_string(out.faces) + " faces found; the largest is used");
  if (!found.eyes) out.notes.push_back(origin + ": the eyes were not found (" + found.why + "), so the face is not levelled");
  out.face_x = found.box.x / k, out.face_y = found.box.y / k, out.face_side = found.box.width / k, out.roll_deg = found.roll;

  cv::Mat aligned = align_to_framing(detector, bgr, out, f, S);
  out.aligned_photo = to_rgb_bytes(aligned);
  if (f.procedural) {
    out.person = fit_procedural_person(out.aligned_photo.data(), S);
    out.rgb = to_rgb_bytes(facegen::render_face(*out.person, AuVector{}, S));
    out.aligned = true;
    return out;
  }
  // The training faces' luminance inside the face box: one gain and offset for all channels,
  // so the photo's colours keep their hue (skin tone is identity).
  const cv::Rect target(cvRound(f.face_x * S), cvRound(f.face_y * S), std::max(1, cvRound(f.face_size * S)), std::max(1, cvRound(f.face_size * S)));
  double sd = 0;
  const double mean = luma_of(aligned, target, sd);
  const double gain = std::clamp(sd > 1e-3 ? f.luma_std / sd : 1.0, 0.67, 1.5);
  aligned.convertTo(aligned, CV_8UC3, gain, (f.luma_mean - mean * gain) * 255.0);
  out.rgb = to_rgb_bytes(aligned);
  out.aligned = true;
  return out;
}

Framing measure_framing(const std::uint8_t* rgb, int count, int side) {
  if (!rgb || count < 1 || side < 16) throw Error(ErrorKind::InvalidArgument, "measure_framing needs at least one image of 16+ pixels");
  FaceDetector& detector = thread_detector();
  std::vector<double> xs, ys, sides, lumas, spreads;
  for (int i = 0; i < count; ++i) {
    const cv::Mat bgr = to_bgr(rgb + static_cast<std::size_t>(i) * side * side * 3, side, side, 3, static_cast<std::size_t>(side) * 3);
    cv::Rect2d box;
    int faces = 0;
    if (!largest_face(detector, bgr, box, faces)) continue;
    xs.push_back(box.x / side), ys.push_back(box.y / side), sides.push_back(box.width / side);
    double sd = 0;
    lumas.push_back(luma_of(bgr, cv::Rect(box), sd));
    spreads.push_back(sd);
  }
  if (xs.size() * 5 < static_cast<std::size_t>(count)) {
    throw Error(ErrorKind::BadData, "the face detector found faces in only " + std::to_string(xs.size()) + " of " + std::to_string(count) +
                                        " training images; their framing cannot be measured");
  }
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  return Framing{median(xs), median(ys), median(sides), median(lumas), median(spreads), static_cast<int>(xs.size())};
}

}  // namespace circumplex
