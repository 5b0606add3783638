#include "circumplex/files.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <unistd.h>

#include "circumplex/error.hpp"

namespace circumplex {
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
  // The rename is durable only once the folder's entry is on disk too.
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);  // best effort: some file systems refuse fsync on folders
    ::close(dir);
  }
}

}  // namespace circumplex
