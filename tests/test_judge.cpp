// The judge and the evaluation: drift and monotonicity on constructed inputs, a tiny judge
// run end to end (loss falls, package complete, resume exact), the judge loader's refusals,
// `circumplex evaluate` on the tiny model, and usage errors.
#include "torch_doctest.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "circumplex/files.hpp"
#include "circumplex/judge.hpp"
#include "circumplex/model_package.hpp"
#include "circumplex/weights.hpp"
#include "judge/affect_ceiling.hpp"
#include "judge/judge_data.hpp"
#include "map/stats.hpp"
#include "judge/ground_truth.hpp"
#include "facegen/synth.hpp"
#include "circumplex/atlas.hpp"
#include "circumplex/expression.hpp"
#include "circumplex/vae.hpp"
#include "train/dataset.hpp"
#include <numeric>
#include "judge/judge_metrics.hpp"
#include "test_support.hpp"

using namespace circumplex;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
// CTest runs each case in its own process, several at once: each process works in a folder
// named by the first case it runs (set with in_folder), so concurrent cases never share one.
std::string& folder_name() {
  static std::string name = "all";
  return name;
}
void in_folder(const std::string& name) { folder_name() = name; }

const fs::path& root() {
  static const fs::path dir = [] {
    const fs::path d = fresh_dir("judge/" + folder_name());
    // The judge's own faces: another seed than the tiny model's data (seed 21).
    const CliResult r = run_cli("synth --count 320 --identities 40 --size 32 --seed 99 --jobs 1 --out " + (d / "data").string());
    REQUIRE_MESSAGE(r.code == 0, r.out);
    return d;
  }();
  return dir;
}

std::string judge_args(const fs::path& out) {
  return "judge --data " + (root() / "data").string() + " --out " + out.string() + " --epochs 4 --batch 32 --width 8 --threads 1 --seed 3";
}

// The tiny judge, trained once (the first test that needs it trains it).
const fs::path& tiny_judge() {
  static const fs::path dir = [] {
    const fs::path d = root() / "judge";
    const CliResult r = run_cli(judge_args(d));
    REQUIRE_MESSAGE(r.code == 0, r.out);
    return d;
  }();
  return dir;
}

std::vector<double> column(const fs::path& csv, std::size_t index) {
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  std::vector<double> out;
  while (std::getline(in, line)) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < index; ++i) start = line.find(',', start) + 1;
    out.push_back(std::stod(line.substr(start)));
  }
  return out;
}
}  // namespace

TEST_CASE("identity drift is 0 for identical readings and the within over between ratio otherwise") {
  // Two identities, three faces each, two factors; every face of an identity reads the same.
  const std::vector<std::vector<std::vector<double>>> same = {{{1, 5}, {1, 5}, {1, 5}}, {{3, 2}, {3, 2}, {3, 2}}};
  const tools::DriftResult zero = tools::identity_drift(same);
  CHECK(zero.drift == 0.0);
  CHECK(zero.used.size() == 2);
  // Factor 0: within-identity std 1 for both (values m ± 1), identity means 0 and 4 → between std 2: drift 0.5.
  // Factor 1: the same for every face of both identities → between 0: left out.
  const std::vector<std::vector<std::vector<double>>> spread = {{{-1, 7}, {1, 7}}, {{3, 7}, {5, 7}}};
  const tools::DriftResult half = tools::identity_drift(spread);
  CHECK(half.drift == doctest::Approx(0.5));
  CHECK(half.used == std::vector<std::size_t>{0});
  CHECK(std::isnan(half.per_factor[1]));
  // Expression moving the reading twice as much as the person does → 2.
  const std::vector<std::vector<std::vector<double>>> all = {{{0}, {2}}, {{1}, {3}}};
  CHECK(tools::identity_drift(all).drift == doctest::Approx(2.0));
  CHECK_THROWS_AS(tools::identity_drift({{{1.0}}}), Error);                        // one identity
  CHECK_THROWS_AS(tools::identity_drift({{{1.0}}, {}}), Error);                    // an identity without faces
  CHECK_THROWS_AS(tools::identity_drift({{{1.0}}, {{1.0, 2.0}}}), Error);          // ragged factors
  CHECK_THROWS_AS(tools::identity_drift({{{1.0}}, {{1.0}}}), Error);               // nothing differs
  CHECK_THROWS_AS(tools::identity_drift({{{NAN}}, {{1.0}}}), Error);
}

TEST_CASE("monotonicity and Spearman correlation on constructed sweeps") {
  CHECK(tools::monotone_fraction({0.0, 0.1, 0.3, 0.7, 0.9}) == 1.0);
  CHECK(tools::sweep_spearman({0.0, 0.1, 0.3, 0.7, 0.9}) == doctest::Approx(1.0));
  CHECK(tools::monotone_fraction({0.0, 0.0, 0.0}) == 1.0);  // flat steps do not decrease
  CHECK(tools::sweep_spearman({0.2, 0.2, 0.2}) == 0.0);
  CHECK(tools::monotone_fraction({0.9, 0.7, 0.3, 0.1}) == 0.0);
  CHECK(tools::sweep_spearman({0.9, 0.7, 0.3, 0.1}) == doctest::Approx(-1.0));
  CHECK(tools::monotone_fraction({0.0, 0.5, 0.4, 0.8, 1.0}) == doctest::Approx(0.75));
  CHECK(tools::sweep_spearman({0.0, 0.5, 0.4, 0.8, 1.0}) == doctest::Approx(0.9));  // 1 − 6·2/(5·24)
  CHECK(tools::ranks({3.0, 1.0, 3.0, 2.0}) == std::vector<double>{3.5, 1.0, 3.5, 2.0});
  CHECK_THROWS_AS(tools::monotone_fraction({1.0}), Error);
  CHECK_THROWS_AS(tools::spearman({1.0, 2.0}, {1.0}), Error);
  CHECK(tools::psnr_db(0.01) == doctest::Approx(20.0));
  CHECK(tools::psnr_db(0.0) == 99.0);
}

TEST_CASE("the jackknife standard error of a mean is the sample standard deviation over the root of n") {
  const std::vector<double> x = {2.0, 4.0, 4.0, 5.0, 9.0};
  const double n = static_cast<double>(x.size()), mean = std::accumulate(x.begin(), x.end(), 0.0) / n;
  std::vector<double> leave_one_out;
  double ss = 0.0;
  for (double v : x) {
    leave_one_out.push_back((mean * n - v) / (n - 1.0));
    ss += (v - mean) * (v - mean);
  }
  CHECK(tools::jackknife_se(leave_one_out) == doctest::Approx(std::sqrt(ss / (n - 1.0)) / std::sqrt(n)));
  CHECK(tools::jackknife_se({1.5, 1.5, 1.5}) == 0.0);
  CHECK(std::isnan(tools::jackknife_se({1.0})));
  CHECK(std::isnan(tools::jackknife_se({1.0, std::nan("")})));
}

