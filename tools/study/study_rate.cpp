// `circumplex study rate`: the judge as the study's automatic rater (mapping in study_report.hpp).
#include <cmath>
#include <filesystem>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include "circumplex/error.hpp"
#include "circumplex/judge.hpp"
#include "circumplex/torch_compat.hpp"
#include "common/progress.hpp"
#include "judge/judge_images.hpp"
#include "study.hpp"
#include "study_db.hpp"
#include "study_report.hpp"

namespace circumplex::tools {

int rate_study(const RateOptions& opt) {
  torch_compat::set_threads(opt.threads);
  const Study study = load_study(opt.study);
  const JudgePackage package = JudgePackage::load(opt.judge);
  Judge judge(package, opt.threads);
  const bool reads_z = !package.outputs()[2].constant;
  StudyDb db(opt.db);
  const std::string token = "judge:" + tensors_fingerprint(package.weights());
  db.ensure_rater(token, "judge", RaterKind::Judge);
  const std::vector<std::string> done = db.rated(token);
  const std::set<std::string> rated(done.begin(), done.end());
  std::vector<const StudyImage*> todo;
  for (const StudyImage& im : study.images) {
    if (!rated.count(im.id)) todo.push_back(&im);
  }
  if (todo.empty()) return 0;
  Progress bar("study rate (judge)", todo.size(), "img");
  int added = 0;
  for (std::size_t lo = 0; lo < todo.size(); lo += 64) {
    const std::size_t n = std::min<std::size_t>(64, todo.size() - lo);
    std::vector<cv::Mat> faces;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string path = (std::filesystem::path(study.dir) / todo[lo + i]->file).string();
      faces.push_back(cv::imread(path, cv::IMREAD_COLOR));
      if (faces.back().empty()) throw Error(ErrorKind::BadData, path + ": cannot read the image");
    }
    const torch::Tensor read = judge_images(judge, faces);
    for (std::size_t i = 0; i < n; ++i) {
      const StudyImage& im = *todo[lo + i];
      const double* r = read.data_ptr<double>() + static_cast<std::int64_t>(i) * read.size(1);
      const double dz = reads_z ? r[2] - im.point.z : 0.0;
      const double d = std::sqrt((r[0] - im.point.v) * (r[0] - im.point.v) + (r[1] - im.point.a) * (r[1] - im.point.a) + dz * dz);
      if (db.vote(token, im.id, judge_score(d)) == VoteResult::Stored) ++added;
      bar.advance();
    }
  }
  bar.finish();
  return added;
}

}  // namespace circumplex::tools
