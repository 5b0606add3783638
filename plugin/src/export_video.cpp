// plugin/src/export_video.cpp — cpx_export_path_video through the runtime's recorder
// (circumplex/recorder.hpp): MP4 + PNG frames + path CSV + contact sheet, offline, every
// frame, with a generator of its own so the live session is never touched.
#include "circumplex/recorder.hpp"
#include "context.hpp"

namespace circumplex::plugin {

std::uint64_t export_video(const std::string& model_dir, int threads, std::uint64_t seed,
                           const std::vector<std::uint8_t>& image, int width, int height, int channels,
                           const Path& path, double fps, int size, const std::string& out_dir) {
  const ModelPackage package = ModelPackage::load(model_dir);
  Generator generator(package, threads);
  const std::vector<float> identity =
      image.empty() ? package.identity_from_seed(seed) : generator.encode(image.data(), width, height, channels);
  return record_walk(package, generator, identity, path, fps, size, out_dir).frames;
}

}  // namespace circumplex::plugin
