#include "http/connection.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"

namespace factlog::http {
namespace {

// How long a closing connection reads (and drops) what the client still
// sends, so that closing does not reset the response it is reading.
constexpr absl::Duration kLinger = absl::Seconds(2);
constexpr size_t kReadChunk = 16 << 10;

}  // namespace

Connection::Connection(int fd, std::string peer,
                       std::unique_ptr<Transport> transport, EventLoop* loop,
                       ConnectionContext* context)
    : fd_(fd),
      peer_(std::move(peer)),
      transport_(std::move(transport)),
      loop_(loop),
      context_(context) {
  context_->open.fetch_add(1);
  started_ = idle_since_ = absl::Now();
}

Connection::~Connection() {
  absl::MutexLock lock(&mu_);
  if (!closed_) {
    close(fd_);
    context_->open.fetch_sub(1);
  }
}

void Connection::Begin() {
  Handshake();
  UpdateInterest();
}

bool Connection::WantsInput() const {
  switch (state_) {
    case State::kHandling:
    case State::kClosed:
      return false;
    case State::kReadingHead:
      // Not while a response is still being sent: a client that pipelines
      // and does not read gets no more of our memory.
      return !blocked_;
    default:
      return true;
  }
}

void Connection::UpdateInterest() {
  if (state_ == State::kClosed) return;
  uint32_t want = 0;
  if (WantsInput() || write_wants_read_) want |= EPOLLIN | EPOLLRDHUP;
  if (blocked_ || read_wants_write_) want |= EPOLLOUT;
  if (want != interest_) {
    interest_ = want;
    loop_->Modify(fd_, want, this);
  }
}

void Connection::Handshake() {
  if (state_ != State::kHandshake) return;
  switch (transport_->Handshake()) {
    case Transport::Io::kDone:
      state_ = State::kReadingHead;
      read_wants_write_ = false;
      started_ = idle_since_ = absl::Now();
      ReadInput();
      return;
    case Transport::Io::kWantRead:
      read_wants_write_ = false;
      return;
    case Transport::Io::kWantWrite:
      read_wants_write_ = true;
      return;
    case Transport::Io::kClosed:
      Close();
      return;
    case Transport::Io::kError:
      log::Info("http tls handshake failed",
                {{"peer", peer_}, {"error", transport_->LastError()}});
      Close();
      return;
  }
}

void Connection::OnEvents(uint32_t events) {
  if (state_ == State::kClosed) return;
  if ((events & (EPOLLHUP | EPOLLERR)) != 0) {
    // Both directions are gone (or reset): nothing can be sent any more,
    // and epoll would say so on every round until the fd is closed.
    Close();
    return;
  }
  if ((events & EPOLLOUT) != 0) {
    if (read_wants_write_) {
      read_wants_write_ = false;
      if (state_ == State::kHandshake) {
        Handshake();
      } else {
        ReadInput();
      }
    }
    if (state_ != State::kClosed) Flush();
  }
  if (state_ == State::kClosed) return;
  if ((events & (EPOLLIN | EPOLLRDHUP)) != 0) {
    if (write_wants_read_) {
      write_wants_read_ = false;
      Flush();
    }
    if (state_ == State::kHandshake) {
      Handshake();
    } else if (state_ != State::kClosed) {
      ReadInput();
    }
  }
  UpdateInterest();
}

// Reads what the socket has (as much as the state takes), then acts on it.
void Connection::ReadInput() {
  char buffer[kReadChunk];
  while (state_ != State::kClosed && WantsInput()) {
    size_t n = 0;
    const Transport::Io io = transport_->Read(buffer, sizeof(buffer), &n);
    if (io == Transport::Io::kWantRead) break;
    if (io == Transport::Io::kWantWrite) {
      read_wants_write_ = true;
      break;
    }
    if (io == Transport::Io::kClosed || io == Transport::Io::kError) {
      // The client is gone (or half-closed with nothing more to ask: a
      // request in progress cannot complete either).
      Close();
      return;
    }
    if (state_ == State::kStreaming || state_ == State::kClosing) continue;
    if (in_.empty() && state_ == State::kReadingHead) started_ = absl::Now();
    in_.append(buffer, n);
    Process();
    // Enough buffered for the state: leave the rest in the socket.
    if (state_ == State::kReadingHead &&
        in_.size() > context_->options.max_header_bytes) {
      break;
    }
  }
  if (state_ != State::kClosed) Process();
}

void Connection::Process() {
  const HttpServerOptions& options = context_->options;
  if (state_ == State::kReadingHead && !in_.empty() && !blocked_) {
    auto request = std::make_shared<ParsedRequest>();
    const ParseOutcome outcome = ParseRequestHead(
        in_,
        ParseLimits{options.max_request_line_bytes, options.max_header_bytes,
                    options.max_headers},
        request.get());
    if (outcome.kind == ParseOutcome::kIncomplete) return;
    if (outcome.kind == ParseOutcome::kError) {
      request_ = std::move(request);
      RespondWithError(outcome.status, outcome.message);
      return;
    }
    in_.erase(0, outcome.consumed);
    request->peer = peer_;
    request_ = std::move(request);
    if (request_->content_length > options.max_body_bytes) {
      // Not read: the handler says 413 and the connection ends.
      request_->body_too_large = true;
      Dispatch();
      return;
    }
    if (request_->content_length == 0) {
      Dispatch();
      return;
    }
    state_ = State::kReadingBody;
    if (request_->expect_continue) Append("HTTP/1.1 100 Continue\r\n\r\n");
  }
  if (state_ == State::kReadingBody && in_.size() >= request_->content_length) {
    request_->body = in_.substr(0, request_->content_length);
    in_.erase(0, request_->content_length);
    Dispatch();
  }
}

void Connection::Dispatch() {
  state_ = State::kHandling;
  if (in_.empty()) std::string().swap(in_);
  keep_alive_ = false;
  context_->pool->Run([self = shared_from_this(), request = request_] {
    HttpExchange exchange(self, *request);
    self->context_->handler(exchange);
    if (!exchange.responded()) {
      exchange.Send(500, "text/plain; charset=utf-8", "no response\n");
    }
    self->FinishRequest();
  });
}

void Connection::FinishRequest() {
  loop_->Post([self = shared_from_this()] {
    if (self->state_ != State::kHandling) return;
    self->request_.reset();
    bool streaming;
    {
      absl::MutexLock lock(&self->mu_);
      streaming = self->streaming_;
    }
    if (streaming) {
      self->state_ = State::kStreaming;
      std::string().swap(self->in_);
    } else if (!self->keep_alive_) {
      self->StartClosing();
    } else {
      self->state_ = State::kReadingHead;
      ++self->served_;
      self->started_ = self->idle_since_ = absl::Now();
      // A request that came with this one (pipelined), or bytes TLS holds.
      self->Process();
      if (self->state_ == State::kReadingHead) self->ReadInput();
    }
    self->UpdateInterest();
  });
}

void Connection::RespondWithError(int status, const std::string& message) {
  if (request_ == nullptr) request_ = std::make_shared<ParsedRequest>();
  request_->peer = peer_;
  HttpExchange exchange(shared_from_this(), *request_);
  exchange.CloseAfterResponse();
  if (context_->error_page) context_->error_page(exchange, status, message);
  if (!exchange.responded()) {
    exchange.Send(status, "text/plain; charset=utf-8", message + "\n");
  }
  std::string().swap(in_);
  StartClosing();
}

template <typename AddTo>
bool Connection::Queue(size_t size, const AddTo& add_to) {
  if (size == 0) return true;
  bool post = false;
  bool delay = false;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return false;
    add_to(pending_);
    unsent_.fetch_add(size, std::memory_order_relaxed);
    last_append_ = absl::Now();
    post = !flush_posted_;
    flush_posted_ = true;
    delay = streaming_;
  }
  if (post) {
    // A stream's bytes wait EventLoop::kDelay (20 ms) for more: under a burst
    // of events each send carries several, rather than one send (and one
    // wake-up of the client) per event and stream.
    auto flush = [self = shared_from_this()] {
      {
        absl::MutexLock lock(&self->mu_);
        self->flush_posted_ = false;
      }
      if (self->state_ == State::kClosed) return;
      self->Flush();
      self->UpdateInterest();
    };
    if (delay) {
      loop_->PostDelayed(std::move(flush));
    } else {
      loop_->Post(std::move(flush));
    }
  }
  return true;
}

