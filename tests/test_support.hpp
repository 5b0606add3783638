// tests/test_support.hpp — shared helpers of the test programs: running the circumplex CLI and
// making fresh output folders under the build tree.
//
// Include after doctest (tests that use LibTorch include torch_doctest.hpp first): run_cli uses
// REQUIRE. run_cli exists where the test target defines CIRCUMPLEX_EXE (the CLI's path);
// fresh_dir needs CIRCUMPLEX_BINARY_DIR, which every test target defines.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <thread>
#include <utility>
#include <vector>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
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

/// Starts `circumplex args` in the background with extra environment variables; its stdout
/// and stderr go to `log`. Returns its pid (wait with wait_bounded, or kill it).
inline pid_t spawn(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
                   const std::filesystem::path& log) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    if (f) dup2(fileno(stdout), 2);
    std::vector<std::string> words = {CIRCUMPLEX_EXE};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    execv(CIRCUMPLEX_EXE, argv.data());
    _exit(127);
  }
  return pid;
}

/// Waits for `pid` at most `seconds` (then kills it and returns -1); else its exit code
/// (128 + the signal when a signal ended it).
inline int wait_bounded(pid_t pid, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}
#endif

/// An empty folder CIRCUMPLEX_BINARY_DIR/test-output/`name` (`name` may hold slashes), made anew.
inline std::filesystem::path fresh_dir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(CIRCUMPLEX_BINARY_DIR) / "test-output" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// Spoilt copies of a good package folder, for the loaders' refusal tests.
struct SpoiltPackages {
  using Spoil = std::function<void(const std::filesystem::path&)>;
  std::filesystem::path good;  ///< the package every copy starts from
  std::filesystem::path root;  ///< where the copies go (root/bad_<name>)
  std::string manifest;        ///< good's manifest.json text

  /// A fresh copy of `good` named `name`, spoilt by `spoil`; its path.
  std::string variant(const std::string& name, const Spoil& spoil) const {
    const std::filesystem::path dir = root / ("bad_" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::copy(good, dir, std::filesystem::copy_options::recursive);
    spoil(dir);
    return dir.string();
  }
  /// A spoiler that rewrites manifest.json after `change` edits it.
  Spoil edit(const std::function<void(nlohmann::json&)>& change) const {
    return [text = manifest, change](const std::filesystem::path& dir) {
      nlohmann::json j = nlohmann::json::parse(text);
      change(j);
      std::ofstream(dir / "manifest.json") << j.dump();
    };
  }
  /// Spoilers of the weights file: removed, 64 bytes short, one byte changed near its end.
  static void remove_weights(const std::filesystem::path& dir) { std::filesystem::remove(dir / "weights.safetensors"); }
  static void truncate_weights(const std::filesystem::path& dir) {
    std::filesystem::resize_file(dir / "weights.safetensors", std::filesystem::file_size(dir / "weights.safetensors") - 64);
  }
  static void flip_weights(const std::filesystem::path& dir) {
    std::fstream f(dir / "weights.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-9, std::ios::end);
    f.put('\x7f');
  }
};
