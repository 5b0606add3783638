#include "files.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "circumplex/error.hpp"

namespace circumplex::tools {
namespace fs = std::filesystem;

void write_file_atomic(const std::string& path, std::string_view bytes) {
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  const fs::path temp = target.parent_path() / ("." + target.filename().string() + ".partial." + std::to_string(getpid()));
  FILE* f = std::fopen(temp.c_str(), "wb");
  if (!f) throw Error(ErrorKind::Io, path + ": cannot write (" + std::strerror(errno) + ")");
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0 &&
                  fsync(fileno(f)) == 0;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) {
    fs::remove(temp, ec);
    throw Error(ErrorKind::Io, path + ": write failed (disk full?)");
  }
  fs::rename(temp, target, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw Error(ErrorKind::Io, path + ": cannot move the finished file into place (" + ec.message() + ")");
  }
}

}  // namespace circumplex::tools