bool Connection::Append(absl::string_view data) {
  // Small writes run together into one chunk of their own.
  constexpr size_t kJoinBelow = 16 << 10;
  return Queue(data.size(), [data](std::vector<Chunk>& pending) {
    if (pending.empty() || pending.back().shared != nullptr ||
        pending.back().owned.size() >= kJoinBelow) {
      pending.emplace_back();
    }
    pending.back().owned.append(data.data(), data.size());
  });
}

void Connection::Consume(size_t n) {
  unsent_.fetch_sub(n, std::memory_order_relaxed);
  while (n > 0) {
    const size_t left = sending_[sending_at_].bytes().size() - sent_;
    if (n < left) {
      sent_ += n;
      return;
    }
    n -= left;
    sending_[sending_at_] = Chunk();  // lets go of its bytes now
    ++sending_at_;
    sent_ = 0;
  }
}

void Connection::Flush() {
  constexpr size_t kMaxParts = 64;  // per write
  for (;;) {
    if (sending_at_ == sending_.size()) {
      sending_.clear();
      sending_at_ = 0;
      sent_ = 0;
      absl::MutexLock lock(&mu_);
      sending_.swap(pending_);
      if (sending_.empty()) {
        // Keep a little room for the next writes, not a burst's.
        if (sending_.capacity() > kMaxParts)
          std::vector<Chunk>().swap(sending_);
        if (pending_.capacity() > kMaxParts)
          std::vector<Chunk>().swap(pending_);
        break;
      }
    }
    absl::string_view parts[kMaxParts];
    size_t count = 0;
    for (size_t i = sending_at_; i < sending_.size() && count < kMaxParts;
         ++i) {
      parts[count] = sending_[i].bytes();
      if (i == sending_at_) parts[count].remove_prefix(sent_);
      if (!parts[count].empty()) ++count;
    }
    if (count == 0) {  // only empty chunks
      sending_at_ = sending_.size();
      continue;
    }
    size_t n = 0;
    const Transport::Io io = transport_->WriteParts(parts, count, &n);
    if (io == Transport::Io::kDone) {
      Consume(n);
      last_progress_ = absl::Now();
      continue;
    }
    if (io == Transport::Io::kWantWrite || io == Transport::Io::kWantRead) {
      if (!blocked_) last_progress_ = absl::Now();
      blocked_ = true;
      write_wants_read_ = io == Transport::Io::kWantRead;
      return;
    }
    Close();  // the client is gone
    return;
  }
  blocked_ = false;
  write_wants_read_ = false;
  OnFlushed();
}

