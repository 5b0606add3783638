// The rating study (tools/study): Krippendorff's α on a textbook case, the judge's score
// mapping, every API case of StudyApi on a hand-made study (no HTTP: the server only carries
// bytes to StudyApi::handle), the SQLite store across reopening, study.json validation, and
// `study report` on a planted database whose table is known. The HTTP server itself, 20
// concurrent raters, kill -9 and a real browser are in test_study_server.py.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "circumplex/assets.hpp"
#include "circumplex/error.hpp"
#include "study/study.hpp"
#include "study/study_api.hpp"
#include "study/study_db.hpp"
#include "study/study_report.hpp"
#include "test_support.hpp"

using namespace circumplex;
using namespace circumplex::tools;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {
/// A study folder written by hand: sets 2d and 3d, 2 parts of 2 images each (8 images), with
/// classes chosen for the report test.
std::string make_study_dir(const std::string& name) {
  const fs::path dir = fresh_dir("study/" + name);
  const std::vector<std::pair<std::string, std::string>> classes = {{"happy", "sad"}, {"happily-sad", "happy"}};
  json images = json::array();
  for (const std::string set : {"2d", "3d"}) {
    fs::create_directories(dir / set);
    for (int part = 1; part <= 2; ++part) {
      for (int k = 1; k <= 2; ++k) {
        const std::string id = set + "-p" + std::to_string(part) + "-00" + std::to_string(k);
        const std::string cls = k == 1 ? classes[static_cast<std::size_t>(part - 1)].first : classes[static_cast<std::size_t>(part - 1)].second;
        cv::imwrite((dir / set / (id + ".png")).string(), cv::Mat(8, 8, CV_8UC3, cv::Scalar(10 * part, 20 * k, set == "3d" ? 200 : 100)));
        images.push_back({{"id", id}, {"set", set}, {"part", part}, {"file", set + "/" + id + ".png"}, {"point", {0.5, 0.5, set == "3d" ? 0.3 : 0.0}},
                          {"intensity", 0.77}, {"class", cls}, {"made_for", cls}, {"identity_seed", 7}});
      }
    }
  }
  const json study = {{"format", "circumplex-study"}, {"version", 1}, {"model", "hand-made"}, {"seed", 1}, {"parts", 2},
                      {"per_part", 2}, {"sets", {"2d", "3d"}}, {"images", images}};
  std::ofstream(dir / "study.json") << study.dump(1);
  return dir.string();
}

HttpReply call(StudyApi& api, const std::string& method, const std::string& path, const std::string& body = "",
               std::multimap<std::string, std::string> query = {}) {
  return api.handle({method, path, std::move(query), body});
}

std::string new_rater(StudyApi& api, const std::string& name) {
  const HttpReply r = call(api, "POST", "/api/raters", json{{"name", name}}.dump());
  REQUIRE(r.status == 201);
  return json::parse(r.body).at("rater").get<std::string>();
}

HttpReply vote(StudyApi& api, const std::string& rater, const std::string& image, const json& score) {
  return call(api, "POST", "/api/votes", json{{"rater", rater}, {"image", image}, {"score", score}}.dump());
}

std::string error_of(const HttpReply& r) { return json::parse(r.body).at("error").get<std::string>(); }
}  // namespace

TEST_CASE("Krippendorff's alpha (interval) reproduces Krippendorff's own worked example: 0.849") {
  // Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units,
  // values 1-5 with missing entries; α_interval = 0.849.
  const std::vector<std::vector<double>> units = {{1, 1, 1}, {2, 2, 3, 2}, {3, 3, 3, 3}, {3, 3, 3, 3}, {2, 2, 2, 2}, {1, 2, 3, 4},
                                                  {4, 4, 4, 4}, {1, 1, 2, 1}, {2, 2, 2, 2}, {5, 5, 5}, {1, 1}, {3}};
  CHECK(krippendorff_alpha_interval(units) == doctest::Approx(0.849).epsilon(0.0005));
  CHECK(krippendorff_alpha_interval({{1, 1}, {5, 5}, {3, 3}}) == doctest::Approx(1.0));
  CHECK(std::isnan(krippendorff_alpha_interval({{1}, {5}, {3}})));     // one rater: nothing pairable
  CHECK(std::isnan(krippendorff_alpha_interval({{4, 4}, {4, 4}})));    // no variation at all
  CHECK(krippendorff_alpha_interval({{1, 5}, {5, 1}, {3, 3}}) < 0.0);  // systematic disagreement
}

