#include "study.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "circumplex/atlas.hpp"
#include "circumplex/error.hpp"
#include "circumplex/files.hpp"
#include "common/progress.hpp"
#include "plot/chart.hpp"
#include "plot/plot.hpp"
#include "render/render.hpp"

namespace circumplex::tools {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
constexpr int kMaxParts = 20, kMaxPerPart = 1000;
constexpr double kIntensities[] = {1.0, 0.8, 0.6};

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// Fisher–Yates with our own generator: the same order on every standard library.
void shuffle(std::vector<std::size_t>& v, std::uint64_t seed) {
  std::uint64_t state = seed;
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[splitmix(state) % i]);
}

/// The C2A2 class whose direction is nearest p's (largest cosine); neutral near the origin.
/// By direction, not distance: an image asked at intensity 1 is nearest its own class even
/// where a neighbour's atlas point lies farther out than the class's own.
const Emotion& nearest_c2a2(const Atlas& atlas, AffectPoint p, Space space) {
  const double r = std::sqrt(p.v * p.v + p.a * p.a + p.z * p.z);
  if (r < 0.05) return atlas.find("neutral");
  const Emotion* best = nullptr;
  double best_cos = -2.0;
  for (const Emotion& e : atlas.emotions()) {
    if (!e.in_c2a2 || e.name == "neutral") continue;
    const AffectPoint q = e.point(space);
    const double rq = std::sqrt(q.v * q.v + q.a * q.a + q.z * q.z);
    const double c = (p.v * q.v + p.a * q.a + p.z * q.z) / (r * rq);
    if (c > best_cos) best_cos = c, best = &e;
  }
  return *best;
}

std::string image_id(const std::string& set, int part, int position) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s-p%d-%03d", set.c_str(), part, position);
  return buf;
}

void write_contact_sheets(const Study& study) {
  for (const std::string& set : study.sets) {
    for (int part = 1; part <= study.parts; ++part) {
      std::vector<cv::Mat> cells;
      for (const StudyImage* im : study.select(set, part)) {
        const cv::Mat face = cv::imread((fs::path(study.dir) / im->file).string(), cv::IMREAD_COLOR);
        cv::Mat cell(face.rows + 34, std::max(face.cols, 128), CV_8UC3, cv::Scalar(252, 250, 248));
        face.copyTo(cell(cv::Rect((cell.cols - face.cols) / 2, 0, face.cols, face.rows)));
        plot::draw_text(cell, im->id.substr(im->id.find('-') + 1), {3, face.rows + 2}, 0.35, {110, 110, 110});
        plot::draw_text(cell, im->cls, {3, face.rows + 17}, 0.35, {40, 40, 40});
        cells.push_back(cell);
      }
      if (cells.empty()) continue;
      const cv::Mat sheet = plot::tile(cells, std::min<int>(9, static_cast<int>(cells.size())), 6, {252, 250, 248});
      cv::Mat page(sheet.rows + 40, sheet.cols, CV_8UC3, cv::Scalar(252, 250, 248));
      sheet.copyTo(page(cv::Rect(0, 40, sheet.cols, sheet.rows)));
      plot::draw_text(page, "circumplex study: set " + set + ", part " + std::to_string(part) + " (" + std::to_string(cells.size()) + " images)",
                      {8, 10}, 0.6, {40, 40, 40}, 2);
      plot::write_image_atomic((fs::path(study.dir) / ("contact_" + set + "_part" + std::to_string(part) + ".png")).string(), page);
    }
  }
}

json to_json(const Study& s) {
  json images = json::array();
  for (const StudyImage& im : s.images) {
    images.push_back({{"id", im.id}, {"set", im.set}, {"part", im.part}, {"file", im.file}, {"point", {im.point.v, im.point.a, im.point.z}},
                      {"intensity", im.intensity}, {"class", im.cls}, {"made_for", im.made_for}, {"identity_seed", im.identity_seed}});
  }
  return {{"format", "circumplex-study"}, {"version", 1}, {"model", s.model}, {"seed", s.seed}, {"parts", s.parts},
          {"per_part", s.per_part}, {"sets", s.sets}, {"images", images}};
}
}  // namespace

