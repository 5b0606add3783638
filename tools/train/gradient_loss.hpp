// tools/train/gradient_loss.hpp — the edge term of `circumplex train --gradient-weight G`.
//
// A squared error per pixel is smallest for the average of the faces a latent could mean, and
// an average has soft edges: the decoder learns that a blurred wrinkle costs little. The
// gradient-difference loss (Mathieu, Couprie & LeCun 2016) compares the image's finite
// differences instead of its values, with an absolute error so that a missing edge costs as
// much as a misplaced one:
//
//   G · Σ_pixels w · ( |∂x x̂ − ∂x x| + |∂y x̂ − ∂y x| )      per image, then the batch mean
//
// where w are the reconstruction's pixel weights (--expression-weight; 1 without them),
// taken at the left/top pixel of each difference. It adds to the VAE's loss beside the squared
// error; it is not the evaluation's sharpness figure (a variance of the Laplacian on held-out
// people, measured against the renderer).
#pragma once

#include <torch/torch.h>

namespace circumplex::tools {

/// Per-image gradient-difference loss of `decoded` against `target` ([N, C, H, W], the same
/// shape), weighted by `pixel_weights` ([H, W], optional); returns [N]. Throws Error
/// (InvalidArgument) on mismatched shapes.
torch::Tensor gradient_difference(const torch::Tensor& decoded, const torch::Tensor& target, const torch::Tensor& pixel_weights = {});

}  // namespace circumplex::tools
