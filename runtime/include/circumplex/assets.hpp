// circumplex/assets.hpp — the data files the runtime is built with.
//
// assets/atlas.json and assets/expression.json are embedded into the runtime at build
// time, so a program never fails to find them; callers may still load other files.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace circumplex {

/// Text of an embedded asset by file name ("atlas.json", "expression.json").
/// Throws Error(InvalidArgument) for an unknown name. The view lives as long as the program.
std::string_view embedded_asset(std::string_view name);

/// Reads a whole file; throws Error(Io) naming the path when it cannot.
std::string read_text_file(const std::string& path);
/// The same, refusing (Error BadData, naming the path and the limit) a file longer than
/// `max_bytes` without reading more than that.
std::string read_text_file(const std::string& path, std::size_t max_bytes);

}  // namespace circumplex
