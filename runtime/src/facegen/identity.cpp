// Identity sampling and the table of identity factors.
#include <algorithm>
#include <cmath>
#include <string>

#include "circumplex/facegen.hpp"
#include "circumplex/facegen_rng.hpp"

namespace circumplex::facegen {
namespace {

double clamp01(double x) { return std::clamp(x, 0.0, 1.0); }

// A factor's column name and where it lives in Identity.
struct FactorField {
  FactorInfo info;
  double Identity::*real;
  int Identity::*variant;
};

const std::vector<FactorField>& fields() {
  static const std::vector<FactorField> table = {
      {{"face_width", 0, 1, false}, &Identity::face_width, nullptr},
      {{"face_length", 0, 1, false}, &Identity::face_length, nullptr},
      {{"jaw_width", 0, 1, false}, &Identity::jaw_width, nullptr},
      {{"chin_size", 0, 1, false}, &Identity::chin_size, nullptr},
      {{"skin_tone", 0, 1, false}, &Identity::skin_tone, nullptr},
      {{"skin_undertone", 0, 1, false}, &Identity::skin_undertone, nullptr},
      {{"hair_style", 0, 7, true}, nullptr, &Identity::hair_style},
      {{"hair_colour", 0, 1, false}, &Identity::hair_colour, nullptr},
      {{"hair_red", 0, 1, false}, &Identity::hair_red, nullptr},
      {{"brow_thickness", 0, 1, false}, &Identity::brow_thickness, nullptr},
      {{"brow_arch", 0, 1, false}, &Identity::brow_arch, nullptr},
      {{"eye_size", 0, 1, false}, &Identity::eye_size, nullptr},
      {{"eye_spacing", 0, 1, false}, &Identity::eye_spacing, nullptr},
      {{"eye_tilt", 0, 1, false}, &Identity::eye_tilt, nullptr},
      {{"iris_colour", 0, 5, true}, nullptr, &Identity::iris_colour},
      {{"lashes", 0, 1, false}, &Identity::lashes, nullptr},
      {{"nose_length", 0, 1, false}, &Identity::nose_length, nullptr},
      {{"nose_width", 0, 1, false}, &Identity::nose_width, nullptr},
      {{"mouth_width", 0, 1, false}, &Identity::mouth_width, nullptr},
      {{"lip_fullness", 0, 1, false}, &Identity::lip_fullness, nullptr},
      {{"lip_colour", 0, 1, false}, &Identity::lip_colour, nullptr},
      {{"glasses", 0, 3, true}, nullptr, &Identity::glasses},
      {{"facial_hair", 0, 4, true}, nullptr, &Identity::facial_hair},
      {{"age", 0, 1, false}, &Identity::age, nullptr},
      {{"background_hue", 0, 1, false}, &Identity::background_hue, nullptr},
      {{"background_light", 0, 1, false}, &Identity::background_light, nullptr},
      {{"background_gradient", 0, 1, false}, &Identity::background_gradient, nullptr},
      {{"clothing_hue", 0, 1, false}, &Identity::clothing_hue, nullptr},
      {{"clothing_light", 0, 1, false}, &Identity::clothing_light, nullptr},
      {{"light_direction", 0, 1, false}, &Identity::light_direction, nullptr},
      {{"head_roll", 0, 1, false}, &Identity::head_roll, nullptr},
      {{"head_yaw", 0, 1, false}, &Identity::head_yaw, nullptr},
      {{"scale", 0, 1, false}, &Identity::scale, nullptr},
      {{"offset_x", 0, 1, false}, &Identity::offset_x, nullptr},
      {{"offset_y", 0, 1, false}, &Identity::offset_y, nullptr},
  };
  return table;
}

// Picks an index with the given relative weights.
int pick(Rng& rng, std::initializer_list<double> weights) {
  double total = 0;
  for (double w : weights) total += w;
  double u = rng.uniform() * total;
  int i = 0;
  for (double w : weights) {
    if (u < w) return i;
    u -= w;
    ++i;
  }
  return i - 1;
}

}  // namespace

const std::vector<FactorInfo>& identity_factors() {
  static const std::vector<FactorInfo> infos = [] {
    std::vector<FactorInfo> v;
    for (const FactorField& f : fields()) v.push_back(f.info);
    return v;
  }();
  return infos;
}

double factor_value(const Identity& id, std::size_t i) {
  const FactorField& f = fields().at(i);
  return f.real ? id.*(f.real) : static_cast<double>(id.*(f.variant));
}

void set_factor(Identity& id, std::size_t i, double value) {
  const FactorField& f = fields().at(i);
  const double x = std::clamp(value, f.info.lo, f.info.hi);
  if (f.real) id.*(f.real) = x;
  else id.*(f.variant) = static_cast<int>(std::lround(x));
}

int factor_index(const std::string& name) {
  const auto& t = fields();
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (name == t[i].info.name) return static_cast<int>(i);
  }
  return -1;
}

