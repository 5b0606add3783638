// Training and mapping end to end on a tiny synthetic set: the loss decreases, a resumed run
// ends with the same weights as an uninterrupted one, map writes a complete, loadable package,
// and the package loader refuses each kind of corruption.
#include "torch_doctest.hpp"

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>
#include <unistd.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "circumplex/model_package.hpp"
#include "circumplex/session.hpp"
#include "circumplex/torch_compat.hpp"
#include "circumplex/weights.hpp"
#include "test_support.hpp"
#include "train/critic.hpp"
#include "train/gradient_loss.hpp"
#include "train/readback.hpp"
#include "train/render_targets.hpp"
#include "train/dataset.hpp"
#include "train/trainer.hpp"

using namespace circumplex;
namespace fs = std::filesystem;

namespace {
const fs::path& root() {
  static const fs::path dir = [] {
    // One folder per process: CTest runs each case as its own process, possibly in parallel.
    const fs::path d = fresh_dir("train_map-" + std::to_string(getpid()));
    // 320 faces of 32 identities at 32×32: enough to train a few steps in seconds.
    const CliResult r = run_cli("synth --count 320 --identities 32 --size 32 --seed 11 --out " + (d / "data").string());
    REQUIRE_MESSAGE(r.code == 0, r.out);
    return d;
  }();
  return dir;
}

std::string train_args(const std::string& out) {
  return "train --data " + (root() / "data").string() + " --out " + out +
         " --epochs 3 --batch 16 --latent 8 --width 8 --threads 1 --seed 5 --lr 3e-3";
}

// A loss setting belongs to its run: a short run with `flag value` on top of `base` records it
// in config.json as `key`, and resuming without it is refused with a message that names it.
void check_setting_is_part_of_run(const std::string& name, const std::string& base, const std::string& flag, const std::string& value, const char* key) {
  const fs::path run = root() / name;
  const CliResult first = run_cli(train_args(run.string()) + base + " " + flag + " " + value + " --stop-after-steps 2");
  REQUIRE_MESSAGE(first.code == 0, first.out);
  CHECK(nlohmann::json::parse(read_text_file((run / "config.json").string()))[key] == std::stod(value));
  const CliResult without = run_cli(train_args(run.string()) + base + " --resume");
  CHECK(without.code == 1);
  CHECK_MESSAGE(without.out.find(flag + " " + value) != std::string::npos, without.out);
}

// Two weight files hold the same tensors, bit for bit.
void check_same_weights(const fs::path& x, const fs::path& y) {
  const TensorMap a = load_tensors(x.string()), b = load_tensors(y.string());
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) {
    CAPTURE(name);
    CHECK(torch::equal(t, b.at(name)));
  }
}

std::vector<double> loss_column(const fs::path& csv) {
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  std::vector<double> out;
  while (std::getline(in, line)) out.push_back(std::stod(line.substr(line.find(',') + 1)));
  return out;
}
}  // namespace

TEST_CASE("train reduces the loss and writes curves - sheets - checkpoint and weights") {
  const fs::path run = root() / "run";
  const CliResult r = run_cli(train_args(run.string()));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  for (const char* f : {"config.json", "checkpoint.safetensors", "model.safetensors", "loss.csv", "loss.png", "recon/epoch_001.png", "recon/epoch_003.png"}) {
    CAPTURE(f);
    CHECK(fs::exists(run / f));
  }
  const auto losses = loss_column(run / "loss.csv");
  REQUIRE(losses.size() == 3);
  CHECK(losses[2] < losses[0]);
}

TEST_CASE("a resumed run ends with the same weights as an uninterrupted one") {
  const fs::path whole = root() / "run";  // written by the test above (doctest runs in order)
  if (!fs::exists(whole / "model.safetensors")) REQUIRE(run_cli(train_args(whole.string())).code == 0);
  const fs::path split = root() / "split";
  // Stop mid-epoch (20 batches per epoch: step 27 is inside epoch 2), then resume.
  const CliResult first = run_cli(train_args(split.string()) + " --stop-after-steps 27");
  REQUIRE_MESSAGE(first.code == 0, first.out);
  CHECK_FALSE(fs::exists(split / "model.safetensors"));
  CHECK(first.out.find("--resume") != std::string::npos);
  const CliResult second = run_cli(train_args(split.string()) + " --resume");
  REQUIRE_MESSAGE(second.code == 0, second.out);
  check_same_weights(whole / "model.safetensors", split / "model.safetensors");
  CHECK(loss_column(whole / "loss.csv") == loss_column(split / "loss.csv"));
  // Resuming needs the run's seed and batch size.
  const CliResult other_batch = run_cli("train --data " + (root() / "data").string() + " --out " + split.string() +
                                        " --epochs 3 --batch 8 --latent 8 --width 8 --threads 1 --seed 5 --resume");
  CHECK(other_batch.code == 1);
  CHECK(other_batch.out.find("--batch") != std::string::npos);
}

TEST_CASE("the patch critic learns to tell sharp faces from blurred ones") {
  // Real: sharp random blocks; fake: the same pictures blurred (what MSE decoders draw).
  torch::manual_seed(3);
  const torch::Tensor sharp = torch::rand({16, 3, 8, 8}).repeat_interleave(4, 2).repeat_interleave(4, 3);  // 32² blocks
  const torch::Tensor blurred = torch::avg_pool2d(torch::nn::functional::pad(sharp, torch::nn::functional::PadFuncOptions({2, 2, 2, 2}).mode(torch::kReplicate)), 5, 1);
  REQUIRE(blurred.sizes() == sharp.sizes());
  tools::PatchCritic critic(8, 1e-3, 7, torch::kCPU);
  const double first = critic.update(sharp, blurred);
  double last = first;
  for (int i = 0; i < 150; ++i) last = critic.update(sharp, blurred);
  MESSAGE("critic hinge loss " << first << " -> " << last);
  CHECK(first > 1.8);   // at the start it cannot tell them apart (2: chance)
  CHECK(last < 1.0);    // then it can
  // The decoder's term is higher (worse) for the blurred faces than for sharp ones.
  CHECK(critic.generator_loss(blurred).item<double>() > critic.generator_loss(sharp).item<double>() + 0.5);
  // Saved and loaded, it scores the same.
  TensorMap state;
  critic.save(state);
  tools::PatchCritic copy(8, 1e-3, 99, torch::kCPU);
  copy.load(state, critic.t(), "in-memory");
  CHECK(copy.generator_loss(blurred).item<double>() == doctest::Approx(critic.generator_loss(blurred).item<double>()).epsilon(1e-6));
  CHECK_THROWS_WITH_AS(copy.load(TensorMap{}, 0, "empty.safetensors"), doctest::Contains("empty.safetensors"), Error);
}

