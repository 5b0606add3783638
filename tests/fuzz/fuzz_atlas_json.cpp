// Fuzz target: the emotion atlas JSON (`--atlas FILE` of the CLI): parsed or refused with
// circumplex::Error naming what is wrong.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const circumplex::Atlas atlas = circumplex::Atlas::parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
    (void)atlas.emotions().size();
  } catch (const circumplex::Error&) {
  }
  return 0;
}
