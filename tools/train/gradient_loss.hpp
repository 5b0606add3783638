// tools/train/gradient_loss.hpp — the edge and line terms of `circumplex train`
// (--gradient-weight G, --line-weight L).
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

// The line term (--line-weight L). A squared error, and the gradient loss too, pays twice for a
// thin line drawn one pixel off and once for leaving it out, so a decoder that cannot yet place
// a wrinkle to the pixel leaves it out. This term finds the lines first and forgives a small
// miss. The line map T of an image has two channels, where its grey level is darker and where
// it is brighter than the mean of its 5×5 neighbourhood (relu of the difference; the black and
// white top-hats of thin strokes). Each map is matched within one pixel, chamfer-like:
//
//   L · Σ_pixels w · ( relu(T(x) − maxpool₃(T(x̂))) + relu(T(x̂) − maxpool₃(T(x))) )
//
// The first part is a line of the target that no line of the decoded face comes near: missed
// detail, paid in full. The second is a line the decoded face draws where the target has none.
// A line one pixel off costs nothing. w are the reconstruction's pixel weights (1 without).
// Like the gradient loss it looks at training images only; the evaluation's sharpness figure
// is a variance of the Laplacian on held-out people, against the renderer.

/// The line map T of `images` ([N, 3, H, W] in [0, 1]): [N, 2, H, W], dark then bright strokes.
torch::Tensor line_map(const torch::Tensor& images);

/// Per-image line loss of `decoded` against `target` ([N, 3, H, W], the same shape), weighted
/// by `pixel_weights` ([H, W], optional); returns [N]. Throws Error (InvalidArgument) on
/// mismatched shapes.
torch::Tensor line_difference(const torch::Tensor& decoded, const torch::Tensor& target, const torch::Tensor& pixel_weights = {});

}  // namespace circumplex::tools
