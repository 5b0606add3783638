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

}  // namespace circumplex::tools
