#include "study_api.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "circumplex/error.hpp"
#include "common/csv.hpp"

namespace circumplex::generated {
extern const std::pair<std::string_view, std::string_view> kStudyWeb[];
extern const std::size_t kStudyWebCount;
}  // namespace circumplex::generated

namespace circumplex::tools {
using json = nlohmann::json;

namespace {
HttpReply reply_json(int status, const json& body) { return {status, "application/json", body.dump() + "\n"}; }
HttpReply error(int status, const std::string& message) { return reply_json(status, {{"error", message}}); }

/// The one value of a query parameter, or empty when absent.
std::string param(const HttpRequest& r, const std::string& key) {
  const auto it = r.query.find(key);
  return it == r.query.end() ? std::string() : it->second;
}

std::string content_type(const std::string& name) {
  auto ends = [&](const char* ext) { return name.size() >= std::strlen(ext) && name.compare(name.size() - std::strlen(ext), std::string::npos, ext) == 0; };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return !in.bad();
}

/// A JSON object body with exactly these fields (each present); else a 400 reply's message.
std::string parse_object(const std::string& body, const std::vector<std::string>& fields, json& out) {
  try {
    out = json::parse(body);
  } catch (const json::exception&) {
    return "the body is not valid JSON";
  }
  if (!out.is_object()) return "the body must be a JSON object";
  for (const auto& [key, value] : out.items()) {
    if (std::find(fields.begin(), fields.end(), key) == fields.end()) return "unknown field \"" + key + "\"";
  }
  for (const std::string& f : fields) {
    if (!out.contains(f)) return "missing field \"" + f + "\"";
  }
  return {};
}

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}
}  // namespace

StudyApi::StudyApi(Study study, StudyDb& db, std::string admin_token, const std::string& three_js)
    : study_(std::move(study)), db_(db), admin_(std::move(admin_token)) {
  for (const StudyImage& im : study_.images) by_file_[im.file] = &im;
  if (!read_file(three_js, three_js_)) three_js_.clear();
}

HttpReply StudyApi::handle(const HttpRequest& request) {
  try {
    if (request.body.size() > kMaxBody) return error(413, "the body is larger than " + std::to_string(kMaxBody) + " bytes");
    return route(request);
  } catch (const Error& e) {
    return error(500, e.what());
  } catch (const std::exception& e) {
    return error(500, std::string("unexpected failure: ") + e.what());
  }
}

HttpReply StudyApi::route(const HttpRequest& r) {
  const std::string& p = r.path;
  const bool get = r.method == "GET" || r.method == "HEAD", post = r.method == "POST";
  if (p == "/api/raters") return post ? add_rater(r) : error(405, "use POST for /api/raters");
  if (p == "/api/votes") return post ? vote(r) : error(405, "use POST for /api/votes");
  if (p == "/api/next") return get ? next(r) : error(405, "use GET for /api/next");
  if (p == "/api/progress") return get ? progress(r) : error(405, "use GET for /api/progress");
  if (p == "/api/export.csv") return get ? export_csv(r) : error(405, "use GET for /api/export.csv");
  if (p.rfind("/api/", 0) == 0) return error(404, "no API endpoint " + p);
  if (!get) return error(405, "only GET serves pages and images");
  if (p.find("..") != std::string::npos) return error(400, "paths with \"..\" are refused");
  if (p == "/vendor/three.min.js") {
    if (three_js_.empty()) return error(404, "three.js is not installed (Debian package libjs-three)");
    return {200, content_type(p), three_js_};
  }
  if (p.rfind("/images/", 0) == 0) return image(p.substr(8));
  const std::string name = p == "/" ? "index.html" : p.substr(1);
  for (std::size_t i = 0; i < generated::kStudyWebCount; ++i) {
    if (generated::kStudyWeb[i].first == name) return {200, content_type(name), std::string(generated::kStudyWeb[i].second)};
  }
  return error(404, "not found: " + p);
}

HttpReply StudyApi::image(const std::string& file) {
  const auto it = by_file_.find(file);
  if (it == by_file_.end()) return error(404, "no study image " + file);
  std::string bytes;
  if (!read_file(study_.dir + "/" + file, bytes)) return error(404, "the study image " + file + " cannot be read from " + study_.dir);
  return {200, "image/png", bytes};
}

HttpReply StudyApi::add_rater(const HttpRequest& r) {
  json j;
  if (const std::string bad = parse_object(r.body, {"name"}, j); !bad.empty()) return error(400, bad);
  if (!j["name"].is_string()) return error(400, "\"name\" must be a string");
  const std::string name = j["name"].get<std::string>();
  if (name.empty() || name.size() > 100) return error(400, "\"name\" must be 1-100 bytes");
  if (name.find_first_of(std::string("\0\r\n", 3)) != std::string::npos) return error(400, "\"name\" must not hold control characters");
  return reply_json(201, {{"rater", db_.add_rater(name, RaterKind::Human)}});
}

