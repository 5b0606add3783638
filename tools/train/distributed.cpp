#include "distributed.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <thread>

#include "circumplex/error.hpp"
#include "circumplex/torch_compat.hpp"

#if CIRCUMPLEX_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if CIRCUMPLEX_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

// The c10d class a concrete process group (ProcessGroupGloo, ProcessGroupNCCL) derives from
// and whose allreduce/broadcast/barrier training calls: ProcessGroup in LibTorch 1.x, Backend
// in 2.x (the one LibTorch difference outside circumplex/torch_compat.hpp).
namespace c10d {
class ProcessGroup;
class Backend;
}  // namespace c10d
namespace circumplex::torch_compat {
#if TORCH_VERSION_MAJOR >= 2
using C10dBackend = ::c10d::Backend;
#else
using C10dBackend = ::c10d::ProcessGroup;
#endif
}  // namespace circumplex::torch_compat

namespace circumplex::tools::dist {

namespace {

Error invalid(const std::string& message) { return Error(ErrorKind::InvalidArgument, message); }

int env_int(const char* name, int fallback, int lo, int hi) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* stop = nullptr;
  errno = 0;
  const long v = std::strtol(text, &stop, 10);
  if (*stop != '\0' || errno != 0 || v < lo || v > hi) {
    throw invalid(std::string("environment variable ") + name + "='" + text + "' must be an integer in " + std::to_string(lo) +
                  ".." + std::to_string(hi));
  }
  return static_cast<int>(v);
}

/// The message of an exception from c10d, without LibTorch's C++ backtrace.
std::string message_of(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

std::string message_of(std::exception_ptr p) {
  try {
    std::rethrow_exception(p);
  } catch (const std::exception& e) {
    return message_of(e);
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

void read_environment(DistOptions& o) {
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) o.master_addr = addr;
  o.master_port = env_int("MASTER_PORT", o.master_port, 1, 65535);
  o.world = env_int("WORLD_SIZE", o.world, 1, 1 << 20);
  o.rank = env_int("RANK", o.rank, 0, (1 << 20) - 1);
  o.local_rank = env_int("LOCAL_RANK", o.local_rank, 0, (1 << 20) - 1);
}

void validate(const DistOptions& o) {
  if (o.world < 1) throw invalid("--world-size must be >= 1, got " + std::to_string(o.world));
  if (o.rank < 0 || o.rank >= o.world) {
    throw invalid("--rank (RANK) must be in 0.." + std::to_string(o.world - 1) + " for --world-size (WORLD_SIZE) " +
                  std::to_string(o.world) + ", got " + std::to_string(o.rank));
  }
  if (o.local_rank < 0) throw invalid("--local-rank (LOCAL_RANK) must be >= 0");
  if (o.master_addr.empty()) throw invalid("--master-addr (MASTER_ADDR) must not be empty");
  if (o.master_port < 1 || o.master_port > 65535) throw invalid("--master-port (MASTER_PORT) must be in 1..65535");
  if (!(o.timeout_seconds > 0)) throw invalid("--dist-timeout must be > 0 seconds");
  if (o.backend != "gloo" && o.backend != "nccl") throw invalid("--backend must be gloo or nccl, got '" + o.backend + "'");
  if (o.enabled() && !backend_available(o.backend)) {
    throw invalid("--backend " + o.backend + " is not available in this build (LibTorch " + torch_compat::version() +
                  (o.backend == "nccl" ? ", NCCL needs a CUDA LibTorch" : ", Gloo needs Gloo's headers: libgloo-dev") + ")");
  }
}

bool backend_available(const std::string& backend) {
  if (backend == "gloo") return CIRCUMPLEX_HAVE_GLOO != 0;
  if (backend == "nccl") return CIRCUMPLEX_HAVE_NCCL != 0 && torch_compat::cuda_available();
  return false;
}

// --- Sharding -----------------------------------------------------------------------------

std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b) {
  std::uint64_t x = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL + (a << 6) + (a >> 2));
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ULL;
  return x ^ (x >> 29);
}

std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, int epoch) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(mix_seed(seed, static_cast<std::uint64_t>(epoch)));
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

std::pair<std::int64_t, std::int64_t> rank_share(std::int64_t count, int rank, int world) {
  if (world < 1 || rank < 0 || rank >= world || count < 0) {
    throw Error(ErrorKind::Internal, "rank_share: rank " + std::to_string(rank) + " of " + std::to_string(world));
  }
  return {count * rank / world, count * (rank + 1) / world};
}

