#include "http/event_stream.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/wire.h"
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

// The position of the encoded Event `event` (0 when it has none).
uint64_t EventPosition(absl::string_view event) {
  wire::FieldReader reader(event);
  wire::Field field;
  while (reader.Next(&field)) {
    if (field.number == v1::Event::kPositionFieldNumber &&
        field.type == wire::kVarint) {
      return field.varint;
    }
  }
  return 0;
}

}  // namespace

EventStreams::EventStreams(const ApiServices& services)
    : services_(services), cache_(kCacheSlots) {}

EventStreams::Frame EventStreams::RenderEvent(const v1::Event& event,
                                              v1::ClaimStatus status) {
  const uint64_t position = event.position();
  {
    absl::ReaderMutexLock lock(&cache_mu_);
    const Rendered& slot = cache_[position % kCacheSlots];
    if (slot.position == position && slot.status == status &&
        slot.text != nullptr) {
      return slot.text;
    }
  }
  v1::SubscribedEvent item;
  *item.mutable_event() = event;
  item.set_status_after(status);
  auto text = std::make_shared<const std::string>(
      Block("event", ToJson(item), position));
  absl::MutexLock lock(&cache_mu_);
  cache_[position % kCacheSlots] = Rendered{position, status, text};
  return text;
}

bool EventStreams::AppendEvents(absl::Span<const EncodedEvent> events,
                                std::vector<Frame>* frames) {
  const size_t first = frames->size();
  frames->resize(first + events.size());
  {
    // One look-up for the message's events, not one per event.
    absl::ReaderMutexLock lock(&cache_mu_);
    for (size_t i = 0; i < events.size(); ++i) {
      const Rendered& slot = cache_[events[i].position % kCacheSlots];
      if (events[i].position != 0 && slot.position == events[i].position &&
          slot.status == events[i].status) {
        (*frames)[first + i] = slot.text;
      }
    }
  }
  for (size_t i = 0; i < events.size(); ++i) {
    if ((*frames)[first + i] != nullptr) continue;
    v1::Event parsed;
    if (!parsed.ParseFromArray(events[i].bytes.data(),
                               static_cast<int>(events[i].bytes.size()))) {
      return false;
    }
    (*frames)[first + i] = RenderEvent(parsed, events[i].status);
  }
  return true;
}

bool EventStreams::RenderBatch(absl::string_view batch,
                               std::vector<Frame>* frames) {
  thread_local std::vector<EncodedEvent> events;
  events.clear();
  wire::FieldReader items(batch);
  wire::Field field;
  while (items.Next(&field)) {
    if (field.number != v1::EventBatch::kEventsFieldNumber ||
        field.type != wire::kLengthDelimited) {
      return false;
    }
    wire::FieldReader item(field.bytes);
    wire::Field part;
    EncodedEvent event;
    while (item.Next(&part)) {
      if (part.number == v1::SubscribedEvent::kEventFieldNumber &&
          part.type == wire::kLengthDelimited) {
        event.bytes = part.bytes;
      } else if (part.number == v1::SubscribedEvent::kStatusAfterFieldNumber &&
                 part.type == wire::kVarint) {
        event.status = static_cast<v1::ClaimStatus>(part.varint);
      }
    }
    if (!item.ok()) return false;
    event.position = EventPosition(event.bytes);
    events.push_back(event);
  }
  return items.ok() && AppendEvents(events, frames);
}

bool EventStreams::RenderEventsOnTheWire(absl::string_view bytes,
                                         std::vector<Frame>* frames) {
  wire::FieldReader reader(bytes);
  wire::Field field;
  absl::string_view event, batch;
  bool has_event = false, has_batch = false;
  uint64_t status = 0;
  while (reader.Next(&field)) {
    if (field.number == v1::SubscribeResponse::kEventFieldNumber &&
        field.type == wire::kLengthDelimited) {
      event = field.bytes;
      has_event = true;
    } else if (field.number == v1::SubscribeResponse::kStatusAfterFieldNumber &&
               field.type == wire::kVarint) {
      status = field.varint;
    } else if (field.number == v1::SubscribeResponse::kEventsFieldNumber &&
               field.type == wire::kLengthDelimited) {
      batch = field.bytes;
      has_batch = true;
    } else {
      return false;  // not an event message
    }
  }
  if (!reader.ok() || has_event == has_batch) return false;
  if (has_batch) return RenderBatch(batch, frames);
  const EncodedEvent one{event, EventPosition(event),
                         static_cast<v1::ClaimStatus>(status)};
  return AppendEvents({&one, 1}, frames);
}

