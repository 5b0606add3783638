#include "judge_images.hpp"

#include <opencv2/imgproc.hpp>

namespace circumplex::tools {

torch::Tensor judge_images(Judge& judge, const std::vector<cv::Mat>& bgr) {
  const int side = judge.package().config().input_size;
  torch::Tensor batch = torch::empty({static_cast<std::int64_t>(bgr.size()), 3, side, side});
  for (std::size_t i = 0; i < bgr.size(); ++i) {
    cv::Mat rgb;
    cv::resize(bgr[i], rgb, {side, side}, 0, 0, bgr[i].cols > side ? cv::INTER_AREA : cv::INTER_LINEAR);
    cv::cvtColor(rgb, rgb, cv::COLOR_BGR2RGB);
    rgb.convertTo(rgb, CV_32FC3, 1.0 / 255.0);
    batch[static_cast<std::int64_t>(i)] = torch::from_blob(rgb.data, {side, side, 3}, torch::kFloat32).permute({2, 0, 1}).clone();
  }
  return judge.predict(batch).to(torch::kDouble).contiguous();
}

}  // namespace circumplex::tools
