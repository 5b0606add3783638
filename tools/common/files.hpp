// tools/common/files.hpp — writing files so that a half-done output never looks complete.
#pragma once

#include <string>
#include <string_view>

namespace circumplex::tools {

/// Writes `bytes` to `path` through a temporary file in the same folder, then renames it
/// into place (creating parent folders). Throws circumplex::Error(Io) naming the path.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace circumplex::tools
