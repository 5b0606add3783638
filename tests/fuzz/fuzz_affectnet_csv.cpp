// Fuzz target: `prep`'s AffectNet annotation CSV reader: every malformed row becomes a
// reject, only a file with neither header nor nine columns is an Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "circumplex/error.hpp"
#include "prep/affectnet.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)circumplex::prep::read_affectnet_csv(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.csv", (size & 1) != 0);
  } catch (const circumplex::Error&) {
  }
  return 0;
}