TEST_CASE("a tiny judge run lowers its loss and writes a complete package") {
  in_folder("tiny");
  const fs::path dir = tiny_judge();
  for (const char* f : {"manifest.json", "weights.safetensors", "report.json", "report.md", "loss.csv", "loss.png", "judge_scatter.png", "train.json"}) {
    CAPTURE(f);
    CHECK(fs::exists(dir / f));
  }
  CHECK_FALSE(fs::exists(dir / "checkpoint.safetensors"));  // removed once the package is written
  const auto loss = column(dir / "loss.csv", 1);
  REQUIRE(loss.size() == 4);
  CHECK(loss.back() < loss.front());
  const json m = json::parse(read_text_file((dir / "manifest.json").string()));
  CHECK(m["format"] == "circumplex-judge");
  CHECK(m["version"] == 1);
  CHECK(m["model"]["input_size"] == 32);
  CHECK(m["model"]["work_size"] == 32);
  for (const char* key : {"r2_valence", "r2_arousal", "r2_au_mean", "r2_identity_mean", "mae_va", "r2_au", "r2_identity"}) {
    CAPTURE(key);
    CHECK(m["metrics"].contains(key));
  }
  CHECK(m["metrics"]["r2_au"].size() == 17);
  CHECK(m["provenance"]["identity_seeds_sample"].size() > 0);
  const JudgePackage pkg = JudgePackage::load(dir.string());
  CHECK(pkg.index("valence") == 0);
  CHECK(pkg.index("AU12") >= 3);
  CHECK(pkg.index("skin_tone") > pkg.index("AU43"));
  CHECK(pkg.outputs()[2].constant);  // 2D data: z is always 0
  CHECK(pkg.group("au").size() == 17);
  Judge judge(pkg, 1);
  const torch::Tensor y = judge.predict(torch::rand({3, 3, 32, 32}));
  CHECK(y.size(0) == 3);
  CHECK(y.size(1) == pkg.config().outputs());
  CHECK(y[0][2].item<double>() == doctest::Approx(pkg.outputs()[2].mean));
  CHECK(judge.predict(torch::rand({2, 3, 64, 64})).size(0) == 2);  // other sizes are resized
}

TEST_CASE("a split's labels read without pixels equal the judge set's targets - a split with no rows is empty") {
  in_folder("labels");
  const std::string data = (root() / "data").string();
  const tools::JudgeColumns columns = tools::judge_columns(data);
  REQUIRE(columns.aus.size() == 17);
  const tools::JudgeSet set = tools::load_judge_set(data, "val", columns, 0);
  const tools::JudgeLabels labels = tools::load_judge_labels(data, "val", columns);
  REQUIRE(labels.targets.size(0) == set.size());
  CHECK(labels.targets.equal(set.targets));
  CHECK(labels.identity_seeds == set.identity_seeds);
  CHECK(tools::load_judge_labels(data, "val", columns, 5).targets.size(0) == 5);
  const tools::JudgeLabels none = tools::load_judge_labels(data, "no-such-split", columns);
  CHECK(none.targets.size(0) == 0);
  CHECK(none.targets.size(1) == set.targets.size(1));
  CHECK_THROWS_WITH_AS(tools::load_judge_set(data, "no-such-split", columns, 0), doctest::Contains("no images in split 'no-such-split'"), Error);
}

TEST_CASE("a resumed judge run ends with the same weights as an uninterrupted one") {
  in_folder("resume");
  const fs::path whole = tiny_judge(), split = root() / "split";
  // 256 training images / 32 = 8 steps per epoch: step 11 is inside epoch 2.
  const CliResult first = run_cli(judge_args(split) + " --stop-after-steps 11");
  REQUIRE_MESSAGE(first.code == 0, first.out);
  CHECK(fs::exists(split / "checkpoint.safetensors"));
  CHECK_FALSE(fs::exists(split / "manifest.json"));
  CHECK(first.out.find("--resume") != std::string::npos);
  const CliResult again = run_cli(judge_args(split));  // not without --resume
  CHECK(again.code == 1);
  CHECK(again.out.find("--resume") != std::string::npos);
  const CliResult other = run_cli("judge --data " + (root() / "data").string() + " --out " + split.string() +
                                  " --epochs 4 --batch 16 --width 8 --threads 1 --seed 3 --resume");
  CHECK(other.code == 1);
  CHECK(other.out.find("--batch") != std::string::npos);
  const CliResult second = run_cli(judge_args(split) + " --resume");
  REQUIRE_MESSAGE(second.code == 0, second.out);
  const TensorMap a = load_tensors((whole / "weights.safetensors").string()), b = load_tensors((split / "weights.safetensors").string());
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) {
    CAPTURE(name);
    CHECK(torch::equal(t, b.at(name)));
  }
  CHECK(column(whole / "loss.csv", 1) == column(split / "loss.csv", 1));
}

TEST_CASE("--identity-weight weighs the identity outputs in the loss - 0 drops them - and such a judge cannot evaluate") {
  in_folder("identity-weight");
  // loss.csv columns: epoch, loss, affect, AU, identity; the loss is 2 · affect + AU + w · identity.
  const fs::path with = tiny_judge(), without = root() / "without";
  const CliResult stopped = run_cli(judge_args(without) + " --identity-weight 0 --stop-after-steps 11");
  REQUIRE_MESSAGE(stopped.code == 0, stopped.out);
  const CliResult other = run_cli(judge_args(without) + " --resume");  // the weight is part of the run
  CHECK(other.code == 1);
  CHECK(other.out.find("--identity-weight") != std::string::npos);
  const CliResult done = run_cli(judge_args(without) + " --identity-weight 0 --resume");
  REQUIRE_MESSAGE(done.code == 0, done.out);
  for (const auto& [dir, w] : {std::pair{with, 1.0}, std::pair{without, 0.0}}) {
    const auto loss = column(dir / "loss.csv", 1), affect = column(dir / "loss.csv", 2), au = column(dir / "loss.csv", 3),
               identity = column(dir / "loss.csv", 4);
    REQUIRE(loss.size() == 4);
    for (std::size_t e = 0; e < loss.size(); ++e) {
      CAPTURE(w);
      CAPTURE(e);
      CHECK(identity[e] > 0.1);  // still measured
      CHECK(loss[e] == doctest::Approx(2.0 * affect[e] + au[e] + w * identity[e]).epsilon(1e-3));
    }
  }
  // Without the identity term the identity outputs learn nothing: held-out R² near 0 or below.
  const json m = json::parse(read_text_file((without / "manifest.json").string()));
  CHECK(m["training"]["identity_weight"] == 0.0);
  CHECK(m["metrics"]["r2_identity_mean"].get<double>() < 0.5 * json::parse(read_text_file((with / "manifest.json").string()))["metrics"]["r2_identity_mean"].get<double>());
  const CliResult refused = run_cli("evaluate --model " + std::string(CIRCUMPLEX_TINY_MODEL) + " --judge " + without.string() +
                                    " --seed 5 --identities 2 --fresh 32 --threads 1 --json " + (root() / "eval" / "e.json").string());
  CHECK(refused.code != 0);
  CHECK(refused.out.find("--identity-weight 0") != std::string::npos);
  CHECK_FALSE(fs::exists(root() / "eval" / "e.json"));
  CHECK(run_cli(judge_args(root() / "bad") + " --identity-weight -1").code == 2);
}

