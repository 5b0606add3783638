// `circumplex expr`: an affect point → nearest emotion, AU intensities, ARKit and VRM weights.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "args.hpp"
#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"
#include "circumplex/expression.hpp"
#include "verbs.hpp"

namespace circumplex::cli {

int run_expr(int argc, char** argv) {
  const std::vector<Option> options = {
      {"--affect", "V,A[,Z]", "the point (each in [-1, 1]); a third number selects 3D"},
      {"--emotion", "NAME", "instead of --affect: an atlas emotion (aliases and any case accepted)"},
      {"--intensity", "R", "with --emotion: radius 0..1 (default: the atlas point itself)"},
      {"--space", "2d|3d", "affect space (default: 3d when Z is given, else 2d)"},
      {"--all", "", "list every ARKit weight, not only the non-zero ones"},
      {"--json", "", "print JSON instead of text"},
  };
  const Args args(argc, argv, 1, options);
  if (args.help()) {
    std::printf("Usage: circumplex expr (--affect V,A[,Z] | --emotion NAME [--intensity R]) [--space 2d|3d] [--json]\n\n"
                "Prints the nearest atlas emotion, the 17 FACS AU intensities, the ARKit-52 blendshape\n"
                "weights and the VRM 1.0 preset weights the expression model gives at that point.\n\n%s\n"
                "Examples:\n  circumplex expr --affect 0.8,0.5\n  circumplex expr --affect -0.6,0.6,0.4 --json\n"
                "  circumplex expr --emotion fear --intensity 0.7 --space 3d\n",
                format_options(options).c_str());
    return 0;
  }
  if (args.has("--affect") == args.has("--emotion")) throw UsageError("give exactly one of --affect or --emotion");
  if (args.has("--intensity") && !args.has("--emotion")) throw UsageError("--intensity goes with --emotion");

  const Atlas& atlas = Atlas::builtin();
  const ExpressionModel& model = ExpressionModel::builtin();
  AffectPoint p;
  Space space = Space::Plane;
  if (args.has("--affect")) {
    p = *args.affect("--affect");
    const bool has_z = args.get("--affect")->find(',') != args.get("--affect")->rfind(',');
    space = has_z ? Space::Ball : Space::Plane;
  }
  if (args.has("--space")) {
    try {
      space = parse_space(*args.get("--space"));
    } catch (const Error& e) {
      throw UsageError(std::string("option --space: ") + e.what());
    }
  }
  if (args.has("--emotion")) {
    const Emotion* e = atlas.try_find(*args.get("--emotion"));
    if (!e) {
      std::string names;
      for (const std::string& s : atlas.suggest(*args.get("--emotion"))) names += (names.empty() ? "" : ", ") + s;
      throw UsageError("option --emotion: unknown emotion '" + *args.get("--emotion") + "'; closest valid names: " + names);
    }
    p = args.has("--intensity") ? atlas.at_intensity(*e, args.number_or("--intensity", 1.0, 0.0, 1.0), space)
                                : e->point(space);
  }
  p = clamp_to_unit(project(p, space), space);

  const Emotion& nearest = atlas.nearest(p, space);
  const AuVector aus = model.action_units(p, space);
  const ArkitVector ark = model.arkit(aus);
  const VrmVector vrm = model.vrm(aus);

  if (args.has("--json")) {
    nlohmann::ordered_json j;
    j["affect"] = {{"v", p.v}, {"a", p.a}, {"z", p.z}};
    j["space"] = space_name(space);
    j["intensity"] = radius(p, space);
    j["nearest"] = nearest.name;
    for (int i = 0; i < kAuCount; ++i) j["action_units"][au_key(i)] = aus[static_cast<std::size_t>(i)];
    for (int i = 0; i < kArkitCount; ++i) j["arkit"][arkit_names()[static_cast<std::size_t>(i)]] = ark[static_cast<std::size_t>(i)];
    for (int i = 0; i < kVrmCount; ++i) j["vrm"][vrm_names()[static_cast<std::size_t>(i)]] = vrm[static_cast<std::size_t>(i)];
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  const Polar polar = to_polar(p);
  std::printf("affect    v=%.3f a=%.3f z=%.3f  (%s, intensity %.3f, theta %.1f deg)\n", p.v, p.a, p.z,
              space_name(space), radius(p, space), polar.theta * 180.0 / 3.14159265358979);
  std::printf("nearest   %s\n\naction units (FACS)\n", nearest.name.c_str());
  for (int i = 0; i < kAuCount; ++i) {
    const float x = aus[static_cast<std::size_t>(i)];
    std::printf("  %-5s %-22s %.3f  %s\n", au_key(i), au_description(i), x,
                std::string(static_cast<std::size_t>(x * 30.0f + 0.5f), '#').c_str());
  }
  std::printf("\nARKit blendshapes%s\n", args.has("--all") ? "" : " (non-zero)");
  for (int i = 0; i < kArkitCount; ++i) {
    if (args.has("--all") || ark[static_cast<std::size_t>(i)] > 0.0005f) {
      std::printf("  %-22s %.3f\n", arkit_names()[static_cast<std::size_t>(i)], ark[static_cast<std::size_t>(i)]);
    }
  }
  std::printf("\nVRM 1.0 presets (non-zero)\n");
  for (int i = 0; i < kVrmCount; ++i) {
    if (vrm[static_cast<std::size_t>(i)] > 0.0005f) {
      std::printf("  %-12s %.3f\n", vrm_names()[static_cast<std::size_t>(i)], vrm[static_cast<std::size_t>(i)]);
    }
  }
  return 0;
}

}  // namespace circumplex::cli
