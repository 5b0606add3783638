// `circumplex atlas`: print the atlas table and draw it (2D circumplex, 3D from three views).
#include <cstdio>
#include <algorithm>
#include <filesystem>

#include "../plot/atlas_plot.hpp"
#include "../plot/plot.hpp"
#include "args.hpp"
#include "circumplex/atlas.hpp"
#include "verbs.hpp"

namespace circumplex::cli {

int run_atlas(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--out", "DIR", "folder for atlas_2d.png and atlas_3d.png (default: out)"},
      {"--atlas", "FILE", "read this atlas JSON instead of the built-in assets/atlas.json"},
      {"--no-images", "", "print the table only"},
  };
  const Args args(argc, argv, 1, options);
  if (args.help()) {
    std::printf("Usage: circumplex atlas [--out DIR] [--atlas FILE] [--no-images]\n\n"
                "Prints every emotion of the atlas with its 2D (v, a) and 3D (v, a, z) point and radius,\n"
                "and draws the 2D circumplex and the 3D atlas from three views as PNG.\n\n%s\n"
                "Example: circumplex atlas --out out\n",
                format_options(options).c_str());
    return 0;
  }
  const Atlas loaded = args.has("--atlas") ? Atlas::load(*args.get("--atlas")) : Atlas();
  const Atlas& atlas = args.has("--atlas") ? loaded : Atlas::builtin();

  std::printf("%-22s %-8s %7s %7s %6s   %7s %7s %7s %6s\n", "emotion", "kind", "v", "a", "r2d", "v", "a", "z", "r3d");
  for (const Emotion& e : atlas.emotions()) {
    std::printf("%-22s %-8s %7.3f %7.3f %6.3f   %7.3f %7.3f %7.3f %6.3f%s\n", e.name.c_str(),
                e.kind == EmotionKind::Basic ? "basic" : "compound", e.plane.v, e.plane.a,
                radius(e.plane, Space::Plane), e.ball.v, e.ball.a, e.ball.z, radius(e.ball),
                e.in_c2a2 ? "" : "  (not a C2A2 class)");
  }
  std::printf("%zu emotions. Sources:\n", atlas.emotions().size());
  std::vector<std::string> seen;
  for (const Emotion& e : atlas.emotions()) {
    if (std::find(seen.begin(), seen.end(), e.source) != seen.end() || e.kind == EmotionKind::Compound) continue;
    seen.push_back(e.source);
    std::printf("  - %s: %s\n", e.name.c_str(), e.source.c_str());
  }
  std::printf("  - compounds: direction of p_X + p_Y with the mean radius of X and Y (C2A2)\n");

  if (args.has("--no-images")) return 0;
  const std::filesystem::path dir = args.get_or("--out", "out");
  const std::string p2 = (dir / "atlas_2d.png").string(), p3 = (dir / "atlas_3d.png").string();
  plot::write_image_atomic(p2, plot::draw_atlas_2d(atlas));
  plot::write_image_atomic(p3, plot::draw_atlas_3d(atlas));
  std::printf("wrote %s\nwrote %s\n", p2.c_str(), p3.c_str());
  return 0;
}

}  // namespace circumplex::cli