TEST_CASE("the judge loader refuses missing - truncated - corrupt and mismatched packages") {
  in_folder("loader");
  const fs::path good = tiny_judge();
  const SpoiltPackages bad{good, root(), read_text_file((good / "manifest.json").string())};
  auto refused = [](const std::string& dir, const char* expect) {
    CAPTURE(dir);
    CHECK_THROWS_WITH_AS(JudgePackage::load(dir), doctest::Contains(expect), Error);
  };
  refused((root() / "absent").string(), "no such judge package");
  refused(bad.variant("nomanifest", [](const fs::path& d) { fs::remove(d / "manifest.json"); }), "manifest.json: not found");
  refused(bad.variant("truncmanifest", [&](const fs::path& d) { std::ofstream(d / "manifest.json") << bad.manifest.substr(0, bad.manifest.size() / 2); }), "malformed JSON");
  refused(bad.variant("format", bad.edit([](json& j) { j["format"] = "circumplex-model"; })), "circumplex-judge");
  refused(bad.variant("version", bad.edit([](json& j) { j["version"] = 2; })), "version");
  refused(bad.variant("noshape", bad.edit([](json& j) { j["model"].erase("hidden"); })), "'model' must give");
  refused(bad.variant("width", bad.edit([](json& j) { j["model"]["width"] = 16; })), "does not match the manifest's model shape");
  refused(bad.variant("factors", bad.edit([](json& j) { j["model"]["factors"] = j["model"]["factors"].get<int>() + 1; })), "outputs");
  refused(bad.variant("order", bad.edit([](json& j) { std::swap(j["outputs"][0], j["outputs"][1]); })), "valence, arousal, z");
  refused(bad.variant("group", bad.edit([](json& j) { j["outputs"][5]["group"] = "identity"; })), "group 'au'");
  refused(bad.variant("std", bad.edit([](json& j) { j["outputs"][4]["std"] = 0.0; })), "'std' must be > 0");
  refused(bad.variant("nan", bad.edit([](json& j) { j["outputs"][4]["mean"] = "NaN"; })), "finite number");
  refused(bad.variant("escape", bad.edit([](json& j) { j["weights"]["file"] = "../judge/weights.safetensors"; })), "inside the package");
  refused(bad.variant("noweights", SpoiltPackages::remove_weights), "weights.safetensors: not found");
  refused(bad.variant("truncweights", SpoiltPackages::truncate_weights), "truncated");
  refused(bad.variant("flipweights", SpoiltPackages::flip_weights), "hash mismatch");
  refused(bad.variant("otherweights", [](const fs::path& d) {
    std::string meta;
    TensorMap t = load_tensors((d / "weights.safetensors").string(), &meta);
    t.begin()->second = t.begin()->second + 0.5f;  // a valid file with other values: another judge's weights
    save_tensors((d / "weights.safetensors").string(), t, meta);
  }), "fingerprint");
  refused(CIRCUMPLEX_TINY_MODEL, "circumplex-judge");  // a model package is not a judge
  CHECK_NOTHROW(JudgePackage::load(good.string()));
}

TEST_CASE("evaluate on the tiny model and the tiny judge writes every number and the pictures") {
  in_folder("evaluate");
  const fs::path out = root() / "eval";
  fs::remove_all(out);
  const fs::path vae_data = fs::path(CIRCUMPLEX_TINY_MODEL).parent_path() / "data";
  const CliResult r = run_cli("evaluate --model " + std::string(CIRCUMPLEX_TINY_MODEL) + " --judge " + tiny_judge().string() +
                              " --seed 5 --identities 3 --fresh 48 --steps 4 --threads 1 --json " + (out / "eval.json").string() +
                              " --data " + vae_data.string());
  REQUIRE_MESSAGE(r.code == 0, r.out);
  for (const char* f : {"eval.json", "eval.md", "eval_grid.png", "eval_sweeps.png", "eval_truth.png", "eval_directions.png"}) {
    CAPTURE(f);
    CHECK(fs::exists(out / f));
  }
  CHECK_FALSE(fs::exists(out / "eval_fresh_seed5"));  // the fresh set is removed afterwards
  const std::string report = read_text_file((out / "eval.md").string());
  CHECK(report.find("| emotion | asked (v, a) | model | judged at | most often mistaken for |") != std::string::npos);
  CHECK(report.find("| happily-sad | (") != std::string::npos);
  for (const char* row : {"R2 valence", "quadrant accuracy", "max |cos|", "PSNR", "judge MAE", "identity drift", ">= 0.95", "<= 0.05"}) {
    CAPTURE(row);
    CHECK(r.out.find(row) != std::string::npos);
  }
  const json j = json::parse(read_text_file((out / "eval.json").string()));
  auto number = [&](const json& x) { return x.is_number() && std::isfinite(x.get<double>()); };
  CHECK(number(j["grid"]["mae_valence"]));
  CHECK(number(j["grid"]["mae_arousal"]));
  CHECK(number(j["grid"]["mae_va"]));
  CHECK(j["grid"]["faces"] == 3 * 49);
  CHECK(j["grid"]["points"].size() == 49);
  CHECK(number(j["identity_drift"]["value"]));
  CHECK(j["identity_drift"]["value"].get<double>() >= 0.0);
  CHECK(number(j["monotonicity"]["fraction"]));
  CHECK(number(j["monotonicity"]["spearman"]));
  CHECK(j["monotonicity"]["per_emotion"].contains("happy"));
  CHECK(number(j["reconstruction"]["psnr_db"]));
  CHECK(number(j["reconstruction"]["data"]["psnr_db"]));
  CHECK(number(j["fresh_set"]["r2_valence"]));
  CHECK(number(j["fresh_set"]["r2_arousal"]));
  CHECK(number(j["fresh_set"]["quadrant_accuracy"]));
  CHECK(j["fresh_set"]["images"] == 48);
  // The Bayes reader of the same faces' exact AUs: the ceiling no reading of the pictures passes.
  const json& ceiling = j["fresh_set"]["ceiling"];
  CHECK(ceiling["references"] == 200000);
  CHECK(ceiling["r2_valence"].get<double>() > 0.9);
  CHECK(ceiling["r2_valence"].get<double>() > j["fresh_set"]["r2_valence"].get<double>());
  CHECK(ceiling["r2_arousal"].get<double>() > j["fresh_set"]["r2_arousal"].get<double>());
  CHECK(number(ceiling["quadrant_accuracy"]));
  CHECK(ceiling["quadrant_accuracy"].get<double>() > 0.6);
  CHECK(r.out.find("ceiling: quadrant accuracy") != std::string::npos);
  CHECK(number(j["directions"]["max_abs_cos_after"]));
  CHECK(j["directions"]["max_abs_cos_after"].get<double>() <= 1e-6);
  const json& gt = j["ground_truth"];
  for (const char* key : {"psnr_db", "mae_ratio", "drift_ratio", "sharpness_ratio", "emotion_accuracy", "renderer_emotion_accuracy"}) {
    CAPTURE(key);
    CHECK(number(gt[key]));
  }
  CHECK(gt["people"] == 3);
  CHECK(number(gt["standard_error"]["mae_ratio"]));  // jackknife over the 3 people
  CHECK(r.out.find("ground truth: SE of drift ratio") != std::string::npos);
  CHECK(gt["per_emotion"].contains("happily-sad"));
  CHECK(j["per_direction"].size() == 48);  // every 15 degrees at r 0.5 and 1.0
  REQUIRE(j["checks"].size() == 12);
  for (const json& c : j["checks"]) {
    CAPTURE(c.dump());
    CHECK(number(c["value"]));
    CHECK(c["pass"].is_boolean());
  }
  CHECK(j["all_pass"].is_boolean());
  CHECK(j["reconstruction"]["data"]["shared_people_with_fresh_set"] == 0);
  // The same evaluation twice gives the same numbers.
  const CliResult again = run_cli("evaluate --model " + std::string(CIRCUMPLEX_TINY_MODEL) + " --judge " + tiny_judge().string() +
                                  " --seed 5 --identities 3 --fresh 48 --steps 4 --threads 1 --json " + (out / "again.json").string() +
                                  " --data " + vae_data.string());
  REQUIRE_MESSAGE(again.code == 0, again.out);
  const json k = json::parse(read_text_file((out / "again.json").string()));
  CHECK(k["checks"] == j["checks"]);
}

