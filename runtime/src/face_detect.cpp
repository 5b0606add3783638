#include "circumplex/face_detect.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "circumplex/error.hpp"

namespace circumplex {
namespace fs = std::filesystem;
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kDetectMaxSide = 640;         // detection runs on pictures shrunk to this
constexpr double kMaxAsymmetry68 = 0.6;     // landmark yaw asymmetry limit (≈ sin 37°)
constexpr double kMaxAsymmetry5 = 0.7;      // YuNet five-point yaw asymmetry limit
constexpr double kMaxRollLandmarks = 30.0;  // degrees
constexpr double kMaxRollEyes = 25.0;       // degrees

cv::Mat to_gray(const cv::Mat& bgr) {
  cv::Mat gray;
  if (bgr.channels() == 3)
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  else
    gray = bgr;
  return gray;
}

/// Rotates p by -angle (radians) about c.
cv::Point2d unrotate(cv::Point2d p, cv::Point2d c, double angle) {
  const double cs = std::cos(-angle), sn = std::sin(-angle);
  const cv::Point2d d = p - c;
  return {c.x + cs * d.x - sn * d.y, c.y + sn * d.x + cs * d.y};
}

}  // namespace

std::string DetectorSpec::text() const {
  switch (kind) {
    case DetectorKind::Haar:
      return "haar";
    case DetectorKind::Lbp:
      return "lbp";
    case DetectorKind::Box:
      return "box";
    case DetectorKind::YuNet:
      return "yunet:" + model;
  }
  return "?";
}

DetectorSpec parse_detector(const std::string& text) {
  DetectorSpec spec;
  if (text == "haar")
    spec.kind = DetectorKind::Haar;
  else if (text == "lbp")
    spec.kind = DetectorKind::Lbp;
  else if (text == "box")
    spec.kind = DetectorKind::Box;
  else if (text.rfind("yunet:", 0) == 0 && text.size() > 6) {
    spec.kind = DetectorKind::YuNet;
    spec.model = text.substr(6);
  } else {
    throw Error(ErrorKind::InvalidArgument,
                "unknown detector '" + text + "' (choose haar, lbp, box or yunet:MODEL.onnx)");
  }
  return spec;
}

PoseMode parse_pose(const std::string& text) {
  if (text == "auto") return PoseMode::Auto;
  if (text == "eyes") return PoseMode::Eyes;
  if (text == "off") return PoseMode::Off;
  throw Error(ErrorKind::InvalidArgument, "unknown pose check '" + text + "' (choose auto, eyes or off)");
}

const char* pose_name(PoseMode mode) {
  switch (mode) {
    case PoseMode::Auto:
      return "auto";
    case PoseMode::Eyes:
      return "eyes";
    case PoseMode::Off:
      return "off";
  }
  return "?";
}

double default_min_score(DetectorKind kind) {
  switch (kind) {
    case DetectorKind::Haar:
      return 8.0;
    case DetectorKind::Lbp:
      return 4.0;
    case DetectorKind::Box:
      return 0.0;
    case DetectorKind::YuNet:
      return 0.9;
  }
  return 0.0;
}

std::string find_opencv_data(const std::string& relative) {
  std::vector<fs::path> tried;
  if (const char* env = std::getenv("CIRCUMPLEX_OPENCV_DATA"); env && *env) {
    tried.push_back(fs::path(env) / relative);
    tried.push_back(fs::path(env) / fs::path(relative).filename());
  }
  for (const char* dir : {"/usr/share/opencv4", "/usr/share/opencv", "/usr/local/share/opencv4"}) {
    tried.push_back(fs::path(dir) / relative);
  }
  std::string list;
  for (const fs::path& p : tried) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
    list += (list.empty() ? "" : ", ") + p.string();
  }
  throw Error(ErrorKind::Io, "OpenCV data file " + fs::path(relative).filename().string() + " not found (tried " +
                                 list + "); install Debian's opencv-data or set CIRCUMPLEX_OPENCV_DATA to its folder");
}

struct FaceDetector::Impl {
  DetectorSpec spec;
  cv::CascadeClassifier face;
  cv::CascadeClassifier eyes, glasses;
  bool eyes_loaded = false;
  cv::Ptr<cv::FaceDetectorYN> yunet;

  void load_cascade(cv::CascadeClassifier& c, const std::string& relative) {
    const std::string path = find_opencv_data(relative);
    bool ok = false;
    try {
      ok = c.load(path);
    } catch (const cv::Exception& e) {
      throw Error(ErrorKind::BadData, path + ": cannot load the cascade (" + e.what() + ")");
    }
    if (!ok || c.empty()) throw Error(ErrorKind::BadData, path + ": cannot load the cascade");
  }

