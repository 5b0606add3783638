// tests/test_udp.hpp — UDP ports for the tests of the OSC sink: the port the kernel gave a
// socket, and a port at 127.0.0.1 that nobody can listen on while the test runs.
//
// Include after doctest. ctest runs test cases as parallel processes, so a test that sends to
// a port must be sure no other test's receiver can get that port.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace test_udp {

/// The port a bound socket got from the kernel.
inline int bound_port(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0);
  if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

/// A UDP port nobody can listen on at 127.0.0.1 while this lives: it holds the port on
/// 127.0.0.2, which keeps every other socket from binding it on all addresses (the way
/// receivers bind) or taking it as a free port, and leaves 127.0.0.1 at that port unbound, so
/// datagrams sent there are refused (ICMP port unreachable) and reach no other test. Where
/// 127.0.0.2 is not a local address, it takes a free port from the kernel and gives it back
/// (another process could then be given it, but only by the kernel's random choice).
class UnheardPort {
 public:
  UnheardPort() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = 0;
    REQUIRE(inet_pton(AF_INET, "127.0.0.2", &address.sin_addr) == 1);
    if (bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      MESSAGE("127.0.0.2 cannot be bound here; the unheard port is a free port given back");
      REQUIRE(inet_pton(AF_INET, "127.0.0.1", &address.sin_addr) == 1);
      REQUIRE(bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
      port_ = bound_port(fd_);
      close(fd_);
      fd_ = -1;
      return;
    }
    port_ = bound_port(fd_);
  }
  ~UnheardPort() {
    if (fd_ >= 0) close(fd_);
  }
  UnheardPort(const UnheardPort&) = delete;
  UnheardPort& operator=(const UnheardPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace test_udp