TEST_CASE("the judge's score falls one step per 0.25 of distance from the asked point") {
  CHECK(judge_score(0.0) == 5);
  CHECK(judge_score(0.12) == 5);
  CHECK(judge_score(0.13) == 4);
  CHECK(judge_score(0.5) == 3);
  CHECK(judge_score(0.86) == 2);
  CHECK(judge_score(0.9) == 1);
  CHECK(judge_score(3.0) == 1);
}

TEST_CASE("raters: a name gets a token, bad bodies get 400 with a JSON error and store nothing") {
  const std::string dir = make_study_dir("raters");
  StudyDb db(dir + "/votes.sqlite");
  StudyApi api(load_study(dir), db, "admin-secret", "/nonexistent/three.min.js");
  const std::string token = new_rater(api, "Ada");
  CHECK(token.size() == 32);
  CHECK(new_rater(api, "Ada") != token);  // same name, another rater
  for (const std::string& body : {std::string("{"), std::string("[1,2]"), std::string("{}"), std::string(R"({"name": 3})"),
                                  std::string(R"({"name": ""})"), std::string(R"({"name": "x", "admin": true})"), std::string(R"({"name": "a\nb"})"),
                                  json{{"name", std::string(101, 'x')}}.dump()}) {
    const HttpReply r = call(api, "POST", "/api/raters", body);
    CAPTURE(body);
    CHECK(r.status == 400);
    CHECK(!error_of(r).empty());
  }
  CHECK(call(api, "POST", "/api/raters", std::string(StudyApi::kMaxBody + 1, ' ')).status == 413);
  CHECK(call(api, "GET", "/api/raters").status == 405);
  // SQL in a string is a name like any other: stored verbatim, the tables intact.
  const std::string sql = "Robert'); DROP TABLE votes; --";
  const std::string bobby = new_rater(api, sql);
  CHECK(db.rater(bobby)->name == sql);
  CHECK(vote(api, bobby, "2d-p1-001", 3).status == 201);
  CHECK(db.raters().size() == 3);
}

