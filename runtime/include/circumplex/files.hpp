// circumplex/files.hpp — writing a file so that a half-done output never looks complete.
//
// Every file circumplex writes (weights, manifests, CSVs, pictures, reports) goes through
// write_file_atomic: the bytes go to a hidden temporary file beside the target, are flushed
// and fsync'ed, and only then renamed over the target (and the folder fsync'ed). A crash, a full disk or Ctrl-C leaves
// either the old file or the new one, never a torn one.
#pragma once

#include <string>
#include <string_view>

namespace circumplex {

/// Writes `bytes` to `path` atomically (creating parent folders). Throws circumplex::Error
/// (ErrorKind::Io) naming the path when the folder cannot be written, the disk is full or the
/// rename fails; the temporary file is removed then.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace circumplex
