// Fuzz target: what `circumplex study serve` does with a request (StudyApi::handle), HTTP
// framing aside. Input: "METHOD PATH[?QUERY]\n" then the body. Every input must get a reply
// with a status of 200-599 and, for errors, a JSON body with "error"; nothing may throw,
// crash or leak. The study is a small hand-made folder; the votes go to an in-memory SQLite
// database with one known rater ("fuzz-rater") so votes reach the store.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "study/study_api.hpp"

namespace {
using namespace circumplex::tools;

std::string make_study() {
  const auto dir = std::filesystem::temp_directory_path() / ("circumplex-fuzz-study-" + std::to_string(getpid()));
  nlohmann::json images = nlohmann::json::array();
  for (const std::string set : {"2d", "3d"}) {
    std::filesystem::create_directories(dir / set);
    for (int k = 1; k <= 2; ++k) {
      const std::string id = set + "-p1-00" + std::to_string(k);
      std::ofstream(dir / set / (id + ".png")) << "png bytes";
      images.push_back({{"id", id}, {"set", set}, {"part", 1}, {"file", set + "/" + id + ".png"}, {"point", {0.5, 0.1, 0.2}},
                        {"intensity", 0.55}, {"class", k == 1 ? "happy" : "sadly-angry"}});
    }
  }
  std::ofstream(dir / "study.json") << nlohmann::json{{"format", "circumplex-study"}, {"version", 1}, {"model", "fuzz"}, {"seed", 1},
                                                      {"parts", 1}, {"per_part", 2}, {"sets", {"2d", "3d"}}, {"images", images}}
                                           .dump();
  return dir.string();
}

/// The study and a fresh in-memory database, renewed every 20 000 inputs so the raters that
/// POST /api/raters adds do not grow without bound over a long run.
struct Fixture {
  std::string dir = make_study();
  Study study = load_study(dir);
  std::unique_ptr<StudyDb> db;
  std::unique_ptr<StudyApi> api;
  std::uint64_t inputs = 0;
  StudyApi& next() {
    if (inputs++ % 20000 == 0) {
      api.reset();
      db = std::make_unique<StudyDb>(":memory:");
      db->ensure_rater("fuzz-rater", "Fuzz", RaterKind::Human);
      api = std::make_unique<StudyApi>(study, *db, "fuzz-admin", "/nonexistent/three.min.js");
    }
    return *api;
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t eol = input.find('\n');
  const std::string line = input.substr(0, eol), body = eol == std::string::npos ? "" : input.substr(eol + 1);
  HttpRequest r;
  const std::size_t space = line.find(' ');
  r.method = line.substr(0, space);
  std::string target = space == std::string::npos ? "/" : line.substr(space + 1);
  const std::size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) {
    std::string query = target.substr(q + 1);
    std::size_t start = 0;
    while (start <= query.size()) {
      const std::size_t amp = std::min(query.find('&', start), query.size());
      const std::string pair = query.substr(start, amp - start);
      const std::size_t eq = pair.find('=');
      r.query.emplace(pair.substr(0, eq), eq == std::string::npos ? "" : pair.substr(eq + 1));
      start = amp + 1;
    }
  }
  r.body = body;
  const HttpReply reply = fixture.next().handle(r);
  if (reply.status < 200 || reply.status > 599) std::abort();
  if (reply.status >= 400 && !nlohmann::json::parse(reply.body).contains("error")) std::abort();
  return 0;
}
