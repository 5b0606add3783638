// tools/study/study_server.hpp — `circumplex study serve`: the rating pages over HTTP.
//
// cpp-httplib carries requests to StudyApi (study_api.hpp) on a pool of worker threads; votes
// go to SQLite (study_db.hpp) and are committed before the reply. The server binds 127.0.0.1
// unless told otherwise, prints one line with its address and the admin token (for
// /api/export.csv), and runs until SIGINT or SIGTERM.
#pragma once

#include <string>

namespace circumplex::tools {

struct ServeOptions {
  std::string study;  ///< the study folder (study.json)
  std::string db;     ///< the SQLite file (created when missing)
  std::string host = "127.0.0.1";
  int port = 8080;    ///< 0: any free port (the printed line says which)
  std::string three_js = "/usr/share/javascript/three/build/three.min.js";
  std::string admin;  ///< the admin token; empty: a random one
};

/// Serves until SIGINT/SIGTERM; returns the exit code. Throws circumplex::Error when the study,
/// the database or the address cannot be opened.
int serve_study(const ServeOptions& options);

}  // namespace circumplex::tools
