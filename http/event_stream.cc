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

// Told by the cursor that it may have something to yield.
class Wakeup final : public core::SubscriptionCursor::Listener {
 public:
  void Ready() override {
    absl::MutexLock lock(&mu_);
    ready_ = true;
  }
  // Waits until Ready was called (since the last wait) or `timeout`
  // passed; true for the former.
  bool Wait(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&ready_), timeout);
    const bool ready = ready_;
    ready_ = false;
    return ready;
  }

 private:
  absl::Mutex mu_;
  bool ready_ ABSL_GUARDED_BY(mu_) = false;
};

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
  auto wakeup = std::make_shared<Wakeup>();
  (*cursor)->Attach(wakeup);
  // retry: how soon the browser reconnects after the stream ends.
  bool open = exchange.StartStream(200, "text/event-stream; charset=utf-8",
                                   {{"Cache-Control", "no-store"},
                                    {"X-Content-Type-Options", "nosniff"}}) &&
              exchange.Write("retry: 1000\n\n");
  while (open) {
    core::EncodedResponse message;
    absl::StatusOr<bool> got = (*cursor)->Next(&message);
    if (!got.ok()) {
      exchange.Write(Block("error", ErrorJson(got.status()), 0));
      break;
    }
    if (*got) {
      open = exchange.Write(Render(message));
      (*cursor)->WriteDone();
      continue;
    }
    if (!wakeup->Wait(kKeepAlive)) open = exchange.Write(": keep-alive\n\n");
  }
  (*cursor)->Close();
}

}  // namespace factlog::http
