// Fuzz target: a model package's manifest.json (ModelPackage::load, `--model DIR` of every verb,
// cpx_create): parsed and checked by parse_model_manifest, the function load() calls, or
// refused with circumplex::Error naming the file and the field.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "circumplex/error.hpp"
#include "circumplex/model_package.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const circumplex::ModelManifest m =
        circumplex::parse_model_manifest(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz/manifest.json");
    (void)m.manifold->latent_size();
  } catch (const circumplex::Error&) {
  }
  return 0;
}
