// `circumplex render face|grid|axis|between|walk`: pictures and videos of a model package.
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <opencv2/imgproc.hpp>

#include "args.hpp"
#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"
#include "circumplex/model_package.hpp"
#include "plot/plot.hpp"
#include "render/render.hpp"
#include "verbs.hpp"

namespace circumplex::cli {

int run_render(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--model", "PKG", "model package (default: the shipped assets/models/default)"},
      {"--identity", "SEED", "identity drawn from the model's prior with this seed (default 1)"},
      {"--image", "FILE", "identity from this photo: its face is found and aligned to the model's framing, then encoded"},
      {"--identity-file", "FILE", "identity saved earlier with --save-identity (for the same model package)"},
      {"--save-identity", "FILE", "also save the identity used (from --image, --identity or --identity-file) for reuse; an image identity keeps its image"},
      {"--detail", "", "an image identity (--image, --identity-file) keeps the detail the decoder does not draw: sharper, but expressions read more weakly (README: the detail layer)"},
      {"--affect", "V,A[,Z]", "face: the affect point"},
      {"--out", "PATH", "grid/axis/between: PNG file; walk: folder (default out/render-<mode>…)"},
      {"--cell", "PX", "face size in the output (default: the model's size)"},
      {"--steps", "N", "grid: cells per side (7); axis/between: faces in the strip (7)"},
      {"--emotion", "NAME", "axis, face: the emotion"},
      {"--intensity", "R", "axis/between: radius of the end points; face: of --emotion; 0..1 (default 1)"},
      {"--from", "NAME", "between: first emotion"},
      {"--to", "NAME", "between: second emotion"},
      {"--sphere", "", "between: travel along the sphere at constant radius (default straight)"},
      {"--theta", "RAD", "walk: polar angle of the walk plane's normal (default 0)"},
      {"--phi", "RAD", "walk: azimuth of the normal (default 0)"},
      {"--r", "R", "walk: circle radius 0..1 (default 0.8)"},
      {"--seconds", "S", "walk: duration of one turn (default 4)"},
      {"--fps", "F", "walk: frames per second (default 30)"},
      {"--threads", "N", "LibTorch threads (default 2)"},
      {"--device", "D", "where the decoder runs: cpu (default), cuda or cuda:N (a CUDA build of LibTorch)"},
  };
  const char* mode = argc > 1 && std::strncmp(argv[1], "--", 2) != 0 ? argv[1] : "";
  const bool known = !std::strcmp(mode, "face") || !std::strcmp(mode, "grid") || !std::strcmp(mode, "axis") || !std::strcmp(mode, "between") || !std::strcmp(mode, "walk");
  const Args args(argc, argv, *mode ? 2 : 1, options);
  if (args.help() || !*mode) {
    std::printf("Usage: circumplex render face|grid|axis|between|walk [options]\n\n"
                "  face     one face at --affect V,A[,Z] or --emotion NAME [--intensity R] (a PNG)\n"
                "  grid     the 7x7 grid: valence left->right, arousal bottom->top, neutral in the centre\n"
                "  axis     neutral -> --emotion along its axis (a strip of faces)\n"
                "  between  --from -> --to, straight or --sphere (a strip of faces)\n"
                "  walk     circle walk (--theta --phi --r --seconds --fps): MP4 + PNG frames + path CSV + contact sheet\n\n%s\n"
                "Examples:\n  circumplex render face --image me.jpg --emotion happy --intensity 0.8 --out out/me_happy.png\n"
                "  circumplex render grid --out out/grid.png\n  circumplex render axis --emotion fear\n"
                "  circumplex render between --from happy --to sad --sphere\n"
                "  circumplex render walk --theta 0.4901 --phi 0.9801 --r 0.6 --seconds 4 --fps 30 --out out/walk\n",
                format_options(options).c_str());
    return args.help() ? 0 : 2;
  }
  if (!known) throw UsageError(std::string("unknown render mode '") + mode + "' (face, grid, axis, between or walk)");

