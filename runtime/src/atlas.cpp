#include "circumplex/atlas.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"

namespace circumplex {
namespace {

using nlohmann::json;

// Sources may put a point a little outside the unit ball (happy in 3D: r = 1.061); the atlas
// keeps their values, the cursor stays in the ball and names points by the nearest class.
constexpr double kAtlasBound = 1.25;

[[noreturn]] void bad(const std::string& origin, const std::string& what) {
  throw Error(ErrorKind::BadData, origin + ": " + what);
}

// Lower case, trimmed, with '_' and runs of spaces turned into '-'.
std::string normalise(std::string_view name) {
  std::string out;
  for (char c : name) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '_' || std::isspace(u)) {
      if (!out.empty() && out.back() != '-') out += '-';
    } else {
      out += static_cast<char>(std::tolower(u));
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0u : 1u)});
      diag = up;
    }
  }
  return row[b.size()];
}

AffectPoint read_point(const json& e, const char* key, std::size_t dims, const std::string& where) {
  if (!e.contains(key) || !e[key].is_array() || e[key].size() != dims) {
    bad(where, std::string("'") + key + "' must be an array of " + std::to_string(dims) + " numbers");
  }
  double c[3] = {0, 0, 0};
  for (std::size_t i = 0; i < dims; ++i) {
    if (!e[key][i].is_number()) bad(where, std::string("'") + key + "' holds a non-number");
    c[i] = e[key][i].get<double>();
    if (!std::isfinite(c[i]) || c[i] < -kAtlasBound || c[i] > kAtlasBound) {
      bad(where, std::string("'") + key + "' coordinates must be finite and within [-1.25, 1.25]");
    }
  }
  return {c[0], c[1], c[2]};
}

std::string read_string(const json& e, const char* key, const std::string& where) {
  if (!e.contains(key) || !e[key].is_string() || e[key].get<std::string>().empty()) {
    bad(where, std::string("'") + key + "' must be a non-empty string");
  }
  return e[key].get<std::string>();
}

}  // namespace

AffectPoint compound_point(AffectPoint p, AffectPoint q, Space space) {
  p = project(p, space);
  q = project(q, space);
  const AffectPoint sum = p + q;
  const double len = radius(sum, space);
  if (len < 1e-12) return {};
  return ((radius(p, space) + radius(q, space)) / 2.0 / len) * sum;
}

const Atlas& Atlas::builtin() {
  static const Atlas atlas = parse(embedded_asset("atlas.json"), "assets/atlas.json (embedded)");
  return atlas;
}

Atlas Atlas::load(const std::string& path) { return parse(read_text_file(path), path); }

Atlas Atlas::parse(std::string_view json_text, const std::string& origin) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& e) {
    bad(origin, std::string("malformed JSON: ") + e.what());
  }
  if (!doc.is_object()) bad(origin, "top level must be an object");
  if (!doc.contains("format") || doc["format"] != "circumplex-atlas") bad(origin, "'format' must be \"circumplex-atlas\"");
  if (!doc.contains("version") || !doc["version"].is_number_integer() || doc["version"].get<int>() != 1) {
    bad(origin, "'version' must be 1 (the only version this build reads)");
  }
  if (!doc.contains("emotions") || !doc["emotions"].is_array() || doc["emotions"].empty()) {
    bad(origin, "'emotions' must be a non-empty array");
  }

  Atlas atlas;
  std::set<std::string> taken;
  std::vector<std::pair<std::string, std::string>> compound_of;
  std::size_t index = 0;
  for (const json& e : doc["emotions"]) {
    const std::string where = origin + ": emotions[" + std::to_string(index++) + "]";
    if (!e.is_object()) bad(where, "must be an object");
    Emotion em;
    em.name = normalise(read_string(e, "name", where));
    const std::string w = where + " '" + em.name + "'";
    const std::string kind = read_string(e, "kind", w);
    if (kind == "basic") em.kind = EmotionKind::Basic;
    else if (kind == "compound") em.kind = EmotionKind::Compound;
    else bad(w, "'kind' must be \"basic\" or \"compound\", got \"" + kind + "\"");
    em.plane = read_point(e, "plane", 2, w);
    em.ball = read_point(e, "ball", 3, w);
    em.source = read_string(e, "source", w);
    if (e.contains("c2a2")) {
      if (!e["c2a2"].is_boolean()) bad(w, "'c2a2' must be true or false");
      em.in_c2a2 = e["c2a2"].get<bool>();
    }
    if (e.contains("aliases")) {
      if (!e["aliases"].is_array()) bad(w, "'aliases' must be an array of strings");
      for (const json& a : e["aliases"]) {
        if (!a.is_string()) bad(w, "'aliases' must be an array of strings");
        em.aliases.push_back(normalise(a.get<std::string>()));
      }
    }
    if (em.kind == EmotionKind::Compound) {
      if (!e.contains("of") || !e["of"].is_array() || e["of"].size() != 2 || !e["of"][0].is_string() ||
          !e["of"][1].is_string()) {
        bad(w, "a compound needs 'of': [first, second] basic names");
      }
      em.first = normalise(e["of"][0].get<std::string>());
      em.second = normalise(e["of"][1].get<std::string>());
    }
    for (const std::string& n : [&] { auto v = em.aliases; v.push_back(em.name); return v; }()) {
      if (!taken.insert(n).second) bad(w, "name or alias '" + n + "' is used twice");
    }
    atlas.emotions_.push_back(std::move(em));
  }

  for (const Emotion& em : atlas.emotions_) {
    if (em.kind != EmotionKind::Compound) continue;
    const std::string w = origin + ": compound '" + em.name + "'";
    const Emotion* parts[2] = {nullptr, nullptr};
    const std::string names[2] = {em.first, em.second};
    for (int i = 0; i < 2; ++i) {
      for (const Emotion& b : atlas.emotions_) {
        if (b.kind == EmotionKind::Basic && b.name == names[i]) parts[i] = &b;
      }
      if (!parts[i]) bad(w, "refers to '" + names[i] + "', which is not a basic emotion of the atlas");
    }
    for (Space s : {Space::Plane, Space::Ball}) {
      const AffectPoint want = compound_point(parts[0]->point(s), parts[1]->point(s), s);
      if (distance(want, em.point(s), s) > 1e-3) {
        bad(w, std::string("its ") + space_name(s) + " point " + to_string(em.point(s)) +
                   " is not the compound rule's " + to_string(want) +
                   " (direction of the sum of its basics, their mean radius)");
      }
    }
  }
  if (!atlas.try_find("neutral")) bad(origin, "the atlas must contain 'neutral'");
  return atlas;
}

