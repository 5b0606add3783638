#include "prep/npy.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "circumplex/error.hpp"

namespace circumplex::prep {
namespace {

void put_le32(std::string& out, std::uint32_t u) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((u >> (8 * i)) & 0xFFu);
}

std::uint32_t get_le(std::string_view b, std::size_t at, int bytes) {
  std::uint32_t u = 0;
  for (int i = 0; i < bytes; ++i)
    u |= static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)])) << (8 * i);
  return u;
}

}  // namespace

std::string npy_float32(const std::vector<float>& values) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(values.size()) + ",), }";
  const std::size_t prefix = 10;  // magic (6) + version (2) + header length (2)
  const std::size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>((header.size() >> 8) & 0xFF);
  out += header;
  for (float v : values) {
    std::uint32_t u = 0;
    static_assert(sizeof(u) == sizeof(v), "float32");
    std::memcpy(&u, &v, sizeof u);
    put_le32(out, u);
  }
  return out;
}

std::vector<float> parse_npy_float32(std::string_view b, const std::string& origin) {
  auto bad = [&](const std::string& what) {
    return Error(ErrorKind::BadData, origin + ": not a 1-D float32 .npy file (" + what + ")");
  };
  if (b.size() < 10 || b.substr(0, 6) != "\x93NUMPY") throw bad("no NumPy magic");
  const int major = static_cast<unsigned char>(b[6]);
  std::size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = get_le(b, 8, 2);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) throw bad("short header");
    header_len = get_le(b, 8, 4);
    start = 12;
  } else {
    throw bad("format version " + std::to_string(major));
  }
  if (b.size() < start + header_len) throw bad("short header");
  const std::string header(b.substr(start, header_len));
  auto compact = [](std::string s) {
    std::string out;
    for (char c : s)
      if (c != ' ') out += c;
    return out;
  };
  const std::string h = compact(header);
  if (h.find("'descr':'<f4'") == std::string::npos) throw bad("dtype is not '<f4'");
  if (h.find("'fortran_order':False") == std::string::npos) throw bad("not C order");
  const std::size_t sh = h.find("'shape':(");
  if (sh == std::string::npos) throw bad("no shape");
  const std::size_t close = h.find(')', sh);
  const std::string dims = h.substr(sh + 9, close - sh - 9);
  if (dims.empty() || dims.back() != ',' || dims.find(',') != dims.size() - 1)
    throw bad("shape (" + dims + ") is not 1-D");
  const std::string count = dims.substr(0, dims.size() - 1);
  char* stop = nullptr;
  const unsigned long long parsed = std::strtoull(count.c_str(), &stop, 10);
  if (count.empty() || *stop != '\0') throw bad("shape (" + dims + ")");
  const std::size_t n = static_cast<std::size_t>(parsed);
  const std::size_t data = start + header_len;
  if (b.size() != data + 4 * n)
    throw bad("expected " + std::to_string(n) + " values, found " + std::to_string((b.size() - data) / 4));
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t u = get_le(b, data + 4 * i, 4);
    std::memcpy(&out[i], &u, sizeof u);
  }
  return out;
}

}  // namespace circumplex::prep
