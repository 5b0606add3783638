#include "circumplex/recorder.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "circumplex/error.hpp"
#include "circumplex/files.hpp"

namespace circumplex {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kBatch = 16;        // faces decoded per generator call
constexpr std::size_t kSheetFaces = 24;   // faces on the contact sheet
constexpr int kSheetColumns = 8, kSheetGap = 4;

void write_png(const std::string& path, const cv::Mat& image) {
  std::vector<unsigned char> bytes;
  if (!cv::imencode(".png", image, bytes)) throw Error(ErrorKind::Io, path + ": cannot encode the PNG");
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

cv::Mat contact_sheet(const std::vector<cv::Mat>& faces) {
  if (faces.empty()) return cv::Mat(1, 1, CV_8UC3, cv::Scalar(255, 255, 255));
  const int w = faces[0].cols, h = faces[0].rows, n = static_cast<int>(faces.size());
  const int cols = std::min(kSheetColumns, n), rows = (n + kSheetColumns - 1) / kSheetColumns;
  cv::Mat sheet(rows * h + (rows + 1) * kSheetGap, cols * w + (cols + 1) * kSheetGap, CV_8UC3, cv::Scalar(255, 255, 255));
  for (int i = 0; i < n; ++i) {
    const cv::Rect cell(kSheetGap + (i % kSheetColumns) * (w + kSheetGap), kSheetGap + (i / kSheetColumns) * (h + kSheetGap), w, h);
    faces[static_cast<std::size_t>(i)].copyTo(sheet(cell));
  }
  return sheet;
}

}  // namespace

WalkRecording record_walk(const ModelPackage& package, Generator& generator, const std::vector<float>& identity,
                          const Path& path, double fps, int size, const std::string& dir, const RecordProgress& progress,
                          const IdentityDetail* detail) {
  if (!(fps > 0.0 && fps <= 240.0)) throw Error(ErrorKind::InvalidArgument, "recording fps must be in (0, 240], got " + std::to_string(fps));
  if (size < 16 || size > 2048) throw Error(ErrorKind::InvalidArgument, "recording frame size must be 16..2048, got " + std::to_string(size));
  const fs::path root(dir);
  std::error_code ec;
  fs::create_directories(root / "frames", ec);
  if (ec) throw Error(ErrorKind::Io, (root / "frames").string() + ": cannot create the folder (" + ec.message() + ")");
  WalkRecording files;
  files.frames_dir = (root / "frames").string();
  files.path_csv = (root / "path.csv").string();
  files.video = (root / "walk.mp4").string();
  files.contact_sheet = (root / "contact_sheet.png").string();

  const std::string temp_video = (root / ".walk.partial.mp4").string();
  cv::VideoWriter video;
  for (const char* codec : {"avc1", "mp4v"}) {
    if (video.open(temp_video, cv::VideoWriter::fourcc(codec[0], codec[1], codec[2], codec[3]), fps, {size, size})) break;
  }
  if (!video.isOpened()) throw Error(ErrorKind::Io, files.video + ": OpenCV cannot write MP4 here (no avc1/mp4v encoder)");

  const std::vector<double> times = frame_times(path, fps);
  const int s = generator.image_size();
  const std::size_t sheet_every = std::max<std::size_t>(1, times.size() / kSheetFaces);
  std::vector<cv::Mat> sheet;
  std::vector<std::vector<std::uint8_t>> rgba;
  for (std::size_t lo = 0; lo < times.size(); lo += kBatch) {
    std::vector<std::vector<float>> latents;
    for (std::size_t i = lo; i < std::min(times.size(), lo + kBatch); ++i) latents.push_back(package.manifold().compose(identity, path.at(times[i])));
    generator.decode_batch(latents, rgba, detail);
    for (std::size_t k = 0; k < latents.size(); ++k) {
      const std::size_t i = lo + k;
      cv::Mat face, frame;
      cv::cvtColor(cv::Mat(s, s, CV_8UC4, rgba[k].data()), face, cv::COLOR_RGBA2BGR);
      if (size == s) {
        frame = face;
      } else {
        cv::resize(face, frame, {size, size}, 0, 0, size > s ? cv::INTER_CUBIC : cv::INTER_AREA);
      }
      video.write(frame);
      char name[32];
      std::snprintf(name, sizeof name, "frame_%05zu.png", i);
      write_png((root / "frames" / name).string(), frame);
      if (i % sheet_every == 0 && sheet.size() < kSheetFaces) sheet.push_back(face);
      if (progress) progress(i + 1, times.size());
    }
  }
  video.release();
  fs::rename(temp_video, files.video, ec);
  if (ec) throw Error(ErrorKind::Io, files.video + ": cannot move the finished video into place (" + ec.message() + ")");
  write_file_atomic(files.path_csv, path_to_csv(path, fps));
  write_png(files.contact_sheet, contact_sheet(sheet));
  files.frames = times.size();
  return files;
}

}  // namespace circumplex