const Emotion* Atlas::try_find(std::string_view name) const {
  const std::string key = normalise(name);
  if (key.empty()) return nullptr;
  for (const Emotion& e : emotions_) {
    if (e.name == key || std::find(e.aliases.begin(), e.aliases.end(), key) != e.aliases.end()) return &e;
  }
  // A compound written another way: "sad-happy", "happy sad", "sadly-happy" → happily-sad.
  const std::size_t dash = key.find('-');
  if (dash == std::string::npos || key.find('-', dash + 1) != std::string::npos) return nullptr;
  auto basic_of = [&](const std::string& part) -> std::string {
    for (const Emotion& e : emotions_) {
      if (e.kind != EmotionKind::Basic) continue;
      if (e.name == part || std::find(e.aliases.begin(), e.aliases.end(), part) != e.aliases.end()) return e.name;
    }
    for (const Emotion& c : emotions_) {  // adverbs: the first word of each compound name
      if (c.kind == EmotionKind::Compound && c.name.substr(0, c.name.find('-')) == part) return c.first;
    }
    return {};
  };
  const std::string x = basic_of(key.substr(0, dash)), y = basic_of(key.substr(dash + 1));
  if (x.empty() || y.empty()) return nullptr;
  for (const Emotion& c : emotions_) {
    if (c.kind == EmotionKind::Compound &&
        ((c.first == x && c.second == y) || (c.first == y && c.second == x))) {
      return &c;
    }
  }
  return nullptr;
}

std::vector<std::string> Atlas::suggest(std::string_view name, std::size_t count) const {
  const std::string key = normalise(name);
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const Emotion& e : emotions_) {
    std::size_t best = edit_distance(key, e.name);
    for (const std::string& a : e.aliases) best = std::min(best, edit_distance(key, a));
    scored.emplace_back(best, e.name);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& l, const auto& r) { return l.first < r.first; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < scored.size() && i < count; ++i) out.push_back(scored[i].second);
  return out;
}

const Emotion& Atlas::find(std::string_view name) const {
  if (const Emotion* e = try_find(name)) return *e;
  std::string list;
  for (const std::string& s : suggest(name)) list += (list.empty() ? "" : ", ") + s;
  throw Error(ErrorKind::InvalidArgument,
              "unknown emotion '" + std::string(name) + "'; closest valid names: " + list);
}

const Emotion& Atlas::nearest(AffectPoint p, Space space, bool include_compounds) const {
  require_finite(p, "point to name");
  const Emotion* best = nullptr;
  double best_d = std::numeric_limits<double>::infinity();
  for (const Emotion& e : emotions_) {
    if (!include_compounds && e.kind == EmotionKind::Compound) continue;
    const double d = distance(p, e.point(space), space);
    if (d < best_d) {
      best_d = d;
      best = &e;
    }
  }
  return *best;  // the atlas is never empty: parse() requires 'neutral'
}

AffectPoint Atlas::at_intensity(const Emotion& e, double intensity, Space space) const {
  require_range(intensity, 0.0, 1.0, "intensity");
  const AffectPoint p = e.point(space);
  if (radius(p, space) < 1e-12) return {};
  return intensity * direction(p, space);
}

}  // namespace circumplex
