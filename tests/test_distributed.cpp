// Data-parallel training on c10d (tools/train/distributed.hpp): shards are disjoint and cover
// every epoch; two ranks on 127.0.0.1 hold identical weights after every step, equal (within
// float rounding) to one process on the same global batch; `--nproc 2` with a stop and
// `--resume` ends where one process ends; a killed rank makes the other fail with a clear
// error, and rank 0's checkpoint still loads; an unreachable store fails within the timeout.
// Tiny data (32², latent 8, width 8) and one LibTorch thread per rank keep it fast.
#include "torch_doctest.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "circumplex/weights.hpp"
#include "train/distributed.hpp"
#include "train/trainer.hpp"
#include "test_support.hpp"

using namespace circumplex;
namespace fs = std::filesystem;
namespace dist = circumplex::tools::dist;

namespace {

const fs::path& root() {
  static const fs::path dir = [] {
    const fs::path d = fresh_dir("distributed-" + std::to_string(getpid()));
    // 200 faces at 32×32 (about 160 for training): a few steps take well under a second.
    const CliResult r = run_cli("synth --count 200 --identities 20 --size 32 --seed 13 --out " + (d / "data").string());
    REQUIRE_MESSAGE(r.code == 0, r.out);
    return d;
  }();
  return dir;
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

tools::TrainOptions tiny_options(const fs::path& out) {
  tools::TrainOptions o;
  o.data = (root() / "data").string();
  o.out = out.string();
  o.epochs = 1;
  o.batch = 16;
  o.model.latent = 8;
  o.model.width = 8;
  o.threads = 1;
  o.seed = 5;
  o.lr = 3e-3;
  o.stop_after_steps = 4;
  return o;
}

/// Every parameter, flattened, after each step.
using Trace = std::vector<torch::Tensor>;

std::function<void(std::int64_t, const torch::nn::Module&)> recorder(Trace& trace) {
  return [&trace](std::int64_t, const torch::nn::Module& m) {
    std::vector<torch::Tensor> flat;
    for (const auto& p : m.parameters()) flat.push_back(p.detach().reshape(-1).clone());
    trace.push_back(torch::cat(flat));
  };
}

std::string read_log(const fs::path& p) { return fs::exists(p) ? read_text_file(p.string()) : std::string(); }

}  // namespace

TEST_CASE("shards of the ranks are disjoint and cover every epoch") {
  for (const int world : {1, 2, 3, 5}) {
    for (const std::int64_t n : {1, 7, 64, 101}) {
      for (const std::int64_t batch : {1, 4, 16, 33}) {
        if (batch < world) continue;
        CAPTURE(world);
        CAPTURE(n);
        CAPTURE(batch);
        const std::vector<std::int64_t> order = dist::epoch_order(n, 9, 2);
        std::vector<int> seen(static_cast<std::size_t>(n), 0);
        for (std::int64_t step = 0; step * batch < n; ++step) {
          std::int64_t covered = 0;
          for (int rank = 0; rank < world; ++rank) {
            const dist::StepSlice s = dist::step_slice(order, batch, step, rank, world);
            CHECK(s.count == std::min(batch, n - step * batch));
            CHECK(s.first == covered);  // contiguous, in rank order
            covered += static_cast<std::int64_t>(s.images.size());
            for (const std::int64_t i : s.images) {
              REQUIRE(i >= 0);
              REQUIRE(i < n);
              ++seen[static_cast<std::size_t>(i)];
            }
          }
          CHECK(covered == std::min(batch, n - step * batch));
        }
        for (const int s : seen) CHECK(s == 1);
      }
    }
  }
  // One rank trains on the order itself; the order changes with the epoch.
  const std::vector<std::int64_t> order = dist::epoch_order(50, 3, 0);
  std::vector<std::int64_t> alone;
  for (std::int64_t step = 0; step * 8 < 50; ++step) {
    const dist::StepSlice s = dist::step_slice(order, 8, step, 0, 1);
    alone.insert(alone.end(), s.images.begin(), s.images.end());
  }
  CHECK(alone == order);
  CHECK(dist::epoch_order(50, 3, 0) != dist::epoch_order(50, 3, 1));
  // Each global batch is cut into contiguous, near-equal slices in rank order.
  CHECK(dist::rank_share(16, 0, 2) == std::pair<std::int64_t, std::int64_t>{0, 8});
  CHECK(dist::rank_share(16, 1, 2) == std::pair<std::int64_t, std::int64_t>{8, 16});
  CHECK(dist::rank_share(7, 2, 3) == std::pair<std::int64_t, std::int64_t>{4, 7});
  CHECK_THROWS_AS(dist::rank_share(4, 2, 2), Error);
}

TEST_CASE("two ranks hold identical weights after every step and match one process on the global batch") {
  // One process on the global batch of 16.
  Trace single;
  auto one = tiny_options(root() / "single");
  one.on_step = recorder(single);
  tools::train_vae(one);
  REQUIRE(single.size() == 4);

  // Two ranks on 127.0.0.1 (threads of this process), 8 images each per step.
  const int port = free_port();
  std::array<Trace, 2> traces;
  std::array<std::string, 2> errors;
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.emplace_back([&, r] {
      try {
        auto o = tiny_options(root() / "two");
        o.dist.world = 2;
        o.dist.rank = r;
        o.dist.master_port = port;
        o.dist.timeout_seconds = 30;
        o.on_step = recorder(traces[static_cast<std::size_t>(r)]);
        tools::train_vae(o);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(r)] = e.what();
      }
    });
  }
  for (auto& t : ranks) t.join();
  CHECK_MESSAGE(errors[0].empty(), errors[0]);
  CHECK_MESSAGE(errors[1].empty(), errors[1]);
  REQUIRE(traces[0].size() == 4);
  REQUIRE(traces[1].size() == 4);
  for (std::size_t s = 0; s < 4; ++s) {
    CAPTURE(s);
    CHECK(torch::equal(traces[0][s], traces[1][s]));
    const double diff = (traces[0][s] - single[s]).abs().max().item<double>();
    const double moved = (single[s] - single[0]).abs().max().item<double>();
    CAPTURE(diff);
    CAPTURE(moved);
    // A step moves a parameter by up to lr = 3e-3 (Adam); ranks that trained on their own
    // half without summing would differ by about that. Rounding of the split sums differs by
    // ~1e-5 where a gradient nearly vanishes (Adam divides it by its own size).
    CHECK(diff < 1e-4);
    if (s > 0) CHECK(moved > 1e-3);  // training did move the weights
  }
  // Only rank 0 wrote the run folder, and its checkpoint is at step 4.
  std::string meta;
  load_tensors((root() / "two" / "checkpoint.safetensors").string(), &meta);
  CHECK(nlohmann::json::parse(meta).at("step").get<int>() == 4);
}

