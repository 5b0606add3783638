// `circumplex judge read --judge J IMAGE... [--json F]`: what a judge reads from any image — the
// affect point, the action units and the identity factors — so anyone can check a result.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include "args.hpp"
#include "circumplex/error.hpp"
#include "circumplex/files.hpp"
#include "circumplex/judge.hpp"
#include "circumplex/torch_compat.hpp"
#include "judge/judge_images.hpp"
#include "verbs.hpp"

namespace circumplex::cli {

int run_judge_read(int argc, char** argv) {
  std::string judge_dir, json_path;
  int threads = 2;
  std::vector<std::string> images;
  for (int i = 2; i < argc; ++i) {
    const std::string w = argv[i];
    auto value = [&](const char* name) {
      if (i + 1 >= argc) throw UsageError(std::string(name) + " needs a value");
      return std::string(argv[++i]);
    };
    if (w == "--help" || w == "-h") {
      std::printf("Usage: circumplex judge read --judge JUDGE IMAGE... [--json FILE] [--threads N]\n\n"
                  "Prints what the judge reads from each image (any size; resized to the judge's input): valence,\n"
                  "arousal, z (when the judge reads it), the five strongest action units and the identity factors it\n"
                  "reads well. --json writes every output by name for every image.\n");
      return 0;
    }
    if (w == "--judge") judge_dir = value("--judge");
    else if (w == "--json") json_path = value("--json");
    else if (w == "--threads") threads = std::atoi(value("--threads").c_str());
    else if (w.rfind("--", 0) == 0) throw UsageError("unknown option " + w);
    else images.push_back(w);
  }
  if (judge_dir.empty() || images.empty()) throw UsageError("judge read needs --judge JUDGE and at least one IMAGE");
  if (threads < 1 || threads > 256) throw UsageError("--threads must be 1..256");
  torch_compat::set_threads(threads);
  const JudgePackage package = JudgePackage::load(judge_dir);
  Judge judge(package, threads);
  const auto& outs = package.outputs();
  nlohmann::json all = nlohmann::json::array();
  int failed = 0;
  for (const std::string& path : images) {
    const cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
    if (bgr.empty()) {  // one bad image does not stop the rest
      std::fprintf(stderr, "circumplex judge read: %s: cannot read the image\n", path.c_str());
      ++failed;
      continue;
    }
    const torch::Tensor r = tools::judge_images(judge, {bgr});
    const double* v = r.data_ptr<double>();
    nlohmann::json one = {{"image", path}};
    for (std::size_t k = 0; k < outs.size(); ++k) one["outputs"][outs[k].name] = outs[k].constant ? nlohmann::json(nullptr) : nlohmann::json(v[k]);
    all.push_back(one);
    std::printf("%s\n  valence %+.2f  arousal %+.2f%s\n", path.c_str(), v[0], v[1], outs[2].constant ? "" : ("  z " + std::to_string(v[2]).substr(0, 5)).c_str());
    std::vector<std::pair<double, std::string>> aus;
    for (int k : package.group("au")) aus.emplace_back(v[k], outs[static_cast<std::size_t>(k)].name);
    std::sort(aus.rbegin(), aus.rend());
    std::printf("  strongest AUs:");
    for (std::size_t k = 0; k < std::min<std::size_t>(5, aus.size()); ++k) std::printf(" %s %.2f", aus[k].second.c_str(), aus[k].first);
    std::printf("\n  identity:");
    int shown = 0;
    for (int k : package.group("identity")) {
      if (outs[static_cast<std::size_t>(k)].constant || shown >= 8) continue;
      std::printf(" %s %.2f", outs[static_cast<std::size_t>(k)].name.c_str(), v[k]);
      ++shown;
    }
    std::printf("%s\n", shown >= 8 ? " … (--json for all)" : "");
  }
  if (!json_path.empty()) write_file_atomic(json_path, nlohmann::json{{"judge", judge_dir}, {"images", all}}.dump(1) + "\n");
  if (failed) std::fprintf(stderr, "circumplex judge read: %d of %zu image(s) could not be read\n", failed, images.size());
  return failed ? 1 : 0;
}

}  // namespace circumplex::cli