TEST_CASE("judge and evaluate refuse bad arguments and inputs with clear messages") {
  in_folder("usage");
  const std::string data = (root() / "data").string(), out = (root() / "usage").string();
  CHECK(run_cli("judge").code == 2);
  CHECK(run_cli("judge --data " + data).code == 2);
  CHECK(run_cli("judge --data " + data + " --out " + out + " --batch 1").code == 2);
  CHECK(run_cli("judge --data " + data + " --out " + out + " --work-size 48").code == 2);
  CHECK(run_cli("judge --data " + data + " --out " + out + " --epochs zero").code == 2);
  CHECK(run_cli("judge --data " + data + " --out " + out + " --bogus").code == 2);
  const CliResult missing = run_cli("judge --data /nonexistent/data --out " + out);
  CHECK(missing.code == 1);
  CHECK(missing.out.find("/nonexistent/data/labels.csv") != std::string::npos);
  // A folder without AU columns (like prep's) is refused by name.
  const fs::path prep_like = root() / "prep_like";
  fs::create_directories(prep_like);
  std::ofstream(prep_like / "labels.csv") << "file,split,valence,arousal,z,category\na.png,train,0,0,0,neutral\n";
  const CliResult no_aus = run_cli("judge --data " + prep_like.string() + " --out " + out);
  CHECK(no_aus.code == 1);
  CHECK(no_aus.out.find("AU1") != std::string::npos);
  CHECK(run_cli("judge --data " + data + " --out " + (root() / "nothing").string() + " --resume").code == 1);

  const std::string model = CIRCUMPLEX_TINY_MODEL;
  CHECK(run_cli("evaluate").code == 2);
  CHECK(run_cli("evaluate --model " + model + " --judge j").code == 2);  // --seed missing
  CHECK(run_cli("evaluate --model " + model + " --judge j --seed -3").code == 2);
  CHECK(run_cli("evaluate --model " + model + " --judge j --seed 1 --identities 1").code == 2);
  CHECK(run_cli("evaluate --model " + model + " --judge j --seed 1 --steps 2").code == 2);
  CHECK(run_cli("evaluate --model " + model + " --judge j --seed 1 --whatever").code == 2);
  // The detail layer's dials go with --detail, each within its range.
  const CliResult lone_dial = run_cli("evaluate --model " + model + " --judge j --seed 1 --detail-region-tolerance 0.2");
  CHECK(lone_dial.code == 2);
  CHECK(lone_dial.out.find("go with --detail") != std::string::npos);
  CHECK(run_cli("evaluate --model " + model + " --judge j --seed 1 --detail --detail-region-tolerance 1.5").code == 2);
  CHECK(run_cli("evaluate --model " + model + " --judge j --seed 1 --detail --detail-radius 5").code == 2);
  CHECK(run_cli("evaluate --model " + model + " --judge j --seed 1 --detail --detail-tolerance -0.1").code == 2);
  const CliResult no_model = run_cli("evaluate --model /nonexistent/pkg --judge j --seed 1 --json " + (root() / "e" / "x.json").string());
  CHECK(no_model.code == 1);
  CHECK(no_model.out.find("/nonexistent/pkg") != std::string::npos);
  const CliResult no_judge = run_cli("evaluate --model " + model + " --judge /nonexistent/judge --seed 1 --fresh 16 --json " + (root() / "e" / "x.json").string());
  CHECK(no_judge.code == 1);
  CHECK(no_judge.out.find("/nonexistent/judge") != std::string::npos);
  CHECK_FALSE(fs::exists(root() / "e" / "x_fresh_seed1"));
}

