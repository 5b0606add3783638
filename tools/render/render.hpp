// tools/render/render.hpp — pictures and videos of a model package: `circumplex render`.
//
//   grid     the VAE study's 7×7 grid: valence left → right, arousal bottom → top, neutral in
//            the centre; axes and the nearest emotion of each cell labelled
//   axis     neutral → an emotion along its axis, as a strip of faces
//   between  one emotion → another (straight, or along the sphere), as a strip
//   walk     a C2A2 circle walk (θ, φ, r, seconds, fps): the runtime's recorder (MP4 + PNG
//            frames + CSV of the path + a contact sheet) with a progress bar
// Every face comes from the same identity (a seed of the identity prior, or an image
// encoded through the model), so only the expression changes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "circumplex/model_package.hpp"
#include "circumplex/paths.hpp"
#include "circumplex/recorder.hpp"

namespace circumplex::tools {

/// A model, its generator and one identity: what every render needs.
struct RenderContext {
  /// `device`: where the decoder runs (cpu, cuda, cuda:N; parse_device).
  RenderContext(const std::string& package_dir, int threads, const std::string& device = "cpu");
  /// From a package already loaded (a live session's).
  RenderContext(ModelPackage loaded, int threads, const std::string& device = "cpu");
  ModelPackage package;
  Generator generator;
  std::vector<float> identity;
  std::shared_ptr<const IdentityDetail> detail;  ///< the identity's detail layer (identity_detail.hpp); null for seeds
  bool keep_detail = false;                  ///< true: image identities draw with their detail layer
  Space space() const { return package.manifold().space(); }

  /// Sets the identity from a prior seed (no detail layer).
  void identity_from_seed(std::uint64_t seed);
  /// Sets the identity by encoding an image file, with its detail layer when keep_detail is
  /// set; throws Error naming the file.
  void identity_from_image(const std::string& path);
  /// Sets the identity from an identity file (with keep_detail, also the detail of the image it keeps).
  void identity_from_file(const std::string& path);
  /// Faces (BGR, S×S) for affect points, decoded in batches.
  std::vector<cv::Mat> faces(const std::vector<AffectPoint>& points);
};

/// The labelled grid image (`steps` × `steps` faces, each scaled to `cell` pixels).
cv::Mat render_grid(RenderContext& ctx, int steps, int cell);
/// A labelled strip of faces along `path` at `steps` evenly spaced times.
cv::Mat render_strip(RenderContext& ctx, const Path& path, int steps, int cell, const std::string& title);

/// Records `path` at `fps` into `dir` with the runtime's recorder (circumplex/recorder.hpp:
/// walk.mp4, frames/, path.csv, contact_sheet.png) and a progress bar. `cell` is the frame size.
WalkRecording render_walk(RenderContext& ctx, const Path& path, double fps, int cell, const std::string& dir);

}  // namespace circumplex::tools
