#include "circumplex/identity_detail.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

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

// The same means as box(), on one S×S plane in plain loops: each tap of the window added
// where it falls inside the image (loops the compiler vectorises), along rows, then along
// columns, then divided by the number of pixels that fell inside. `row_sums` is S×S scratch.
void box_plane(const float* in, float* out, float* row_sums, int s, int k) {
  const int h = k / 2;
  for (int y = 0; y < s; ++y) {
    const float* __restrict row = in + static_cast<std::ptrdiff_t>(y) * s;
    float* __restrict sums = row_sums + static_cast<std::ptrdiff_t>(y) * s;
    std::copy(row, row + s, sums);
    for (int t = 1; t <= h; ++t) {
      for (int x = t; x < s; ++x) sums[x] += row[x - t];
      for (int x = 0; x + t < s; ++x) sums[x] += row[x + t];
    }
  }
  for (int y = 0; y < s; ++y) {
    float* __restrict o = out + static_cast<std::ptrdiff_t>(y) * s;
    std::copy(row_sums + static_cast<std::ptrdiff_t>(y) * s, row_sums + static_cast<std::ptrdiff_t>(y + 1) * s, o);
    for (int t = 1; t <= h; ++t) {
      if (y - t >= 0) {
        const float* __restrict above = row_sums + static_cast<std::ptrdiff_t>(y - t) * s;
        for (int x = 0; x < s; ++x) o[x] += above[x];
      }
      if (y + t < s) {
        const float* __restrict below = row_sums + static_cast<std::ptrdiff_t>(y + t) * s;
        for (int x = 0; x < s; ++x) o[x] += below[x];
      }
    }
    const int rows = std::min(s - 1, y + h) - std::max(0, y - h) + 1;
    for (int x = 0; x < s; ++x) o[x] /= static_cast<float>((std::min(s - 1, x + h) - std::max(0, x - h) + 1) * rows);
  }
}

// For every pixel of one face, the index (dy + r)·(2r + 1) + dx + r of the offset within r
// whose neutral face matches the face best over a 5×5 block; ties go to the nearest offset.
// `face` [3, S, S]; `padded_neutral` [3, S + 2r, S + 2r].
std::vector<std::int32_t> best_offsets(const float* face, const float* padded_neutral, int s, int r) {
  const std::ptrdiff_t plane = static_cast<std::ptrdiff_t>(s) * s;
  const int p = s + 2 * r;
  const std::ptrdiff_t padded_plane = static_cast<std::ptrdiff_t>(p) * p;
  std::vector<float> diff(plane), error(plane), scratch(plane), best(plane, 1e9f);
  std::vector<std::int32_t> offset(plane, 0);
  int index = 0;
  for (int dy = -r; dy <= r; ++dy) {
    for (int dx = -r; dx <= r; ++dx, ++index) {
      for (int y = 0; y < s; ++y) {
        const std::ptrdiff_t row = static_cast<std::ptrdiff_t>(y) * s, shifted = static_cast<std::ptrdiff_t>(y + r + dy) * p + r + dx;
        float* __restrict d = diff.data() + row;
        std::fill(d, d + s, 0.0f);
        for (int c = 0; c < 3; ++c) {
          const float* __restrict f = face + c * plane + row;
          const float* __restrict n = padded_neutral + c * padded_plane + shifted;
          for (int x = 0; x < s; ++x) d[x] += std::abs(f[x] - n[x]);
        }
      }
      box_plane(diff.data(), error.data(), scratch.data(), s, 5);
      const auto penalty = static_cast<float>(0.002 * (dx * dx + dy * dy));
      for (std::ptrdiff_t i = 0; i < plane; ++i) {  // branch-free, so it vectorises
        const float e = error[i] + penalty;
        const bool better = e < best[i];
        best[i] = better ? e : best[i];
        offset[i] = better ? index : offset[i];
      }
    }
  }
  return offset;
}

// Per pixel, the largest channel difference between the face and the neutral face at the
// pixel's offset, blurred by two k×k boxes, as a fade: 1 where nothing changed, 0 from
// `tolerance` on.
std::vector<float> fade_by_change(const float* face, const float* padded_neutral, const std::vector<std::int32_t>& offset, int s, int r, int k,
                                  double tolerance) {
  const std::ptrdiff_t plane = static_cast<std::ptrdiff_t>(s) * s;
  const int p = s + 2 * r, side = 2 * r + 1;
  const std::ptrdiff_t padded_plane = static_cast<std::ptrdiff_t>(p) * p;
  std::vector<float> change(plane), blurred(plane), scratch(plane);
  for (int y = 0; y < s; ++y) {
    for (int x = 0; x < s; ++x) {
      const std::ptrdiff_t i = static_cast<std::ptrdiff_t>(y) * s + x;
      const std::ptrdiff_t at = static_cast<std::ptrdiff_t>(y + offset[i] / side) * p + x + offset[i] % side;
      float most = 0.0f;
      for (int c = 0; c < 3; ++c) most = std::max(most, std::abs(face[c * plane + i] - padded_neutral[c * padded_plane + at]));
      change[i] = most;
    }
  }
  box_plane(change.data(), blurred.data(), scratch.data(), s, k);
  box_plane(blurred.data(), change.data(), scratch.data(), s, k);
  for (std::ptrdiff_t i = 0; i < plane; ++i) change[i] = std::clamp(1.0f - change[i] / static_cast<float>(tolerance), 0.0f, 1.0f);
  return change;
}