TEST_CASE("the gradient-difference loss sees edges, not brightness") {
  torch::manual_seed(4);
  const torch::Tensor sharp = torch::rand({4, 3, 8, 8}).repeat_interleave(4, 2).repeat_interleave(4, 3);  // 32² blocks
  const torch::Tensor blurred = torch::avg_pool2d(torch::nn::functional::pad(sharp, torch::nn::functional::PadFuncOptions({2, 2, 2, 2}).mode(torch::kReplicate)), 5, 1);
  const torch::Tensor same = tools::gradient_difference(sharp, sharp);
  REQUIRE(same.sizes() == torch::IntArrayRef({4}));
  CHECK(same.abs().max().item<double>() == 0.0);
  // A blur loses edges; a brighter copy keeps every edge (its squared error is larger).
  const torch::Tensor brighter = sharp + 0.2;
  CHECK(tools::gradient_difference(blurred, sharp).min().item<double>() > 10.0);
  CHECK(tools::gradient_difference(brighter, sharp).abs().max().item<double>() < 1e-3);
  CHECK((brighter - sharp).pow(2).sum().item<double>() > (blurred - sharp).pow(2).sum().item<double>());
  // Pixel weights count: zero weight where the edges are, zero loss.
  CHECK(tools::gradient_difference(blurred, sharp, torch::zeros({32, 32})).abs().max().item<double>() == 0.0);
  const torch::Tensor doubled = tools::gradient_difference(blurred, sharp, torch::full({32, 32}, 2.0));
  CHECK(doubled.sum().item<double>() == doctest::Approx(2.0 * tools::gradient_difference(blurred, sharp).sum().item<double>()).epsilon(1e-5));
  // Its gradient pushes a blurred image towards sharper edges.
  torch::Tensor x = blurred.clone().set_requires_grad(true);
  tools::gradient_difference(x, sharp).sum().backward();
  const torch::Tensor stepped = (x - 1e-3 * x.grad().sign()).detach();
  CHECK(tools::gradient_difference(stepped, sharp).sum().item<double>() < tools::gradient_difference(blurred, sharp).sum().item<double>());
  CHECK_THROWS_WITH_AS(tools::gradient_difference(sharp, sharp.narrow(3, 0, 16)), doctest::Contains("the same"), Error);
  CHECK_THROWS_WITH_AS(tools::gradient_difference(sharp, sharp, torch::ones({16, 16})), doctest::Contains("pixel weights"), Error);
}

TEST_CASE("the line loss finds a missed wrinkle and forgives one drawn a pixel off") {
  // A grey face with a thin dark vertical line (a wrinkle) in column 12 of 32.
  const auto with_line = [](std::int64_t column) {
    torch::Tensor img = torch::full({1, 3, 32, 32}, 0.6);
    img.narrow(3, column, 1).fill_(0.3);
    return img;
  };
  const torch::Tensor target = with_line(12), flat = torch::full({1, 3, 32, 32}, 0.6);
  const torch::Tensor map = tools::line_map(target);
  REQUIRE(map.sizes() == torch::IntArrayRef({1, 2, 32, 32}));
  CHECK(map[0][0][5][12].item<double>() == doctest::Approx(0.8 * 0.3).epsilon(1e-4));  // dark stroke: 4/5 of its depth
  CHECK(map[0][0][5][11].item<double>() == 0.0);
  CHECK(map[0][1][5][11].item<double>() == doctest::Approx(0.2 * 0.3).epsilon(1e-4));  // its bright rims
  CHECK(tools::line_map(flat).abs().max().item<double>() < 1e-6);
  const auto loss = [&](const torch::Tensor& decoded) { return tools::line_difference(decoded, target).item<double>(); };
  const auto squared = [&](const torch::Tensor& decoded) { return (decoded - target).pow(2).sum().item<double>(); };
  CHECK(loss(target) == 0.0);
  // Missing the line costs its whole map; one pixel off costs nothing, where a squared error
  // charges that twice as much as leaving it out. Far off, it is a missed line and a spurious one.
  CHECK(loss(flat) == doctest::Approx(map.sum().item<double>()).epsilon(1e-5));
  CHECK(loss(with_line(13)) == doctest::Approx(0.0).epsilon(1e-6));
  CHECK(squared(with_line(13)) == doctest::Approx(2.0 * squared(flat)).epsilon(1e-5));
  CHECK(loss(with_line(14)) > 0.5 * loss(flat));
  CHECK(loss(with_line(20)) == doctest::Approx(2.0 * loss(flat)).epsilon(1e-5));
  // Pixel weights count, and the loss is per image.
  CHECK(tools::line_difference(flat, target, torch::zeros({32, 32})).item<double>() == 0.0);
  CHECK(tools::line_difference(flat, target, torch::full({32, 32}, 3.0)).item<double>() == doctest::Approx(3.0 * loss(flat)).epsilon(1e-5));
  CHECK(tools::line_difference(torch::cat({flat, target}), torch::cat({target, target})).sizes() == torch::IntArrayRef({2}));
  // Its gradient draws the line into a faintly textured flat face.
  torch::manual_seed(5);
  torch::Tensor x = (flat + 0.01 * torch::rand_like(flat)).set_requires_grad(true);
  const double before = loss(x.detach());
  tools::line_difference(x, target).sum().backward();
  CHECK(x.grad().select(3, 12).mean().item<double>() > 0.0);  // darker there lowers the loss
  CHECK(loss((x - 0.05 * x.grad() / x.grad().abs().max()).detach()) < before);
  CHECK_THROWS_WITH_AS(tools::line_difference(target, target.narrow(3, 0, 16)), doctest::Contains("the same"), Error);
  CHECK_THROWS_WITH_AS(tools::line_difference(target, target, torch::ones({16, 16})), doctest::Contains("pixel weights"), Error);
  CHECK_THROWS_WITH_AS(tools::line_map(torch::zeros({1, 1, 32, 32})), doctest::Contains("[N, 3, H, W]"), Error);
}

TEST_CASE("the gradient and line weights are part of the run") {
  const fs::path run = root() / "edges";
  const std::string edges = " --affect-weight 20 --identity-swap --gradient-weight 0.05 --line-weight 0.5";
  REQUIRE(run_cli(train_args(run.string()) + edges + " --stop-after-steps 5").code == 0);
  const auto config = nlohmann::json::parse(read_text_file((run / "config.json").string()));
  CHECK(config["gradient_weight"] == 0.05);
  CHECK(config["line_weight"] == 0.5);
  const CliResult without = run_cli(train_args(run.string()) + " --affect-weight 20 --identity-swap --resume");
  CHECK(without.code == 1);
  CHECK(without.out.find("--gradient-weight 0.05") != std::string::npos);
  CHECK(without.out.find("--line-weight 0.5") != std::string::npos);
  const CliResult no_lines = run_cli(train_args(run.string()) + " --affect-weight 20 --identity-swap --gradient-weight 0.05 --resume");
  CHECK(no_lines.code == 1);
  const CliResult with = run_cli(train_args(run.string()) + edges + " --resume");
  CHECK_MESSAGE(with.code == 0, with.out);
  CHECK(run_cli(train_args((root() / "edges-bad").string()) + " --gradient-weight -1").code == 2);
  CHECK(run_cli(train_args((root() / "edges-bad").string()) + " --line-weight -1").code == 2);
}