TEST_CASE("next and votes: each image once per rater, 409 on a second vote, 400/404 for bad input, 204 at the end") {
  const std::string dir = make_study_dir("votes");
  StudyDb db(dir + "/votes.sqlite");
  StudyApi api(load_study(dir), db, "admin-secret", "/nonexistent/three.min.js");
  const std::string ada = new_rater(api, "Ada");
  // Bad queries.
  CHECK(call(api, "GET", "/api/next", "", {{"set", "2d"}}).status == 400);
  CHECK(call(api, "GET", "/api/next", "", {{"rater", ada}, {"set", "4d"}}).status == 400);
  CHECK(call(api, "GET", "/api/next", "", {{"rater", ada}, {"set", "2d"}, {"part", "3"}}).status == 400);
  CHECK(call(api, "GET", "/api/next", "", {{"rater", ada}, {"set", "2d"}, {"part", "1; DROP"}}).status == 400);
  CHECK(call(api, "GET", "/api/next", "", {{"rater", "nobody"}, {"set", "2d"}}).status == 404);
  // Part 1 of the 2d set: two images, then 204; the image is served as the PNG on disk.
  std::set<std::string> seen;
  for (int k = 0; k < 2; ++k) {
    const HttpReply r = call(api, "GET", "/api/next", "", {{"rater", ada}, {"set", "2d"}, {"part", "1"}});
    REQUIRE(r.status == 200);
    const json j = json::parse(r.body);
    CHECK(j.at("set") == "2d");
    CHECK(j.at("part") == 1);
    CHECK(j.at("point").size() == 3);
    CHECK(!j.at("class").get<std::string>().empty());
    const std::string id = j.at("image");
    CHECK(seen.insert(id).second);
    const HttpReply png = call(api, "GET", j.at("url").get<std::string>());
    CHECK(png.status == 200);
    CHECK(png.content_type == "image/png");
    std::ifstream f(dir + "/2d/" + id + ".png", std::ios::binary);
    CHECK(png.body == std::string(std::istreambuf_iterator<char>(f), {}));
    // Bad votes change nothing.
    CHECK(vote(api, ada, id, 0).status == 400);
    CHECK(vote(api, ada, id, 6).status == 400);
    CHECK(vote(api, ada, id, 3.5).status == 400);
    CHECK(vote(api, ada, id, "4").status == 400);
    CHECK(vote(api, ada, id, nullptr).status == 400);
    CHECK(vote(api, "nobody", id, 4).status == 404);
    CHECK(vote(api, ada, "2d-p9-001", 4).status == 404);
    CHECK(call(api, "POST", "/api/votes", json{{"rater", ada}, {"image", id}, {"score", 4}, {"extra", 1}}.dump()).status == 400);
    CHECK(call(api, "POST", "/api/votes", "not json").status == 400);
    CHECK(db.rated(ada).size() == static_cast<std::size_t>(k));
    CHECK(vote(api, ada, id, 4).status == 201);
    const HttpReply again = vote(api, ada, id, 5);
    CHECK(again.status == 409);
    CHECK(error_of(again).find(id) != std::string::npos);
  }
  CHECK(call(api, "GET", "/api/next", "", {{"rater", ada}, {"set", "2d"}, {"part", "1"}}).status == 204);
  CHECK(call(api, "GET", "/api/next", "", {{"rater", ada}, {"set", "2d"}}).status == 200);  // part 2 is left
  CHECK(db.votes().size() == 2);
  CHECK(db.votes()[0].score == 4);
}

TEST_CASE("progress shows only the rater's own votes, the export needs the admin token and holds no tokens") {
  const std::string dir = make_study_dir("progress");
  StudyDb db(dir + "/votes.sqlite");
  StudyApi api(load_study(dir), db, "admin-secret", "/nonexistent/three.min.js");
  const std::string ada = new_rater(api, "Ada"), bo = new_rater(api, "Bo");
  REQUIRE(vote(api, ada, "2d-p1-001", 5).status == 201);
  REQUIRE(vote(api, ada, "3d-p2-002", 2).status == 201);
  REQUIRE(vote(api, bo, "2d-p1-002", 1).status == 201);
  const json p = json::parse(call(api, "GET", "/api/progress", "", {{"rater", ada}}).body);
  CHECK(p.at("name") == "Ada");
  CHECK(p.at("sets").at("2d").at("rated") == 1);
  CHECK(p.at("sets").at("2d").at("total") == 4);
  CHECK(p.at("sets").at("2d").at("parts")[0].at("rated") == 1);
  CHECK(p.at("sets").at("3d").at("parts")[1].at("rated") == 1);
  CHECK(p.dump().find("Bo") == std::string::npos);
  CHECK(call(api, "GET", "/api/progress", "", {{"rater", "nobody"}}).status == 404);
  CHECK(call(api, "GET", "/api/export.csv").status == 403);
  CHECK(call(api, "GET", "/api/export.csv", "", {{"admin", "guess"}}).status == 403);
  const HttpReply csv = call(api, "GET", "/api/export.csv", "", {{"admin", "admin-secret"}});
  REQUIRE(csv.status == 200);
  CHECK(csv.content_type.rfind("text/csv", 0) == 0);
  CHECK(std::count(csv.body.begin(), csv.body.end(), '\n') == 4);  // header + 3 votes
  CHECK(csv.body.find("3d-p2-002") != std::string::npos);
  CHECK(csv.body.find(ada) == std::string::npos);
  CHECK(csv.body.find(bo) == std::string::npos);
}