namespace {
// The shipped judge reads affect well (held-out R² ≈ 0.94), so known answers show through it.
struct ShippedJudge {
  JudgePackage package = JudgePackage::load(std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/models/judge");
  Judge judge{package, 1};
  std::vector<int> drift_outputs() const {
    std::vector<int> out;
    for (int j : package.group("identity")) {
      if (!package.outputs()[static_cast<std::size_t>(j)].constant) out.push_back(j);
    }
    return out;
  }
};
}  // namespace

// Three people of a seed, their renderer, and the scores of `model` against it.
struct TruthCase {
  ShippedJudge j;
  std::vector<facegen::Identity> people;
  tools::FaceMaker renderer;
  explicit TruthCase(std::uint64_t seed) : people(tools::ground_truth_people(seed, 3)), renderer(tools::renderer_faces(people, 128, Space::Plane, 1)) {}
  tools::GroundTruthResult score(const tools::FaceMaker& model) {
    tools::GroundTruthOptions o;
    o.people = 3;
    o.threads = 1;
    return tools::ground_truth_eval(model, renderer, j.judge, j.drift_outputs(), people, o);
  }
};

TEST_CASE("a judge's activations are its convolutions' maps - stem first - from the input forward() takes") {
  JudgeConfig c;
  c.input_size = 64;
  c.work_size = 32;
  c.stem = 4;
  c.width = 8;
  c.hidden = 16;
  c.factors = 2;
  c.validate();
  torch::manual_seed(1);
  JudgeNet net(c);
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor faces = torch::rand({2, 3, 64, 64});
  const std::vector<torch::Tensor> maps = net->activations(faces);
  REQUIRE(maps.size() >= static_cast<std::size_t>(c.stem_stages() + c.stages()));
  CHECK(maps.front().size(1) == 4);   // the stem's channels
  CHECK(maps.front().size(2) == 32);  // input_size / 2
  CHECK(maps.back().size(2) == 4);    // the last stage
  for (std::size_t i = 0; i + 1 < maps.size(); ++i) CHECK(maps[i].size(2) >= maps[i + 1].size(2));
  // Any image side is resized as forward() resizes it: a 128² copy gives nearly the same maps.
  const torch::Tensor big = torch::nn::functional::interpolate(
      faces, torch::nn::functional::InterpolateFuncOptions().size(std::vector<std::int64_t>{128, 128}).mode(torch::kNearest));
  const std::vector<torch::Tensor> again = net->activations(big);
  REQUIRE(again.size() == maps.size());
  CHECK((again.back() - maps.back()).abs().max().item<double>() < 1e-4);
  CHECK((net->activations(1.0 - faces).back() - maps.back()).abs().max().item<double>() > 1e-3);
}

TEST_CASE("the Bayes reader of exact AUs reads clear faces exactly and cannot tell near-axis faces' quadrant") {
  const tools::AffectCeiling bayes(Space::Plane, 4, 20000);
  CHECK(bayes.references() == 20000);
  const ExpressionModel& model = ExpressionModel::builtin();
  // A clear face (happy at 0.9, noiseless AUs): read where it is, its quadrant without doubt.
  const AffectPoint happy = Atlas::builtin().at_intensity(Atlas::builtin().find("happy"), 0.9, Space::Plane);
  const tools::AffectCeiling::Reading clear = bayes.read(model.action_units(happy, Space::Plane));
  CHECK(clear.matched);
  CHECK(clear.support > 0);
  CHECK(std::hypot(clear.mean.v - happy.v, clear.mean.a - happy.a) < 0.1);
  CHECK(clear.quadrant[static_cast<std::size_t>(stats::quadrant(happy.v, happy.a))] > 0.95);
  CHECK(std::accumulate(clear.quadrant.begin(), clear.quadrant.end(), 0.0) == doctest::Approx(1.0));
  // The neutral face: every quadrant is possible.
  const tools::AffectCeiling::Reading neutral = bayes.read(model.action_units({0, 0, 0}, Space::Plane));
  CHECK(*std::max_element(neutral.quadrant.begin(), neutral.quadrant.end()) < 0.7);
  CHECK(std::hypot(neutral.mean.v, neutral.mean.a) < 0.1);

  // Faces drawn as synth draws them (another seed than the reader's prior): R² near 1, and the
  // quadrant misses fall on faces near an axis.
  std::vector<AuVector> aus;
  std::vector<AffectPoint> truth;
  std::vector<std::size_t> near_axis, clear_of_axes;
  for (std::uint64_t i = 0; i < 600; ++i) {
    const facegen::SampleLabel l = facegen::sample_label(77, i, Space::Plane);
    (std::min(std::fabs(l.p.v), std::fabs(l.p.a)) < 0.03 ? near_axis : clear_of_axes).push_back(truth.size());
    aus.push_back(l.aus);
    truth.push_back(l.p);
  }
  REQUIRE(near_axis.size() >= 30);
  const tools::CeilingFigures all = tools::ceiling_figures(bayes, aus, truth, {});
  CHECK(all.faces == 600);
  CHECK(all.r2_valence > 0.95);
  CHECK(all.r2_arousal > 0.95);
  CHECK(std::isnan(all.r2_z));
  CHECK(all.quadrant_accuracy == all.quadrant_accuracy_all);
  CHECK(all.quadrant_accuracy_all < 0.99);
  CHECK(all.unmatched < 30);
  const double near = tools::ceiling_figures(bayes, aus, truth, near_axis).quadrant_accuracy;
  const double clear_rows = tools::ceiling_figures(bayes, aus, truth, clear_of_axes).quadrant_accuracy;
  CHECK(near < 0.8);
  CHECK(clear_rows > 0.95);
  CHECK(near < all.quadrant_accuracy_all);

  CHECK_THROWS_AS(tools::AffectCeiling(Space::Plane, 4, 10), Error);
  CHECK_THROWS_AS(tools::ceiling_figures(bayes, aus, {truth.begin(), truth.begin() + 3}, {}), Error);
  CHECK_THROWS_AS(tools::ceiling_figures(bayes, aus, truth, {600}), Error);
}

TEST_CASE("ground truth: the renderer standing in as the model scores 1 on every ratio") {
  TruthCase t(11);
  const tools::GroundTruthResult r = t.score(t.renderer);
  CHECK(r.mae_ratio == doctest::Approx(1.0).epsilon(1e-9));
  CHECK(r.drift_ratio == doctest::Approx(1.0).epsilon(1e-9));
  CHECK(r.sharpness_ratio == doctest::Approx(1.0).epsilon(1e-9));
  CHECK(r.psnr_db > 60.0);
  CHECK(r.psnr_neutral_db > 60.0);
  CHECK(r.emotion_accuracy == r.renderer_emotion_accuracy);
  // The judge reads the renderer's own faces well: these are the references the model meets.
  CHECK(r.renderer_mae < 0.2);
  CHECK(r.renderer_emotion_accuracy > 0.2);
  CHECK(r.json["per_direction"].size() == 48);
  // Every subset of the people scores 1 too: no spread between them.
  REQUIRE(r.standard_error.is_object());
  for (const char* key : {"mae_ratio", "drift_ratio", "sharpness_ratio", "emotion_accuracy_gap"}) {
    CAPTURE(key);
    CHECK(r.standard_error[key].get<double>() == doctest::Approx(0.0).epsilon(1e-9));
  }
  CHECK(r.json["standard_error"] == r.standard_error);
  REQUIRE(r.json["drift_per_factor"].size() == t.j.drift_outputs().size());
  for (const auto& [factor, d] : r.json["drift_per_factor"].items()) {
    CAPTURE(factor);
    CHECK(d["model"] == d["renderer"]);
  }
  // Each emotion reads the same for both makers: the same mean judged point, the same mix-ups.
  REQUIRE(r.json["per_emotion"].size() >= 20);
  for (const auto& [emotion, e] : r.json["per_emotion"].items()) {
    CAPTURE(emotion);
    CHECK(e["model"] == e["renderer"]);
    CHECK(e["model"]["judged"].size() == 3);
  }
  CHECK(r.emotions_picture.cols > 900);
  CHECK(r.polar_picture.rows > 500);
}

TEST_CASE("ground truth: a model that always draws the same face is far off and near chance") {
  TruthCase t(12);
  // Each person's neutral face, whatever is asked.
  const tools::FaceMaker frozen = [&](std::size_t person, const std::vector<AffectPoint>& points) {
    const torch::Tensor neutral = t.renderer(person, {AffectPoint{}});
    return neutral.expand({static_cast<std::int64_t>(points.size()), 3, 128, 128}).contiguous();
  };
  const tools::GroundTruthResult r = t.score(frozen);
  CHECK(r.mae_ratio > 2.0);
  CHECK(r.emotion_accuracy < 0.15);  // 20 emotions: chance is 0.05; one neutral face is nearest one or two of them
  CHECK(r.emotion_accuracy < r.renderer_emotion_accuracy - 0.1);
  CHECK(r.drift_ratio < 0.5);        // nothing moves, so nothing drifts
  // The people differ in how far off the frozen face reads, so the figures have a spread.
  CHECK(r.standard_error["mae_ratio"].get<double>() > 0.0);
  CHECK(r.standard_error["psnr_db"].get<double>() > 0.0);
  for (const auto& [factor, d] : r.json["drift_per_factor"].items()) {
    CAPTURE(factor);
    if (d["model"].is_number()) CHECK(d["model"].get<double>() < 1e-9);  // one face per person: nothing moves (rounding aside)
  }
  // Every emotion is read where the neutral face is, so each is mistaken for the same one or
  // two emotions; a face's own emotion and the ones it was mistaken for account for every person.
  const json& per_emotion = r.json["per_emotion"];
  const json first = per_emotion.begin().value()["model"]["judged"];
  for (const auto& [emotion, e] : per_emotion.items()) {
    CAPTURE(emotion);
    for (int i = 0; i < 2; ++i) CHECK(e["model"]["judged"][i].get<double>() == doctest::Approx(first[i].get<double>()).epsilon(1e-5));
    double people = e["model_accuracy"].get<double>();
    for (const auto& [other, fraction] : e["model"]["mistaken_for"].items()) {
      CHECK(other != emotion);
      CHECK(fraction.get<double>() > 0.0);
      people += fraction.get<double>();
    }
    CHECK(people == doctest::Approx(1.0));
    CHECK(e["model"]["mistaken_for"].size() <= 3);  // three people: at most three other emotions
  }
  CHECK(r.psnr_db < 40.0);
  // Its neutral face is the renderer's: all it loses, it loses on the expressions.
  CHECK(r.psnr_neutral_db > 60.0);
  CHECK(r.json["psnr_neutral_db"].get<double>() == r.psnr_neutral_db);
}

TEST_CASE("ground truth: the neutral point's PSNR scores the grid's centre alone") {
  TruthCase t(14);
  // The renderer's faces everywhere but at (0, 0, 0), where it draws flat grey.
  const tools::FaceMaker grey_neutral = [&](std::size_t person, const std::vector<AffectPoint>& points) {
    torch::Tensor faces = t.renderer(person, points);
    for (std::size_t i = 0; i < points.size(); ++i) {
      if (points[i].v == 0.0 && points[i].a == 0.0 && points[i].z == 0.0) faces[static_cast<std::int64_t>(i)].fill_(0.5);
    }
    return faces;
  };
  const tools::GroundTruthResult r = t.score(grey_neutral);
  CHECK(r.psnr_neutral_db < 20.0);
  CHECK(r.psnr_db > r.psnr_neutral_db + 15.0);  // one face in 117 is wrong
}

TEST_CASE("ground truth: fitting each identity latent to the person's neutral face draws the person more closely") {
  TruthCase t(13);
  const ModelPackage pkg = ModelPackage::load(std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/models/default");
  const tools::GroundTruthResult plain = t.score(tools::model_faces(pkg, t.people, 1));
  tools::IdentityFit fit;
  fit.steps = 40;
  fit.prior = 0.0;
  const tools::GroundTruthResult fitted = t.score(tools::model_faces(pkg, t.people, 1, fit));
  // The encoder's mean leaves decibels the decoder can draw; a fit on the neutral face gets
  // some back, most of all at the neutral point itself.
  CHECK(fitted.psnr_neutral_db > plain.psnr_neutral_db + 1.0);
  CHECK(fitted.psnr_db > plain.psnr_db);
  CHECK(fitted.psnr_neutral_db - plain.psnr_neutral_db > fitted.psnr_db - plain.psnr_db);
}

TEST_CASE("ground truth: the detail layer gives each person's own face back at neutral and sharper faces elsewhere") {
  TruthCase t(15);
  const ModelPackage pkg = ModelPackage::load(std::string(CIRCUMPLEX_SOURCE_DIR) + "/assets/models/default");
  const tools::GroundTruthResult plain = t.score(tools::model_faces(pkg, t.people, 1));
  const tools::GroundTruthResult kept = t.score(tools::model_faces(pkg, t.people, 1, {}, DetailOptions{}));
  // At neutral the face is the person's image, up to 8-bit rounding: the PSNR's cap.
  CHECK(kept.psnr_neutral_db > 90.0);
  CHECK(plain.psnr_neutral_db < 30.0);
  // Elsewhere the person's detail stays where the face did not move.
  CHECK(kept.psnr_db > plain.psnr_db + 1.0);
  CHECK(kept.sharpness_ratio > plain.sharpness_ratio);
  // Without any fade (both tolerances 0) the neutral face shows through every expression:
  // sharper still, and the judge reads the asked points worse than with the fades.
  DetailOptions never;
  never.tolerance = 0.0;
  never.region_tolerance = 0.0;
  const tools::GroundTruthResult unfaded = t.score(tools::model_faces(pkg, t.people, 1, {}, never));
  CHECK(unfaded.sharpness_ratio > kept.sharpness_ratio);
  CHECK(unfaded.mae_ratio > kept.mae_ratio);
}

namespace {
// The reader's mean error (v, a) on faces a finished tiny run draws for random points of the
// disk, each with the identity of a held-out image.
double reader_error(const fs::path& run, const fs::path& data, const fs::path& reader) {
  VaeConfig c;
  c.image_size = 32;
  c.latent = 8;
  c.width = 8;
  BetaVae vae(c);
  assign_module_tensors(*vae, load_tensors((run / "model.safetensors").string()), (run / "model.safetensors").string());
  vae->eval();
  const tools::ImageSet held = tools::ImageSet::load(data.string(), "val", 16);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(held.size()));
  std::iota(idx.begin(), idx.end(), 0);
  torch::NoGradGuard no_grad;
  torch::Tensor z = vae->encoder->forward(held.batch(idx)).first;
  auto gen = at::detail::createCPUGenerator(77);
  const torch::Tensor t = torch::rand({z.size(0)}, gen) * 6.2831853, r = torch::rand({z.size(0)}, gen).sqrt();
  const torch::Tensor asked = torch::stack({r * torch::cos(t), r * torch::sin(t)}, 1);
  z.narrow(1, 0, 2).copy_(kAffectLatentScale * asked);
  z.select(1, 2).zero_();
  const JudgePackage pkg = JudgePackage::load(reader.string());
  Judge judge(pkg, 1);
  const torch::Tensor read = judge.predict(vae->decoder->forward(z));
  return (read.narrow(1, 0, 2) - asked).abs().mean().item<double>();
}
}  // namespace

// A reader that reads affect at 32² (held-out R² ≈ 0.45 for valence, 0.35 for arousal; the
// tiny judge above reads nothing, R² ≈ 0, and could teach nothing): 2 400 faces of 240
// people, 20 epochs without augmentation, about 30 s.
fs::path trained_reader() {
  const fs::path d = root() / "reader";
  const CliResult s = run_cli("synth --count 2400 --identities 240 --size 32 --seed 98 --jobs 1 --out " + (d / "data").string());
  REQUIRE_MESSAGE(s.code == 0, s.out);
  const CliResult j = run_cli("judge --data " + (d / "data").string() + " --out " + (d / "judge").string() +
                              " --epochs 20 --batch 32 --width 16 --work-size 32 --stem 0 --threads 1 --seed 3 --no-augment --dropout 0.1 --lr 3e-3");
  REQUIRE_MESSAGE(j.code == 0, j.out);
  const json report = json::parse(read_text_file((d / "judge" / "report.json").string()));
  CHECK(report["metrics"]["r2"]["valence"].get<double>() > 0.3);  // it reads affect: what it teaches means something
  return d / "judge";
}

// The tiny model's first 16 validation faces.
torch::Tensor tiny_val_faces() {
  const tools::ImageSet held = tools::ImageSet::load((fs::path(CIRCUMPLEX_TINY_MODEL).parent_path() / "data").string(), "val", 16);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(held.size()));
  std::iota(idx.begin(), idx.end(), 0);
  return held.batch(idx);
}

