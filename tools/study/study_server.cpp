#include "study_server.hpp"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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

// Debian's cpp-httplib is a compiled library that listens with a backlog of 5. A class of
// raters opening the page at once overflows that queue, and with SYN cookies the kernel then
// resets some of their connections (CI saw "Connection reset by peer" for 2 of 20 raters).
// httplib does not hand out its socket, so the listening socket bound to `port` is found
// among this process's descriptors and listen() is called again with a larger backlog (Linux
// updates the backlog of a socket already listening). False when none was found.
bool raise_listen_backlog(int port, int backlog) {
  bool raised = false;
  for (int fd = 0; fd < 1024; ++fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_storage addr{};
    socklen_t alen = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) continue;
    const int bound = addr.ss_family == AF_INET    ? ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port)
                      : addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                                   : -1;
    if (bound == port && ::listen(fd, backlog) == 0) raised = true;
  }
  return raised;
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
  if (!raise_listen_backlog(port, 256)) {
    std::fprintf(stderr, "circumplex study serve: warning: could not raise the listen backlog above cpp-httplib's 5; many raters joining at once may see resets\n");
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
