// tools/prep/npy.hpp — NumPy .npy files (format version 1.0) for 1-D float32 arrays.
//
// The format (numpy.lib.format): the magic "\x93NUMPY", version bytes 1 0, a little-endian
// uint16 header length, then an ASCII Python dict literal
//   {'descr': '<f4', 'fortran_order': False, 'shape': (N,), }
// padded with spaces and ended by '\n' so that magic + version + length + header is a multiple
// of 64 bytes, then the N values as little-endian IEEE-754 float32. numpy.load reads it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace circumplex::prep {

/// The bytes of a .npy v1.0 file holding `values` as a 1-D '<f4' array.
std::string npy_float32(const std::vector<float>& values);
/// Parses a .npy v1.0/2.0 file holding a 1-D '<f4' C-order array; throws Error(BadData)
/// naming `origin` and what is wrong otherwise.
std::vector<float> parse_npy_float32(std::string_view bytes, const std::string& origin);

}  // namespace circumplex::prep