StepSlice step_slice(const std::vector<std::int64_t>& order, std::int64_t batch, std::int64_t step, int rank, int world) {
  const auto n = static_cast<std::int64_t>(order.size());
  const std::int64_t lo = step * batch;
  StepSlice s;
  s.count = std::max<std::int64_t>(0, std::min(batch, n - lo));
  const auto [begin, end] = rank_share(s.count, rank, world);
  s.first = begin;
  s.images.assign(order.begin() + lo + begin, order.begin() + lo + end);
  return s;
}

// --- Process group --------------------------------------------------------------------------

#if CIRCUMPLEX_HAVE_GLOO
namespace {

/// This machine's address on the route to `host` (the interface Gloo should listen on), or
/// "" when it cannot be found.
std::string local_address_towards(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found) return "";
  std::string address;
  for (addrinfo* a = found; a && address.empty(); a = a->ai_next) {
    const int fd = socket(a->ai_family, SOCK_DGRAM, 0);
    if (fd < 0) continue;
    sockaddr_storage mine{};
    socklen_t len = sizeof mine;
    // Connecting a UDP socket sends nothing; it only picks the route and the local address.
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &len) == 0) {
      char text[INET6_ADDRSTRLEN] = {};
      const void* raw = mine.ss_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&mine)->sin_addr)
                                                  : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&mine)->sin6_addr);
      if (inet_ntop(mine.ss_family, raw, text, sizeof text)) address = text;
    }
    close(fd);
  }
  freeaddrinfo(found);
  return address;
}

}  // namespace

struct Group::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<torch_compat::C10dBackend> group;
  std::vector<c10::intrusive_ptr<c10d::Work>> pending;
};
#else
struct Group::Impl {};
#endif

std::string Group::who() const { return "rank " + std::to_string(options_.rank) + " of " + std::to_string(options_.world); }

void Group::fail(const std::string& what, const std::string& cause) const {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", options_.timeout_seconds);
  throw Error(ErrorKind::Io, "distributed training, " + who() + ": " + what +
                                 " failed: another rank died or stopped answering, or the network failed "
                                 "(each step waits at most " + seconds + " s, --dist-timeout): " + cause);
}

Group::Group(const DistOptions& options) : options_(options), impl_(std::make_unique<Impl>()) {
  validate(options_);
  // Writing to the socket of a rank that died raises SIGPIPE, whose default action kills this
  // process silently (Python ignores it, so PyTorch's own code assumes it is ignored): ignore
  // it, and the write fails with an error that every collective reports.
  std::signal(SIGPIPE, SIG_IGN);
#if CIRCUMPLEX_HAVE_GLOO
  const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(options_.timeout_seconds * 1000.0));
  const std::string where = options_.master_addr + ":" + std::to_string(options_.master_port);
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(options_.master_port);
    so.isServer = options_.rank == 0;
    so.numWorkers = static_cast<std::size_t>(options_.world);
    so.waitWorkers = true;
    so.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(options_.master_addr, so);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Io, "distributed training, " + who() + ": " +
                                   (options_.rank == 0 ? "could not host the rendezvous store on port " + std::to_string(options_.master_port) +
                                                             " or not every rank joined it"
                                                       : "could not reach the rendezvous store at " + where + " (is rank 0 running?)") +
                                   " within " + std::to_string(static_cast<long long>(options_.timeout_seconds)) + " s: " + message_of(e));
  }
  try {
    if (options_.backend == "nccl") {
#if CIRCUMPLEX_HAVE_NCCL
      // NCCL honours the timeout only with blocking waits (the variable's 1.x and 2.x names).
      setenv("NCCL_BLOCKING_WAIT", "1", 0);
      setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      impl_->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, options_.rank, options_.world, o);
#endif
    } else {
      auto o = c10d::ProcessGroupGloo::Options::create(timeout);
      std::string host;
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else if (host = local_address_towards(options_.master_addr, options_.master_port); !host.empty()) {
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
      } else {
        o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      o->threads = 2;
      impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, options_.rank, options_.world, o);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail("connecting the " + options_.backend + " process group through " + where, message_of(e));
  }
#else
  throw Error(ErrorKind::InvalidArgument, "distributed training needs c10d's Gloo, which this build lacks (install libgloo-dev and rebuild)");
#endif
}

Group::~Group() = default;