// Everything queued was sent.
void Connection::OnFlushed() {
  if (state_ == State::kClosing) {
    if (linger_until_ == absl::InfinitePast()) {
      transport_->Shutdown();
      linger_until_ = absl::Now() + kLinger;
    }
    return;
  }
  if (state_ == State::kReadingHead && !in_.empty()) {
    Process();  // a request that waited for this response to be sent
    return;
  }
  std::shared_ptr<HttpStream::Listener> listener;
  {
    absl::MutexLock lock(&mu_);
    listener = listener_;
  }
  if (listener != nullptr) listener->Drained();
}

void Connection::StartClosing() {
  if (state_ == State::kClosing || state_ == State::kClosed) return;
  state_ = State::kClosing;
  linger_until_ = absl::InfinitePast();
  if (!blocked_ && unsent() == 0) {
    transport_->Shutdown();
    linger_until_ = absl::Now() + kLinger;
  } else {
    Flush();
  }
}

void Connection::OnTick(absl::Time now) {
  const HttpServerOptions& options = context_->options;
  const absl::Duration request_timeout =
      absl::Milliseconds(options.request_timeout_ms);
  switch (state_) {
    case State::kHandshake:
      if (now - started_ > request_timeout) Close();
      return;
    case State::kReadingHead:
      if (!in_.empty() && now - started_ > request_timeout) {
        RespondWithError(408, "the request did not arrive in time");
      } else if (in_.empty() && !blocked_ &&
                 now - idle_since_ >
                     (served_ == 0 ? request_timeout
                                   : absl::Milliseconds(
                                         options.keep_alive_timeout_ms))) {
        Close();
        return;
      }
      break;
    case State::kReadingBody:
      if (now - started_ > request_timeout) {
        RespondWithError(408, "the request body did not arrive in time");
      }
      break;
    case State::kClosing:
      if (linger_until_ != absl::InfinitePast() && now > linger_until_) {
        Close();
        return;
      }
      break;
    case State::kStreaming: {
      bool beat = false;
      {
        absl::MutexLock lock(&mu_);
        beat = !heartbeat_.empty() && now - last_append_ > heartbeat_interval_;
      }
      if (beat) StreamWrite(heartbeat_);
      break;
    }
    default:
      break;
  }
  if (state_ != State::kClosed && blocked_ &&
      now - last_progress_ > absl::Milliseconds(options.write_timeout_ms)) {
    Drop(absl::StrCat("it read nothing for ", options.write_timeout_ms,
                      " ms with ", unsent(), " bytes waiting"));
  }
}

