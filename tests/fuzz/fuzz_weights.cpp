// Fuzz target: the weights parser (safetensors and circumplex 0.1's .cpxw), the reader
// behind every model, people and judge file: parsed or refused with circumplex::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "circumplex/error.hpp"
#include "circumplex/weights.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)circumplex::parse_tensors(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.safetensors");
  } catch (const circumplex::Error&) {
  }
  return 0;
}