TEST_CASE("feature matching compares the reader's activations: zero for the target, and it pulls a blurred face back") {
  const std::string judge = std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/models/judge";
  tools::ReadBack reader(judge, Space::Ball, torch::kCPU);
  torch::manual_seed(5);
  const torch::Tensor sharp = torch::rand({2, 3, 16, 16}).repeat_interleave(8, 2).repeat_interleave(8, 3);  // 128² blocks
  const torch::Tensor blurred = torch::avg_pool2d(torch::nn::functional::pad(sharp, torch::nn::functional::PadFuncOptions({2, 2, 2, 2}).mode(torch::kReplicate)), 5, 1);
  REQUIRE(blurred.sizes() == sharp.sizes());
  CHECK(reader.feature_loss(sharp, sharp).item<double>() == 0.0);
  const double soft = reader.feature_loss(blurred, sharp).item<double>(), bright = reader.feature_loss(sharp + 0.1, sharp).item<double>();
  const double soft_mse = (blurred - sharp).pow(2).mean().item<double>(), bright_mse = (sharp + 0.1 - sharp).pow(2).mean().item<double>();
  MESSAGE("feature loss of the blurred blocks " << soft << " (pixel MSE " << soft_mse << "), of a copy 0.1 brighter " << bright << " (" << bright_mse << ")");
  CHECK(soft > 1e-3);
  // What a blur loses weighs far more than a brightness change of about as large a pixel error.
  REQUIRE(bright_mse > 0.5 * soft_mse);
  CHECK(soft > 10.0 * bright);
  // Its gradient reaches the face (never the target) and a small step against it lowers the loss.
  torch::Tensor x = blurred.clone().set_requires_grad(true);
  const torch::Tensor target = sharp.clone().set_requires_grad(true);
  reader.feature_loss(x, target).backward();
  CHECK_FALSE(target.grad().defined());
  REQUIRE(x.grad().defined());
  const torch::Tensor stepped = (x - 2e-3 * x.grad().sign()).detach();
  CHECK(reader.feature_loss(stepped, sharp).item<double>() < soft);
  CHECK_THROWS_WITH_AS(reader.feature_loss(sharp, sharp.narrow(3, 0, 64)), doctest::Contains("differ"), Error);
  // In a run: recorded, needed again to resume, and refused without a reader.
  check_setting_is_part_of_run("features", " --affect-weight 20 --identity-swap --reader " + judge + " --readback-weight 1", "--feature-weight", "2", "feature_weight");
  CHECK(run_cli(train_args((root() / "features-bad").string()) + " --affect-weight 20 --identity-swap --feature-weight 1").code == 2);
}

TEST_CASE("the read-back's identity weight scales its identity term alone - and a run must resume with it") {
  const std::string judge = std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/models/judge";
  torch::manual_seed(6);
  const torch::Tensor faces = torch::rand({3, 3, 128, 128}), reference = torch::rand({3, 3, 128, 128});
  const torch::Tensor asked = torch::tensor({0.5f, 0.2f, 0.0f, -0.3f, 0.6f, 0.1f, 0.0f, -0.7f, -0.2f}).view({3, 3});
  const auto loss = [&](double w) { return tools::ReadBack(judge, Space::Ball, torch::kCPU, w).loss(faces, asked, reference).item<double>(); };
  const double none = loss(0.0), one = loss(1.0), two = loss(2.0);
  MESSAGE("read-back loss at identity weight 0 / 1 / 2: " << none << " / " << one << " / " << two);
  CHECK(one > none);  // random faces and references read as different people
  CHECK(two - one == doctest::Approx(one - none).epsilon(1e-4));
  CHECK(tools::ReadBack(judge, Space::Ball, torch::kCPU, 1.0).loss(faces, asked, faces).item<double>() == doctest::Approx(none).epsilon(1e-5));
  CHECK_THROWS_AS(tools::ReadBack(judge, Space::Ball, torch::kCPU, -1.0), Error);
  // In a run: recorded, and needed again to resume.
  check_setting_is_part_of_run("identity-weight", " --affect-weight 20 --identity-swap --reader " + judge + " --readback-weight 1", "--readback-identity-weight", "3",
                               "readback_identity_weight");
}

TEST_CASE("the read-back's AU weight scales its action-unit term alone - and a run must resume with it") {
  const std::string judge = std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/models/judge";
  torch::manual_seed(7);
  const torch::Tensor faces = torch::rand({3, 3, 128, 128});
  const torch::Tensor asked = torch::tensor({0.5f, 0.2f, 0.0f, -0.3f, 0.6f, 0.1f, 0.0f, -0.7f, -0.2f}).view({3, 3});
  // The faces as their own reference: the identity term is 0, so what is left is affect + w_au x AUs.
  const auto loss = [&](double w) { return tools::ReadBack(judge, Space::Ball, torch::kCPU, 1.0, w).loss(faces, asked, faces).item<double>(); };
  const double none = loss(0.0), one = loss(1.0), four = loss(4.0);
  MESSAGE("read-back loss at AU weight 0 / 1 / 4: " << none << " / " << one << " / " << four);
  CHECK(none > 0.0);  // random faces do not read as the asked points
  CHECK(one > none);  // nor as their action units
  CHECK(four - none == doctest::Approx(4.0 * (one - none)).epsilon(1e-4));
  CHECK_THROWS_AS(tools::ReadBack(judge, Space::Ball, torch::kCPU, 1.0, -1.0), Error);
  check_setting_is_part_of_run("au-weight", " --affect-weight 20 --identity-swap --reader " + judge + " --readback-weight 1", "--readback-au-weight", "4", "readback_au_weight");
  CHECK(run_cli(train_args((root() / "au-bad").string()) + " --affect-weight 20 --identity-swap --readback-au-weight 2").code == 2);
}

TEST_CASE("render targets draw a training image's own person at its point - up to the AU jitter - and a run asks for them") {
  const tools::ImageSet train = tools::ImageSet::load((root() / "data").string(), "train");
  const tools::RenderTargets targets((root() / "data").string(), Space::Plane, train.image_size());
  CHECK(targets.people() == 32);
  // Image 0 and another person's image, each against its own person and the other's, at image 0's point.
  const tools::ImageLabel& first = train.labels()[0];
  std::int64_t other = 1;
  while (train.labels()[static_cast<std::size_t>(other)].identity == first.identity) ++other;
  const torch::Tensor at = torch::tensor({first.affect.v, first.affect.a, first.affect.z}, torch::kDouble).view({1, 3}).repeat({2, 1});
  const torch::Tensor drawn = targets.faces({first.identity, train.labels()[static_cast<std::size_t>(other)].identity}, at, 2);
  REQUIRE(drawn.sizes() == torch::IntArrayRef({2, 3, train.image_size(), train.image_size()}));
  const torch::Tensor image = train.batch({0});
  const double own = (drawn[0] - image[0]).pow(2).mean().item<double>(), stranger = (drawn[1] - image[0]).pow(2).mean().item<double>();
  MESSAGE("MSE of image 0 against its own person rendered at its point " << own << ", against another person " << stranger);
  CHECK(own < 0.01 * stranger + 1e-12);
  CHECK(own < 2e-3);  // what ± 0.05 of AU jitter changes
  // Another point draws another face of the same person.
  const torch::Tensor far = targets.faces({first.identity}, torch::tensor({-first.affect.v, -first.affect.a, 0.0}, torch::kDouble).view({1, 3}), 1);
  CHECK((far[0] - drawn[0]).abs().max().item<double>() > 0.1);
  CHECK_THROWS_WITH_AS(targets.faces({99999}, at.narrow(0, 0, 1), 1), doctest::Contains("person 99999"), Error);
  CHECK_THROWS_AS(targets.faces({first.identity}, at, 1), Error);  // 1 person, 2 points
  // Data without the identity_seed column is refused by name.
  const fs::path bare = root() / "bare-data";
  fs::create_directories(bare);
  std::ofstream(bare / "labels.csv") << "file,split,valence,arousal,z,category,identity\nimages/0.png,train,0,0,0,neutral,0\n";
  CHECK_THROWS_WITH_AS(tools::RenderTargets(bare.string(), Space::Plane, 32), doctest::Contains("identity_seed"), Error);
  // In a run: needs a reader, is recorded and is needed again to resume.
  CHECK(run_cli(train_args((root() / "render-bad").string()) + " --affect-weight 20 --identity-swap --render-weight 1").code == 2);
  const std::string judge = std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/models/judge";
  check_setting_is_part_of_run("render", " --affect-weight 20 --identity-swap --reader " + judge + " --readback-weight 1", "--render-weight", "0.5", "render_weight");
}

