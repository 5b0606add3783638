// tools/cli/args.hpp — command-line options for the circumplex verbs.
//
// Each verb declares its options (name, value or flag, help line); Args parses argv
// against them and reports any misuse as UsageError (exit code 2) naming the option.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "circumplex/affect.hpp"

namespace circumplex::cli {

/// A misused command line: exit code 2, message names the argument.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One declared option, e.g. {"--out", "DIR", "where pictures go (default out/)"}.
struct Option {
  std::string name;     ///< "--out"
  std::string value;    ///< placeholder for its value ("DIR"); empty for a flag
  std::string help;     ///< one line
};

/// Parsed options of one verb.
class Args {
 public:
  /// Parses argv[first …]; throws UsageError for unknown options, missing values, repeats
  /// or stray positional words. "--help"/"-h" is always accepted.
  Args(int argc, char** argv, int first, const std::vector<Option>& options);

  bool help() const { return help_; }
  bool has(const std::string& name) const;
  /// The value of an option given once; nullopt when absent.
  std::optional<std::string> get(const std::string& name) const;
  std::string get_or(const std::string& name, const std::string& fallback) const;
  /// Numeric values; throw UsageError naming the option when not a number or out of range.
  double number_or(const std::string& name, double fallback, double lo, double hi) const;
  long integer_or(const std::string& name, long fallback, long lo, long hi) const;
  /// "v,a[,z]" value; throws UsageError naming the option when malformed.
  std::optional<AffectPoint> affect(const std::string& name) const;

 private:
  std::vector<std::pair<std::string, std::string>> values_;
  bool help_ = false;
};

/// The options block of a verb's --help text.
std::string format_options(const std::vector<Option>& options);

}  // namespace circumplex::cli