// A judge's (v, a), the mean of its readings of the faces and of their mirror images: what an
// affect-head member reads.
torch::Tensor mirrored_va(Judge& j, const torch::Tensor& images) {
  return 0.5 * (j.predict(images) + j.predict(images.flip({3}))).narrow(1, 0, 2);
}

TEST_CASE("the read-back loss lowers the reader's error - and evaluate refuses the reader as judge") {
  in_folder("readback");
  const fs::path reader = trained_reader();
  const fs::path data = fs::path(CIRCUMPLEX_TINY_MODEL).parent_path() / "data";
  const fs::path dir = root() / "readback";
  const std::string base = "train --data " + data.string() + " --epochs 4 --batch 16 --latent 8 --width 8 --threads 1 --seed 3 "
                           "--beta 0.1 --affect-weight 10 --identity-swap --teacher-forcing --out ";
  const CliResult plain = run_cli(base + (dir / "plain").string());
  REQUIRE_MESSAGE(plain.code == 0, plain.out);
  const CliResult read = run_cli(base + (dir / "read").string() + " --reader " + reader.string() + " --readback-weight 20");
  REQUIRE_MESSAGE(read.code == 0, read.out);
  const double without = reader_error(dir / "plain", data, reader), with = reader_error(dir / "read", data, reader);
  MESSAGE("reader's MAE (v, a) on faces at random points: without read-back ", without, ", with ", with);
  CHECK(with < 0.85 * without);
  // The run records its reader; resuming needs the same one.
  const json config = json::parse(read_text_file((dir / "read" / "config.json").string()));
  CHECK(config["reader"]["fingerprint"].get<std::string>().size() == 16);
  CHECK(config["teacher_forcing"] == true);
  // map carries the reader's fingerprint into the package, and evaluate refuses that judge.
  const CliResult map = run_cli("map --run " + (dir / "read").string() + " --data " + data.string() + " --out " + (dir / "pkg").string() + " --threads 1");
  REQUIRE_MESSAGE(map.code == 0, map.out);
  const json manifest = json::parse(read_text_file((dir / "pkg" / "manifest.json").string()));
  CHECK(manifest["provenance"]["reader_fingerprint"] == config["reader"]["fingerprint"]);
  // Teacher forcing: the package's directions are the forced axes.
  CHECK(manifest["manifold"]["valence"][0] == 1.0);
  CHECK(manifest["manifold"]["scales"][0] == kAffectLatentScale);
  const CliResult refused = run_cli("evaluate --model " + (dir / "pkg").string() + " --judge " + reader.string() +
                                    " --seed 5 --identities 2 --fresh 32 --threads 1 --json " + (dir / "eval" / "e.json").string());
  CHECK(refused.code != 0);
  CHECK(refused.out.find("read-back reader") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "eval" / "e.json"));
  // Read-back without the identity swap, or without a weight, is a usage error; so is its
  // identity weight without a reader, or below 0.
  CHECK(run_cli("train --data " + data.string() + " --out " + (dir / "bad").string() + " --reader " + reader.string() + " --readback-weight 1").code == 2);
  CHECK(run_cli(base + (dir / "bad").string() + " --reader " + reader.string()).code == 2);
  const CliResult lone = run_cli(base + (dir / "bad").string() + " --readback-identity-weight 2");
  CHECK(lone.code == 2);
  CHECK(lone.out.find("--readback-identity-weight needs --reader") != std::string::npos);
  CHECK(run_cli(base + (dir / "bad").string() + " --reader " + reader.string() + " --readback-weight 1 --readback-identity-weight -1").code == 2);
}