TEST_CASE("adversarial training resumes to the same weights and its settings are part of the run") {
  const std::string adv = " --affect-weight 20 --identity-swap --adversarial-weight 2 --critic-lr 1e-3";
  const fs::path whole = root() / "adv", split = root() / "adv-split";
  const CliResult r = run_cli(train_args(whole.string()) + adv);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(r.out.find("critic") != std::string::npos);  // the progress note shows the critic's loss
  CHECK(nlohmann::json::parse(read_text_file((whole / "config.json").string()))["adversarial_weight"] == 2.0);
  REQUIRE(run_cli(train_args(split.string()) + adv + " --stop-after-steps 27").code == 0);
  const CliResult second = run_cli(train_args(split.string()) + adv + " --resume");
  REQUIRE_MESSAGE(second.code == 0, second.out);
  check_same_weights(whole / "model.safetensors", split / "model.safetensors");
  // The final weights hold the VAE only; the checkpoint held the critic too.
  for (const auto& [name, t] : load_tensors((whole / "model.safetensors").string())) CHECK_FALSE(tools::PatchCritic::owns(name));
  // Resuming without the critic is refused, naming the setting.
  const CliResult plain = run_cli(train_args((root() / "adv-split2").string()) + adv + " --stop-after-steps 5");
  REQUIRE(plain.code == 0);
  const CliResult without = run_cli(train_args((root() / "adv-split2").string()) + " --affect-weight 20 --identity-swap --resume");
  CHECK(without.code == 1);
  CHECK(without.out.find("--adversarial-weight 2") != std::string::npos);
}

TEST_CASE("identity-swap training reduces the loss and resuming needs the run's loss settings") {
  const fs::path run = root() / "swap";
  const std::string args = train_args(run.string()) + " --affect-weight 20 --identity-swap";
  const CliResult r = run_cli(args);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const auto losses = loss_column(run / "loss.csv");
  REQUIRE(losses.size() == 3);
  CHECK(losses[2] < losses[0]);
  CHECK(nlohmann::json::parse(read_text_file((run / "config.json").string()))["identity_swap"] == true);
  // The run's checkpoint records the loss settings: resuming without the swap is refused.
  const CliResult plain = run_cli(train_args(run.string()) + " --affect-weight 20 --resume");
  CHECK(plain.code == 1);
  CHECK(plain.out.find("--identity-swap") != std::string::npos);
  const CliResult beta = run_cli(args + " --beta 0.5 --resume");
  CHECK(beta.code == 1);
  CHECK(beta.out.find("--beta 1") != std::string::npos);
  std::string longer = args;
  longer.replace(longer.find("--epochs 3"), 10, "--epochs 4");
  const CliResult more = run_cli(longer + " --resume");  // the same settings continue
  CHECK_MESSAGE(more.code == 0, more.out);
  CHECK(loss_column(run / "loss.csv").size() == 4);
  // The swap exchanges everything but the affect dimensions: it needs them guided.
  const CliResult unguided = run_cli(train_args((root() / "swap2").string()) + " --identity-swap");
  CHECK(unguided.code == 2);
  CHECK(unguided.out.find("--affect-weight") != std::string::npos);
}

TEST_CASE("--init starts from given weights and --lr-end decays the rate along a cosine") {
  const fs::path base = root() / "run";  // written by the first test (doctest runs in order)
  if (!fs::exists(base / "model.safetensors")) REQUIRE(run_cli(train_args(base.string())).code == 0);
  const TensorMap init = load_tensors((base / "model.safetensors").string());
  // One step at a tiny rate from --init stays at the given weights; from scratch it does not.
  const auto max_change = [&](const fs::path& run) {
    const TensorMap now = load_tensors((run / "checkpoint.safetensors").string());
    double worst = 0.0;
    for (const auto& [name, t] : init) worst = std::max(worst, (now.at(name) - t).abs().max().item<double>());
    return worst;
  };
  const std::string one_step = " --lr 1e-6 --stop-after-steps 1";
  std::string args = train_args((root() / "init").string());
  args.replace(args.find(" --lr 3e-3"), 10, "");
  const CliResult from_init = run_cli(args + one_step + " --init " + (base / "model.safetensors").string());
  REQUIRE_MESSAGE(from_init.code == 0, from_init.out);
  CHECK(max_change(root() / "init") < 1e-4);
  CHECK(nlohmann::json::parse(read_text_file((root() / "init" / "config.json").string()))["init"] == (base / "model.safetensors").string());
  std::string fresh_args = train_args((root() / "no-init").string());
  fresh_args.replace(fresh_args.find(" --lr 3e-3"), 10, "");
  REQUIRE(run_cli(fresh_args + one_step).code == 0);
  CHECK(max_change(root() / "no-init") > 1e-2);
  // Weights of another architecture are refused, naming the file and the flag.
  std::string wider = train_args((root() / "init-wrong").string());
  wider.replace(wider.find("--latent 8"), 10, "--latent 16");
  const CliResult wrong = run_cli(wider + " --init " + (base / "model.safetensors").string());
  CHECK(wrong.code != 0);
  CHECK(wrong.out.find("model.safetensors") != std::string::npos);
  CHECK(wrong.out.find("--init") != std::string::npos);
  // Weights without refinement (--decoder-refine) or detail (--decoder-detail) convolutions
  // widen into such a model: the new tensors start at zero and everything else at the given
  // weights, and the run's config records the new shape.
  const auto widen = [&](const std::string& name, const std::string& flag, const std::string& key, int value, const std::string& tensor) {
    std::string a = train_args((root() / name).string());
    a.replace(a.find(" --lr 3e-3"), 10, "");
    const CliResult r = run_cli(a + one_step + " " + flag + " " + std::to_string(value) + " --init " + (base / "model.safetensors").string());
    REQUIRE_MESSAGE(r.code == 0, r.out);
    CHECK(max_change(root() / name) < 1e-4);
    const TensorMap widened = load_tensors((root() / name / "checkpoint.safetensors").string());
    REQUIRE(widened.count(tensor) == 1);
    CHECK(widened.at(tensor).abs().max().item<double>() < 1e-4);
    CHECK(nlohmann::json::parse(read_text_file((root() / name / "config.json").string()))["model"][key] == value);
  };
  widen("init-refine", "--decoder-refine", "decoder_refine", 1, "decoder.refine.0.weight");
  widen("init-detail", "--decoder-detail", "decoder_detail", 2, "decoder.detail.1.weight");
  widen("init-depth", "--encoder-depth", "encoder_depth", 1, "encoder.depth.2.weight");

  // The schedule: lr at the first step, lr_end at the last, their mean half way; constant without lr_end.
  tools::TrainOptions opt;
  opt.lr = 1e-3;
  CHECK(tools::scheduled_lr(opt, 50, 101) == doctest::Approx(1e-3));
  opt.lr_end = 1e-5;
  CHECK(tools::scheduled_lr(opt, 0, 101) == doctest::Approx(1e-3));
  CHECK(tools::scheduled_lr(opt, 50, 101) == doctest::Approx(0.5 * (1e-3 + 1e-5)));
  CHECK(tools::scheduled_lr(opt, 100, 101) == doctest::Approx(1e-5));
  CHECK(tools::scheduled_lr(opt, 25, 101) > tools::scheduled_lr(opt, 75, 101));
  // A run with --lr-end resumes only with the same --lr-end.
  const fs::path cosine = root() / "cosine";
  REQUIRE(run_cli(train_args(cosine.string()) + " --lr-end 1e-4 --stop-after-steps 3").code == 0);
  const CliResult other_end = run_cli(train_args(cosine.string()) + " --resume");
  CHECK(other_end.code == 1);
  CHECK(other_end.out.find("--lr-end 0.0001") != std::string::npos);
  CHECK(run_cli(train_args(cosine.string()) + " --lr-end 1e-4 --resume").code == 0);
}