TEST_CASE("nproc 2 stopped and resumed ends with the weights of one uninterrupted process") {
  const std::string common = "train --data " + (root() / "data").string() +
                             " --epochs 2 --batch 16 --latent 8 --width 8 --threads 1 --seed 5 --lr 3e-3 --dist-timeout 30";
  const fs::path single = root() / "cli-single", pair = root() / "cli-pair";
  const CliResult a = run_cli(common + " --out " + single.string());
  REQUIRE_MESSAGE(a.code == 0, a.out);
  // 10 steps per epoch: stop inside the second epoch, then resume with two ranks again.
  const CliResult b = run_cli(common + " --out " + pair.string() + " --nproc 2 --stop-after-steps 13");
  REQUIRE_MESSAGE(b.code == 0, b.out);
  CHECK_FALSE(fs::exists(pair / "model.safetensors"));
  const CliResult c = run_cli(common + " --out " + pair.string() + " --nproc 2 --resume");
  REQUIRE_MESSAGE(c.code == 0, c.out);
  const TensorMap x = load_tensors((single / "model.safetensors").string()), y = load_tensors((pair / "model.safetensors").string());
  REQUIRE(x.size() == y.size());
  for (const auto& [name, t] : x) {
    CAPTURE(name);
    CHECK((t - y.at(name)).abs().max().item<double>() < 1e-4);
  }
  // The launcher reports a failing rank: both ranks refuse the missing data, exit code 1.
  const CliResult bad = run_cli("train --data " + (root() / "absent").string() + " --out " + (root() / "bad").string() + " --nproc 2 --dist-timeout 5");
  CHECK(bad.code == 1);
  CHECK(bad.out.find("exited with code 1") != std::string::npos);
  // Usage errors name the flag.
  const CliResult usage = run_cli(common + " --out " + pair.string() + " --nproc 2 --rank 1");
  CHECK(usage.code == 2);
  CHECK(usage.out.find("--rank") != std::string::npos);
}