  std::vector<FaceCandidate> cascade(const cv::Mat& bgr, const cv::Rect2d* csv_box, int min_side) {
    cv::Mat gray = to_gray(bgr);
    const cv::Size window = face.getOriginalWindowSize();
    int min_window = std::max(window.width, window.height), max_window = 0;
    cv::Point origin(0, 0);
    double s = 1.0;
    const cv::Rect whole(0, 0, gray.cols, gray.rows);
    const double box_side = csv_box ? std::max(csv_box->width, csv_box->height) : 0.0;
    const cv::Rect near = csv_box ? cv::Rect(cvRound(csv_box->x - 0.5 * box_side), cvRound(csv_box->y - 0.5 * box_side),
                                             cvRound(csv_box->width + box_side), cvRound(csv_box->height + box_side)) &
                                        whole
                                  : cv::Rect();
    if (near.width >= min_window && near.height >= min_window) {
      // With an annotated box, only its neighbourhood is searched, for faces from 0.4 to 2
      // times its size, with the box brought to at most 200 px: a detection elsewhere could
      // only be rejected as box_mismatch, and this is several times faster.
      origin = near.tl();
      gray = gray(near);
      s = std::min(1.0, 200.0 / box_side);
      min_window = std::max({min_window, static_cast<int>(0.4 * box_side * s), static_cast<int>(0.5 * min_side * s)});
      max_window = std::max(min_window + 1, static_cast<int>(2.0 * box_side * s));
    } else {
      const int longest = std::max(gray.cols, gray.rows);
      s = longest > kDetectMaxSide ? static_cast<double>(kDetectMaxSide) / longest : 1.0;
      min_window = std::max(min_window, static_cast<int>(0.5 * min_side * s));
    }
    if (s < 1.0) cv::resize(gray, gray, cv::Size(), s, s, cv::INTER_AREA);
    cv::equalizeHist(gray, gray);
    std::vector<cv::Rect> raw;
    std::vector<int> levels;
    std::vector<double> weights;
    face.detectMultiScale(gray, raw, levels, weights, 1.1, 0, 0, cv::Size(min_window, min_window),
                          cv::Size(max_window, max_window), true);
    if (raw.empty()) return {};
    std::vector<int> labels;
    const int groups = cv::partition(raw, labels, cv::SimilarRects(0.2));
    struct Group {
      cv::Rect2d sum;
      int count = 0;
      double weight = -1e300;
    };
    std::vector<Group> g(static_cast<std::size_t>(groups));
    for (std::size_t i = 0; i < raw.size(); ++i) {
      Group& gi = g[static_cast<std::size_t>(labels[i])];
      gi.sum.x += raw[i].x;
      gi.sum.y += raw[i].y;
      gi.sum.width += raw[i].width;
      gi.sum.height += raw[i].height;
      ++gi.count;
      if (i < weights.size()) gi.weight = std::max(gi.weight, weights[i]);
    }
    std::vector<FaceCandidate> out;
    for (const Group& gi : g) {
      if (gi.count < 2) continue;  // a lone window is noise
      FaceCandidate c;
      const double n = gi.count;
      c.box = cv::Rect2d(origin.x + gi.sum.x / n / s, origin.y + gi.sum.y / n / s, gi.sum.width / n / s,
                         gi.sum.height / n / s);
      c.score = n;
      c.level_weight = gi.weight;
      out.push_back(c);
    }
    return out;
  }

  std::vector<FaceCandidate> run_yunet(const cv::Mat& bgr) {
    cv::Mat img = bgr;
    const int longest = std::max(img.cols, img.rows);
    const double s = longest > kDetectMaxSide ? static_cast<double>(kDetectMaxSide) / longest : 1.0;
    if (s < 1.0) cv::resize(bgr, img, cv::Size(), s, s, cv::INTER_AREA);
    cv::Mat faces;
    try {
      yunet->setInputSize(img.size());
      yunet->detect(img, faces);
    } catch (const cv::Exception& e) {
      throw Error(ErrorKind::BadData, spec.model + ": YuNet failed (" + e.what() + ")");
    }
    std::vector<FaceCandidate> out;
    for (int r = 0; r < faces.rows; ++r) {
      const float* f = faces.ptr<float>(r);
      FaceCandidate c;
      c.box = cv::Rect2d(f[0] / s, f[1] / s, f[2] / s, f[3] / s);
      for (int k = 0; k < 5; ++k) {
        c.landmarks5.emplace_back(static_cast<float>(f[4 + 2 * k] / s), static_cast<float>(f[5 + 2 * k] / s));
      }
      c.score = f[14];
      out.push_back(c);
    }
    return out;
  }
};

