// renderer/src/shaders.hpp — the SPIR-V of shaders/*.vert|frag, compiled by glslc at build
// time (-mfmt=c: a C initialiser of 32-bit words) and embedded into the binary.
#pragma once

#include <cstdint>

namespace circumplex::renderer::shaders {

inline constexpr std::uint32_t face_vert[] =
#include "face.vert.spv.inc"
    ;
inline constexpr std::uint32_t face_frag[] =
#include "face.frag.spv.inc"
    ;

}  // namespace circumplex::renderer::shaders
