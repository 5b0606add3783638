// tools/plot/atlas_plot.hpp — pictures of the emotion atlas.
#pragma once

#include <opencv2/core.hpp>

#include "circumplex/atlas.hpp"

namespace circumplex::plot {

/// Colour (BGR) of an emotion: a hue per basic emotion, compounds mix their two basics.
cv::Scalar emotion_colour(const Atlas& atlas, const Emotion& e);

/// The 2D circumplex: unit disk, axes labelled Valence and Arousal, Russell's eight
/// octants on the rim, every atlas emotion as a named dot. `size` is the square's side.
cv::Mat draw_atlas_2d(const Atlas& atlas, int size = 1100);

/// The 3D (C2A2) atlas from three views side by side, each `panel` pixels square.
cv::Mat draw_atlas_3d(const Atlas& atlas, int panel = 720);

}  // namespace circumplex::plot
