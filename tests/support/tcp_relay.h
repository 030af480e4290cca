#ifndef FACTLOG_TESTS_SUPPORT_TCP_RELAY_H_
#define FACTLOG_TESTS_SUPPORT_TCP_RELAY_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace factlog::testing {

// A TCP relay on 127.0.0.1: a port that stays the same while the server
// behind it restarts on a port of its own. Tests that need a client to
// reconnect "to the same address" point the client here instead of
// releasing a port and binding it again (a race with every other test
// under ctest -j). Each accepted connection is joined to a new connection
// to the current target and closed when either side closes; a connection
// that cannot reach the target is closed at once (as a refused one would
// be). Thread-safe.
class TcpRelay {
 public:
  // Listens on 127.0.0.1, port 0. INTERNAL when it cannot.
  static absl::StatusOr<std::unique_ptr<TcpRelay>> Start();
  // Stops accepting, closes every relayed connection, joins its threads.
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  // "127.0.0.1:PORT", fixed for the relay's life.
  const std::string& address() const { return address_; }
  // Where new connections go: a port on 127.0.0.1. Connections already
  // relayed stay with their target.
  void SetTargetPort(int port);

 private:
  TcpRelay(int listen_fd, int stop_read_fd, int stop_write_fd, int port);
  void AcceptLoop();
  // Copies bytes both ways between `a` and `b` until one side closes or
  // the relay stops, then closes both.
  void Relay(int a, int b);

  const int listen_fd_;
  const int stop_read_fd_;  // readable once the relay stops
  const int stop_write_fd_;
  const std::string address_;
  std::atomic<int> target_port_{0};
  std::mutex mu_;
  std::vector<std::thread> connections_;  // guarded by mu_
  std::thread acceptor_;
};

}  // namespace factlog::testing

#endif  // FACTLOG_TESTS_SUPPORT_TCP_RELAY_H_