HttpReply StudyApi::next(const HttpRequest& r) {
  const std::string token = param(r, "rater"), set = param(r, "set"), part_text = param(r, "part");
  if (token.empty()) return error(400, "missing ?rater=TOKEN");
  if (std::find(study_.sets.begin(), study_.sets.end(), set) == study_.sets.end()) {
    return error(400, "?set= must be one of this study's sets (" + json(study_.sets).dump() + ")");
  }
  int part = 0;
  if (!part_text.empty()) {
    if (part_text.size() > 3 || part_text.find_first_not_of("0123456789") != std::string::npos) return error(400, "?part= must be a whole number");
    part = std::stoi(part_text);
    if (part < 1 || part > study_.parts) return error(400, "?part= must be 1.." + std::to_string(study_.parts));
  }
  if (!db_.rater(token)) return error(404, "unknown rater token");
  const std::vector<std::string> done = db_.rated(token);
  const std::set<std::string> rated(done.begin(), done.end());
  const StudyImage* best = nullptr;
  std::uint64_t best_key = 0;
  for (const StudyImage* im : study_.select(set, part)) {
    if (rated.count(im->id)) continue;
    const std::uint64_t key = fnv1a(token + ":" + im->id);
    if (!best || key < best_key) best = im, best_key = key;
  }
  if (!best) return {204, "application/json", ""};
  return reply_json(200, {{"image", best->id}, {"url", "/images/" + best->file}, {"point", {best->point.v, best->point.a, best->point.z}},
                          {"class", best->cls}, {"part", best->part}, {"set", best->set}});
}

HttpReply StudyApi::vote(const HttpRequest& r) {
  json j;
  if (const std::string bad = parse_object(r.body, {"rater", "image", "score"}, j); !bad.empty()) return error(400, bad);
  if (!j["rater"].is_string() || !j["image"].is_string()) return error(400, "\"rater\" and \"image\" must be strings");
  if (!j["score"].is_number_integer()) return error(400, "\"score\" must be a whole number 1-5");
  const std::int64_t score = j["score"].get<std::int64_t>();
  if (score < 1 || score > 5) return error(400, "\"score\" must be 1-5 (got " + std::to_string(score) + ")");
  const std::string image = j["image"].get<std::string>();
  if (!study_.find(image)) return error(404, "unknown image \"" + image.substr(0, 64) + "\"");
  switch (db_.vote(j["rater"].get<std::string>(), image, static_cast<int>(score))) {
    case VoteResult::Stored: return reply_json(201, {{"stored", true}});
    case VoteResult::Duplicate: return error(409, "this rater has already rated " + image);
    case VoteResult::UnknownRater: break;
  }
  return error(404, "unknown rater token");
}

HttpReply StudyApi::progress(const HttpRequest& r) {
  const std::string token = param(r, "rater");
  if (token.empty()) return error(400, "missing ?rater=TOKEN");
  const auto rater = db_.rater(token);
  if (!rater) return error(404, "unknown rater token");
  const std::vector<std::string> done = db_.rated(token);
  const std::set<std::string> rated(done.begin(), done.end());
  json sets = json::object();
  for (const std::string& set : study_.sets) {
    json parts = json::array();
    int all_rated = 0, all_total = 0;
    for (int part = 1; part <= study_.parts; ++part) {
      int n = 0, total = 0;
      for (const StudyImage* im : study_.select(set, part)) n += rated.count(im->id) ? 1 : 0, ++total;
      parts.push_back({{"part", part}, {"rated", n}, {"total", total}});
      all_rated += n, all_total += total;
    }
    sets[set] = {{"rated", all_rated}, {"total", all_total}, {"parts", parts}};
  }
  return reply_json(200, {{"rater", token}, {"name", rater->name}, {"sets", sets}});
}

HttpReply StudyApi::export_csv(const HttpRequest& r) {
  if (admin_.empty() || param(r, "admin") != admin_) return error(403, "the export needs ?admin= with the token the server printed at start");
  // Raters are numbered in the order they joined; tokens are never exported.
  std::map<std::string, std::pair<int, Rater>> raters;
  int k = 0;
  for (const Rater& rt : db_.raters()) raters[rt.token] = {++k, rt};
  std::string csv = "rater,rater_name,rater_kind,image,set,part,class,v,a,z,intensity,score,at\r\n";
  for (const Vote& v : db_.votes()) {
    const StudyImage* im = study_.find(v.image);
    const auto& [number, rt] = raters.at(v.rater);
    csv += csv_join({std::to_string(number), rt.name, rt.kind == RaterKind::Judge ? "judge" : "human", v.image, im ? im->set : "",
                     im ? std::to_string(im->part) : "", im ? im->cls : "", im ? json(im->point.v).dump() : "", im ? json(im->point.a).dump() : "",
                     im ? json(im->point.z).dump() : "", im ? json(im->intensity).dump() : "", std::to_string(v.score), v.at}) +
           "\r\n";
  }
  return {200, "text/csv; charset=utf-8", csv};
}

}  // namespace circumplex::tools