TEST_CASE("an affect head makes the encoder's first latents its reading - frozen - and is refused as the judge") {
  in_folder("head");
  const fs::path reader = trained_reader();
  const fs::path tiny = fs::path(CIRCUMPLEX_TINY_MODEL).parent_path();
  const fs::path dir = root() / "head";
  const CliResult map = run_cli("map --run " + (tiny / "run").string() + " --data " + (tiny / "data").string() + " --out " + (dir / "pkg").string() +
                                " --affect-head " + reader.string() + " --threads 1");
  REQUIRE_MESSAGE(map.code == 0, map.out);

  // The manifest records the head's shape and the weights' fingerprint; the loader reads them back.
  const json manifest = json::parse(read_text_file((dir / "pkg" / "manifest.json").string()));
  const JudgePackage head = JudgePackage::load(reader.string());
  CHECK(manifest["model"]["affect_head"]["width"] == head.config().width);
  CHECK(manifest["model"]["affect_head"]["dims"] == 2);  // the tiny model's data is 2D
  CHECK(manifest["provenance"]["affect_head_fingerprint"] == tensors_fingerprint(head.weights()));
  const ModelPackage pkg = ModelPackage::load((dir / "pkg").string());
  REQUIRE(pkg.config().affect_heads.size() == 1);
  CHECK(pkg.config().affect_heads[0].width == head.config().width);
  CHECK(pkg.config().affect_heads[0].stem == head.config().stem);
  CHECK(pkg.config().affect_head_dims == 2);
  CHECK_FALSE(manifest["model"]["affect_head"].contains("member_shapes"));
  CHECK(pkg.config().affect_head_mirror);

  // The encoder's latents 0 and 1 are the head's reading in latent units (the mean of its
  // readings of the face and of its mirror image); the rest is the VAE's.
  const torch::Tensor images = tiny_val_faces();
  BetaVae vae(pkg.config());
  assign_module_tensors(*vae, pkg.weights(), "package");
  Judge judge(head, 1);
  const torch::Tensor read = mirrored_va(judge, images);
  CHECK((judge.predict(images) - judge.predict(images.flip({3}))).abs().max().item<double>() > 1e-3);  // the mirror reads differently
  torch::NoGradGuard no_grad;
  vae->train();  // the head stays frozen in training mode: no dropout, BatchNorm's running statistics
  const torch::Tensor mu1 = vae->encoder->forward(images).first, mu2 = vae->encoder->forward(images).first;
  CHECK(torch::allclose(mu1.narrow(1, 0, 2), kAffectLatentScale * read, 1e-4, 1e-4));
  CHECK(torch::equal(mu1.narrow(1, 0, 2), mu2.narrow(1, 0, 2)));
  for (const auto& p : vae->encoder->named_parameters()) {
    if (p.key().rfind("affect_head.", 0) == 0) CHECK_FALSE(p.value().requires_grad());
  }
  // Without the head the tiny VAE reads almost nothing; with it the map's held-out R² is the head's.
  const json plain = json::parse(read_text_file((tiny / "pkg" / "report.json").string()));
  const json with = json::parse(read_text_file((dir / "pkg" / "report.json").string()));
  MESSAGE("map's held-out R2 valence: without the head " << plain["r2"]["valence"] << ", with it " << with["r2"]["valence"]);
  CHECK(with["r2"]["valence"].get<double>() > plain["r2"]["valence"].get<double>() + 0.1);

  // The head may not grade its own answers.
  const CliResult refused = run_cli("evaluate --model " + (dir / "pkg").string() + " --judge " + reader.string() +
                                    " --seed 5 --identities 2 --fresh 32 --threads 1 --json " + (dir / "eval" / "e.json").string());
  CHECK(refused.code != 0);
  CHECK(refused.out.find("affect head") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "eval" / "e.json"));
  // A head that is not there is refused by name, and no package looks complete.
  const CliResult wrong = run_cli("map --run " + (tiny / "run").string() + " --data " + (tiny / "data").string() + " --out " + (dir / "wrong").string() +
                                  " --affect-head " + (root() / "absent").string() + " --threads 1");
  CHECK(wrong.code != 0);
  CHECK(wrong.out.find("absent") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "wrong" / "manifest.json"));

  // A package from before the mirror and ensembles (no "members", no "mirror") reads as it did:
  // one head, the face alone.
  fs::copy(dir / "pkg", dir / "old", fs::copy_options::recursive);
  json old = manifest;
  old["model"]["affect_head"].erase("members");
  old["model"]["affect_head"].erase("mirror");
  write_file_atomic((dir / "old" / "manifest.json").string(), old.dump(2));
  const ModelPackage legacy = ModelPackage::load((dir / "old").string());
  CHECK(legacy.config().affect_heads.size() == 1);
  CHECK_FALSE(legacy.config().affect_head_mirror);
  BetaVae legacy_vae(legacy.config());
  assign_module_tensors(*legacy_vae, legacy.weights(), "old package");
  legacy_vae->eval();
  CHECK(torch::allclose(legacy_vae->encoder->forward(images).first.narrow(1, 0, 2), kAffectLatentScale * judge.predict(images).narrow(1, 0, 2), 1e-4, 1e-4));
}