std::string Group::share_from_rank0(const std::string& key, const std::string& text, bool failed) {
#if CIRCUMPLEX_HAVE_GLOO
  const std::string full = "circumplex/" + key;
  if (options_.rank == 0) {
    const std::string payload = (failed ? "0" : "1") + text;
    const std::vector<std::uint8_t> bytes(payload.begin(), payload.end());
    try {
      impl_->store->set(full, bytes);
    } catch (const std::exception& e) {
      fail("publishing " + key, message_of(e));
    }
    return text;
  }
  std::vector<std::uint8_t> bytes;
  try {
    bytes = impl_->store->get(full);
  } catch (const std::exception& e) {
    fail("waiting for rank 0's " + key, message_of(e));
  }
  const std::string got(bytes.begin() + (bytes.empty() ? 0 : 1), bytes.end());
  if (bytes.empty() || bytes[0] != '1') throw Error(ErrorKind::Io, "distributed training, " + who() + ": rank 0 failed: " + got);
  return got;
#else
  (void)key, (void)failed;
  return text;
#endif
}

void Group::broadcast_from_rank0(const std::vector<torch::Tensor>& tensors, const std::string& what) {
#if CIRCUMPLEX_HAVE_GLOO
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat_parts;
  for (const auto& t : tensors) flat_parts.push_back(t.detach().to(torch::kFloat32).reshape(-1));
  std::vector<at::Tensor> flat = {torch::cat(flat_parts).contiguous()};
  try {
    c10d::BroadcastOptions o;
    o.rootRank = 0;
    impl_->group->broadcast(flat, o)->wait();
  } catch (const std::exception& e) {
    fail("broadcasting " + what + " from rank 0", message_of(e));
  }
  std::int64_t offset = 0;
  for (const auto& t : tensors) {
    const auto part = flat[0].narrow(0, offset, t.numel()).view(t.sizes());
    const_cast<torch::Tensor&>(t).copy_(part);
    offset += t.numel();
  }
#else
  (void)tensors, (void)what;
#endif
}

void Group::start_sum(const torch::Tensor& tensor) {
#if CIRCUMPLEX_HAVE_GLOO
  std::vector<at::Tensor> one = {tensor};
  try {
    impl_->pending.push_back(impl_->group->allreduce(one));
  } catch (const std::exception& e) {
    fail("starting an all-reduce", message_of(e));
  }
#else
  (void)tensor;
#endif
}

void Group::wait_all(const std::string& what) {
#if CIRCUMPLEX_HAVE_GLOO
  std::string first_error;
  for (auto& work : impl_->pending) {
    try {
      work->wait();
    } catch (const std::exception& e) {
      if (first_error.empty()) first_error = message_of(e);
    } catch (...) {
      if (first_error.empty()) first_error = message_of(std::current_exception());
    }
  }
  impl_->pending.clear();
  if (!first_error.empty()) fail(what, first_error);
#else
  (void)what;
#endif
}

void Group::barrier(const std::string& what) {
#if CIRCUMPLEX_HAVE_GLOO
  try {
    impl_->group->barrier()->wait();
  } catch (const std::exception& e) {
    fail(what, message_of(e));
  }
#else
  (void)what;
#endif
}

// --- Gradient buckets -----------------------------------------------------------------------

GradientReducer::GradientReducer(Group& group, std::vector<torch::Tensor> params, std::int64_t bucket_bytes)
    : group_(group), params_(std::move(params)) {
  const std::int64_t cap = std::max<std::int64_t>(1, bucket_bytes / static_cast<std::int64_t>(sizeof(float)));
  bucket_of_.resize(params_.size());
  offset_.resize(params_.size());
  arrived_.assign(params_.size(), false);
  // Backward produces gradients roughly in reverse order of the parameters, so the buckets
  // are filled from the last parameter to the first.
  std::vector<std::int64_t> sizes;
  for (std::size_t k = params_.size(); k-- > 0;) {
    const std::int64_t n = params_[k].numel();
    if (buckets_.empty() || (sizes.back() > 0 && sizes.back() + n > cap)) {
      buckets_.emplace_back();
      sizes.push_back(0);
    }
    bucket_of_[k] = buckets_.size() - 1;
    offset_[k] = static_cast<std::size_t>(sizes.back());
    sizes.back() += n;
    buckets_.back().members.push_back(k);
  }
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    buckets_[b].flat = torch::zeros({sizes[b]}, params_.empty() ? torch::TensorOptions(torch::kFloat32)
                                                               : params_[0].options().dtype(torch::kFloat32).requires_grad(false));
  }
  reset();
  for (std::size_t k = 0; k < params_.size(); ++k) {
    params_[k].register_hook([this, k](torch::Tensor grad) { on_gradient(k, grad); });
  }
}

void GradientReducer::reset() {
  for (auto& b : buckets_) b.waiting = b.members.size();
  std::fill(arrived_.begin(), arrived_.end(), false);
  next_ = 0;
}