void EventStreams::Render(const core::EncodedResponse& message,
                          std::vector<Frame>* frames) {
  // Events, nearly every message, are read on the wire and taken from the
  // cache: a thousand streams sending one message do not parse it, render
  // it or copy its text a thousand times.
  const size_t before = frames->size();
  if (!message.header.empty()) {
    // A batch as the cursor gathered it: the header is the tag and length
    // of SubscribeResponse.events, framing the body, whose items are read
    // where they lie.
    const char* p = message.header.data();
    const char* const end = p + message.header.size();
    uint64_t tag = 0, length = 0;
    p = wire::ReadVarint(p, end, wire::kMaxVarint32Bytes, &tag);
    if (p != nullptr) {
      p = wire::ReadVarint(p, end, wire::kMaxVarint32Bytes, &length);
    }
    if (p == end &&
        tag == wire::Tag(v1::SubscribeResponse::kEventsFieldNumber,
                         wire::kLengthDelimited) &&
        length == message.body.size() && RenderBatch(message.body, frames)) {
      return;
    }
    frames->resize(before);
  }
  thread_local std::string joined;
  absl::string_view bytes = message.body;
  if (!message.header.empty()) {
    joined.assign(message.header);
    joined.append(message.body);
    bytes = joined;
  }
  if (RenderEventsOnTheWire(bytes, frames)) return;
  frames->resize(before);
  auto one = [frames](std::string text) {
    frames->push_back(std::make_shared<const std::string>(std::move(text)));
  };
  v1::SubscribeResponse response;
  if (!response.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    one(Block("error",
              ErrorJson(absl::InternalError("cannot parse a response")), 0));
    return;
  }
  switch (response.message_case()) {
    case v1::SubscribeResponse::kEvent:
      frames->push_back(RenderEvent(response.event(), response.status_after()));
      return;
    case v1::SubscribeResponse::kEvents:
      for (const v1::SubscribedEvent& item : response.events().events()) {
        frames->push_back(RenderEvent(item.event(), item.status_after()));
      }
      return;
    case v1::SubscribeResponse::kCheckpoint:
      one(Block("checkpoint", ToJson(response.checkpoint()),
                response.checkpoint().position()));
      return;
    case v1::SubscribeResponse::kCaughtUp:
      one(Block("caught_up", ToJson(response.caught_up()),
                response.caught_up().position()));
      return;
    case v1::SubscribeResponse::kFellBehind:
      one(Block("fell_behind", ToJson(response.fell_behind()), 0));
      return;
    case v1::SubscribeResponse::kOverdue:
      one(Block("overdue", ToJson(response.overdue()), 0));
      return;
    default:
      return;
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
  //
  // While bytes wait to be sent (for EventLoop::kDelay, or for the client)
  // Ready does nothing: Drained comes once they are sent, and then one Next
  // takes every event that arrived meanwhile. Until that Next the cursor is
  // not waiting on the hub, so the hub does not wake it for each event: the
  // work per stream follows its sends, not the events.
  void Ready() override {
    if (stream_->buffered() == 0) Run();
  }
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
      std::vector<Frame> frames;
      while (stream_->buffered() < kHighWater) {
        core::EncodedResponse message;
        absl::StatusOr<bool> got = cursor_->Next(&message);
        if (!got.ok()) {
          stream_->Write(Block("error", ErrorJson(got.status()), 0));
          close = true;
          break;
        }
        if (!*got) break;
        frames.clear();
        owner_->Render(message, &frames);
        const bool written = stream_->WriteShared(absl::MakeSpan(frames));
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
