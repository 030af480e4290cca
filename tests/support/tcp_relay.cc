#include "tests/support/tcp_relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace factlog::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// Writes all of `data`; false when the peer is gone.
bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TcpRelay>> TcpRelay::Start() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof addr;
  int stop[2];
  if (fd < 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(fd, 64) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      pipe2(stop, O_CLOEXEC) != 0) {
    const int error = errno;
    if (fd >= 0) close(fd);
    return absl::InternalError(absl::StrCat("relay: ", strerror(error)));
  }
  return std::unique_ptr<TcpRelay>(
      new TcpRelay(fd, stop[0], stop[1], ntohs(addr.sin_port)));
}

TcpRelay::TcpRelay(int listen_fd, int stop_read_fd, int stop_write_fd, int port)
    : listen_fd_(listen_fd),
      stop_read_fd_(stop_read_fd),
      stop_write_fd_(stop_write_fd),
      address_(absl::StrCat("127.0.0.1:", port)),
      acceptor_([this] { AcceptLoop(); }) {}

TcpRelay::~TcpRelay() {
  close(stop_write_fd_);  // every poll below sees the stop pipe's end
  acceptor_.join();
  std::vector<std::thread> connections;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connections.swap(connections_);
  }
  for (std::thread& t : connections) t.join();
  close(stop_read_fd_);
  close(listen_fd_);
}

void TcpRelay::SetTargetPort(int port) { target_port_ = port; }

void TcpRelay::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_read_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_in target = Loopback(target_port_.load());
    if (server < 0 ||
        connect(server, reinterpret_cast<const sockaddr*>(&target),
                sizeof target) != 0) {
      if (server >= 0) close(server);
      close(client);
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    connections_.emplace_back(
        [this, client, server] { Relay(client, server); });
  }
}

void TcpRelay::Relay(int a, int b) {
  char buffer[16384];
  for (bool open = true; open;) {
    pollfd fds[3] = {
        {a, POLLIN, 0}, {b, POLLIN, 0}, {stop_read_fd_, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents != 0) break;
    for (int i = 0; i < 2 && open; ++i) {
      if (fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      open = n > 0 && WriteAll(fds[1 - i].fd, buffer, static_cast<size_t>(n));
    }
  }
  close(a);
  close(b);
}

}  // namespace factlog::testing
