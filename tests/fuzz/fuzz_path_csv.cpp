// Fuzz target: the cursor-path CSV reader (cpx_play_csv, `view --script`): any bytes are
// parsed or refused with circumplex::Error; nothing else may escape, crash or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "circumplex/error.hpp"
#include "circumplex/paths.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const circumplex::ScriptedPath path =
        circumplex::ScriptedPath::parse_csv(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.csv");
    (void)path.at(path.duration() * 0.5);  // a parsed path can be played
  } catch (const circumplex::Error&) {
  }
  return 0;
}
