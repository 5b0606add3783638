// tools/judge/judge_images.hpp — a judge's readings of pictures (OpenCV BGR, any size), for
// the tools that grade image files: `judge read`, `study rate` and the photo tests.
#pragma once

#include <opencv2/core.hpp>
#include <torch/torch.h>
#include <vector>

#include "circumplex/judge.hpp"

namespace circumplex::tools {

/// [N, outputs] in label units (double): each image resized to the judge's input side
/// (area-averaged when shrinking), converted to RGB in [0, 1] and read in batches.
torch::Tensor judge_images(Judge& judge, const std::vector<cv::Mat>& bgr);

}  // namespace circumplex::tools
