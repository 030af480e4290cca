#include "http/event_stream.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "http/http_status.h"
#include "http/json_mapping.h"

namespace factlog::http {
namespace {

// How long an idle stream waits before a comment line, which also finds
// out whether the client is still there.
constexpr absl::Duration kKeepAlive = absl::Seconds(15);

std::string Block(absl::string_view name, absl::string_view data, uint64_t id) {
  std::string out;
  if (id != 0) absl::StrAppend(&out, "id: ", id, "\n");
  // Canonical JSON has no raw newlines, so one data line holds it.
  absl::StrAppend(&out, "event: ", name, "\ndata: ", data, "\n\n");
  return out;
}

}  // namespace

EventStreams::EventStreams(const ApiServices& services)
    : services_(services), cache_(kCacheSlots) {}

std::string EventStreams::RenderEvent(const v1::Event& event,
                                      v1::ClaimStatus status) {
  const uint64_t position = event.position();
  {
    absl::MutexLock lock(&cache_mu_);
    const Rendered& slot = cache_[position % kCacheSlots];
    if (slot.position == position && slot.status == status) return slot.text;
  }
  v1::SubscribedEvent item;
  *item.mutable_event() = event;
  item.set_status_after(status);
  std::string text = Block("event", ToJson(item), position);
  absl::MutexLock lock(&cache_mu_);
  cache_[position % kCacheSlots] = Rendered{position, status, text};
  return text;
}

std::string EventStreams::Render(const core::EncodedResponse& message) {
  v1::SubscribeResponse response;
  if (!response.ParseFromString(message.header + message.body)) {
    return Block("error",
                 ErrorJson(absl::InternalError("cannot parse a response")), 0);
  }
  switch (response.message_case()) {
    case v1::SubscribeResponse::kEvent:
      return RenderEvent(response.event(), response.status_after());
    case v1::SubscribeResponse::kEvents: {
      std::string out;
      for (const v1::SubscribedEvent& item : response.events().events()) {
        out += RenderEvent(item.event(), item.status_after());
      }
      return out;
    }
    case v1::SubscribeResponse::kCheckpoint:
      return Block("checkpoint", ToJson(response.checkpoint()),
                   response.checkpoint().position());
    case v1::SubscribeResponse::kCaughtUp:
      return Block("caught_up", ToJson(response.caught_up()),
                   response.caught_up().position());
    case v1::SubscribeResponse::kFellBehind:
      return Block("fell_behind", ToJson(response.fell_behind()), 0);
    case v1::SubscribeResponse::kOverdue:
      return Block("overdue", ToJson(response.overdue()), 0);
    default:
      return "";
  }
}

// One open event stream: what its cursor yields, rendered and written to
// its HTTP stream while the client reads, with no thread of its own (as
// rpc/subscription.cc pumps a gRPC stream). The cursor calls Ready when it
// has more; the HTTP stream calls Drained when it sent what it had, and
// Closed at its end. The HTTP stream holds it until then.
//
// Locking: mu_ is taken before the cursor's lock and the connection's;
// neither calls back into this object while holding theirs.
class EventStreams::Pump final
    : public core::SubscriptionCursor::Listener,
      public HttpStream::Listener,
      public std::enable_shared_from_this<EventStreams::Pump> {
 public:
  Pump(EventStreams* owner, std::shared_ptr<core::SubscriptionCursor> cursor,
       std::shared_ptr<HttpStream> stream)
      : owner_(owner), cursor_(std::move(cursor)), stream_(std::move(stream)) {}

  void Start() {
    cursor_->Attach(weak_from_this());
    stream_->SetListener(shared_from_this());
    Run();
  }

  // core::SubscriptionCursor::Listener (hub threads) and
  // HttpStream::Listener (an event loop thread).
  void Ready() override { Run(); }
  void Drained() override { Run(); }
  void Closed() override {
    {
      absl::MutexLock lock(&mu_);
      if (done_) return;
      done_ = true;
    }
    cursor_->Close();
  }

 private:
  // Writes what the cursor has until the stream holds kHighWater unsent
  // bytes; the rest waits in the log (a slow client falls behind as a slow
  // gRPC subscriber does, and the writer never waits for it).
  void Run() {
    bool close = false;
    {
      absl::MutexLock lock(&mu_);
      if (done_) return;
      while (stream_->buffered() < kHighWater) {
        core::EncodedResponse message;
        absl::StatusOr<bool> got = cursor_->Next(&message);
        if (!got.ok()) {
          stream_->Write(Block("error", ErrorJson(got.status()), 0));
          close = true;
          break;
        }
        if (!*got) break;
        const bool written = stream_->Write(owner_->Render(message));
        cursor_->WriteDone();
        if (!written) break;  // the stream is over: Closed comes
      }
    }
    if (close) stream_->Close();
  }

  static constexpr size_t kHighWater = 32 << 10;

  EventStreams* const owner_;
  const std::shared_ptr<core::SubscriptionCursor> cursor_;
  const std::shared_ptr<HttpStream> stream_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

void EventStreams::Serve(HttpExchange& exchange,
                         const v1::SubscribeRequest& request) {
  absl::StatusOr<std::shared_ptr<core::SubscriptionCursor>> cursor =
      core::SubscriptionCursor::Open(
          request, "http:" + exchange.peer(), services_.limits,
          {services_.store, services_.hub, services_.checkpoint_interval,
           services_.safe_time});
  if (!cursor.ok()) {
    exchange.Send(HttpStatusFor(cursor.status().code()),
                  "application/json; charset=utf-8",
                  ErrorJson(cursor.status()));
    return;
  }
  std::shared_ptr<HttpStream> stream = exchange.StartStream(
      200, "text/event-stream; charset=utf-8",
      {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}},
      ": keep-alive\n\n", kKeepAlive);
  // retry: how soon the browser reconnects after the stream ends.
  if (stream == nullptr || !stream->Write("retry: 1000\n\n")) {
    (*cursor)->Close();
    return;
  }
  std::make_shared<Pump>(this, *std::move(cursor), std::move(stream))->Start();
}

}  // namespace factlog::http