// apply() for one face on the CPU: the rule of apply_tensor_ops(), written out as loops.
// `face` and `out` [3, S, S]; `low` [3, S, S]; the padded planes [3, S + 2r, S + 2r].
void apply_one(const float* face, float* out, const float* low, const float* padded_neutral, const float* padded_high, int s,
               const DetailOptions& options) {
  const int r = options.radius, p = s + 2 * r, side = 2 * r + 1;
  const std::ptrdiff_t plane = static_cast<std::ptrdiff_t>(s) * s, padded_plane = static_cast<std::ptrdiff_t>(p) * p;
  const std::vector<std::int32_t> offset = best_offsets(face, padded_neutral, s, r);
  const std::vector<float> fade =
      options.tolerance > 0 ? fade_by_change(face, padded_neutral, offset, s, r, 3, options.tolerance) : std::vector<float>(plane, 1.0f);
  const std::vector<std::int32_t> still(plane, r * side + r);  // offset (0, 0): the neutral face where it stands
  const std::vector<float> region = options.region_tolerance > 0 ? fade_by_change(face, padded_neutral, still, s, r, 9, options.region_tolerance)
                                                                 : std::vector<float>(plane, 1.0f);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < s; ++y) {
      for (int x = 0; x < s; ++x) {
        const std::ptrdiff_t i = static_cast<std::ptrdiff_t>(y) * s + x, k = c * plane + i;
        const float high = padded_high[c * padded_plane + static_cast<std::ptrdiff_t>(y + offset[i] / side) * p + x + offset[i] % side];
        out[k] = std::clamp(face[k] + region[i] * (low[k] + fade[i] * high), 0.0f, 1.0f);
      }
    }
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
  require_range(options.region_tolerance, 0.0, 1.0, "detail region tolerance");
  torch::NoGradGuard no_grad;
  image_ = image.detach().to(torch::kFloat32).contiguous();
  const torch::Tensor neutral_face = neutral.detach().to(image_.device(), torch::kFloat32).contiguous();
  const torch::Tensor residual = image_ - neutral_face;
  low_ = box(box(residual, 9), 9);
  // The neutral face and the fine detail with their edges repeated by the radius, for the
  // offsets apply() compares: made once per identity, not per face.
  const int r = options.radius;
  const auto pad = F::PadFuncOptions({r, r, r, r}).mode(torch::kReplicate);
  padded_neutral_ = F::pad(neutral_face, pad).contiguous();
  padded_high_ = F::pad(residual - low_, pad).contiguous();
}

void IdentityDetail::require_faces(const torch::Tensor& decoded) const {
  if (decoded.dim() != 4 || decoded.size(1) != 3 || decoded.size(2) != image_.size(2) || decoded.size(3) != image_.size(3)) {
    throw Error(ErrorKind::InvalidArgument, "the detail layer is for [N, 3, " + std::to_string(image_.size(2)) + ", " + std::to_string(image_.size(3)) +
                                                "] faces, not " + c10::str(decoded.sizes()));
  }
}

torch::Tensor IdentityDetail::apply(const torch::Tensor& decoded) const {
  require_faces(decoded);
  if (!decoded.device().is_cpu()) return apply_tensor_ops(decoded);
  torch::NoGradGuard no_grad;
  const torch::Tensor faces = decoded.detach().to(torch::kFloat32).contiguous();
  const torch::Tensor low = low_.cpu(), padded_neutral = padded_neutral_.cpu(), padded_high = padded_high_.cpu();
  torch::Tensor out = torch::empty_like(faces);
  const int s = static_cast<int>(faces.size(2));
  const std::int64_t face_size = 3 * static_cast<std::int64_t>(s) * s;
  // One face per task: LibTorch's threads share a batch, a single face runs on one.
  at::parallel_for(0, faces.size(0), 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      apply_one(faces.data_ptr<float>() + i * face_size, out.data_ptr<float>() + i * face_size, low.data_ptr<float>(),
                padded_neutral.data_ptr<float>(), padded_high.data_ptr<float>(), s, options_);
    }
  });
  return out;
}

torch::Tensor IdentityDetail::apply_tensor_ops(const torch::Tensor& decoded) const {
  require_faces(decoded);
  torch::NoGradGuard no_grad;
  const torch::Device device = decoded.device();
  const torch::Tensor low = low_.to(device), padded_neutral = padded_neutral_.to(device), padded_high = padded_high_.to(device);
  const int r = options_.radius;
  const std::int64_t n = decoded.size(0), s = decoded.size(2);
  // For every pixel, the offset within r whose neutral face matches the decoded face best
  // over a 5×5 block; ties (flat skin) go to the nearest offset.
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
  torch::Tensor fade = torch::ones({n, 1, s, s}, decoded.options()), region_fade = fade;
  if (options_.tolerance > 0) {
    const torch::Tensor change = box(box((decoded - best_neutral).abs().amax(1, true), 3), 3);
    fade = (1.0 - change / options_.tolerance).clamp_(0.0, 1.0);
  }
  if (options_.region_tolerance > 0) {
    const torch::Tensor neutral = padded_neutral.narrow(2, r, s).narrow(3, r, s);
    const torch::Tensor region = box(box((decoded - neutral).abs().amax(1, true), 9), 9);
    region_fade = (1.0 - region / options_.region_tolerance).clamp_(0.0, 1.0);
  }
  return (decoded + region_fade * (low + fade * best_high)).clamp_(0.0, 1.0);
}

}  // namespace circumplex
