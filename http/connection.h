// One HTTP/1.1 connection of factlogd's listener (http/http_server.h): its
// state machine on its event loop's thread (TLS handshake, reading a
// request's head and body, waiting for the handler, streaming, closing),
// and its output, which any thread may append to.
#ifndef FACTLOG_HTTP_CONNECTION_H_
#define FACTLOG_HTTP_CONNECTION_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/worker_pool.h"
#include "http/event_loop.h"
#include "http/http_server.h"
#include "http/request_parser.h"
#include "http/transport.h"

namespace factlog::http {

// What every connection of one listener shares; outlives them all.
struct ConnectionContext {
  HttpServerOptions options;
  HttpServer::Handler handler;
  HttpServer::ErrorPage error_page;
  common::WorkerPool* pool = nullptr;
  std::atomic<size_t> open{0};  // connections not yet closed
};

// Thread-safety: OnEvents, OnTick, Begin and CloseForStop on the loop's
// thread (CloseForStop after the loop stopped); Append, the stream calls,
// SetKeepAlive and FinishRequest from any thread.
class Connection final : public EventLoop::Handler,
                         public std::enable_shared_from_this<Connection> {
 public:
  // Takes `fd` (non-blocking, accepted) and `transport` over it.
  Connection(int fd, std::string peer, std::unique_ptr<Transport> transport,
             EventLoop* loop, ConnectionContext* context);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Registered with the loop: starts the handshake or reading.
  void Begin();
  void OnEvents(uint32_t events) override;
  void OnTick(absl::Time now) override;
  // The server stops: closes without a word (streams get Closed).
  void CloseForStop();

  const std::string& peer() const { return peer_; }
  const ConnectionContext& context() const { return *context_; }

  // Queues `data` to be sent; false (nothing queued) once closed.
  bool Append(absl::string_view data);
  // Whether the connection serves another request after this response.
  void SetKeepAlive(bool keep_alive) { keep_alive_ = keep_alive; }
  // The handler of the current request returned (its response queued).
  void FinishRequest();

  // The current response is a stream (HttpExchange::StartStream).
  void BeginStream(std::string heartbeat, absl::Duration interval);
  void SetStreamListener(std::shared_ptr<HttpStream::Listener> listener);
  // Append for a stream: also false, and the client dropped, when the
  // unsent bytes would pass max_stream_buffer_bytes.
  bool StreamWrite(absl::string_view data);
  // StreamWrite of `parts` in order, queued without a copy: the
  // connection takes the references (left null; untouched on false) and
  // holds them until the bytes are sent.
  bool StreamWriteShared(absl::Span<std::shared_ptr<const std::string>> parts);
  void CloseStream();
  size_t unsent() const { return unsent_.load(std::memory_order_relaxed); }

 private:
  enum class State {
    kHandshake,
    kReadingHead,
    kReadingBody,
    kHandling,  // a worker runs the handler
    kStreaming,
    kClosing,  // sending the rest, then draining the client's
    kClosed,
  };

  // Loop thread.
  void Handshake();
  void ReadInput();
  void Process();
  void Dispatch();
  void RespondWithError(int status, const std::string& message);
  void Flush();
  void OnFlushed();
  void StartClosing();
  void Drop(absl::string_view reason);
  void Close();
  void UpdateInterest();
  bool WantsInput() const;

  // A piece of the output: bytes of its own (responses, small writes run
  // together), or bytes shared with other connections (an event's SSE
  // frame, rendered once for every stream).
  struct Chunk {
    std::string owned;
    std::shared_ptr<const std::string> shared;
    absl::string_view bytes() const {
      return shared != nullptr ? absl::string_view(*shared) : owned;
    }
  };
  // Queues `parts` (`size` bytes in all) and posts a flush unless one is
  // posted; false (nothing queued) once closed.
  template <typename AddTo>
  bool Queue(size_t size, const AddTo& add_to);
  // Takes `n` sent bytes off the front of sending_.
  void Consume(size_t n);
  // Whether a stream may queue `size` more bytes (max_stream_buffer_bytes);
  // when not, the client is dropped.
  bool StreamMayTake(size_t size);

  const int fd_;
  const std::string peer_;
  const std::unique_ptr<Transport> transport_;
  EventLoop* const loop_;
  ConnectionContext* const context_;

  // Loop thread.
  State state_ = State::kHandshake;
  std::string in_;
  std::shared_ptr<ParsedRequest> request_;
  absl::Time started_;        // the connection's, then the request's start
  absl::Time idle_since_;     // waiting for a next request since
  absl::Time last_progress_;  // the last byte sent while some wait
  absl::Time linger_until_;
  bool blocked_ = false;           // output waits for the socket
  bool read_wants_write_ = false;  // TLS: a read needs the socket writable
  bool write_wants_read_ = false;  // TLS: a write needs it readable
  uint32_t interest_ = 0;
  size_t served_ = 0;
  std::vector<Chunk> sending_;  // taken from pending_ once all were sent
  size_t sending_at_ = 0;       // sending_'s first chunk not yet all sent
  size_t sent_ = 0;             // bytes of that chunk sent
  absl::Duration heartbeat_interval_ = absl::InfiniteDuration();
  std::string heartbeat_;

  std::atomic<bool> keep_alive_{false};
  std::atomic<size_t> unsent_{0};

  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool flush_posted_ ABSL_GUARDED_BY(mu_) = false;
  bool streaming_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Chunk> pending_ ABSL_GUARDED_BY(mu_);
  absl::Time last_append_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<HttpStream::Listener> listener_ ABSL_GUARDED_BY(mu_);
};

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_CONNECTION_H_