FaceDetector::FaceDetector(const DetectorSpec& spec) : impl_(std::make_unique<Impl>()) {
  impl_->spec = spec;
  switch (spec.kind) {
    case DetectorKind::Haar:
      impl_->load_cascade(impl_->face, "haarcascades/haarcascade_frontalface_default.xml");
      break;
    case DetectorKind::Lbp:
      impl_->load_cascade(impl_->face, "lbpcascades/lbpcascade_frontalface_improved.xml");
      break;
    case DetectorKind::Box:
      break;
    case DetectorKind::YuNet: {
      std::error_code ec;
      if (!fs::is_regular_file(spec.model, ec)) {
        throw Error(ErrorKind::Io, "YuNet model '" + spec.model +
                                       "' not found (give the path of a YuNet ONNX file, e.g. "
                                       "face_detection_yunet_2022mar.onnx from OpenCV's model zoo)");
      }
      try {
        impl_->yunet = cv::FaceDetectorYN::create(spec.model, "", cv::Size(320, 320), 0.3f, 0.3f, 5000);
      } catch (const cv::Exception& e) {
        throw Error(ErrorKind::BadData, spec.model + ": cannot load the YuNet model (" + e.what() + ")");
      }
      if (!impl_->yunet) throw Error(ErrorKind::BadData, spec.model + ": cannot load the YuNet model");
      break;
    }
  }
}

FaceDetector::~FaceDetector() = default;

std::vector<FaceCandidate> FaceDetector::detect(const cv::Mat& bgr, const cv::Rect2d* csv_box, int min_side) {
  std::vector<FaceCandidate> out;
  switch (impl_->spec.kind) {
    case DetectorKind::Haar:
    case DetectorKind::Lbp:
      out = impl_->cascade(bgr, csv_box, min_side);
      break;
    case DetectorKind::YuNet:
      out = impl_->run_yunet(bgr);
      break;
    case DetectorKind::Box:
      if (csv_box && (*csv_box & cv::Rect2d(0, 0, bgr.cols, bgr.rows)).area() > 0) {
        FaceCandidate c;
        c.box = *csv_box;
        c.score = 1.0;
        out.push_back(c);
      }
      break;
  }
  std::stable_sort(out.begin(), out.end(), [](const FaceCandidate& a, const FaceCandidate& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.box.area() > b.box.area();
  });
  return out;
}

bool FaceDetector::eyes_check(const cv::Mat& bgr, const cv::Rect2d& face, double& asymmetry, double& roll_deg,
                              std::string& why) {
  if (!impl_->eyes_loaded) {
    impl_->load_cascade(impl_->eyes, "haarcascades/haarcascade_eye.xml");
    impl_->load_cascade(impl_->glasses, "haarcascades/haarcascade_eye_tree_eyeglasses.xml");
    impl_->eyes_loaded = true;
  }
  // The upper 60 % of the face box, scaled so that the face is 240 px wide; eyes are searched
  // between 12 % and 36 % of that width (29–86 px, above the eye cascades' 20 px window).
  const cv::Rect2d upper(face.x, face.y, face.width, face.height * 0.6);
  const cv::Rect roi = cv::Rect(cvRound(upper.x), cvRound(upper.y), cvRound(upper.width), cvRound(upper.height)) &
                       cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (roi.width < 8 || roi.height < 8) {
    why = "the face box is outside the picture";
    return false;
  }
  cv::Mat gray = to_gray(bgr(roi));
  const double s = 240.0 / face.width;
  if (s != 1.0) cv::resize(gray, gray, cv::Size(), s, s, s < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::equalizeHist(gray, gray);
  const double w = face.width * s, h = face.height * s;
  const int min_eye = std::max(20, static_cast<int>(0.12 * w)),
            max_eye = std::max(min_eye + 1, static_cast<int>(0.36 * w));
  const double ox = (roi.x - face.x) * s, oy = (roi.y - face.y) * s;
  std::vector<cv::Point2d> c;  // eye centres in face-box units (0 … 1 across and down the face box)
  double best = 1e300;
  // The plain eye cascade first; the eyeglasses cascade when that finds no plausible pair.
  for (cv::CascadeClassifier* cascade : {&impl_->eyes, &impl_->glasses}) {
    std::vector<cv::Rect> found;
    cascade->detectMultiScale(gray, found, 1.1, 3, 0, cv::Size(min_eye, min_eye), cv::Size(max_eye, max_eye));
    for (const cv::Rect& r : found) c.emplace_back((ox + r.x + r.width / 2.0) / w, (oy + r.y + r.height / 2.0) / h);
    for (const cv::Point2d& l : c) {
      for (const cv::Point2d& r : c) {
        if (!(l.x < 0.5 && r.x > 0.5)) continue;
        if (l.y < 0.15 || l.y > 0.6 || r.y < 0.15 || r.y > 0.6) continue;
        const double dx = r.x - l.x, dy = (r.y - l.y) * h / w;
        if (dx < 0.25 || dx > 0.75) continue;
        const double roll = std::atan2(dy, dx) * 180.0 / kPi;
        const double mid = (l.x + r.x) / 2.0 - 0.5;
        const double cost = std::fabs(roll) / kMaxRollEyes + std::fabs(mid) / 0.2;
        if (cost < best) {
          best = cost;
          asymmetry = mid / 0.5;
          roll_deg = roll;
        }
      }
    }
    if (best <= 1.0) break;  // a pair within both limits
  }
  if (best == 1e300) {
    why = c.size() < 2 ? "the eye cascades found " + std::to_string(c.size()) + " eye(s) in the face"
                       : "no two eyes at plausible positions (" + std::to_string(c.size()) + " eye candidates)";
    return false;
  }
  if (std::fabs(roll_deg) > kMaxRollEyes || std::fabs(asymmetry) > 0.4) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "eyes: roll %.0f deg, midpoint offset %.2f of the half width", roll_deg, asymmetry);
    why = buf;
    return false;
  }
  return true;
}

