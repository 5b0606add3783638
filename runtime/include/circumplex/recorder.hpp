// circumplex/recorder.hpp — recording a path of faces to files: the one recorder behind
// `circumplex render walk`, the viewer's Record panel and cpx_export_path_video.
//
//   Generator generator(package, 2);
//   const std::vector<float> who = package.identity_from_seed(7);
//   const WalkRecording r = record_walk(package, generator, who, Path::circle_walk(...), 30, 256, "out/walk");
//
// A recording folder holds:
//   walk.mp4            every frame, H.264 (avc1) where OpenCV has it, else MPEG-4 (mp4v)
//   frames/frame_NNNNN.png  every frame as a PNG
//   path.csv            t,v,a,z of each frame (paths.hpp's path_to_csv)
//   contact_sheet.png   up to 24 frames spread over the walk, 8 per row
// Every frame is drawn (none is dropped); each file appears only when complete (the video
// is written under a hidden name and renamed at the end; the others through
// write_file_atomic), so a crash never leaves a recording that looks finished.
// Part of the `circumplex_recorder` library (runtime/), which links OpenCV; the engine core
// (`circumplex_runtime`, `circumplex_model`) does not.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "circumplex/model_package.hpp"
#include "circumplex/paths.hpp"

namespace circumplex {

/// The files a recording wrote.
struct WalkRecording {
  std::string video, frames_dir, path_csv, contact_sheet;
  std::size_t frames = 0;
};

/// Called after each frame with the frames done and the frames in all (a progress bar).
using RecordProgress = std::function<void(std::size_t done, std::size_t total)>;

/// Draws `path` at `fps` for `identity` (the package's latent size) into `dir` (created),
/// each frame `size`×`size` pixels, with the identity's `detail` layer when given (identity_detail.hpp). Throws circumplex::Error naming the file when a folder
/// cannot be written or OpenCV has no MP4 encoder here (ErrorKind::Io), or when fps/size are
/// out of range (ErrorKind::InvalidArgument: fps in (0, 240], size in [16, 2048]).
WalkRecording record_walk(const ModelPackage& package, Generator& generator, const std::vector<float>& identity,
                          const Path& path, double fps, int size, const std::string& dir,
                          const RecordProgress& progress = {}, const IdentityDetail* detail = nullptr);

}  // namespace circumplex
