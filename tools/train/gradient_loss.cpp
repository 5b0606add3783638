#include "gradient_loss.hpp"

#include "circumplex/error.hpp"

namespace circumplex::tools {

torch::Tensor gradient_difference(const torch::Tensor& decoded, const torch::Tensor& target, const torch::Tensor& pixel_weights) {
  if (decoded.dim() != 4 || decoded.sizes() != target.sizes() || decoded.size(2) < 2 || decoded.size(3) < 2) {
    throw Error(ErrorKind::InvalidArgument, "gradient loss: decoded " + c10::str(decoded.sizes()) + " and target " + c10::str(target.sizes()) +
                                                " must be the same [N, C, H, W] with H, W ≥ 2");
  }
  const std::int64_t h = decoded.size(2), w = decoded.size(3);
  if (pixel_weights.defined() && (pixel_weights.dim() != 2 || pixel_weights.size(0) != h || pixel_weights.size(1) != w)) {
    throw Error(ErrorKind::InvalidArgument, "gradient loss: pixel weights " + c10::str(pixel_weights.sizes()) + " for images " + c10::str(decoded.sizes()));
  }
  const torch::Tensor d = decoded - target;  // the difference of gradients is the gradient of the difference
  torch::Tensor dx = (d.narrow(3, 1, w - 1) - d.narrow(3, 0, w - 1)).abs();
  torch::Tensor dy = (d.narrow(2, 1, h - 1) - d.narrow(2, 0, h - 1)).abs();
  if (pixel_weights.defined()) {
    const torch::Tensor pw = pixel_weights.to(d.dtype());
    dx = dx * pw.narrow(1, 0, w - 1);
    dy = dy * pw.narrow(0, 0, h - 1);
  }
  return dx.flatten(1).sum(1) + dy.flatten(1).sum(1);
}

torch::Tensor line_map(const torch::Tensor& images) {
  if (images.dim() != 4 || images.size(1) != 3 || images.size(2) < 5 || images.size(3) < 5) {
    throw Error(ErrorKind::InvalidArgument, "line map: images " + c10::str(images.sizes()) + " must be [N, 3, H, W] with H, W ≥ 5");
  }
  const torch::Tensor grey = (0.299 * images.narrow(1, 0, 1) + 0.587 * images.narrow(1, 1, 1) + 0.114 * images.narrow(1, 2, 1)).contiguous();
  const torch::Tensor local = torch::avg_pool2d(grey, 5, 1, 2, /*ceil_mode=*/false, /*count_include_pad=*/false);
  return torch::cat({torch::relu(local - grey), torch::relu(grey - local)}, 1);
}

torch::Tensor line_difference(const torch::Tensor& decoded, const torch::Tensor& target, const torch::Tensor& pixel_weights) {
  if (decoded.dim() != 4 || decoded.sizes() != target.sizes()) {
    throw Error(ErrorKind::InvalidArgument, "line loss: decoded " + c10::str(decoded.sizes()) + " and target " + c10::str(target.sizes()) +
                                                " must be the same [N, 3, H, W]");
  }
  const std::int64_t h = decoded.size(2), w = decoded.size(3);
  if (pixel_weights.defined() && (pixel_weights.dim() != 2 || pixel_weights.size(0) != h || pixel_weights.size(1) != w)) {
    throw Error(ErrorKind::InvalidArgument, "line loss: pixel weights " + c10::str(pixel_weights.sizes()) + " for images " + c10::str(decoded.sizes()));
  }
  const torch::Tensor mine = line_map(decoded);
  const torch::Tensor truth = line_map(target).detach();
  const auto near = [](const torch::Tensor& t) { return torch::max_pool2d(t, 3, 1, 1); };
  torch::Tensor cost = torch::relu(truth - near(mine)) + torch::relu(mine - near(truth));
  if (pixel_weights.defined()) cost = cost * pixel_weights.to(cost.dtype());
  return cost.flatten(1).sum(1);
}

}  // namespace circumplex::tools