const StudyImage* Study::find(const std::string& id) const {
  for (const StudyImage& im : images) {
    if (im.id == id) return &im;
  }
  return nullptr;
}

std::vector<const StudyImage*> Study::select(const std::string& set, int part) const {
  std::vector<const StudyImage*> out;
  for (const StudyImage& im : images) {
    if (im.set == set && (part <= 0 || im.part == part)) out.push_back(&im);
  }
  return out;
}

std::vector<std::string> c2a2_classes() {
  std::vector<std::string> out;
  for (const Emotion& e : Atlas::builtin().emotions()) {
    if (e.in_c2a2) out.push_back(e.name);
  }
  return out;
}

Study make_study(const StudyMakeOptions& opt) {
  if (opt.parts < 1 || opt.parts > kMaxParts) throw Error(ErrorKind::InvalidArgument, "--parts must be 1.." + std::to_string(kMaxParts));
  if (opt.per_part < 1 || opt.per_part > kMaxPerPart) throw Error(ErrorKind::InvalidArgument, "--per-part must be 1.." + std::to_string(kMaxPerPart));
  if (opt.identities < 1 || opt.identities > 1000) throw Error(ErrorKind::InvalidArgument, "--identities must be 1..1000");
  RenderContext ctx(opt.model, opt.threads);
  const Atlas& atlas = Atlas::builtin();
  const std::vector<std::string> classes = c2a2_classes();
  Study study;
  study.dir = opt.out;
  study.model = opt.model;
  study.seed = opt.seed;
  study.parts = opt.parts;
  study.per_part = opt.per_part;
  study.sets = {"2d"};
  if (ctx.space() == Space::Ball) study.sets.push_back("3d");
  // Remove an earlier make's description first: until the new one is written, the folder is unfinished.
  fs::remove(fs::path(opt.out) / "study.json");

  // Round r of 20 images: every class once, with identity r mod K and intensity r mod 3.
  const std::size_t n = static_cast<std::size_t>(opt.parts) * static_cast<std::size_t>(opt.per_part);
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  shuffle(order, opt.seed);
  Progress bar("study make", n * study.sets.size(), "img");
  for (const std::string& set : study.sets) {
    const Space space = set == "3d" ? Space::Ball : Space::Plane;
    fs::create_directories(fs::path(opt.out) / set);
    std::vector<StudyImage> made(n);
    std::map<std::uint64_t, std::vector<std::size_t>> by_identity;
    for (std::size_t pos = 0; pos < n; ++pos) {
      const std::size_t i = order[pos], round = i / classes.size();
      StudyImage& im = made[pos];
      const Emotion& e = atlas.find(classes[i % classes.size()]);
      im.set = set;
      im.part = static_cast<int>(pos / static_cast<std::size_t>(opt.per_part)) + 1;
      im.id = image_id(set, im.part, static_cast<int>(pos % static_cast<std::size_t>(opt.per_part)) + 1);
      im.file = set + "/" + im.id + ".png";
      im.made_for = e.name;
      im.point = atlas.at_intensity(e, kIntensities[round % 3], space);
      im.intensity = std::sqrt(im.point.v * im.point.v + im.point.a * im.point.a + im.point.z * im.point.z);
      im.cls = nearest_c2a2(atlas, im.point, space).name;
      im.identity_seed = opt.seed * 1000 + round % static_cast<std::size_t>(opt.identities);
      by_identity[im.identity_seed].push_back(pos);
    }
    for (const auto& [seed, positions] : by_identity) {
      ctx.identity_from_seed(seed);
      std::vector<AffectPoint> points;
      for (std::size_t pos : positions) points.push_back(made[pos].point);
      const std::vector<cv::Mat> faces = ctx.faces(points);
      for (std::size_t k = 0; k < positions.size(); ++k) {
        plot::write_image_atomic((fs::path(opt.out) / made[positions[k]].file).string(), faces[k]);
        bar.advance();
      }
    }
    for (StudyImage& im : made) study.images.push_back(std::move(im));
  }
  bar.finish();
  write_contact_sheets(study);
  write_file_atomic((fs::path(opt.out) / "study.json").string(), to_json(study).dump(1) + "\n");
  return study;
}

