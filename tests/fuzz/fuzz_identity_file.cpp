// Fuzz target: an identity file (`render --identity-file`, `--save-identity`,
// cpx_load_identity): ModelPackage::load_identity's parser, for the shipped default model
// (loaded once; the seed corpus was saved for it), gives the identity or refuses the file with
// circumplex::Error naming it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "circumplex/error.hpp"
#include "circumplex/judge.hpp"  // tensors_fingerprint
#include "circumplex/model_package.hpp"

namespace {
struct Target {
  std::string fingerprint;
  std::size_t latent = 0;
};
const Target& target() {
  static const Target t = [] {
    const circumplex::ModelPackage pkg = circumplex::ModelPackage::load(CIRCUMPLEX_SOURCE_DIR "/assets/models/default");
    return Target{circumplex::tensors_fingerprint(pkg.weights()), pkg.prior_mean().size()};
  }();
  return t;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Target& t = target();
  try {
    const std::vector<float> id = circumplex::parse_identity(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.safetensors",
                                                             t.fingerprint, t.latent, "assets/models/default");
    if (id.size() != t.latent) __builtin_trap();
  } catch (const circumplex::Error&) {
  }
  return 0;
}
