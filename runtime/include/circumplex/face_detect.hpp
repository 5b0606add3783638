// circumplex/face_detect.hpp — strict, offline face detection and the pose check: `prep`
// (AffectNet crops) and photo identities (photo.hpp) use the same detectors.
//
// Detectors (--detector):
//   haar          OpenCV's haarcascade_frontalface_default.xml (Debian's opencv-data)
//   lbp           OpenCV's lbpcascade_frontalface_improved.xml
//   box           the face box written in the annotation CSV (face_x, face_y, face_width, face_height)
//   yunet:MODEL   a user-supplied YuNet ONNX model through cv::FaceDetectorYN (OpenCV 4.6 reads
//                 face_detection_yunet_2022mar.onnx; the 2023 models need OpenCV ≥ 4.8)
// The cascade folder is found from $CIRCUMPLEX_OPENCV_DATA (a folder holding haarcascades/ and
// lbpcascades/, or the cascade files themselves), else /usr/share/opencv4, /usr/share/opencv,
// /usr/local/share/opencv4.
//
// Confidence. A cascade's score is its neighbour count: the raw windows (detectMultiScale3 with
// minNeighbors 0 and outputRejectLevels, so every window that passed all stages comes back with
// its final-stage sum, the level weight) are grouped as OpenCV groups them (cv::partition with
// SimilarRects, eps 0.2); a group's score is how many windows it has, its level weight the
// largest final-stage sum. Groups of one window are noise and ignored. The strict default
// threshold is 8 neighbours for haar and 4 for lbp (OpenCV's own default is 3); YuNet's score is
// its face probability, threshold 0.9; the box detector's score is 1.
//
// Pose (--pose auto|eyes|off). "auto": with the CSV's 68 landmarks (iBUG order), yaw is
// estimated from where the nose tip (30) sits between the jaw ends (0 and 16): asymmetry
// (L − R) / (L + R), L = nose.x − jaw0.x, R = jaw16.x − nose.x, about sin(yaw); rejected beyond
// 0.6 (≈ 37°), and roll (the line through the two eye centres) beyond 30°. With YuNet's five
// landmarks, asymmetry = nose offset from the eye midpoint / half the eye distance, rejected
// beyond 0.7, roll as above. Without landmarks (and always with "eyes"): in the upper 60 % of
// the face box (scaled to 240 px wide), haarcascade_eye — or, when it finds no pair,
// haarcascade_eye_tree_eyeglasses — must find two eyes, one in each half, centres between 15 %
// and 60 % of the box height, 25 – 75 % of the box width apart, their line within 25° of level
// and their midpoint within 20 % of the box width of its centre (asymmetry = that offset / half
// the box width). Closed or squinting eyes fail this check too, so it is stricter on some
// expressions; prefer landmarks when the CSV has them. Pitch is not measured except through
// these.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace circumplex {

enum class DetectorKind { Haar, Lbp, Box, YuNet };
enum class PoseMode { Auto, Eyes, Off };

struct DetectorSpec {
  DetectorKind kind = DetectorKind::Haar;
  std::string model;  ///< YuNet's ONNX file
  /// "haar", "lbp", "box" or "yunet:PATH".
  std::string text() const;
};

/// Parses --detector's value; throws Error(InvalidArgument) naming the choices.
DetectorSpec parse_detector(const std::string& text);
/// Parses --pose's value; throws Error(InvalidArgument).
PoseMode parse_pose(const std::string& text);
const char* pose_name(PoseMode mode);
/// The default minimum score of a detector (see the file comment).
double default_min_score(DetectorKind kind);

/// The full path of an OpenCV data file such as "haarcascades/haarcascade_eye.xml"; throws
/// Error(Io) naming every place tried and the Debian package (opencv-data) when absent.
std::string find_opencv_data(const std::string& relative);

/// One face candidate in source-image pixels.
struct FaceCandidate {
  cv::Rect2d box;
  double score = 0.0;                   ///< neighbours (cascades), probability (YuNet), 1 (box)
  double level_weight = 0.0;            ///< cascades: largest final-stage sum in the group
  std::vector<cv::Point2f> landmarks5;  ///< YuNet: right eye, left eye, nose, mouth corners
};

/// A face detector for one thread (cascade classifiers are not safe to share).
class FaceDetector {
 public:
  /// Loads the cascade or model; throws Error(Io) naming a missing file.
  explicit FaceDetector(const DetectorSpec& spec);
  ~FaceDetector();
  FaceDetector(const FaceDetector&) = delete;
  FaceDetector& operator=(const FaceDetector&) = delete;

  /// Candidates in `bgr`, best first. For the box detector, `csv_box` is the only candidate
  /// (when it is given and overlaps the picture); cascades then search only around it (the box
  /// grown by half its side each way, faces 0.4 – 2 times its size). `min_side` skips windows
  /// far smaller than the smallest face kept (they could only be rejected as small_face).
  std::vector<FaceCandidate> detect(const cv::Mat& bgr, const cv::Rect2d* csv_box, int min_side);

  /// The eye-cascade pose check on `face` (see the file comment). `asymmetry` and `roll_deg`
  /// are filled when two plausible eyes are found; returns false with `why` otherwise.
  bool eyes_check(const cv::Mat& bgr, const cv::Rect2d& face, double& asymmetry, double& roll_deg, std::string& why);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Yaw asymmetry and roll from the 68 iBUG landmarks (136 numbers); false (with `why`) when
/// the pose is extreme.
bool landmarks68_check(const std::vector<float>& xy, double& asymmetry, double& roll_deg, std::string& why);
/// The same from YuNet's five landmarks.
bool landmarks5_check(const std::vector<cv::Point2f>& pts, double& asymmetry, double& roll_deg, std::string& why);

}  // namespace circumplex