void Connection::Drop(absl::string_view reason) {
  log::Warn("http client dropped", {{"peer", peer_}, {"reason", reason}});
  Close();
}

void Connection::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  loop_->Remove(fd_, this);
  CloseForStop();
}

void Connection::CloseForStop() {
  state_ = State::kClosed;
  std::shared_ptr<HttpStream::Listener> listener;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    close(fd_);
    context_->open.fetch_sub(1);
    listener = std::move(listener_);
    std::vector<Chunk>().swap(pending_);
  }
  std::vector<Chunk>().swap(sending_);
  sending_at_ = sent_ = 0;
  std::string().swap(in_);
  unsent_ = 0;
  if (listener != nullptr) listener->Closed();
}

void Connection::BeginStream(std::string heartbeat, absl::Duration interval) {
  absl::MutexLock lock(&mu_);
  streaming_ = true;
  heartbeat_ = std::move(heartbeat);
  heartbeat_interval_ = interval;
}

void Connection::SetStreamListener(
    std::shared_ptr<HttpStream::Listener> listener) {
  {
    absl::MutexLock lock(&mu_);
    if (!closed_) {
      listener_ = std::move(listener);
      return;
    }
  }
  listener->Closed();
}

bool Connection::StreamMayTake(size_t size) {
  const size_t limit = context_->options.max_stream_buffer_bytes;
  if (unsent() + size <= limit) return true;
  loop_->Post([self = shared_from_this(), limit] {
    self->Drop(absl::StrCat("its unsent bytes passed ", limit));
  });
  return false;
}

bool Connection::StreamWrite(absl::string_view data) {
  return StreamMayTake(data.size()) && Append(data);
}

bool Connection::StreamWriteShared(
    absl::Span<std::shared_ptr<const std::string>> parts) {
  size_t size = 0;
  for (const auto& part : parts) size += part->size();
  if (!StreamMayTake(size)) return false;
  return Queue(size, [parts](std::vector<Chunk>& pending) {
    for (auto& part : parts) {
      if (part->empty()) continue;
      pending.emplace_back();
      pending.back().shared = std::move(part);
    }
  });
}

void Connection::CloseStream() {
  // StartClosing sends what is queued first, then shuts the connection.
  loop_->Post([self = shared_from_this()] {
    self->StartClosing();
    self->UpdateInterest();
  });
}

}  // namespace factlog::http