namespace {
bool asymmetry_check(cv::Point2d eye_a, cv::Point2d eye_b, cv::Point2d nose, cv::Point2d left_edge,
                     cv::Point2d right_edge, bool use_edges, double limit, double& asymmetry, double& roll_deg,
                     std::string& why) {
  if (eye_a.x > eye_b.x) std::swap(eye_a, eye_b);
  const double roll = std::atan2(eye_b.y - eye_a.y, eye_b.x - eye_a.x);
  roll_deg = roll * 180.0 / kPi;
  const cv::Point2d mid = (eye_a + eye_b) * 0.5;
  const cv::Point2d n = unrotate(nose, mid, roll);
  if (use_edges) {
    const double l = n.x - unrotate(left_edge, mid, roll).x, r = unrotate(right_edge, mid, roll).x - n.x;
    if (!(l + r > 1e-6)) {
      why = "degenerate landmarks";
      return false;
    }
    asymmetry = (l - r) / (l + r);
  } else {
    const double half = std::hypot(eye_b.x - eye_a.x, eye_b.y - eye_a.y) / 2.0;
    if (!(half > 1e-6)) {
      why = "degenerate landmarks";
      return false;
    }
    asymmetry = (n.x - mid.x) / half;
  }
  char buf[128];
  if (std::fabs(roll_deg) > kMaxRollLandmarks) {
    std::snprintf(buf, sizeof buf, "roll %.0f deg (limit %.0f)", roll_deg, kMaxRollLandmarks);
    why = buf;
    return false;
  }
  if (!(std::fabs(asymmetry) <= limit)) {
    std::snprintf(buf, sizeof buf, "yaw asymmetry %.2f (limit %.2f)", asymmetry, limit);
    why = buf;
    return false;
  }
  return true;
}
}  // namespace

bool landmarks68_check(const std::vector<float>& xy, double& asymmetry, double& roll_deg, std::string& why) {
  if (xy.size() != 136) {
    why = "not 68 landmarks";
    return false;
  }
  auto pt = [&](int i) {
    return cv::Point2d(xy[static_cast<std::size_t>(2 * i)], xy[static_cast<std::size_t>(2 * i + 1)]);
  };
  auto mean = [&](int from, int to) {
    cv::Point2d m(0, 0);
    for (int i = from; i <= to; ++i) m += pt(i);
    return m * (1.0 / (to - from + 1));
  };
  return asymmetry_check(mean(36, 41), mean(42, 47), pt(30), pt(0), pt(16), true, kMaxAsymmetry68, asymmetry, roll_deg,
                         why);
}

bool landmarks5_check(const std::vector<cv::Point2f>& pts, double& asymmetry, double& roll_deg, std::string& why) {
  if (pts.size() != 5) {
    why = "not 5 landmarks";
    return false;
  }
  return asymmetry_check(pts[0], pts[1], pts[2], {}, {}, false, kMaxAsymmetry5, asymmetry, roll_deg, why);
}

}  // namespace circumplex
