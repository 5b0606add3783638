// tools/study/study_api.hpp — what `circumplex study serve` answers, apart from HTTP itself.
//
// StudyApi maps one request (method, path, query, body) to one reply. It holds no socket, so
// tests and the fuzzer call it directly; study_server.cpp only moves bytes to and from it.
//
// Pages (embedded in the binary from tools/study/web/):
//   GET /  /index.html  /2d.html  /3d.html  /study.js  /study.css
//   GET /vendor/three.min.js          Debian's three.js (libjs-three), read once at start
//   GET /images/<set>/<id>.png        only files that study.json lists (no path is ever
//                                     joined from the request, so "..", "%2e%2e" or an
//                                     absolute path reach nothing)
// JSON API (every error is 4xx with {"error": "..."}):
//   POST /api/raters   {"name"}                    → 201 {"rater": TOKEN}
//   GET  /api/next?rater=T&set=2d|3d[&part=K]     → 200 {"image","url","point","class","part","set"} | 204
//   POST /api/votes    {"rater","image","score"}   → 201 {"stored": true}; 409 twice; 400 bad score; 404 unknown
//   GET  /api/progress?rater=T                     → 200 {"rater","name","sets":{set:{"rated","total","parts":[…]}}}
//   GET  /api/export.csv?admin=ADMIN               → 200 CSV of every vote; 403 without the admin token
// A rater only ever sees their own progress; images come in an order of their own (a hash of
// token and image), so raters do not all see the same sequence, and a returning rater resumes.
#pragma once

#include <map>
#include <string>

#include "study.hpp"
#include "study_db.hpp"

namespace circumplex::tools {

struct HttpRequest {
  std::string method;  ///< "GET", "POST", …
  std::string path;    ///< decoded path, without the query
  std::multimap<std::string, std::string> query;
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class StudyApi {
 public:
  /// Largest request body accepted (larger bodies get 413 before they are read).
  static constexpr std::size_t kMaxBody = 64 * 1024;

  /// `three_js` is the path of three.min.js (a missing file gives 404 on /vendor/three.min.js).
  StudyApi(Study study, StudyDb& db, std::string admin_token, const std::string& three_js);

  /// Never throws for bad input: bad requests get a 4xx reply; a database failure is a 500
  /// whose message names the file.
  HttpReply handle(const HttpRequest& request);

  const Study& study() const { return study_; }

 private:
  HttpReply route(const HttpRequest& request);
  HttpReply add_rater(const HttpRequest& request);
  HttpReply next(const HttpRequest& request);
  HttpReply vote(const HttpRequest& request);
  HttpReply progress(const HttpRequest& request);
  HttpReply export_csv(const HttpRequest& request);
  HttpReply image(const std::string& path);

  Study study_;
  StudyDb& db_;
  std::string admin_, three_js_;
  std::map<std::string, const StudyImage*> by_file_;
};

}  // namespace circumplex::tools