TEST_CASE("an affect head of several members reads their mean - each member is refused as the judge") {
  in_folder("ensemble");
  const fs::path reader = trained_reader();
  // A second member: the reader's shape, another seed, a shorter run on the same faces.
  const fs::path second = root() / "reader2";
  const CliResult j = run_cli("judge --data " + (reader.parent_path() / "data").string() + " --out " + second.string() +
                              " --epochs 4 --batch 32 --width 16 --work-size 32 --stem 0 --threads 1 --seed 4 --no-augment --dropout 0.1 --lr 3e-3");
  REQUIRE_MESSAGE(j.code == 0, j.out);
  const fs::path tiny = fs::path(CIRCUMPLEX_TINY_MODEL).parent_path();
  const fs::path dir = root() / "ensemble";
  const std::string map = "map --run " + (tiny / "run").string() + " --data " + (tiny / "data").string() + " --threads 1 --out ";
  const CliResult mapped = run_cli(map + (dir / "pkg").string() + " --affect-head " + reader.string() + "," + second.string());
  REQUIRE_MESSAGE(mapped.code == 0, mapped.out);

  const JudgePackage a = JudgePackage::load(reader.string()), b = JudgePackage::load(second.string());
  const json manifest = json::parse(read_text_file((dir / "pkg" / "manifest.json").string()));
  CHECK(manifest["model"]["affect_head"]["members"] == 2);
  CHECK(manifest["provenance"]["affect_head_fingerprints"] == json::array({tensors_fingerprint(a.weights()), tensors_fingerprint(b.weights())}));
  const ModelPackage pkg = ModelPackage::load((dir / "pkg").string());
  REQUIRE(pkg.config().affect_heads.size() == 2);
  CHECK_FALSE(manifest["model"]["affect_head"].contains("member_shapes"));  // one shape

  // Latents 0 and 1: the mean of the two members' mirrored readings, each in its own label units.
  const torch::Tensor images = tiny_val_faces();
  Judge ja(a, 1), jb(b, 1);
  const torch::Tensor ra = mirrored_va(ja, images), rb = mirrored_va(jb, images);
  CHECK((ra - rb).abs().max().item<double>() > 1e-3);  // two members that differ
  BetaVae vae(pkg.config());
  assign_module_tensors(*vae, pkg.weights(), "package");
  vae->eval();
  torch::NoGradGuard no_grad;
  CHECK(torch::allclose(vae->encoder->forward(images).first.narrow(1, 0, 2), kAffectLatentScale * 0.5 * (ra + rb), 1e-4, 1e-4));

  // The second member may not grade the model either.
  const CliResult refused = run_cli("evaluate --model " + (dir / "pkg").string() + " --judge " + second.string() +
                                    " --seed 5 --identities 2 --fresh 32 --threads 1 --json " + (dir / "eval" / "e.json").string());
  CHECK(refused.code != 0);
  CHECK(refused.out.find("affect head") != std::string::npos);
  CHECK(run_cli(map + (dir / "empty").string() + " --affect-head " + reader.string() + ",").code == 2);

  // A model package as the head: its whole head, members and units as they are, for a VAE
  // retrained without a new head; its fingerprints follow, so evaluate refuses it as judge.
  const CliResult reused = run_cli(map + (dir / "reused").string() + " --affect-head " + (dir / "pkg").string());
  REQUIRE_MESSAGE(reused.code == 0, reused.out);
  const json again = json::parse(read_text_file((dir / "reused" / "manifest.json").string()));
  CHECK(again["model"]["affect_head"] == manifest["model"]["affect_head"]);
  CHECK(again["provenance"]["affect_head_fingerprints"] == manifest["provenance"]["affect_head_fingerprints"]);
  const CliResult refused_again = run_cli("evaluate --model " + (dir / "reused").string() + " --judge " + second.string() +
                                          " --seed 5 --identities 2 --fresh 32 --threads 1 --json " + (dir / "eval_reused" / "e.json").string());
  CHECK(refused_again.code != 0);
  CHECK(refused_again.out.find("affect head") != std::string::npos);
  const ModelPackage copy = ModelPackage::load((dir / "reused").string());
  int head_tensors = 0;
  for (const auto& [name, t] : pkg.weights()) {
    if (name.rfind("encoder.affect_head", 0) != 0) continue;
    ++head_tensors;
    CAPTURE(name);
    REQUIRE(copy.weights().count(name) == 1);
    CHECK(torch::equal(copy.weights().at(name), t));
  }
  CHECK(head_tensors > 8);
  // A package without a head, or a package beside a judge, is refused by name; nothing looks complete.
  const CliResult headless = run_cli(map + (dir / "headless").string() + " --affect-head " + (tiny / "pkg").string());
  CHECK(headless.code != 0);
  CHECK(headless.out.find("no affect head") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "headless" / "manifest.json"));
  const CliResult both = run_cli(map + (dir / "both").string() + " --affect-head " + (dir / "pkg").string() + "," + reader.string());
  CHECK(both.code != 0);
  CHECK(both.out.find("not both") != std::string::npos);
}

TEST_CASE("an affect head's members may differ in shape - the manifest lists each - and a bad list is refused by name") {
  in_folder("mixed");
  const fs::path reader = trained_reader();  // width 16, no stem
  const fs::path other = tiny_judge();       // width 8, another shape
  const JudgePackage a = JudgePackage::load(reader.string()), b = JudgePackage::load(other.string());
  REQUIRE(a.config().width != b.config().width);
  const fs::path tiny = fs::path(CIRCUMPLEX_TINY_MODEL).parent_path();
  const fs::path dir = root() / "mixed";
  const CliResult mapped = run_cli("map --run " + (tiny / "run").string() + " --data " + (tiny / "data").string() + " --threads 1 --out " +
                                   (dir / "pkg").string() + " --affect-head " + reader.string() + "," + other.string());
  REQUIRE_MESSAGE(mapped.code == 0, mapped.out);
  const json manifest = json::parse(read_text_file((dir / "pkg" / "manifest.json").string()));
  const json& head = manifest["model"]["affect_head"];
  CHECK(head["width"] == a.config().width);  // the first member's shape at the top, as before
  REQUIRE(head["member_shapes"].size() == 2);
  CHECK(head["member_shapes"][1]["width"] == b.config().width);
  const ModelPackage pkg = ModelPackage::load((dir / "pkg").string());
  REQUIRE(pkg.config().affect_heads.size() == 2);
  CHECK(pkg.config().affect_heads[0].width == a.config().width);
  CHECK(pkg.config().affect_heads[1].width == b.config().width);

  // Latents 0 and 1: the mean of the two members' mirrored readings.
  const torch::Tensor images = tiny_val_faces();
  Judge ja(a, 1), jb(b, 1);
  BetaVae vae(pkg.config());
  assign_module_tensors(*vae, pkg.weights(), "package");
  vae->eval();
  torch::NoGradGuard no_grad;
  CHECK(torch::allclose(vae->encoder->forward(images).first.narrow(1, 0, 2), kAffectLatentScale * 0.5 * (mirrored_va(ja, images) + mirrored_va(jb, images)), 1e-4, 1e-4));

  // A list of shapes that does not match the members is refused, naming the field.
  fs::copy(dir / "pkg", dir / "bad", fs::copy_options::recursive);
  json bad = manifest;
  bad["model"]["affect_head"]["member_shapes"].erase(1);
  write_file_atomic((dir / "bad" / "manifest.json").string(), bad.dump(2));
  CHECK_THROWS_WITH_AS(ModelPackage::load((dir / "bad").string()), doctest::Contains("member_shapes"), Error);
  bad["model"]["affect_head"]["member_shapes"] = manifest["model"]["affect_head"]["member_shapes"];
  bad["model"]["affect_head"]["member_shapes"][1]["width"] = "eight";
  write_file_atomic((dir / "bad" / "manifest.json").string(), bad.dump(2));
  CHECK_THROWS_WITH_AS(ModelPackage::load((dir / "bad").string()), doctest::Contains("member_shapes[1]"), Error);
}
