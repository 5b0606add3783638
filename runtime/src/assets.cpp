#include "circumplex/assets.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "circumplex/error.hpp"

namespace circumplex {
namespace generated {
extern const std::pair<std::string_view, std::string_view> kEmbeddedAssets[];
extern const std::size_t kEmbeddedAssetsCount;
}  // namespace generated

std::string_view embedded_asset(std::string_view name) {
  for (std::size_t i = 0; i < generated::kEmbeddedAssetsCount; ++i) {
    if (generated::kEmbeddedAssets[i].first == name) return generated::kEmbeddedAssets[i].second;
  }
  throw Error(ErrorKind::InvalidArgument, "no embedded asset named '" + std::string(name) + "'");
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, path + ": cannot open (" + std::strerror(errno) + ")");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::Io, path + ": read failed");
  return text.str();
}

std::string read_text_file(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, path + ": cannot open (" + std::strerror(errno) + ")");
  // Read at most max_bytes + 1, so a huge file (or an endless device) is refused, not slurped.
  std::string text;
  char chunk[65536];
  while (in) {
    in.read(chunk, sizeof chunk);
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      throw Error(ErrorKind::BadData, path + ": larger than the limit of " + std::to_string(max_bytes) + " bytes for this file");
    }
  }
  if (in.bad()) throw Error(ErrorKind::Io, path + ": read failed");
  return text;
}

}  // namespace circumplex