TEST_CASE("--freeze-decoder trains the encoder alone, against the init's decoder, from an encoder of any shape") {
  const fs::path base = root() / "run";
  if (!fs::exists(base / "model.safetensors")) REQUIRE(run_cli(train_args(base.string())).code == 0);
  const TensorMap init = load_tensors((base / "model.safetensors").string());
  const std::string frozen = " --freeze-decoder --stop-after-steps 3 --init " + (base / "model.safetensors").string();
  // The same shape: the decoder keeps every weight bit for bit while the encoder learns.
  const fs::path same = root() / "freeze-same";
  const CliResult r = run_cli(train_args(same.string()) + frozen);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const TensorMap now = load_tensors((same / "checkpoint.safetensors").string());
  double encoder_change = 0.0;
  for (const auto& [name, t] : init) {
    CAPTURE(name);
    if (name.rfind("decoder.", 0) == 0) CHECK(torch::equal(now.at(name), t));
    if (name.rfind("encoder.", 0) == 0) encoder_change = std::max(encoder_change, (now.at(name) - t).abs().max().item<double>());
  }
  CHECK(encoder_change > 1e-3);
  CHECK(nlohmann::json::parse(read_text_file((same / "config.json").string()))["freeze_decoder"] == true);
  // A resumed run keeps the setting.
  const CliResult unfrozen = run_cli(train_args(same.string()) + " --resume");
  CHECK(unfrozen.code == 1);
  CHECK(unfrozen.out.find("--freeze-decoder") != std::string::npos);
  // Another encoder width: the decoder still comes from the init, the encoder starts afresh.
  const fs::path wide = root() / "freeze-wide";
  const CliResult w = run_cli(train_args(wide.string()) + frozen + " --encoder-width 12");
  REQUIRE_MESSAGE(w.code == 0, w.out);
  CHECK(w.out.find("encoder tensors start afresh") != std::string::npos);
  const TensorMap wide_now = load_tensors((wide / "checkpoint.safetensors").string());
  CHECK(wide_now.at("encoder.features.0.weight").size(0) == 12);
  CHECK(torch::equal(wide_now.at("decoder.to_rgb.weight"), init.at("decoder.to_rgb.weight")));
  CHECK(nlohmann::json::parse(read_text_file((wide / "config.json").string()))["model"]["encoder_width"] == 12);
  // Without weights to keep, it is refused by name.
  const CliResult alone = run_cli(train_args((root() / "freeze-alone").string()) + " --freeze-decoder");
  CHECK(alone.code != 0);
  CHECK(alone.out.find("--freeze-decoder needs --init") != std::string::npos);
}

TEST_CASE("the expression saliency lies on the face where expressions change it") {
  const tools::ImageSet train = tools::ImageSet::load((root() / "data").string(), "train");
  const torch::Tensor s = train.expression_saliency();
  REQUIRE(s.sizes() == torch::IntArrayRef({32, 32}));
  CHECK(s.max().item<float>() == doctest::Approx(1.0f));
  CHECK(s.min().item<float>() >= 0.0f);
  // A person's images differ only in expression: the background corners hardly change, the
  // middle of the face (eyes, brows, mouth) does.
  const float corners = (s[0][0] + s[0][31] + s[31][0] + s[31][31]).item<float>() / 4.0f;
  const float centre = s.narrow(0, 8, 16).narrow(1, 8, 16).mean().item<float>();
  CHECK(corners < 0.05f);
  CHECK(centre > 5.0f * corners);
  // Training with it draws the weights next to the run.
  const fs::path run = root() / "weighted";
  const CliResult r = run_cli(train_args(run.string()) + " --affect-weight 20 --expression-weight 6");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(fs::exists(run / "expression_weight.png"));
  CHECK(nlohmann::json::parse(read_text_file((run / "config.json").string()))["expression_weight"] == 6.0);
}

TEST_CASE("identity-swap training needs to know who is in each image") {
  // A copy of the data without the identity column (as prep writes it) and without shards.
  const fs::path data = root() / "noid";
  fs::create_directories(data);
  fs::copy(root() / "data" / "images", data / "images", fs::copy_options::recursive | fs::copy_options::skip_existing);
  std::ifstream in(root() / "data" / "labels.csv");
  std::ofstream out(data / "labels.csv");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    std::string row;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i == 6) continue;  // file,split,valence,arousal,z,category,identity,...
      row += (row.empty() ? "" : ",") + cells[i];
    }
    out << row << "\n";
  }
  out.close();
  const CliResult r = run_cli("train --data " + data.string() + " --out " + (root() / "noid_run").string() +
                              " --epochs 1 --batch 16 --latent 8 --width 8 --threads 1 --affect-weight 20 --identity-swap");
  CHECK(r.code == 1);
  CHECK(r.out.find("identity column") != std::string::npos);
  const CliResult weighted = run_cli("train --data " + data.string() + " --out " + (root() / "noid_run2").string() +
                                     " --epochs 1 --batch 16 --latent 8 --width 8 --threads 1 --expression-weight 4");
  CHECK(weighted.code == 1);
  CHECK(weighted.out.find("identity column") != std::string::npos);
}

TEST_CASE("train refuses bad arguments and missing data with clear messages") {
  CHECK(run_cli("train --data x").code == 2);
  const CliResult missing = run_cli("train --data /nonexistent/data --out " + (root() / "x").string());
  CHECK(missing.code == 1);
  CHECK(missing.out.find("/nonexistent/data/labels.csv") != std::string::npos);
  CHECK(run_cli(train_args((root() / "y").string()) + " --batch 0").code == 2);
  CHECK(run_cli(train_args((root() / "z").string()) + " --resume").code == 1);  // no checkpoint
}

TEST_CASE("map writes a complete report and a package the runtime loads") {
  const fs::path run = root() / "run";
  if (!fs::exists(run / "model.safetensors")) REQUIRE(run_cli(train_args(run.string())).code == 0);
  const fs::path pkg = root() / "pkg";
  const CliResult r = run_cli("map --run " + run.string() + " --data " + (root() / "data").string() + " --out " + pkg.string() + " --threads 1");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  for (const char* f : {"manifest.json", "weights.safetensors", "latents.csv", "latents_train.csv", "report.json", "report.md", "map_scatter.png", "map_mi.png"}) {
    CAPTURE(f);
    CHECK(fs::exists(pkg / f));
  }
  const auto report = nlohmann::json::parse(read_text_file((pkg / "report.json").string()));
  for (const char* key : {"r2", "mig", "quadrant_accuracy", "cos_before", "cos_after", "mig_per_factor", "ridge_lambda"}) {
    CAPTURE(key);
    CHECK(report.contains(key));
  }
  CHECK(report["max_abs_cos_after"].get<double>() <= 1e-6);
  // latents.csv: file, valence, arousal, z, z0..z7.
  std::ifstream in(pkg / "latents.csv");
  std::string header;
  std::getline(in, header);
  CHECK(header == "file,valence,arousal,z,z0,z1,z2,z3,z4,z5,z6,z7");

  const ModelPackage p = ModelPackage::load(pkg.string());
  CHECK(p.config().latent == 8);
  Generator gen(p, 1);
  std::vector<std::uint8_t> rgba;
  gen.decode(p.manifold().compose(p.identity_from_seed(3), {0.5, 0.5, 0}), rgba);
  CHECK(rgba.size() == 32u * 32u * 4u);
  CHECK(p.identity_from_seed(3) == p.identity_from_seed(3));
  CHECK(p.identity_from_seed(3) != p.identity_from_seed(4));
  // Seeds draw from the held-out people: every identity is one of their latents, and the
  // seeds reach every one of them.
  REQUIRE(p.people() >= 1u);
  REQUIRE(fs::exists(pkg / "people.safetensors"));
  const TensorMap people_file = load_tensors((pkg / "people.safetensors").string());
  const torch::Tensor people = people_file.at("people");
  REQUIRE(people.size(0) == static_cast<std::int64_t>(p.people()));
  std::set<std::int64_t> seen;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    const std::vector<float> id = p.identity_from_seed(seed);
    const torch::Tensor row = torch::from_blob(const_cast<float*>(id.data()), {1, 8}, torch::kFloat);
    const torch::Tensor match = (people == row).all(1).nonzero();
    REQUIRE(match.size(0) >= 1);
    seen.insert(match[0][0].item<std::int64_t>());
  }
  CHECK(seen.size() == p.people());
  const std::vector<float> z = gen.encode(rgba.data(), 32, 32, 4);
  CHECK(z.size() == 8u);
}

