// circumplex/error.hpp — the one exception type the runtime throws, and input guards.
//
// Every public runtime function that takes numbers rejects NaN and infinities with
// circumplex::Error whose message names the argument. Callers at the process edge
// (CLI, plugin) catch Error and turn it into an exit code or a result code.
#pragma once

#include <stdexcept>
#include <string>

namespace circumplex {

/// Kinds of failure, so edges can map them (CLI exit codes, C ABI result codes).
enum class ErrorKind {
  InvalidArgument,  ///< the caller passed something unusable (NaN, unknown name, bad range)
  BadData,          ///< a file or text had the wrong shape (malformed JSON, bad CSV row)
  Io,               ///< a file could not be opened, read or written
  Internal,         ///< a broken invariant inside circumplex
};

/// The runtime's exception: a message fit for a person, plus a kind for programs.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

/// Throws Error(InvalidArgument) naming `what` unless `x` is finite.
void require_finite(double x, const char* what);

/// Throws Error(InvalidArgument) naming `what` unless lo <= x <= hi (and x is finite).
void require_range(double x, double lo, double hi, const char* what);

}  // namespace circumplex
