#include "circumplex/assets.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
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

}  // namespace circumplex
