#include "study_server.hpp"

// cpp-httplib listens with a backlog of 5: a class of raters opening the page at once would
// overflow it and wait on SYN retransmits (seconds each). Raised before the header reads it.
#define CPPHTTPLIB_LISTEN_BACKLOG 128
#include <httplib.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <random>
#include <thread>

#include "circumplex/error.hpp"
#include "study_api.hpp"

namespace circumplex::tools {

namespace {
std::atomic<bool> g_stop{false};
extern "C" void circumplex_study_on_signal(int) { g_stop.store(true); }

std::string random_admin_token() {
  std::random_device rd;
  char buf[33];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }
}  // namespace

int serve_study(const ServeOptions& opt) {
  StudyDb db(opt.db);
  const std::string admin = opt.admin.empty() ? random_admin_token() : opt.admin;
  StudyApi api(load_study(opt.study), db, admin, opt.three_js);

  httplib::Server server;
  // Enough workers that 20+ raters with keep-alive connections do not queue behind each other.
  server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  server.set_keep_alive_timeout(2);
  server.set_read_timeout(10);
  server.set_payload_max_length(StudyApi::kMaxBody);
  const auto handler = [&api](const httplib::Request& req, httplib::Response& res) {
    HttpRequest r{req.method, req.path, {}, req.body};
    for (const auto& [k, v] : req.params) r.query.emplace(k, v);
    const HttpReply reply = api.handle(r);
    res.status = reply.status;
    if (reply.status != 204) res.set_content(reply.body, reply.content_type.c_str());
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
  };
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Patch(".*", handler);
  server.Delete(".*", handler);
  // httplib's own refusals (413 body too large, 400 malformed request) also answer in JSON.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      const std::string why = res.status == 413 ? "the body is larger than " + std::to_string(StudyApi::kMaxBody) + " bytes" : "bad request";
      res.set_content("{\"error\":\"" + why + "\"}\n", "application/json");
    }
  });

  int port = opt.port;
  if (port == 0) {
    port = server.bind_to_any_port(opt.host);
    if (port < 0) throw Error(ErrorKind::Io, "cannot bind " + opt.host + " on any port");
  } else if (!server.bind_to_port(opt.host, port)) {
    throw Error(ErrorKind::Io, "cannot bind " + opt.host + ":" + std::to_string(port) + " (in use, or not an address of this machine)");
  }
  if (!is_loopback(opt.host)) {
    std::fprintf(stderr, "circumplex study serve: warning: listening on %s, not loopback: anyone who can reach this address can rate\n", opt.host.c_str());
  }
  std::printf("circumplex study serve: listening on http://%s:%d/ (study %s: %zu images; votes in %s)\nadmin token: %s\n", opt.host.c_str(), port,
              opt.study.c_str(), api.study().images.size(), opt.db.c_str(), admin.c_str());
  std::fflush(stdout);

  g_stop.store(false);
  std::signal(SIGINT, circumplex_study_on_signal);
  std::signal(SIGTERM, circumplex_study_on_signal);
  std::thread watcher([&server] {
    while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.stop();
  });
  const bool ok = server.listen_after_bind();
  g_stop.store(true);
  watcher.join();
  std::printf("circumplex study serve: stopped\n");
  return ok ? 0 : 1;
}

}  // namespace circumplex::tools