TEST_CASE("static files: the pages, nothing outside the study's images, no path tricks") {
  const std::string dir = make_study_dir("static");
  StudyDb db(dir + "/votes.sqlite");
  StudyApi api(load_study(dir), db, "admin-secret", "/nonexistent/three.min.js");
  const HttpReply index = call(api, "GET", "/");
  CHECK(index.status == 200);
  CHECK(index.content_type.rfind("text/html", 0) == 0);
  CHECK(call(api, "GET", "/2d.html").status == 200);
  CHECK(call(api, "GET", "/3d.html").status == 200);
  CHECK(call(api, "GET", "/study.js").content_type.rfind("text/javascript", 0) == 0);
  CHECK(call(api, "GET", "/study.css").content_type.rfind("text/css", 0) == 0);
  CHECK(call(api, "GET", "/vendor/three.min.js").status == 404);  // missing file → a clear 404
  for (const std::string& path : {"/../study.json", "/images/../study.json", "/images/2d/../../study.json", "/images/..%2fstudy.json"}) {
    CAPTURE(path);
    const HttpReply r = call(api, "GET", path);
    CHECK(r.status >= 400);
    CHECK(r.status < 500);
    CHECK(!error_of(r).empty());
  }
  CHECK(call(api, "GET", "/study.json").status == 404);
  CHECK(call(api, "GET", "/votes.sqlite").status == 404);
  CHECK(call(api, "GET", "/images/2d/2d-p1-009.png").status == 404);
  CHECK(call(api, "GET", "/images//etc/passwd").status == 404);
  CHECK(call(api, "DELETE", "/api/votes").status == 405);
  CHECK(call(api, "POST", "/index.html").status == 405);
  CHECK(call(api, "GET", "/api/nothing").status == 404);
}

TEST_CASE("votes survive closing and reopening the database, a rater votes once even across connections") {
  const std::string dir = make_study_dir("reopen");
  std::string token;
  {
    StudyDb db(dir + "/votes.sqlite");
    token = db.add_rater("Ada", RaterKind::Human);
    CHECK(db.vote(token, "2d-p1-001", 4) == VoteResult::Stored);
  }
  StudyDb a(dir + "/votes.sqlite"), b(dir + "/votes.sqlite");
  CHECK(a.votes().size() == 1);
  CHECK(b.vote(token, "2d-p1-001", 2) == VoteResult::Duplicate);
  CHECK(a.vote("nobody", "2d-p1-002", 2) == VoteResult::UnknownRater);
  CHECK(b.vote(token, "2d-p1-002", 2) == VoteResult::Stored);
  CHECK(a.rated(token).size() == 2);
  CHECK_FALSE(a.ensure_rater(token, "again", RaterKind::Judge));
  CHECK_THROWS_AS(StudyDb(dir + "/no/such/folder/votes.sqlite"), Error);
}

