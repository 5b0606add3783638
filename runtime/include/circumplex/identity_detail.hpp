// circumplex/identity_detail.hpp — the detail layer: what of an identity's image the decoder does not draw.
//
// The decoder draws a person from 64 numbers, and the fine detail of a face (hair strands, a
// moustache, glasses' wire, age lines) does not fit through them: its faces are soft. When the
// identity comes from an image (a photo, a painted person, an evaluation's neutral face), that
// detail is still at hand: it is the image minus the decoder's own face of that identity at
// neutral. The detail layer lays it back on every face of that identity:
//
//   face = decoded + region · (low + mask · shifted(high))
//
//   - low: the detail blurred (two 9×9 box filters): colour and shading the decoder got wrong.
//     It has no edges, so it goes on wherever the face is still where it was at neutral.
//   - high: the rest, the fine detail. An expression moves parts of the face (brows rise, the
//     mouth opens), and detail left where it was would draw the neutral face's edges over the
//     new ones. So each pixel takes the detail from the offset (within `radius` pixels) where
//     the decoded neutral face looks most like the decoded face around it (5×5 blocks,
//     nearest offset on ties): detail that moved with the face moves with it.
//   - mask: where even the best-matching neutral face differs from the decoded one by more
//     than `tolerance` (new content: an open mouth, teeth, a wrinkle the expression makes),
//     the fine detail fades out.
//   - region: where the face around a pixel (17×17) has moved from the neutral face standing
//     there by more than `region_tolerance` on average (brows raised, eyes widened, a jaw
//     dropped, a smile), all of the detail fades out, and the decoder's face alone shows the
//     expression. Neutral edges and shading left where the expression changes the face pull
//     what a viewer (or a judge) reads back towards neutral, and leave halos where the face's
//     outline moved.
//
// With both tolerances 0 the face keeps all of the image's detail everywhere,
// including its neutral expression's edges, which weakens what the decoder draws (see README,
// "The detail layer", for the figures). At the neutral point the face is the image itself.
// It costs one decoder pass per identity and (2·radius + 1)² per-pixel comparisons per face,
// on the device the decoder runs on (`circumplex bench` times it beside the decoder).
//
//   IdentityDetail detail(image, generator_neutral_face);   // [1, 3, S, S] each, RGB in [0, 1]
//   torch::Tensor faces = detail.apply(decoded);        // [N, 3, S, S]
#pragma once

#include <torch/torch.h>

namespace circumplex {

struct DetailOptions {
  int radius = 2;           ///< how far (pixels) detail may follow the face's parts, 0 … 4
  double tolerance = 0.07;  ///< change (0 … 1 of full scale) at which detail has faded out; 0: never fades
  /// mean change of the face around a pixel (17×17) from the neutral face standing there at
  /// which all of the detail (smooth and fine) has faded out; 0: never (the earlier rule)
  double region_tolerance = 0.1;
};

class IdentityDetail {
 public:
  /// `image`: the identity's image as the encoder read it; `neutral`: the decoder's face of
  /// that identity at the neutral point. Both [1, 3, S, S] float RGB in [0, 1], same device.
  /// Throws circumplex::Error for other shapes or options out of range.
  IdentityDetail(const torch::Tensor& image, const torch::Tensor& neutral, const DetailOptions& options = {});

  /// `decoded` [N, 3, S, S] faces of this identity → the same faces with the detail laid on,
  /// clamped to [0, 1]. Runs on `decoded`'s device (the detail is copied there per call when
  /// it lives elsewhere; a Generator makes it on its own device, so it does not). On the CPU
  /// it is one loop per face (LibTorch's threads take a batch's faces in parallel); elsewhere
  /// it is apply_tensor_ops().
  torch::Tensor apply(const torch::Tensor& decoded) const;
  /// The same rule in LibTorch operations, for any device: apply()'s path off the CPU. On
  /// the CPU the two agree up to float rounding (tested), and apply() is several times faster.
  torch::Tensor apply_tensor_ops(const torch::Tensor& decoded) const;

  /// The identity image it was made from, [1, 3, S, S] (what identity files keep).
  const torch::Tensor& image() const { return image_; }
  const DetailOptions& options() const { return options_; }

 private:
  void require_faces(const torch::Tensor& decoded) const;

  torch::Tensor image_, low_, padded_neutral_, padded_high_;
  DetailOptions options_;
};

}  // namespace circumplex
