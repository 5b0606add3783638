// plugin/src/export_video.cpp — cpx_export_path_video through the runtime's recorder
// (circumplex/recorder.hpp): MP4 + PNG frames + path CSV + contact sheet, offline, every
// frame, with a generator of its own so the live session is never touched.
#include "circumplex/recorder.hpp"
#include "context.hpp"

namespace circumplex::plugin {

std::uint64_t export_video(const ModelPackage& package, int threads, const std::vector<float>& identity, const IdentityDetail* detail,
                           const Path& path, double fps, int size, const std::string& out_dir) {
  Generator generator(package, threads);
  return record_walk(package, generator, identity, path, fps, size, out_dir, {}, detail).frames;
}

}  // namespace circumplex::plugin
