#include "args.hpp"

#include <cmath>
#include <cstdlib>

#include "circumplex/error.hpp"

namespace circumplex::cli {

Args::Args(int argc, char** argv, int first, const std::vector<Option>& options) {
  for (int i = first; i < argc; ++i) {
    std::string word = argv[i];
    if (word == "--help" || word == "-h") {
      help_ = true;
      continue;
    }
    std::string inline_value;
    bool has_inline = false;
    if (const auto eq = word.find('='); word.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = word.substr(eq + 1);
      word = word.substr(0, eq);
      has_inline = true;
    }
    const Option* opt = nullptr;
    for (const Option& o : options) {
      if (o.name == word) opt = &o;
    }
    if (!opt) {
      if (word.rfind("-", 0) == 0) throw UsageError("unknown option '" + word + "'");
      throw UsageError("unexpected argument '" + word + "' (options start with --)");
    }
    if (has(word)) throw UsageError("option " + word + " given twice");
    if (opt->value.empty()) {
      if (has_inline) throw UsageError("option " + word + " takes no value");
      values_.emplace_back(word, "");
      continue;
    }
    if (!has_inline) {
      if (i + 1 >= argc) throw UsageError("option " + word + " needs a value (" + opt->value + ")");
      inline_value = argv[++i];
    }
    values_.emplace_back(word, inline_value);
  }
}

bool Args::has(const std::string& name) const {
  for (const auto& kv : values_) {
    if (kv.first == name) return true;
  }
  return false;
}

std::optional<std::string> Args::get(const std::string& name) const {
  for (const auto& kv : values_) {
    if (kv.first == name) return kv.second;
  }
  return std::nullopt;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

double Args::number_or(const std::string& name, double fallback, double lo, double hi) const {
  const auto text = get(name);
  if (!text) return fallback;
  char* stop = nullptr;
  const double x = std::strtod(text->c_str(), &stop);
  if (text->empty() || *stop != '\0' || !std::isfinite(x)) {
    throw UsageError("option " + name + " needs a finite number, got '" + *text + "'");
  }
  if (x < lo || x > hi) {
    throw UsageError("option " + name + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                     "], got " + *text);
  }
  return x;
}

long Args::integer_or(const std::string& name, long fallback, long lo, long hi) const {
  const auto text = get(name);
  if (!text) return fallback;
  char* stop = nullptr;
  const long x = std::strtol(text->c_str(), &stop, 10);
  if (text->empty() || *stop != '\0') throw UsageError("option " + name + " needs a whole number, got '" + *text + "'");
  if (x < lo || x > hi) {
    throw UsageError("option " + name + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                     "], got " + *text);
  }
  return x;
}

std::optional<AffectPoint> Args::affect(const std::string& name) const {
  const auto text = get(name);
  if (!text) return std::nullopt;
  try {
    return parse_affect(*text);
  } catch (const Error& e) {
    throw UsageError("option " + name + ": " + e.what());
  }
}

std::string format_options(const std::vector<Option>& options) {
  std::string out = "Options:\n";
  for (const Option& o : options) {
    std::string left = "  " + o.name + (o.value.empty() ? "" : " " + o.value);
    if (left.size() < 26) left.resize(26, ' ');
    else left += "  ";
    out += left + o.help + "\n";
  }
  out += "  --help                  show this help\n";
  return out;
}

}  // namespace circumplex::cli