TEST_CASE("study.json is checked: a clear error names the file and the entry") {
  const std::string dir = make_study_dir("bad");
  CHECK_THROWS_WITH_AS(load_study(dir + "/missing"), doctest::Contains("study.json: cannot open"), Error);
  auto broken = [&](const std::function<void(json&)>& edit) {
    json j = json::parse(std::ifstream(dir + "/study.json"));
    edit(j);
    const std::string bad = fresh_dir("study/bad-copy").string();
    fs::copy(dir, bad, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    std::ofstream(bad + "/study.json") << j.dump();
    try {
      load_study(bad);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(broken([](json& j) { j["images"][1]["class"] = "grumpy"; }).find("images[1]: \"grumpy\" is not a C2A2 class") != std::string::npos);
  CHECK(broken([](json& j) { j["images"][2]["file"] = "../../etc/passwd"; }).find("images[2]: file must be") != std::string::npos);
  CHECK(broken([](json& j) { j["images"][3]["id"] = "2d-p1-001"; }).find("images[3]") != std::string::npos);
  CHECK(broken([](json& j) { j["images"][0]["part"] = 9; }).find("images[0]: part outside") != std::string::npos);
  CHECK(broken([](json& j) { j["images"][0]["point"] = "up"; }).find("study.json") != std::string::npos);
  CHECK(broken([](json& j) { j["parts"] = 100000; }).find("outside") != std::string::npos);
  CHECK(broken([](json& j) { j["format"] = "other"; }).find("\"format\"") != std::string::npos);
  CHECK(broken([](json&) {}) == "no error");
}

TEST_CASE("study report on a planted database: the known Table 1, counts, alpha and files") {
  const std::string dir = make_study_dir("report");
  const std::string db_path = dir + "/votes.sqlite";
  {
    StudyDb db(db_path);
    // Part 1: 001 happy, 002 sad; part 2: 001 happily-sad, 002 happy. Two humans and the judge.
    const std::string a = db.add_rater("A", RaterKind::Human), b = db.add_rater("B", RaterKind::Human);
    db.ensure_rater("judge:0", "judge", RaterKind::Judge);
    const std::vector<std::tuple<std::string, std::string, int>> votes = {
        {a, "2d-p1-001", 5}, {b, "2d-p1-001", 4}, {a, "2d-p2-002", 3}, {b, "2d-p2-002", 4},  // 2d happy: 5 4 3 4 → 4.00
        {a, "2d-p1-002", 2}, {b, "2d-p1-002", 2},                                            // 2d sad: 2.00
        {a, "2d-p2-001", 1}, {b, "2d-p2-001", 2},                                            // 2d happily-sad: 1.50
        {a, "3d-p1-001", 3}, {b, "3d-p1-001", 3}, {a, "3d-p2-002", 4}, {b, "3d-p2-002", 4},  // 3d happy: 3.50
        {a, "3d-p2-001", 5}, {b, "3d-p2-001", 4},                                            // 3d happily-sad: 4.50
        {"judge:0", "2d-p1-001", 1}, {"judge:0", "3d-p1-001", 1}};
    for (const auto& [who, image, score] : votes) REQUIRE(db.vote(who, image, score) == VoteResult::Stored);
  }
  const std::string out = fresh_dir("study/report-out").string();
  const StudyReport r = report_study({dir, db_path, out, "humans"});
  REQUIRE(r.rows.size() == 20);
  auto row = [&](const std::string& cls) {
    for (const StudyClassRow& x : r.rows) {
      if (x.cls == cls) return x;
    }
    FAIL("no row " << cls);
    return StudyClassRow{};
  };
  CHECK(row("happy").mean[0] == doctest::Approx(4.0));
  CHECK(row("happy").mean[1] == doctest::Approx(3.5));
  CHECK(row("happy").votes[0] == 4);
  CHECK(row("sad").mean[0] == doctest::Approx(2.0));
  CHECK(row("sad").votes[1] == 0);
  CHECK(std::isnan(row("sad").mean[1]));
  CHECK(row("happily-sad").mean[0] == doctest::Approx(1.5));
  CHECK(row("happily-sad").mean[1] == doctest::Approx(4.5));
  CHECK(*row("happily-sad").c2a2[1] == doctest::Approx(4.18));
  CHECK(r.votes[0] == 8);
  CHECK(r.votes[1] == 6);
  CHECK(r.overall[0] == doctest::Approx(23.0 / 8));
  CHECK(r.raters == 2);
  // α (interval) of the 2d set's four images, each rated by A and B: {5,4} {3,4} {2,2} {1,2}.
  CHECK(r.alpha[0] == doctest::Approx(krippendorff_alpha_interval({{5, 4}, {3, 4}, {2, 2}, {1, 2}})));
  CHECK(r.alpha[0] > 0.6);
  const std::string md = read_text_file(out + "/report.md");
  CHECK(md.find("| happily-sad | 1.50 (2) | **4.50** (2) | 3.12 | 4.18 |") != std::string::npos);
  CHECK(md.find("| happy | **4.00** (4) | 3.50 (4) | 4.28 | 3.90 |") != std::string::npos);
  CHECK(read_text_file(out + "/report.csv").find("happily-sad,1.500,2,4.500,2,3D,3.12,4.18") != std::string::npos);
  CHECK(json::parse(read_text_file(out + "/report.json")).at("votes").at("2d") == 8);
  CHECK(cv::imread(out + "/by_class.png").cols > 400);
  // The judge alone, and everyone.
  CHECK(report_study({dir, db_path, out, "judge"}).votes[0] == 1);
  CHECK(report_study({dir, db_path, out, "all"}).votes[0] == 9);
  CHECK_THROWS_AS(report_study({dir, db_path, out, "robots"}), Error);
}
