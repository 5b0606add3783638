#include "data/shard.hpp"

#include <cstring>
#include <filesystem>
#include <limits>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "circumplex/error.hpp"

namespace circumplex::data {
namespace fs = std::filesystem;

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "shard.cpp stores floats in host order and assumes a little-endian host"
#endif

namespace {

constexpr std::size_t kFixedHeader = 64;
constexpr std::uint64_t kMaxDims = 1u << 16;

std::uint64_t round_up(std::uint64_t x, std::uint64_t to) { return (x + to - 1) / to * to; }

void put_u32(std::string& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}
void put_u64(std::string& b, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}
std::uint32_t get_u32(const std::uint8_t* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint64_t get_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct Layout {
  std::uint64_t header_bytes, names_bytes, pixels_offset, labels_offset, file_bytes;
};

Layout layout(const ShardInfo& info) {
  Layout l{};
  l.names_bytes = 0;
  for (const std::string& n : info.label_names) l.names_bytes += n.size() + 1;
  l.header_bytes = round_up(kFixedHeader + l.names_bytes, 64);
  l.pixels_offset = l.header_bytes;
  l.labels_offset = round_up(l.pixels_offset + info.count * info.pixel_bytes(), 64);
  l.file_bytes = l.labels_offset + info.count * info.label_dims() * 4u;
  return l;
}

}  // namespace

ShardWriter::ShardWriter(std::string path, ShardInfo info) : path_(std::move(path)), info_(std::move(info)) {
  if (info_.height == 0 || info_.width == 0 || info_.channels == 0) {
    throw Error(ErrorKind::InvalidArgument, path_ + ": shard images need a non-zero size");
  }
  if (info_.label_names.size() >= kMaxDims) throw Error(ErrorKind::InvalidArgument, path_ + ": too many labels");
  for (const std::string& n : info_.label_names) {
    if (n.empty() || n.find('\0') != std::string::npos) {
      throw Error(ErrorKind::InvalidArgument, path_ + ": label names must be non-empty and contain no NUL");
    }
  }
  const Layout l = layout(info_);
  pixels_offset_ = l.pixels_offset;
  labels_offset_ = l.labels_offset;
  const fs::path target(path_);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  fs::path temp = target;
  temp.replace_filename("." + target.stem().string() + ".partial" + target.extension().string());
  temp_ = temp.string();
  file_ = std::fopen(temp_.c_str(), "w+b");
  if (!file_) throw Error(ErrorKind::Io, path_ + ": cannot create the shard (" + std::strerror(errno) + ")");

  std::string header(l.header_bytes, '\0');
  std::memcpy(header.data(), kShardMagic, 8);
  put_u32(header, 8, kShardVersion);
  put_u32(header, 12, static_cast<std::uint32_t>(l.header_bytes));
  put_u64(header, 16, info_.count);
  put_u32(header, 24, info_.height);
  put_u32(header, 28, info_.width);
  put_u32(header, 32, info_.channels);
  put_u32(header, 36, info_.label_dims());
  put_u64(header, 40, l.pixels_offset);
  put_u64(header, 48, l.labels_offset);
  put_u32(header, 56, static_cast<std::uint32_t>(l.names_bytes));
  std::size_t at = kFixedHeader;
  for (const std::string& n : info_.label_names) {
    std::memcpy(header.data() + at, n.data(), n.size());
    at += n.size() + 1;
  }
  bool ok = std::fwrite(header.data(), 1, header.size(), file_) == header.size();
  // Size the file (zeros) so samples can be written at their offsets in any order.
  if (ok && l.file_bytes > header.size()) {
    ok = ftruncate(fileno(file_), static_cast<off_t>(l.file_bytes)) == 0;
  }
  if (!ok) {
    std::fclose(file_);
    file_ = nullptr;
    fs::remove(temp_, ec);
    throw Error(ErrorKind::Io, path_ + ": cannot write the shard header");
  }
  written_.assign(info_.count, 0);
}

ShardWriter::~ShardWriter() {
  if (file_) std::fclose(file_);
  if (!committed_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void ShardWriter::write(std::uint64_t i, const std::uint8_t* pixels, const float* labels) {
  if (i >= info_.count) {
    throw Error(ErrorKind::InvalidArgument, path_ + ": sample " + std::to_string(i) + " is past the shard's " +
                                                std::to_string(info_.count) + " samples");
  }
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!file_) throw Error(ErrorKind::Io, path_ + ": the shard is already closed");
  const std::size_t pb = info_.pixel_bytes(), lb = info_.label_dims() * sizeof(float);
  bool ok = std::fseek(file_, static_cast<long>(pixels_offset_ + i * pb), SEEK_SET) == 0 &&
            std::fwrite(pixels, 1, pb, file_) == pb;
  if (ok && lb > 0) {
    ok = std::fseek(file_, static_cast<long>(labels_offset_ + i * lb), SEEK_SET) == 0 &&
         std::fwrite(labels, 1, lb, file_) == lb;
  }
  if (!ok) throw Error(ErrorKind::Io, path_ + ": cannot write sample " + std::to_string(i));
  written_[i] = 1;
}

void ShardWriter::commit() {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (committed_) return;
  for (std::uint64_t i = 0; i < info_.count; ++i) {
    if (!written_[i]) {
      throw Error(ErrorKind::Internal, path_ + ": sample " + std::to_string(i) + " was never written");
    }
  }
  const bool ok = std::fflush(file_) == 0 && fsync(fileno(file_)) == 0;
  std::fclose(file_);
  file_ = nullptr;
  std::error_code ec;
  if (ok) fs::rename(temp_, path_, ec);
  if (!ok || ec) {
    fs::remove(temp_, ec);
    throw Error(ErrorKind::Io, path_ + ": cannot finish the shard");
  }
  committed_ = true;
}

ShardReader::ShardReader(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error(ErrorKind::Io, path + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    throw Error(ErrorKind::Io, path + ": cannot stat");
  }
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ < kFixedHeader) {
    ::close(fd);
    throw Error(ErrorKind::BadData, path + ": too small to be a shard (" + std::to_string(size_) + " bytes)");
  }
  void* m = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) throw Error(ErrorKind::Io, path + ": cannot map the file");
  map_ = static_cast<const std::uint8_t*>(m);
  auto bad = [&](const std::string& why) {
    munmap(const_cast<std::uint8_t*>(map_), size_);
    map_ = nullptr;
    return Error(ErrorKind::BadData, path + ": " + why);
  };
  if (std::memcmp(map_, kShardMagic, 8) != 0) throw bad("not a circumplex shard (bad magic)");
  const std::uint32_t version = get_u32(map_ + 8);
  if (version != kShardVersion) throw bad("unsupported shard version " + std::to_string(version));
  const std::uint64_t header_bytes = get_u32(map_ + 12);
  info_.count = get_u64(map_ + 16);
  info_.height = get_u32(map_ + 24);
  info_.width = get_u32(map_ + 28);
  info_.channels = get_u32(map_ + 32);
  const std::uint32_t dims = get_u32(map_ + 36);
  pixels_offset_ = get_u64(map_ + 40);
  labels_offset_ = get_u64(map_ + 48);
  const std::uint64_t names_bytes = get_u32(map_ + 56);
  if (header_bytes < kFixedHeader || header_bytes > size_ || kFixedHeader + names_bytes > header_bytes) {
    throw bad("corrupt header sizes");
  }
  if (dims >= kMaxDims || info_.height == 0 || info_.width == 0 || info_.channels == 0 ||
      info_.height > 65536 || info_.width > 65536 || info_.channels > 64) {
    throw bad("corrupt header dimensions");
  }
  // names
  std::size_t at = kFixedHeader;
  const std::size_t end = kFixedHeader + names_bytes;
  for (std::uint32_t k = 0; k < dims; ++k) {
    const void* nul = std::memchr(map_ + at, 0, end - std::min(end, at));
    if (!nul) throw bad("label name table is truncated");
    const std::size_t len = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - (map_ + at));
    info_.label_names.emplace_back(reinterpret_cast<const char*>(map_ + at), len);
    at += len + 1;
  }
  const Layout l = layout(info_);
  if (info_.count > std::numeric_limits<std::uint64_t>::max() / (info_.pixel_bytes() + 4u * dims + 1u) ||
      l.header_bytes != header_bytes || l.pixels_offset != pixels_offset_ || l.labels_offset != labels_offset_) {
    throw bad("header offsets do not match its sizes");
  }
  if (l.file_bytes != size_) {
    throw bad("file is " + std::to_string(size_) + " bytes but its header describes " + std::to_string(l.file_bytes) +
              " (truncated or corrupt)");
  }
}

ShardReader::~ShardReader() {
  if (map_) munmap(const_cast<std::uint8_t*>(map_), size_);
}

int ShardReader::label_index(const std::string& name) const {
  for (std::size_t i = 0; i < info_.label_names.size(); ++i) {
    if (info_.label_names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

const std::uint8_t* ShardReader::pixels(std::uint64_t i) const {
  if (i >= info_.count) {
    throw Error(ErrorKind::InvalidArgument, path_ + ": sample " + std::to_string(i) + " out of " + std::to_string(info_.count));
  }
  return map_ + pixels_offset_ + i * info_.pixel_bytes();
}

const float* ShardReader::labels(std::uint64_t i) const {
  if (i >= info_.count) {
    throw Error(ErrorKind::InvalidArgument, path_ + ": sample " + std::to_string(i) + " out of " + std::to_string(info_.count));
  }
  // labels_offset is a multiple of 64 and the map is page-aligned, so this is float-aligned.
  return reinterpret_cast<const float*>(map_ + labels_offset_ + i * info_.label_dims() * sizeof(float));
}

}  // namespace circumplex::data
