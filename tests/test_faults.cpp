// Faults a long job meets in real life: kill -9 at any moment, and a full disk. A killed
// `train` or `judge` resumed with --resume ends with exactly the weights of an uninterrupted
// run, and no checkpoint it leaves is ever torn; a killed `synth` or `map` never leaves a
// folder that looks complete, and its rerun writes the same files as an uninterrupted run; with a file-size limit (ulimit -f) a run fails with an
// error naming the file it could not write, exits non-zero and leaves the previous
// checkpoint as it was.
#include "torch_doctest.hpp"

#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "circumplex/assets.hpp"
#include "circumplex/weights.hpp"
#include "test_support.hpp"

using namespace circumplex;
namespace fs = std::filesystem;

namespace {
const fs::path& root() {
  static const fs::path dir = [] {
    const fs::path d = fresh_dir("faults-" + std::to_string(getpid()));
    const CliResult r = run_cli("synth --count 320 --identities 32 --size 32 --seed 21 --out " + (d / "data").string());
    REQUIRE_MESSAGE(r.code == 0, r.out);
    return d;
  }();
  return dir;
}

std::vector<std::string> train_args(const fs::path& out) {
  return {"train", "--data", (root() / "data").string(), "--out", out.string(), "--epochs", "30", "--batch", "16", "--latent", "8",
          "--width", "8", "--threads", "1", "--seed", "9", "--lr", "3e-3", "--checkpoint-minutes", "0.05"};
}

/// Starts `args`, kills it with SIGKILL after `ms` milliseconds; true when the kill landed
/// (it may have finished first).
bool run_and_kill(const std::vector<std::string>& args, int ms, const fs::path& log) {
  const pid_t pid = spawn(args, {}, log);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status);
}

std::string bytes_of(const fs::path& p) { return fs::exists(p) ? read_text_file(p.string()) : std::string("(missing)"); }

bool same_weights(const fs::path& a, const fs::path& b) {
  const TensorMap x = load_tensors(a.string()), y = load_tensors(b.string());
  if (x.size() != y.size()) return false;
  for (const auto& [name, t] : x) {
    if (!y.count(name) || !torch::equal(t, y.at(name))) return false;
  }
  return true;
}
/// Runs `args(out)` (with --resume once a checkpoint is there) and kills it with SIGKILL at a
/// random moment of 0.3 s … 0.3 s + `spread_ms`, up to 8 times or until `done` appears; after
/// every kill, a checkpoint that is there is whole. Then lets the run finish. Returns the
/// kills that landed (a run may finish before its kill).
int kill_then_resume(const std::function<std::vector<std::string>(const fs::path&)>& args, const fs::path& out, const std::string& done,
                     unsigned seed, int spread_ms) {
  std::mt19937 rng(seed);
  auto resuming = [&] {
    std::vector<std::string> a = args(out);
    if (fs::exists(out / "checkpoint.safetensors")) a.push_back("--resume");
    return a;
  };
  int kills = 0;
  for (int attempt = 0; attempt < 8 && !fs::exists(out / done); ++attempt) {
    kills += run_and_kill(resuming(), 300 + static_cast<int>(rng() % static_cast<unsigned>(spread_ms)),
                          out.string() + "-" + std::to_string(attempt) + ".log") ? 1 : 0;
    if (fs::exists(out / "checkpoint.safetensors")) CHECK_NOTHROW(load_tensors((out / "checkpoint.safetensors").string()));
  }
  if (!fs::exists(out / done)) REQUIRE(wait_bounded(spawn(resuming(), {}, out.string() + "-final.log"), 300) == 0);
  return kills;
}
}  // namespace

TEST_CASE("train killed with SIGKILL at random moments resumes to the weights of an uninterrupted run") {
  const fs::path whole = root() / "whole", killed = root() / "killed";
  REQUIRE(wait_bounded(spawn(train_args(whole), {}, root() / "whole.log"), 300) == 0);
  // Killed 0.3 - 2.8 s into runs of ~6 s (startup, steps, a checkpoint each epoch).
  CHECK(kill_then_resume(train_args, killed, "model.safetensors", 5, 2500) >= 2);
  CHECK(same_weights(whole / "model.safetensors", killed / "model.safetensors"));
}