Study load_study(const std::string& dir) {
  const std::string path = (fs::path(dir) / "study.json").string();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorKind::Io, path + ": cannot open (not a study folder, or `study make` did not finish; run `circumplex study make`)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > (64u << 20)) throw Error(ErrorKind::BadData, path + ": larger than the 64 MiB limit");
  Study s;
  s.dir = dir;
  try {
    const json j = json::parse(ss.str());
    if (j.value("format", "") != "circumplex-study") throw Error(ErrorKind::BadData, path + ": \"format\" is not \"circumplex-study\"");
    if (j.value("version", 0) != 1) throw Error(ErrorKind::BadData, path + ": unsupported \"version\" (this build reads 1)");
    s.model = j.at("model").get<std::string>();
    s.seed = j.at("seed").get<std::uint64_t>();
    s.parts = j.at("parts").get<int>();
    s.per_part = j.at("per_part").get<int>();
    s.sets = j.at("sets").get<std::vector<std::string>>();
    if (s.parts < 1 || s.parts > kMaxParts || s.per_part < 1 || s.per_part > kMaxPerPart) {
      throw Error(ErrorKind::BadData, path + ": parts/per_part outside 1.." + std::to_string(kMaxParts) + " / 1.." + std::to_string(kMaxPerPart));
    }
    for (const std::string& set : s.sets) {
      if (set != "2d" && set != "3d") throw Error(ErrorKind::BadData, path + ": unknown set \"" + set + "\" (2d or 3d)");
    }
    const json& images = j.at("images");
    if (!images.is_array() || images.size() > s.sets.size() * static_cast<std::size_t>(s.parts * s.per_part)) {
      throw Error(ErrorKind::BadData, path + ": \"images\" must be an array of at most sets × parts × per_part entries");
    }
    const std::vector<std::string> classes = c2a2_classes();
    std::set<std::string> ids;
    for (std::size_t k = 0; k < images.size(); ++k) {
      const json& e = images[k];
      const std::string where = path + ": images[" + std::to_string(k) + "]";
      StudyImage im;
      im.id = e.at("id").get<std::string>();
      im.set = e.at("set").get<std::string>();
      im.part = e.at("part").get<int>();
      im.file = e.at("file").get<std::string>();
      const auto p = e.at("point").get<std::vector<double>>();
      if (p.size() != 3) throw Error(ErrorKind::BadData, where + ": \"point\" must have 3 numbers");
      im.point = {p[0], p[1], p[2]};
      im.intensity = e.at("intensity").get<double>();
      im.cls = e.at("class").get<std::string>();
      im.made_for = e.value("made_for", im.cls);
      im.identity_seed = e.value("identity_seed", std::uint64_t{0});
      if (std::find(s.sets.begin(), s.sets.end(), im.set) == s.sets.end()) throw Error(ErrorKind::BadData, where + ": set \"" + im.set + "\" is not in \"sets\"");
      if (im.part < 1 || im.part > s.parts) throw Error(ErrorKind::BadData, where + ": part outside 1.." + std::to_string(s.parts));
      if (im.id.empty() || im.id.size() > 64 || im.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
        throw Error(ErrorKind::BadData, where + ": id must be 1-64 characters of a-z, 0-9 and '-'");
      }
      if (im.file != im.set + "/" + im.id + ".png") throw Error(ErrorKind::BadData, where + ": file must be \"" + im.set + "/" + im.id + ".png\"");
      if (std::find(classes.begin(), classes.end(), im.cls) == classes.end()) throw Error(ErrorKind::BadData, where + ": \"" + im.cls + "\" is not a C2A2 class");
      if (!fs::is_regular_file(fs::path(dir) / im.file)) throw Error(ErrorKind::BadData, where + ": image " + im.file + " is missing");
      if (!ids.insert(im.id).second) throw Error(ErrorKind::BadData, where + ": id " + im.id + " appears twice");
      s.images.push_back(std::move(im));
    }
  } catch (const json::exception& e) {
    throw Error(ErrorKind::BadData, path + ": " + e.what());
  }
  return s;
}

}  // namespace circumplex::tools
