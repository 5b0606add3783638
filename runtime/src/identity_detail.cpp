#include "circumplex/identity_detail.hpp"

#include <string>

#include "circumplex/error.hpp"

namespace circumplex {
namespace {

namespace F = torch::nn::functional;

// k×k mean of each pixel's neighbourhood (k odd), over the pixels inside the image.
torch::Tensor box(const torch::Tensor& x, int k) {
  return F::avg_pool2d(x, F::AvgPool2dFuncOptions(k).stride(1).padding(k / 2).count_include_pad(false));
}

void require_image(const torch::Tensor& t, const char* what) {
  if (t.dim() != 4 || t.size(0) != 1 || t.size(1) != 3 || t.size(2) != t.size(3) || t.size(2) < 8) {
    throw Error(ErrorKind::InvalidArgument, std::string("the detail layer's ") + what + " must be [1, 3, S, S], not " + c10::str(t.sizes()));
  }
}

}  // namespace

IdentityDetail::IdentityDetail(const torch::Tensor& image, const torch::Tensor& neutral, const DetailOptions& options) : options_(options) {
  require_image(image, "image");
  require_image(neutral, "neutral face");
  if (!image.sizes().equals(neutral.sizes())) {
    throw Error(ErrorKind::InvalidArgument, "the detail layer's image " + c10::str(image.sizes()) + " and neutral face " + c10::str(neutral.sizes()) + " differ in size");
  }
  require_range(options.radius, 0, 4, "detail radius");
  require_range(options.tolerance, 0.0, 1.0, "detail tolerance");
  torch::NoGradGuard no_grad;
  image_ = image.detach().to(torch::kFloat32).contiguous();
  neutral_ = neutral.detach().to(image_.device(), torch::kFloat32).contiguous();
  const torch::Tensor residual = image_ - neutral_;
  low_ = box(box(residual, 9), 9);
  high_ = residual - low_;
}

torch::Tensor IdentityDetail::apply(const torch::Tensor& decoded) const {
  if (decoded.dim() != 4 || decoded.size(1) != 3 || decoded.size(2) != image_.size(2) || decoded.size(3) != image_.size(3)) {
    throw Error(ErrorKind::InvalidArgument, "the detail layer is for [N, 3, " + std::to_string(image_.size(2)) + ", " + std::to_string(image_.size(3)) +
                                                "] faces, not " + c10::str(decoded.sizes()));
  }
  torch::NoGradGuard no_grad;
  const torch::Device device = decoded.device();
  const torch::Tensor neutral = neutral_.to(device), low = low_.to(device), high = high_.to(device);
  const int r = options_.radius;
  const std::int64_t n = decoded.size(0), s = decoded.size(2);
  // For every pixel, the offset within r whose neutral face matches the decoded face best
  // over a 5×5 block; ties (flat skin) go to the nearest offset.
  const auto pad = F::PadFuncOptions({r, r, r, r}).mode(torch::kReplicate);
  const torch::Tensor padded_neutral = F::pad(neutral, pad), padded_high = F::pad(high, pad);
  torch::Tensor best_error = torch::full({n, 1, s, s}, 1e9f, decoded.options());
  torch::Tensor best_high = torch::zeros_like(decoded), best_neutral = torch::zeros_like(decoded);
  for (int dy = -r; dy <= r; ++dy) {
    for (int dx = -r; dx <= r; ++dx) {
      const torch::Tensor shifted = padded_neutral.narrow(2, r + dy, s).narrow(3, r + dx, s);
      const torch::Tensor error = box((decoded - shifted).abs().sum(1, true), 5).add_(0.002 * (dx * dx + dy * dy));
      const torch::Tensor better = error < best_error;
      best_error = torch::where(better, error, best_error);
      best_neutral = torch::where(better, shifted, best_neutral);
      best_high = torch::where(better, padded_high.narrow(2, r + dy, s).narrow(3, r + dx, s), best_high);
    }
  }
  torch::Tensor face = decoded + low;
  if (options_.tolerance > 0) {
    const torch::Tensor change = box(box((decoded - best_neutral).abs().amax(1, true), 3), 3);
    face += (1.0 - change / options_.tolerance).clamp_(0.0, 1.0) * best_high;
  } else {
    face += best_high;
  }
  return face.clamp_(0.0, 1.0);
}

}  // namespace circumplex
