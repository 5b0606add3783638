// The shipped packages: assets/models/default and assets/models/judge load, and the
// evaluation README's model table was made with (`circumplex evaluate --model
// assets/models/default --judge assets/models/judge --seed 9001`) gives README's figures again.
// Tolerance (stated in README): 0.02 on figures in [0, 1] (R², accuracies, MAE, drift),
// 0.2 dB on PSNR and 3 % on the ground-truth ratios: what oneDNN's kernels may change between
// CPUs (AVX-512 or AVX2) and thread counts.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "circumplex/assets.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const fs::path kRoot(CIRCUMPLEX_SOURCE_DIR);

// The numbers in the "default model" cell (the second column) of README's row `label`.
std::vector<double> readme_figures(const std::string& label) {
  std::ifstream in(kRoot / "README.md");
  std::string line;
  while (std::getline(in, line)) {
    const std::string lead = "| " + label + " |";
    const auto at = line.find(lead);
    if (at == std::string::npos || line.substr(0, at).find_first_not_of(' ') != std::string::npos) continue;
    const auto end = line.find('|', at + lead.size());
    const std::string cell = line.substr(at + lead.size(), end - at - lead.size());
    std::vector<double> out;
    const char* p = cell.c_str();
    while (*p) {
      if ((*p >= '0' && *p <= '9') || ((*p == '-' || *p == '.') && p[1] >= '0' && p[1] <= '9')) {
        char* next = nullptr;
        out.push_back(std::strtod(p, &next));
        p = next;
        // Only the leading figures: "0.256 (v 0.335, a 0.176)" gives 0.256.
        while (*p == ' ') ++p;
        if (*p == '/') {
          ++p;
          continue;
        }
        break;
      }
      ++p;
    }
    return out;
  }
  FAIL("README.md has no model-table row '" << label << "'");
  return {};
}

struct Figure {
  const char* label;
  std::vector<const char*> keys;  // JSON path per figure of the row
  double tolerance;
  bool relative;
};

double at(const json& j, const std::string& dotted) {
  const json* p = &j;
  std::stringstream ss(dotted);
  std::string part;
  while (std::getline(ss, part, '.')) p = &p->at(part);
  return p->get<double>();
}

}  // namespace

TEST_CASE("the shipped model's evaluation gives README's figures") {
  const fs::path out = fs::path(CIRCUMPLEX_BINARY_DIR) / "test-output" / "shipped-eval";
  fs::remove_all(out);
  const CliResult r = run_cli("evaluate --model " + (kRoot / "assets/models/default").string() + " --judge " +
                              (kRoot / "assets/models/judge").string() + " --seed 9001 --threads 2 --json " + (out / "eval.json").string(),
                              "OMP_WAIT_POLICY=passive");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const json j = json::parse(circumplex::read_text_file((out / "eval.json").string()));
  const std::vector<Figure> figures = {
      {"R² valence / arousal (fresh set)", {"fresh_set.r2_valence", "fresh_set.r2_arousal"}, 0.02, false},
      {"quadrant accuracy", {"fresh_set.quadrant_accuracy"}, 0.02, false},
      {"ceiling: R² valence / arousal / quadrant of the Bayes reader of the exact AUs",
       {"fresh_set.ceiling.r2_valence", "fresh_set.ceiling.r2_arousal", "fresh_set.ceiling.quadrant_accuracy"}, 0.002, false},
      {"reconstruction PSNR", {"reconstruction.psnr_db"}, 0.2, false},
      {"judge MAE (v, a) over the 7×7 grid", {"grid.mae_va"}, 0.02, false},
      {"identity drift", {"identity_drift.value"}, 0.02, false},
      {"ground truth: judge MAE ratio", {"ground_truth.mae_ratio"}, 0.03, true},
      {"ground truth: drift ratio", {"ground_truth.drift_ratio"}, 0.03, true},
      {"ground truth: PSNR (face region)", {"ground_truth.psnr_db"}, 0.2, false},
      {"ground truth: sharpness ratio", {"ground_truth.sharpness_ratio"}, 0.03, true},
      {"ground truth: emotion accuracy / renderer's", {"ground_truth.emotion_accuracy", "ground_truth.renderer_emotion_accuracy"}, 0.02, false},
  };
  for (const Figure& f : figures) {
    const std::vector<double> readme = readme_figures(f.label);
    REQUIRE_MESSAGE(readme.size() == f.keys.size(), f.label);
    for (std::size_t i = 0; i < f.keys.size(); ++i) {
      const double measured = at(j, f.keys[i]);
      const double allowed = f.relative ? f.tolerance * std::fabs(readme[i]) : f.tolerance;
      const std::string label = f.label, key = f.keys[i];
      CAPTURE(label);
      CAPTURE(key);
      CAPTURE(measured);
      CHECK(std::fabs(measured - readme[i]) <= allowed + 0.5e-3);  // + half the README's last digit
    }
  }
}
