// The HTTP listener itself (http/http_server.h), with small limits and
// timeouts and a handler of the test's own, on loopback port 0: a client
// that stops reading a stream is dropped while another reads everything
// (copied and shared parts, in order); slow and idle clients are timed out;
// connections beyond the limit get a 503; pipelined requests are answered
// in order, with 100 Continue when asked; the destructor ends open streams.
#include "http/http_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace factlog::http {
namespace {

// A loopback TCP client with deadlines on every read. `receive_buffer`
// (bytes), when not 0, is set before connecting: a small one makes a
// client that does not read fill up at once.
class Client {
 public:
  explicit Client(int port, int receive_buffer = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer != 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer,
                 sizeof(receive_buffer));
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
              0);
  }
  ~Client() { close(fd_); }

  void Send(const std::string& data) {
    EXPECT_EQ(send(fd_, data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  }
  // Reads until `total` bytes arrived in all, the connection ends, or the
  // deadline passes; what arrived so far.
  const std::string& ReadUntilSize(size_t total, absl::Time deadline) {
    while (received_.size() < total && ReadSome(deadline)) {
    }
    return received_;
  }
  const std::string& ReadUntil(const std::string& text, absl::Time deadline) {
    while (!absl::StrContains(received_, text) && ReadSome(deadline)) {
    }
    return received_;
  }
  // True when the server closes the connection before `deadline`.
  bool ClosedBy(absl::Time deadline) {
    while (ReadSome(deadline)) {
    }
    return closed_;
  }
  const std::string& received() const { return received_; }

 private:
  bool ReadSome(absl::Time deadline) {
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    pollfd p{fd_, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char chunk[65536];
    const ssize_t n = read(fd_, chunk, sizeof(chunk));
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    received_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string received_;
  bool closed_ = false;
};

// Streams the handler started, and whether each was closed.
class Streams {
 public:
  struct Entry : HttpStream::Listener {
    std::shared_ptr<HttpStream> stream;
    absl::Notification closed;
    void Drained() override {}
    void Closed() override { closed.Notify(); }
  };

  std::shared_ptr<Entry> Add(std::shared_ptr<HttpStream> stream) {
    auto entry = std::make_shared<Entry>();
    entry->stream = std::move(stream);
    entry->stream->SetListener(entry);
    absl::MutexLock lock(&mu_);
    entries_.push_back(entry);
    return entry;
  }
  // The `i`th stream, once started (null after 10 s).
  std::shared_ptr<Entry> Get(size_t i) {
    absl::MutexLock lock(&mu_);
    auto started = [&] { return entries_.size() > i; };
    mu_.AwaitWithTimeout(absl::Condition(&started), absl::Seconds(10));
    return entries_.size() > i ? entries_[i] : nullptr;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::shared_ptr<Entry>> entries_;
};

TEST(HttpServerTest, AClientThatStopsReadingIsDroppedWithoutStallingOthers) {
  Streams streams;
  HttpServerOptions options;
  options.listen = "127.0.0.1:0";
  options.write_timeout_ms = 500;
  options.max_stream_buffer_bytes = 512 << 10;
  auto server = HttpServer::Start(options, [&](HttpExchange& exchange) {
    streams.Add(exchange.StartStream(200, "text/plain", {}));
  });
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();

  Client slow(port, /*receive_buffer=*/4096);
  slow.Send("GET /slow HTTP/1.1\r\n\r\n");
  std::shared_ptr<Streams::Entry> slow_stream = streams.Get(0);
  ASSERT_NE(slow_stream, nullptr);
  Client fast(port);
  fast.Send("GET /fast HTTP/1.1\r\n\r\n");
  std::shared_ptr<Streams::Entry> fast_stream = streams.Get(1);
  ASSERT_NE(fast_stream, nullptr);

  // 16 MiB to each, 16 KiB at a time, each chunk one letter, written while
  // the stream holds less than 128 KiB unsent (as the event streams do).
  // Every other chunk is written as shared parts of uneven sizes, the same
  // bytes for both streams (as an event's SSE frame is), so that one
  // write (writev) carries copied and shared bytes and ends inside parts.
  constexpr size_t kChunk = 16 << 10;
  constexpr int kChunks = 1024;
  std::vector<std::vector<std::shared_ptr<const std::string>>> shared(26);
  for (int letter = 0; letter < 26; ++letter) {
    for (size_t size : {size_t{1}, kChunk / 4 - 1, kChunk / 2, kChunk / 4}) {
      shared[letter].push_back(
          std::make_shared<const std::string>(size, 'a' + letter));
    }
  }
  auto produce = [&](Streams::Entry* entry) {
    for (int i = 0; i < kChunks;) {
      if (entry->closed.HasBeenNotified()) return;
      if (entry->stream->buffered() >= (128 << 10)) {
        absl::SleepFor(absl::Milliseconds(1));  // pacing, not a wait on time
        continue;
      }
      bool written;
      if (i % 2 == 0) {
        written = entry->stream->Write(std::string(kChunk, 'a' + i % 26));
      } else {
        std::vector<std::shared_ptr<const std::string>> parts = shared[i % 26];
        written = entry->stream->WriteShared(absl::MakeSpan(parts));
        // Taken when written; left as they were when not.
        EXPECT_EQ(parts[0] == nullptr, written);
      }
      if (!written) return;
      ++i;
    }
    entry->stream->Close();
  };
  std::thread slow_producer(produce, slow_stream.get());
  std::thread fast_producer(produce, fast_stream.get());

  // The fast client gets every byte, in order, and then the end.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  const std::string& got = fast.ReadUntilSize(SIZE_MAX, deadline);
  const size_t head = got.find("\r\n\r\n");
  ASSERT_NE(head, std::string::npos);
  EXPECT_TRUE(absl::StartsWith(got, "HTTP/1.1 200 OK\r\n"))
      << got.substr(0, 200);
  EXPECT_TRUE(absl::StrContains(got.substr(0, head), "Connection: close"));
  ASSERT_EQ(got.size() - head - 4, kChunk * kChunks);
  for (int i = 0; i < kChunks; ++i) {
    const absl::string_view chunk =
        absl::string_view(got).substr(head + 4 + i * kChunk, kChunk);
    ASSERT_EQ(chunk, std::string(kChunk, 'a' + i % 26)) << i;
  }
  // The slow one was dropped: its stream closed long before its 16 MiB.
  EXPECT_TRUE(
      slow_stream->closed.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_FALSE(slow_stream->stream->Write("more"));
  slow_producer.join();
  fast_producer.join();
  EXPECT_TRUE(
      fast_stream->closed.WaitForNotificationWithTimeout(absl::Seconds(10)));

  // A stream still open when the server stops is closed by its destructor.
  Client last(port);
  last.Send("GET /last HTTP/1.1\r\n\r\n");
  std::shared_ptr<Streams::Entry> last_stream = streams.Get(2);
  ASSERT_NE(last_stream, nullptr);
  EXPECT_FALSE(last_stream->closed.HasBeenNotified());
  server->reset();
  EXPECT_TRUE(last_stream->closed.HasBeenNotified());
}

TEST(HttpServerTest, SlowAndIdleClientsAreTimedOut) {
  HttpServerOptions options;
  options.listen = "127.0.0.1:0";
  options.keep_alive = true;
  options.request_timeout_ms = 300;
  options.keep_alive_timeout_ms = 300;
  auto server = HttpServer::Start(
      options,
      [](HttpExchange& exchange) { exchange.Send(200, "text/plain", "hi"); },
      [](HttpExchange& exchange, int status, absl::string_view message) {
        exchange.Send(status, "text/plain", absl::StrCat("error: ", message));
      });
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);

  // A request that never ends: 408, then the end.
  Client trickle(port);
  trickle.Send("GET / HTTP/1.1\r\nHost: x\r\n");
  // A body that never comes: 408 too.
  Client no_body(port);
  no_body.Send("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345");
  // Nothing at all: closed without a word.
  Client silent(port);
  // A kept-alive connection, idle after its answer: closed.
  Client idle(port);
  idle.Send("GET / HTTP/1.1\r\n\r\n");

  EXPECT_TRUE(trickle.ClosedBy(deadline));
  EXPECT_TRUE(absl::StartsWith(trickle.received(), "HTTP/1.1 408 "))
      << trickle.received();
  EXPECT_TRUE(absl::StrContains(trickle.received(), "Connection: close"));
  EXPECT_TRUE(no_body.ClosedBy(deadline));
  EXPECT_TRUE(absl::StartsWith(no_body.received(), "HTTP/1.1 408 "))
      << no_body.received();
  EXPECT_TRUE(silent.ClosedBy(deadline));
  EXPECT_EQ(silent.received(), "");
  EXPECT_TRUE(idle.ClosedBy(deadline));
  EXPECT_TRUE(absl::StartsWith(idle.received(), "HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(absl::StrContains(idle.received(), "Connection: keep-alive"));
  EXPECT_TRUE(absl::EndsWith(idle.received(), "\r\n\r\nhi"));
}

TEST(HttpServerTest, ConnectionsBeyondTheLimitGetA503) {
  HttpServerOptions options;
  options.listen = "127.0.0.1:0";
  options.max_connections = 2;
  auto server = HttpServer::Start(options, [](HttpExchange& exchange) {
    exchange.Send(200, "text/plain", "hi");
  });
  ASSERT_TRUE(server.ok()) << server.status();
  Client first((*server)->port());
  Client second((*server)->port());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((*server)->connections() < 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));  // polling a condition
  }
  ASSERT_EQ((*server)->connections(), 2u);
  Client third((*server)->port());
  EXPECT_TRUE(third.ClosedBy(deadline));
  EXPECT_TRUE(absl::StartsWith(third.received(), "HTTP/1.1 503 "))
      << third.received();
  EXPECT_TRUE(absl::StrContains(third.received(), "\"code\":\"UNAVAILABLE\""));
  // The first two are served.
  first.Send("GET / HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(first.ClosedBy(deadline));
  EXPECT_TRUE(absl::StartsWith(first.received(), "HTTP/1.1 200 OK\r\n"));
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  HttpServerOptions options;
  options.listen = "127.0.0.1:0";
  options.keep_alive = true;
  options.threads = 4;
  options.max_body_bytes = 1 << 20;
  auto server = HttpServer::Start(options, [](HttpExchange& exchange) {
    absl::StatusOr<std::string> body = exchange.ReadBody(1 << 20);
    if (!body.ok()) {
      exchange.Send(413, "text/plain", std::string(body.status().message()));
      return;
    }
    exchange.Send(200, "text/plain",
                  absl::StrCat(exchange.method(), " ", exchange.raw_path(), " ",
                               exchange.query(), " ", body->size()));
  });
  ASSERT_TRUE(server.ok()) << server.status();
  Client client((*server)->port());
  // A body of lines ending in LF alone (pretty-printed JSON does), sent
  // with its head: only a head's lines must end with CRLF.
  std::string big(300000, 'b');
  for (size_t i = 79; i < big.size(); i += 80) big[i] = '\n';
  std::string requests;
  for (int i = 0; i < 20; ++i) {
    absl::StrAppend(&requests, "GET /r", i, "?q=", i, " HTTP/1.1\r\n\r\n");
  }
  absl::StrAppend(&requests,
                  "POST /big HTTP/1.1\r\nContent-Length: ", big.size(),
                  "\r\n\r\n", big, "HEAD /head HTTP/1.1\r\n\r\n",
                  "GET /after HTTP/1.1\r\n\r\n");
  client.Send(requests);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  const std::string& got = client.ReadUntil("GET /after  0", deadline);
  size_t at = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string want = absl::StrCat("GET /r", i, " q=", i, " 0");
    const size_t found = got.find(want, at);
    ASSERT_NE(found, std::string::npos) << i << ": " << got;
    at = found;
  }
  at = got.find("POST /big  300000", at);
  ASSERT_NE(at, std::string::npos) << got;
  // HEAD's answer: its head alone (with the length of the body it does not
  // carry), then at once the next answer.
  const size_t head_answer = got.find("HTTP/1.1 200 OK\r\n", at);
  ASSERT_NE(head_answer, std::string::npos);
  const size_t head_end = got.find("\r\n\r\n", head_answer);
  EXPECT_TRUE(absl::StrContains(got.substr(head_answer, head_end - head_answer),
                                "Content-Length: 13"));
  EXPECT_EQ(got.substr(head_end + 4, 17), "HTTP/1.1 200 OK\r\n");
  // With Expect: 100-continue the client is told to send its body.
  client.Send(
      "POST /expect HTTP/1.1\r\nContent-Length: 3\r\nExpect: "
      "100-continue\r\n\r\n");
  EXPECT_TRUE(absl::StrContains(
      client.ReadUntil("HTTP/1.1 100 Continue\r\n\r\n", deadline),
      "HTTP/1.1 100 Continue\r\n\r\n"));
  client.Send("abc");
  EXPECT_TRUE(absl::StrContains(client.ReadUntil("POST /expect  3", deadline),
                                "POST /expect  3"));
}

TEST(HttpServerTest, BadAddressesAndTlsMaterialAreRefused) {
  HttpServerOptions options;
  options.listen = "127.0.0.1";
  auto no_port = HttpServer::Start(options, [](HttpExchange&) {});
  EXPECT_EQ(no_port.status().code(), absl::StatusCode::kInvalidArgument);
  options.listen = "127.0.0.1:0";
  options.tls_cert_chain_pem = "not a certificate";
  options.tls_private_key_pem = "not a key";
  auto bad_tls = HttpServer::Start(options, [](HttpExchange&) {});
  EXPECT_EQ(bad_tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad_tls.status().message(), "--tls-cert"))
      << bad_tls.status();
  HttpServerOptions taken;
  taken.listen = "127.0.0.1:0";
  auto first = HttpServer::Start(taken, [](HttpExchange&) {});
  ASSERT_TRUE(first.ok());
  taken.listen = absl::StrCat("127.0.0.1:", (*first)->port());
  auto second = HttpServer::Start(taken, [](HttpExchange&) {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace factlog::http
