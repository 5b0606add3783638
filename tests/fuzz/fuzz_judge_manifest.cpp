// Fuzz target: a judge package's manifest.json (JudgePackage::load, `--judge DIR` of judge read,
// evaluate, study rate): parsed and checked by parse_judge_manifest, the function load()
// calls, or refused with circumplex::Error naming the file and the field.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "circumplex/error.hpp"
#include "circumplex/judge.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const circumplex::JudgeManifest m =
        circumplex::parse_judge_manifest(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz/manifest.json");
    (void)m.outputs.size();
  } catch (const circumplex::Error&) {
  }
  return 0;
}