Identity sample_identity(std::uint64_t seed) {
  Rng rng(mix_seed(seed, 0x1D));
  Identity id;
  auto normal01 = [&](double mean, double sd) { return clamp01(mean + sd * rng.normal()); };
  // A hidden masculine–feminine latent correlates jaw, brows, hair, lashes and facial hair,
  // so that the factors combine into believable people; it is not itself a factor.
  const double m = rng.chance(0.5) ? normal01(0.75, 0.15) : normal01(0.25, 0.15);
  id.age = clamp01(std::pow(rng.uniform(), 1.4));
  id.face_width = normal01(0.5 + 0.2 * (m - 0.5), 0.2);
  id.face_length = normal01(0.5, 0.2);
  id.jaw_width = normal01(0.5 + 0.6 * (m - 0.5), 0.18);
  id.chin_size = normal01(0.5 + 0.2 * (m - 0.5), 0.2);
  id.skin_tone = rng.uniform();
  id.skin_undertone = rng.uniform();

  if (m > 0.5) {
    id.hair_style = pick(rng, {0.12 + 0.25 * id.age, 0.18, 0.3, 0.18, 0.02, 0.05, 0.12, 0.02});
  } else {
    id.hair_style = pick(rng, {0.0, 0.02, 0.1, 0.06, 0.22, 0.3, 0.14, 0.16});
  }
  // Darker skin goes more often with dark hair; red hair mostly with light skin.
  id.hair_colour = clamp01(std::pow(rng.uniform(), 1.0 + 2.5 * id.skin_tone));
  id.hair_red = rng.chance(0.25 * (1.0 - id.skin_tone) + 0.03) ? rng.uniform(0.3, 1.0) : rng.uniform(0.0, 0.12);

  id.brow_thickness = normal01(0.5 + 0.5 * (m - 0.5), 0.18);
  id.brow_arch = normal01(0.5 - 0.5 * (m - 0.5), 0.18);
  id.eye_size = normal01(0.5 - 0.2 * (m - 0.5), 0.18);
  id.eye_spacing = normal01(0.5, 0.18);
  id.eye_tilt = normal01(0.5, 0.18);
  id.iris_colour = id.skin_tone < 0.4 ? pick(rng, {0.18, 0.22, 0.15, 0.12, 0.23, 0.1})
                                      : pick(rng, {0.55, 0.33, 0.08, 0.02, 0.01, 0.01});
  id.lashes = m > 0.5 ? normal01(0.2, 0.12) : normal01(0.65, 0.2);
  id.nose_length = normal01(0.5 + 0.15 * (m - 0.5), 0.18);
  id.nose_width = normal01(0.45 + 0.3 * (id.skin_tone - 0.5) + 0.2 * (m - 0.5), 0.18);
  id.mouth_width = normal01(0.5, 0.18);
  id.lip_fullness = normal01(0.5 + 0.25 * (id.skin_tone - 0.5) - 0.25 * (m - 0.5) - 0.15 * id.age, 0.17);
  id.lip_colour = normal01(0.5 - 0.6 * (m - 0.5), 0.2);
  id.glasses = rng.chance(0.25) ? 1 + rng.below(3) : 0;
  id.facial_hair = (m > 0.5 && rng.chance(0.55)) ? 1 + rng.below(4) : 0;
  id.background_hue = rng.uniform();
  id.background_light = normal01(0.5, 0.25);
  id.background_gradient = rng.uniform();
  id.clothing_hue = rng.uniform();
  id.clothing_light = rng.uniform();
  id.light_direction = normal01(0.5, 0.22);
  id.head_roll = normal01(0.5, 0.2);
  id.head_yaw = normal01(0.5, 0.2);
  id.scale = normal01(0.5, 0.2);
  id.offset_x = normal01(0.5, 0.2);
  id.offset_y = normal01(0.5, 0.2);
  id.texture_seed = rng.next();
  return id;
}

}  // namespace circumplex::facegen