TEST_CASE("a full disk (ulimit -f) fails naming the file and keeps the previous checkpoint") {
  const fs::path run = root() / "full";
  std::vector<std::string> first = train_args(run);
  first.insert(first.end(), {"--stop-after-steps", "5"});
  REQUIRE(wait_bounded(spawn(first, {}, root() / "full-first.log"), 300) == 0);
  const std::string before = read_text_file((run / "checkpoint.safetensors").string());
  REQUIRE(before.size() > 16 * 1024);
  // 16 KiB per file: the checkpoint no longer fits (dash counts ulimit -f in 512-byte blocks).
  std::string args;
  for (const auto& w : train_args(run)) args += " '" + w + "'";
  const std::string cmd = "sh -c \"ulimit -f 32; exec '" + std::string(CIRCUMPLEX_EXE) + "'" + args + " --resume\" 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  CliResult r{0, {}};
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) r.out += buf;
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.out.find("write failed") != std::string::npos, r.out);
  CHECK_MESSAGE(r.out.find(run.string()) != std::string::npos, r.out);
  // The previous checkpoint is untouched and still resumes.
  CHECK(read_text_file((run / "checkpoint.safetensors").string()) == before);
  CHECK_NOTHROW(load_tensors((run / "checkpoint.safetensors").string()));
  for (const auto& e : fs::directory_iterator(run)) CHECK_MESSAGE(e.path().filename().string().find(".partial.") == std::string::npos, e.path());
}

TEST_CASE("judge killed with SIGKILL resumes to the package of an uninterrupted run") {
  auto args = [&](const fs::path& out) {
    return std::vector<std::string>{"judge", "--data", (root() / "data").string(), "--out", out.string(), "--epochs", "16", "--batch", "32",
                                    "--width", "8", "--threads", "1", "--seed", "3", "--checkpoint-minutes", "0.05"};
  };
  const fs::path whole = root() / "judge-whole", killed = root() / "judge-killed";
  REQUIRE(wait_bounded(spawn(args(whole), {}, root() / "judge-whole.log"), 300) == 0);
  CHECK(kill_then_resume(args, killed, "manifest.json", 11, 1500) >= 2);
  CHECK(same_weights(whole / "weights.safetensors", killed / "weights.safetensors"));
}

TEST_CASE("synth killed with SIGKILL leaves no labels.csv, and the rerun writes the files of an uninterrupted run") {
  auto args = [&](const fs::path& out) {
    return std::vector<std::string>{"synth", "--count", "600", "--identities", "60", "--size", "64", "--seed", "5", "--jobs", "1", "--out", out.string()};
  };
  const fs::path whole = root() / "synth-whole", killed = root() / "synth-killed";
  REQUIRE(wait_bounded(spawn(args(whole), {}, root() / "synth-whole.log"), 300) == 0);
  int kills = 0;
  for (int ms : {400, 1500}) {
    if (run_and_kill(args(killed), ms, root() / ("synth-killed-" + std::to_string(ms) + ".log"))) {
      ++kills;
      // The file that says "complete" comes last: it exists only if the run had finished (a
      // kill may land after it and before the process exits).
      if (fs::exists(killed / "labels.csv")) CHECK(bytes_of(killed / "labels.csv") == bytes_of(whole / "labels.csv"));
    }
  }
  CHECK(kills >= 1);
  REQUIRE(wait_bounded(spawn(args(killed), {}, root() / "synth-rerun.log"), 300) == 0);
  for (const char* f : {"labels.csv", "train.cpxshard", "val.cpxshard", "test.cpxshard", "images/000123.png"}) {
    CAPTURE(f);
    CHECK(bytes_of(whole / f) == bytes_of(killed / f));
  }
}

TEST_CASE("map killed with SIGKILL leaves no manifest, and the rerun writes the package of an uninterrupted run") {
  const fs::path run = root() / "map-run";
  std::vector<std::string> t = train_args(run);
  t[6] = "2";  // --epochs 2
  REQUIRE(wait_bounded(spawn(t, {}, root() / "map-train.log"), 300) == 0);
  auto args = [&](const fs::path& out) {
    return std::vector<std::string>{"map", "--run", run.string(), "--data", (root() / "data").string(), "--out", out.string(), "--threads", "1"};
  };
  const fs::path whole = root() / "map-whole", killed = root() / "map-killed";
  REQUIRE(wait_bounded(spawn(args(whole), {}, root() / "map-whole.log"), 300) == 0);
  int kills = 0;
  for (int ms : {300, 900}) {
    if (run_and_kill(args(killed), ms, root() / ("map-killed-" + std::to_string(ms) + ".log"))) {
      ++kills;
      // A package without its manifest is visibly unfinished; with it, it is the finished one
      // (a kill may land after the manifest and before the process exits).
      if (fs::exists(killed / "manifest.json")) CHECK(same_weights(whole / "weights.safetensors", killed / "weights.safetensors"));
    }
  }
  CHECK(kills >= 1);
  REQUIRE(wait_bounded(spawn(args(killed), {}, root() / "map-rerun.log"), 300) == 0);
  CHECK(same_weights(whole / "weights.safetensors", killed / "weights.safetensors"));
  CHECK(same_weights(whole / "people.safetensors", killed / "people.safetensors"));
  auto manifest = [](const fs::path& p) {
    auto j = nlohmann::json::parse(read_text_file((p / "manifest.json").string()));
    j.erase("provenance");  // names the output folder
    return j.dump();
  };
  CHECK(manifest(whole) == manifest(killed));
}