TEST_CASE("a killed rank makes the other fail with a clear error and the checkpoint still loads") {
  const fs::path run = root() / "killed";
  const std::string port = std::to_string(free_port());
  const std::vector<std::string> args = {"train", "--data", (root() / "data").string(), "--out", run.string(), "--epochs", "1000",
                                         "--batch", "16", "--latent", "8", "--width", "8", "--threads", "1", "--seed", "5",
                                         "--dist-timeout", "10"};
  auto env = [&](int rank) {
    return std::vector<std::pair<std::string, std::string>>{
        {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", port}, {"WORLD_SIZE", "2"}, {"RANK", std::to_string(rank)}, {"LOCAL_RANK", std::to_string(rank)}};
  };
  const pid_t r0 = spawn(args, env(0), root() / "killed-0.log");
  const pid_t r1 = spawn(args, env(1), root() / "killed-1.log");
  // Wait for rank 0's first epoch checkpoint, then kill rank 1 without warning.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(run / "checkpoint.safetensors") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const bool checkpointed = fs::exists(run / "checkpoint.safetensors");
  kill(r1, SIGKILL);
  waitpid(r1, nullptr, 0);
  const int code = wait_bounded(r0, 60.0);  // far above --dist-timeout: a hang fails here
  const std::string log = read_log(root() / "killed-0.log");
  REQUIRE_MESSAGE(checkpointed, log);
  CHECK_MESSAGE(code == 1, log);
  CHECK_MESSAGE(log.find("distributed training, rank 0 of 2") != std::string::npos, log);
  CHECK_MESSAGE(log.find("another rank died") != std::string::npos, log);
  // The checkpoint loads, and a single process resumes from it.
  std::string meta;
  const TensorMap t = load_tensors((run / "checkpoint.safetensors").string(), &meta);
  CHECK_FALSE(t.empty());
  const int step = nlohmann::json::parse(meta).at("step").get<int>();
  CHECK(step >= 10);
  const CliResult resumed = run_cli("train --data " + (root() / "data").string() + " --out " + run.string() +
                                    " --epochs 1000 --batch 16 --latent 8 --width 8 --threads 1 --seed 5 --resume --stop-after-steps " +
                                    std::to_string(step + 2));
  CHECK_MESSAGE(resumed.code == 0, resumed.out);
}

TEST_CASE("a rank that cannot reach the store fails within the timeout and says so") {
  const std::string port = std::to_string(free_port());
  const fs::path log = root() / "nostore.log";
  const pid_t r1 = spawn({"train", "--data", (root() / "data").string(), "--out", (root() / "nostore").string(), "--latent", "8",
                          "--width", "8", "--threads", "1", "--dist-timeout", "2"},
                         {{"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", port}, {"WORLD_SIZE", "2"}, {"RANK", "1"}}, log);
  const int code = wait_bounded(r1, 60.0);
  const std::string out = read_log(log);
  CHECK_MESSAGE(code == 1, out);
  CHECK_MESSAGE(out.find("could not reach the rendezvous store at 127.0.0.1:" + port) != std::string::npos, out);
}