void GradientReducer::on_gradient(std::size_t k, const torch::Tensor& grad) {
  torch::NoGradGuard no_grad;
  Bucket& b = buckets_[bucket_of_[k]];
  auto slot = b.flat.narrow(0, static_cast<std::int64_t>(offset_[k]), params_[k].numel());
  // The autograd engine sums a parameter's gradient before its hook runs: one call per pass.
  if (arrived_[k]) throw Error(ErrorKind::Internal, "GradientReducer: a second gradient for parameter " + std::to_string(k));
  slot.copy_(grad.reshape(-1));
  arrived_[k] = true;
  if (--b.waiting == 0) start_ready();
}

void GradientReducer::start_ready() {
  while (next_ < buckets_.size() && buckets_[next_].waiting == 0) group_.start_sum(buckets_[next_++].flat);
}

void GradientReducer::finish() {
  torch::NoGradGuard no_grad;
  for (std::size_t k = 0; k < params_.size(); ++k) {
    if (arrived_[k]) continue;
    Bucket& b = buckets_[bucket_of_[k]];
    b.flat.narrow(0, static_cast<std::int64_t>(offset_[k]), params_[k].numel()).zero_();
    arrived_[k] = true;
    --b.waiting;
  }
  start_ready();
  try {
    group_.wait_all("summing gradients");
  } catch (...) {
    reset();
    throw;
  }
  for (std::size_t k = 0; k < params_.size(); ++k) {
    auto& p = params_[k];
    const auto sum = buckets_[bucket_of_[k]].flat.narrow(0, static_cast<std::int64_t>(offset_[k]), p.numel()).view(p.sizes());
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    p.mutable_grad().copy_(sum);
  }
  reset();
}

// --- Launcher ---------------------------------------------------------------------------------

namespace {

std::vector<pid_t> g_children;  // the ranks launch_local started, for the signal handler

extern "C" void forward_signal(int sig) {
  for (const pid_t pid : g_children) {
    if (pid > 0) kill(pid, sig);
  }
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(ErrorKind::Io, std::string("--nproc: cannot open a socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    throw Error(ErrorKind::Io, std::string("--nproc: cannot find a free TCP port: ") + std::strerror(errno));
  }
  close(fd);
  return ntohs(a.sin_port);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int launch_local(int nproc, const std::vector<std::string>& args, int port, double grace_seconds) {
  if (nproc < 1) throw invalid("--nproc must be >= 1");
  char exe[4096];
  const ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) throw Error(ErrorKind::Io, "--nproc: cannot find this program (/proc/self/exe)");
  exe[len] = '\0';
  if (port == 0) port = free_port();

  std::vector<std::string> words = args;
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);

  struct sigaction forward {}, old_int{}, old_term{};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  g_children.assign(static_cast<std::size_t>(nproc), 0);
  sigaction(SIGINT, &forward, &old_int);
  sigaction(SIGTERM, &forward, &old_term);
  std::fprintf(stderr, "circumplex train: launching %d ranks on 127.0.0.1:%d\n", nproc, port);
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = fork();
    if (pid < 0) {
      forward_signal(SIGTERM);
      throw Error(ErrorKind::Io, std::string("--nproc: fork failed: ") + std::strerror(errno));
    }
    if (pid == 0) {
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("RANK", std::to_string(r).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      execv(exe, argv.data());
      std::fprintf(stderr, "circumplex train: cannot start rank %d (%s): %s\n", r, exe, std::strerror(errno));
      _exit(127);
    }
    g_children[static_cast<std::size_t>(r)] = pid;
  }

  int result = 0, running = nproc;
  std::chrono::steady_clock::time_point deadline{};
  bool failing = false, killed = false;
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR) break;
    if (pid <= 0) {
      if (failing && !killed && std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "circumplex train: killing the ranks still running %g s after a rank failed\n", grace_seconds);
        for (const pid_t c : g_children) {
          if (c > 0) kill(c, SIGKILL);
        }
        killed = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    const auto it = std::find(g_children.begin(), g_children.end(), pid);
    if (it == g_children.end()) continue;
    const int rank = static_cast<int>(it - g_children.begin());
    *it = 0;
    --running;
    const int code = exit_code_of(status);
    if (code != 0) {
      if (WIFSIGNALED(status)) std::fprintf(stderr, "circumplex train: rank %d was killed by signal %d\n", rank, WTERMSIG(status));
      else std::fprintf(stderr, "circumplex train: rank %d exited with code %d\n", rank, code);
      if (result == 0) result = code;
      if (!failing) {
        failing = true;
        deadline = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<std::int64_t>(grace_seconds * 1000.0));
      }
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  g_children.clear();
  return result;
}

}  // namespace circumplex::tools::dist