TEST_CASE("ModelPackage::save writes what load reads, and refuses a package load would refuse") {
  const fs::path src = CIRCUMPLEX_TINY_MODEL;
  const std::string manifest = read_text_file((src / "manifest.json").string());
  const auto mj = nlohmann::json::parse(manifest);
  const TensorMap weights = load_tensors((src / mj["weights"]["file"].get<std::string>()).string());
  torch::Tensor people;
  if (mj["identity_prior"].contains("people")) people = load_tensors((src / mj["identity_prior"]["people"]["file"].get<std::string>()).string()).at("people");
  const fs::path out = fresh_dir("package-save");
  ModelPackage::save((out / "copy").string(), manifest, weights, "{}", people);
  const ModelPackage copy = ModelPackage::load((out / "copy").string());
  const ModelPackage original = ModelPackage::load(src.string());
  CHECK(copy.identity_from_seed(3) == original.identity_from_seed(3));
  // A manifest whose network differs from the weights: refused, and nothing looks complete.
  nlohmann::json wider = mj;
  wider["model"]["width"] = mj["model"]["width"].get<int>() * 2;
  CHECK_THROWS_WITH_AS(ModelPackage::save((out / "wider").string(), wider.dump(), weights, "{}", people), doctest::Contains("being written"), Error);
  CHECK_FALSE(fs::exists(out / "wider" / "manifest.json"));
  // People that are not the manifest's count: refused by name.
  if (people.defined()) {
    CHECK_THROWS_WITH_AS(ModelPackage::save((out / "people").string(), manifest, weights, "{}", people.narrow(0, 0, 1)),
                         doctest::Contains("identity_prior.people"), Error);
    CHECK_FALSE(fs::exists(out / "people" / "manifest.json"));
  }
  CHECK_THROWS_AS(ModelPackage::save((out / "bad").string(), "{\"format\": 1}", weights, "{}"), Error);
}

TEST_CASE("the package loader refuses each kind of corruption and names it") {
  const fs::path pkg = root() / "pkg";
  if (!fs::exists(pkg / "manifest.json")) {
    if (!fs::exists(root() / "run" / "model.safetensors")) REQUIRE(run_cli(train_args((root() / "run").string())).code == 0);
    REQUIRE(run_cli("map --run " + (root() / "run").string() + " --data " + (root() / "data").string() + " --out " + pkg.string() + " --threads 1").code == 0);
  }
  const SpoiltPackages bad{pkg, root(), read_text_file((pkg / "manifest.json").string())};
  auto refused = [](const std::string& dir, const char* expect) {
    CAPTURE(dir);
    CHECK_THROWS_WITH_AS(ModelPackage::load(dir), doctest::Contains(expect), Error);
  };
  refused((root() / "absent").string(), "no such model package");
  refused(bad.variant("nomanifest", [](const fs::path& d) { fs::remove(d / "manifest.json"); }), "manifest.json");
  refused(bad.variant("truncmanifest", [&](const fs::path& d) { std::ofstream(d / "manifest.json") << bad.manifest.substr(0, bad.manifest.size() / 2); }), "malformed JSON");
  refused(bad.variant("format", bad.edit([](auto& j) { j["format"] = "other"; })), "format");
  refused(bad.variant("version", bad.edit([](auto& j) { j["version"] = 7; })), "version");
  refused(bad.variant("latent", bad.edit([](auto& j) { j["model"]["latent"] = 9; })), "has 8 values, expected 9");
  refused(bad.variant("width", bad.edit([](auto& j) { j["model"]["width"] = 16; })), "does not match the manifest's model shape");
  refused(bad.variant("notunit", bad.edit([](auto& j) { j["manifold"]["valence"][0] = 5.0; })), "unit vector");
  refused(bad.variant("scale", bad.edit([](auto& j) { j["manifold"]["scales"][0] = -1.0; })), "scale");
  refused(bad.variant("nan", bad.edit([](auto& j) { j["identity_prior"]["mean"][0] = "NaN"; })), "finite number");
  refused(bad.variant("nopeople", [](const fs::path& d) { fs::remove(d / "people.safetensors"); }), "people.safetensors");
  refused(bad.variant("peoplecount", bad.edit([](auto& j) { j["identity_prior"]["people"]["count"] = 1000; })), "the manifest says 1000 x 8");
  refused(bad.variant("peopleescape", bad.edit([](auto& j) { j["identity_prior"]["people"]["file"] = "../people.safetensors"; })), "inside the package");
  refused(bad.variant("peoplefile", [](const fs::path& d) { fs::copy_file(d / "weights.safetensors", d / "people.safetensors", fs::copy_options::overwrite_existing); }), "exactly one tensor");
  refused(bad.variant("escape", bad.edit([](auto& j) { j["weights"]["file"] = "../../etc/passwd"; })), "inside the package");
  refused(bad.variant("noweights", SpoiltPackages::remove_weights), "weights.safetensors");
  refused(bad.variant("truncweights", SpoiltPackages::truncate_weights), "truncated");
  refused(bad.variant("flipweights", SpoiltPackages::flip_weights), "hash mismatch");
}

TEST_CASE("a session generates frames asynchronously - the latest request wins") {
  const fs::path pkg = CIRCUMPLEX_TINY_MODEL;
  SessionOptions opt;
  opt.threads = 1;
  opt.half_life = 0.0;  // the cursor jumps: each update is a new point
  Session s(ModelPackage::load(pkg.string()), opt);
  REQUIRE(s.wait_for_latest(30.0));
  const auto first = s.latest_frame();
  REQUIRE(first != nullptr);
  CHECK(first->width == 32);
  CHECK(first->rgba.size() == 32u * 32u * 4u);
  // Many requests in a row: update() returns at once; the worker skips stale ones.
  for (int i = 0; i < 50; ++i) {
    s.set_target({0.8 * std::cos(i * 0.3), 0.8 * std::sin(i * 0.3), 0});
    s.update(1.0 / 60);
  }
  REQUIRE(s.wait_for_latest(30.0));
  const auto last = s.latest_frame();
  CHECK(last->sequence > first->sequence);
  CHECK(last->sequence <= s.requests());
  CHECK(distance(last->affect, s.position()) < 1e-9);  // the newest frame shows the newest point
  // Outputs follow the cursor; the nearest emotion is named.
  s.set_emotion("happy", 1.0);
  s.update(0.1);
  CHECK(s.nearest().name == "happy");
  CHECK(s.arkit()[23] > 0.5f);  // mouthSmileLeft
  CHECK_THROWS_AS(s.set_emotion("glee", 1.0), Error);
  // A path drives the target; a non-looping one ends at its end point.
  s.play(emotion_axis(Atlas::builtin(), "sad", 0.9, 0.5, Space::Plane), false);
  for (int i = 0; i < 40; ++i) s.update(1.0 / 60);
  CHECK_FALSE(s.playing());
  CHECK(radius(s.position(), Space::Plane) == doctest::Approx(0.9).epsilon(1e-6));
  // Identity changes make a new face even at the same point.
  const std::uint64_t before = s.requests();
  s.set_identity_seed(99);
  s.update(0.0);
  CHECK(s.requests() == before + 1);
}