  std::string pkg = args.get_or("--model", "");
  if (pkg.empty()) {
    pkg = ModelPackage::default_path();
    if (pkg.empty()) throw Error(ErrorKind::Io, "no model package given and none shipped (assets/models/default); pass --model PKG");
  }
  tools::RenderContext ctx(pkg, static_cast<int>(args.integer_or("--threads", 2, 1, 256)), args.get_or("--device", "cpu"));
  if (args.has("--image") + args.has("--identity-file") + args.has("--identity") > 1) {
    throw UsageError("give one of --image, --identity-file and --identity");
  }
  ctx.keep_detail = args.has("--detail");
  if (args.has("--image")) ctx.identity_from_image(*args.get("--image"));
  else if (args.has("--identity-file")) ctx.identity_from_file(*args.get("--identity-file"));
  else ctx.identity_from_seed(static_cast<std::uint64_t>(args.integer_or("--identity", 1, 0, 2147483647)));
  if (args.has("--save-identity")) ctx.package.save_identity(*args.get("--save-identity"), ctx.identity, ctx.detail.get());
  const int cell = static_cast<int>(args.integer_or("--cell", ctx.generator.image_size(), 16, 1024));
  const int steps = static_cast<int>(args.integer_or("--steps", 7, 2, 64));
  const double intensity = args.number_or("--intensity", 1.0, 0.0, 1.0);
  const Space space = ctx.space();
  const std::string m = mode;

  if (m == "face") {
    AffectPoint p;
    if (args.has("--affect") == args.has("--emotion")) throw UsageError("render face needs --affect V,A[,Z] or --emotion NAME");
    if (args.has("--affect")) p = clamp_to_unit(*args.affect("--affect"), space);
    else p = Atlas::builtin().at_intensity(Atlas::builtin().find(*args.get("--emotion")), intensity, space);
    cv::Mat face = ctx.faces({p})[0];
    if (cell != face.cols) cv::resize(face, face, {cell, cell}, 0, 0, cell > face.cols ? cv::INTER_CUBIC : cv::INTER_AREA);
    const std::string out = args.get_or("--out", "out/render-face.png");
    plot::write_image_atomic(out, face);
    std::printf("wrote %s (v %.2f, a %.2f, z %.2f)\n", out.c_str(), p.v, p.a, p.z);
    return 0;
  }
  if (m == "grid") {
    const std::string out = args.get_or("--out", "out/render-grid.png");
    plot::write_image_atomic(out, tools::render_grid(ctx, steps, cell));
    std::printf("wrote %s\n", out.c_str());
  } else if (m == "axis") {
    if (!args.has("--emotion")) throw UsageError("render axis needs --emotion NAME");
    const auto path = emotion_axis(Atlas::builtin(), *args.get("--emotion"), intensity, 1.0, space);
    const std::string out = args.get_or("--out", "out/render-axis-" + Atlas::builtin().find(*args.get("--emotion")).name + ".png");
    plot::write_image_atomic(out, tools::render_strip(ctx, *path, steps, cell, "neutral -> " + Atlas::builtin().find(*args.get("--emotion")).name));
    std::printf("wrote %s\n", out.c_str());
  } else if (m == "between") {
    if (!args.has("--from") || !args.has("--to")) throw UsageError("render between needs --from NAME and --to NAME");
    const Atlas& atlas = Atlas::builtin();
    const std::string a = atlas.find(*args.get("--from")).name, b = atlas.find(*args.get("--to")).name;
    const auto style = args.has("--sphere") ? BetweenStyle::Sphere : BetweenStyle::Straight;
    const auto path = between_emotions(atlas, a, b, intensity, style, 1.0, space);
    const std::string out = args.get_or("--out", "out/render-between-" + a + "-" + b + ".png");
    plot::write_image_atomic(out, tools::render_strip(ctx, *path, steps, cell, a + " -> " + b + (args.has("--sphere") ? " (along the sphere)" : " (straight)")));
    std::printf("wrote %s\n", out.c_str());
  } else {
    const CircleWalk walk(args.number_or("--theta", 0.0, -100, 100), args.number_or("--phi", 0.0, -100, 100),
                          args.number_or("--r", 0.8, 0.01, 1.0), args.number_or("--seconds", 4.0, 0.1, 600));
    const std::string out = args.get_or("--out", "out/render-walk");
    const WalkRecording f = tools::render_walk(ctx, walk, args.number_or("--fps", 30.0, 1.0, 240.0), cell, out);
    std::printf("wrote %zu frames: %s, %s/, %s, %s\n", f.frames, f.video.c_str(), f.frames_dir.c_str(), f.path_csv.c_str(), f.contact_sheet.c_str());
  }
  return 0;
}

}  // namespace circumplex::cli
