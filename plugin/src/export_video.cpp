// plugin/src/export_video.cpp — cpx_export_path_video through the CLI's recorder
// (tools/render render_walk): MP4 + PNG frames + path CSV + contact sheet, offline, every
// frame, with a generator of its own so the live session is never touched.
#include "context.hpp"
#include "render/render.hpp"

namespace circumplex::plugin {

std::uint64_t export_video(const std::string& model_dir, int threads, std::uint64_t seed,
                           const std::vector<std::uint8_t>& image, int width, int height, int channels,
                           const Path& path, double fps, int size, const std::string& out_dir) {
  tools::RenderContext render(model_dir, threads);
  if (image.empty()) {
    render.identity_from_seed(seed);
  } else {
    render.identity = render.generator.encode(image.data(), width, height, channels);
  }
  return tools::render_walk(render, path, fps, size, out_dir).frames;
}

}  // namespace circumplex::plugin