TEST_CASE("a session's intent-level controls and its FaceSource seam") {
  // A wrapper around the model's own FaceSource counts what the worker asks of it.
  struct Counting final : FaceSource {
    explicit Counting(std::unique_ptr<FaceSource> real, std::atomic<int>& count) : inner(std::move(real)), decodes(count) {}
    int image_size() const override { return inner->image_size(); }
    void decode(const std::vector<float>& latent, std::vector<std::uint8_t>& rgba, const IdentityDetail* detail) override {
      ++decodes;
      inner->decode(latent, rgba, detail);
      rgba[0] = 7;  // marks the frames this source drew
    }
    std::vector<float> encode(const std::uint8_t* p, int w, int h, int c) override { return inner->encode(p, w, h, c); }
    std::shared_ptr<const IdentityDetail> detail(const std::uint8_t* p, int w, int h, int c, const std::vector<float>& identity) override {
      return inner->detail(p, w, h, c, identity);
    }
    std::unique_ptr<FaceSource> inner;
    std::atomic<int>& decodes;
  };
  std::atomic<int> decodes{0};
  SessionOptions opt;
  opt.threads = 1;
  opt.half_life = 0.0;
  opt.wrap_faces = [&](std::unique_ptr<FaceSource> real) -> std::unique_ptr<FaceSource> {
    REQUIRE(real != nullptr);
    CHECK(real->image_size() == 32);
    return std::make_unique<Counting>(std::move(real), decodes);
  };
  Session s(ModelPackage::load(CIRCUMPLEX_TINY_MODEL), opt);
  REQUIRE(s.wait_for_latest(30.0));
  CHECK(decodes.load() >= 1);
  CHECK(s.latest_frame()->rgba[0] == 7);
  // set_intensity keeps the direction; jump_to puts the cursor there at once; both stop a path.
  s.set_target({0.6, 0.8, 0});
  s.set_intensity(0.5);
  CHECK(s.target().v == doctest::Approx(0.3));
  CHECK(s.target().a == doctest::Approx(0.4));
  s.play(emotion_axis(Atlas::builtin(), "sad", 0.9, 0.5, Space::Plane), true);
  REQUIRE(s.playing());
  s.set_intensity(1.0);
  CHECK_FALSE(s.playing());
  s.play(emotion_axis(Atlas::builtin(), "sad", 0.9, 0.5, Space::Plane), true);
  s.jump_to({-0.2, 0.1, 0});
  CHECK_FALSE(s.playing());
  CHECK(s.position().v == doctest::Approx(-0.2));
  CHECK(s.target().a == doctest::Approx(0.1));
  CHECK(radius(s.velocity()) == doctest::Approx(0.0));
  // A wrapper that returns nothing is refused by name.
  SessionOptions bad = opt;
  bad.wrap_faces = [](std::unique_ptr<FaceSource>) { return std::unique_ptr<FaceSource>(); };
  CHECK_THROWS_WITH_AS(Session(ModelPackage::load(CIRCUMPLEX_TINY_MODEL), bad), doctest::Contains("wrap_faces"), Error);
}

TEST_CASE("an image identity keeps its detail: at neutral the face is the image, elsewhere the decoder's change shows") {
  SessionOptions opt;
  opt.threads = 1;
  opt.half_life = 0.0;
  opt.keep_detail = true;
  Session s(ModelPackage::load(CIRCUMPLEX_TINY_MODEL), opt);
  REQUIRE(s.wait_for_latest(30.0));
  CHECK(s.identity_detail() == nullptr);  // a seed identity has none
  // A striped RGB image the tiny decoder could never draw.
  std::vector<std::uint8_t> image(32 * 32 * 3);
  for (std::size_t i = 0; i < image.size(); ++i) image[i] = static_cast<std::uint8_t>(((i / 3) % 32) % 4 < 2 ? 40 + i % 3 * 60 : 200);
  s.set_identity_image(image.data(), 32, 32, 3);
  REQUIRE(s.identity_detail() != nullptr);
  const auto frame_at = [&](Session& session, AffectPoint p) {
    session.jump_to(p);
    session.update(0.0);
    REQUIRE(session.wait_for_latest(30.0));
    return session.latest_frame();
  };
  const auto neutral = frame_at(s, {});
  int worst = 0;
  for (std::size_t p = 0; p < 32 * 32; ++p) {
    for (std::size_t c = 0; c < 3; ++c) worst = std::max(worst, std::abs(int(neutral->rgba[4 * p + c]) - int(image[3 * p + c])));
  }
  CHECK(worst <= 1);  // the image itself, up to rounding
  // Without the detail (the default) the tiny decoder's own face shows, far from the stripes.
  SessionOptions bare = opt;
  bare.keep_detail = SessionOptions{}.keep_detail;
  CHECK_FALSE(bare.keep_detail);
  Session plain(ModelPackage::load(CIRCUMPLEX_TINY_MODEL), bare);
  plain.set_identity_image(image.data(), 32, 32, 3);
  CHECK(plain.identity_detail() == nullptr);
  const auto decoder_alone = frame_at(plain, {});
  CHECK(decoder_alone->rgba != neutral->rgba);
  // Away from neutral each face is the decoder's face there plus the same detail.
  const auto happy_plain = frame_at(plain, {0.9, 0.3, 0});
  const auto happy = frame_at(s, {0.9, 0.3, 0});
  CHECK(happy->rgba != happy_plain->rgba);
  // The identity file keeps the image: loaded again, the same faces.
  const fs::path file = fs::path(CIRCUMPLEX_BINARY_DIR) / "test-output" / "detail-identity.safetensors";
  fs::create_directories(file.parent_path());
  s.package().save_identity(file.string(), s.identity(), s.identity_detail().get());
  torch::Tensor kept;
  std::vector<float> latent = s.package().load_identity(file.string(), &kept);
  REQUIRE(kept.defined());
  s.set_identity_seed(4);
  CHECK(s.identity_detail() == nullptr);  // a seed drops it
  s.set_identity(latent, kept);
  REQUIRE(s.identity_detail() != nullptr);
  CHECK(frame_at(s, {0.9, 0.3, 0})->rgba == happy->rgba);
  CHECK(frame_at(s, {})->rgba == neutral->rgba);
  s.set_identity(latent);  // a bare latent: no detail
  CHECK(s.identity_detail() == nullptr);

  // Switched off (the viewer's checkbox), the detail goes at once and the decoder's own face
  // shows; switched on, it comes with the next image identity.
  s.set_identity_image(image.data(), 32, 32, 3);
  REQUIRE(s.identity_detail() != nullptr);
  s.set_keep_detail(false);
  CHECK_FALSE(s.keep_detail());
  CHECK(s.identity_detail() == nullptr);
  CHECK(frame_at(s, {})->rgba == decoder_alone->rgba);
  s.set_identity_image(image.data(), 32, 32, 3);
  CHECK(s.identity_detail() == nullptr);
  s.set_keep_detail(true);
  CHECK(s.identity_detail() == nullptr);  // not until the image is set again
  s.set_identity_image(image.data(), 32, 32, 3);
  REQUIRE(s.identity_detail() != nullptr);
  CHECK(frame_at(s, {})->rgba == neutral->rgba);
}

