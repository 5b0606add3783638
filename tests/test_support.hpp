// tests/test_support.hpp — shared helpers of the test programs: running the circumplex CLI and
// making fresh output folders under the build tree.
//
// Include after doctest (tests that use LibTorch include torch_doctest.hpp first): run_cli uses
// REQUIRE. run_cli exists where the test target defines CIRCUMPLEX_EXE (the CLI's path);
// fresh_dir needs CIRCUMPLEX_BINARY_DIR, which every test target defines.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

/// A finished CLI run: its exit status (-1 when it did not exit normally) and its output.
struct CliResult {
  int code;
  std::string out;
};

#ifdef CIRCUMPLEX_EXE
/// Runs the CLI with `args` (a shell-quoted string) after `env` (VAR=value words, or empty),
/// capturing stdout and stderr together.
inline CliResult run_cli(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + (env.empty() ? "" : " ") + std::string(CIRCUMPLEX_EXE) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe)) out += buf.data();
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}
#endif

/// An empty folder CIRCUMPLEX_BINARY_DIR/test-output/`name` (`name` may hold slashes), made anew.
inline std::filesystem::path fresh_dir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(CIRCUMPLEX_BINARY_DIR) / "test-output" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}