TEST_CASE("devices: cpu decodes as before, unknown names and CUDA without CUDA are refused by name") {
  const ModelPackage pkg = ModelPackage::load(CIRCUMPLEX_TINY_MODEL);
  CHECK(parse_device("cpu").is_cpu());
  for (const char* name : {"gpu", "CPU", "cuda:", "cuda:x", "cuda:-1", "cuda:1234"}) {
    CAPTURE(name);
    const std::string quoted = std::string("device '") + name + "'";
    CHECK_THROWS_WITH_AS(parse_device(name), doctest::Contains(quoted.c_str()), Error);
  }
  Generator plain(pkg, 1), on_cpu(pkg, 1, "cpu");
  CHECK(on_cpu.device().is_cpu());
  std::vector<std::uint8_t> a, b;
  plain.decode(pkg.identity_from_seed(5), a);
  on_cpu.decode(pkg.identity_from_seed(5), b);
  CHECK(a == b);
  if (!torch_compat::cuda_available()) {
    CHECK_THROWS_WITH_AS(parse_device("cuda"), doctest::Contains("has no CUDA"), Error);
    CHECK_THROWS_WITH_AS(Generator(pkg, 1, "cuda:0"), doctest::Contains("has no CUDA"), Error);
    SessionOptions opt;
    opt.device = "cuda";
    CHECK_THROWS_WITH_AS(Session(ModelPackage::load(CIRCUMPLEX_TINY_MODEL), opt), doctest::Contains("has no CUDA"), Error);
    const CliResult r = run_cli("render face --model " + std::string(CIRCUMPLEX_TINY_MODEL) + " --affect 0,0 --device cuda --out " +
                                (root() / "cuda.png").string());
    CHECK(r.code != 0);
    CHECK(r.out.find("device 'cuda'") != std::string::npos);
    CHECK_FALSE(fs::exists(root() / "cuda.png"));
    const CliResult e = run_cli("evaluate --model " + std::string(CIRCUMPLEX_TINY_MODEL) + " --judge " + std::string(CIRCUMPLEX_SOURCE_DIR) +
                                "/assets/models/judge --seed 5 --device cuda --json " + (root() / "cuda-eval" / "eval.json").string());
    CHECK(e.code != 0);
    CHECK(e.out.find("device 'cuda'") != std::string::npos);
    CHECK_FALSE(fs::exists(root() / "cuda-eval"));  // refused before the fresh set is made
  }
}

TEST_CASE("a session captures the cursor's path: what update moved, bounded, as keyframes") {
  SessionOptions opt;
  opt.generate_frames = false;
  opt.half_life = 0.0;
  Session s(ModelPackage::load(CIRCUMPLEX_TINY_MODEL), opt);
  CHECK_FALSE(s.capturing());
  CHECK_THROWS_WITH_AS(s.end_capture(), doctest::Contains("begin_capture"), Error);
  CHECK_THROWS_AS(s.begin_capture(0), Error);
  s.update(0.5);  // before the capture: not in it
  s.begin_capture(4);
  s.set_target({0.5, 0.0, 0});
  s.update(0.25);
  s.update(0.0);  // a repeated time: a sample, but not a second keyframe
  s.set_target({0.0, 0.5, 0});
  s.update(0.25);
  for (int i = 0; i < 3; ++i) s.update(0.1);  // one fits, two are dropped
  REQUIRE(s.capturing());
  CHECK(s.capture().samples.size() == 4);
  PathCapture c = s.end_capture();
  CHECK_FALSE(s.capturing());
  CHECK(s.capture().samples.empty());
  CHECK(c.dropped == 2);
  REQUIRE(c.samples.size() == 4);
  CHECK(c.samples[0][0] == doctest::Approx(0.25));
  CHECK(c.samples[0][1] == doctest::Approx(0.5));
  CHECK(c.samples[2][0] == doctest::Approx(0.5));
  CHECK(c.samples[2][2] == doctest::Approx(0.5));
  const std::vector<Keyframe> keys = c.keyframes();
  REQUIRE(keys.size() == 3);
  CHECK(keys[1].t == doctest::Approx(0.5));
  CHECK(keys[2].t == doctest::Approx(0.6));
  const ScriptedPath replay(keys);  // a capture plays back as a path
  CHECK(replay.at(0.5).a == doctest::Approx(0.5));
  // The CSV writer and reader agree on a capture.
  const ScriptedPath read = ScriptedPath::parse_csv(samples_to_csv(c.samples), "capture.csv");
  CHECK(read.keys().size() == 3);
}

TEST_CASE("render grid - axis - between and walk write pictures of the stated size whose faces move") {
  const std::string model = std::string(CIRCUMPLEX_TINY_MODEL);
  const fs::path out = root() / "render";
  const int cell = 32, steps = 7;
  const CliResult grid = run_cli("render grid --model " + model + " --threads 1 --out " + (out / "grid.png").string());
  REQUIRE_MESSAGE(grid.code == 0, grid.out);
  const cv::Mat g = cv::imread((out / "grid.png").string());
  REQUIRE_FALSE(g.empty());
  // Layout (tools/render/render.cpp): 90 px left margin, 6 px gaps, 70 px top, 18 px labels.
  CHECK(g.cols == 90 + steps * (cell + 6) + 20);
  CHECK(g.rows == 70 + steps * (cell + 18 + 6) + 80);
  // The middle row: v = -1 at the left, v = +1 at the right. The faces differ.
  const int y = 70 + 3 * (cell + 18 + 6);
  const cv::Mat left = g(cv::Rect(90, y, cell, cell)), right = g(cv::Rect(90 + (steps - 1) * (cell + 6), y, cell, cell));
  cv::Mat diff;
  cv::absdiff(left, right, diff);
  CHECK(cv::mean(diff)[0] + cv::mean(diff)[1] + cv::mean(diff)[2] > 1.5);
  for (const std::string& strip : {std::string("axis --emotion happy"), std::string("between --from happy --to sad --sphere")}) {
    CAPTURE(strip);
    const fs::path file = out / (strip.substr(0, strip.find(' ')) + ".png");
    const CliResult r = run_cli("render " + strip + " --model " + model + " --threads 1 --out " + file.string());
    REQUIRE_MESSAGE(r.code == 0, r.out);
    const cv::Mat s = cv::imread(file.string());
    REQUIRE_FALSE(s.empty());
    CHECK(s.cols == 20 + steps * (cell + 6));
    CHECK(s.rows == 54 + cell + 40 + 10);
    cv::Mat d;
    cv::absdiff(s(cv::Rect(10, 54, cell, cell)), s(cv::Rect(10 + (steps - 1) * (cell + 6), 54, cell, cell)), d);
    CHECK(cv::sum(cv::mean(d))[0] > 1.0);
  }
  const CliResult walk = run_cli("render walk --model " + model + " --threads 1 --seconds 1 --fps 8 --out " + (out / "walk").string());
  REQUIRE_MESSAGE(walk.code == 0, walk.out);
  int frames = 0;
  for (const auto& e : fs::recursive_directory_iterator(out / "walk")) {
    if (e.path().extension() == ".png" && e.path().filename().string().find("frame") != std::string::npos) {
      ++frames;
      CHECK(cv::imread(e.path().string()).cols == cell);
    }
  }
  CHECK(frames == 8);
}
