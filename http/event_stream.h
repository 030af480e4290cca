// Server-Sent Events at /api/v1/events: a Subscribe stream
// (core/subscription_cursor.h) written as text/event-stream. Each event's
// SSE id is its log position, so a browser that reconnects with
// Last-Event-ID resumes with no gap and no repeat, across server restarts
// too; checkpoints and caught_up carry their position as the id as well.
#ifndef FACTLOG_HTTP_EVENT_STREAM_H_
#define FACTLOG_HTTP_EVENT_STREAM_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "core/subscription_cursor.h"
#include "factlog/v1/service.pb.h"
#include "http/api_services.h"
#include "http/http_server.h"

namespace factlog::http {

// Thread-safe; `services` must outlive it.
class EventStreams {
 public:
  explicit EventStreams(const ApiServices& services);

  // Starts one stream for `request` and returns: the stream runs, on no
  // thread of its own, until the client goes away or the hub shuts down
  // (then an `error` event with {"code":"UNAVAILABLE",...} ends it, and the
  // browser reconnects). A request the cursor refuses gets the JSON error
  // instead. A slow client falls behind as a slow gRPC subscriber does: the
  // writer never waits on it, and the server holds at most about 32 KiB
  // for it (a client that reads nothing is dropped:
  // HttpServerOptions::write_timeout_ms). The streams must end before this
  // object is destroyed (the HTTP server's destructor ends them). Messages,
  // each "event: NAME" with one JSON "data:" line:
  //   event       SubscribedEvent (the event, status_after), id = position
  //   checkpoint  Checkpoint, id = its position
  //   caught_up   CaughtUp, id = its position
  //   fell_behind FellBehind
  //   overdue     ClaimOverdue
  //   error       {"code":...,"message":...}, last
  // and a comment line every 15 s while idle.
  void Serve(HttpExchange& exchange, const v1::SubscribeRequest& request);

 private:
  class Pump;
  // One message's text/event-stream bytes; an event's are shared by every
  // stream that sends it.
  using Frame = std::shared_ptr<const std::string>;

  // Appends to `frames` the text/event-stream form of one SubscribeResponse
  // (encoded, as the cursor yields it): a frame per event of it, rendered
  // once for all streams (a small shared cache by position), or one frame
  // for another message.
  void Render(const core::EncodedResponse& message, std::vector<Frame>* frames);
  // The "id/event/data" block of one event at `position` with `status`.
  Frame RenderEvent(const v1::Event& event, v1::ClaimStatus status);
  // An encoded Event of a message, with its position (0 when it has none)
  // and the status after it.
  struct EncodedEvent {
    absl::string_view bytes;
    uint64_t position = 0;
    v1::ClaimStatus status = v1::CLAIM_STATUS_UNSPECIFIED;
  };
  // Appends the blocks of `events`: the cached ones under one look-up,
  // the others rendered (and cached). False when one does not parse.
  bool AppendEvents(absl::Span<const EncodedEvent> events,
                    std::vector<Frame>* frames);
  // Appends the blocks of the items of an encoded EventBatch; false when
  // the bytes do not frame as one.
  bool RenderBatch(absl::string_view batch, std::vector<Frame>* frames);
  // Appends the blocks of an encoded SubscribeResponse holding an event or
  // a batch of them, read from the wire format; false for another message
  // (or bytes that do not frame), then Render parses it.
  bool RenderEventsOnTheWire(absl::string_view bytes,
                             std::vector<Frame>* frames);

  const ApiServices& services_;

  static constexpr size_t kCacheSlots = 4096;
  struct Rendered {
    uint64_t position = 0;
    v1::ClaimStatus status = v1::CLAIM_STATUS_UNSPECIFIED;
    Frame text;
  };
  absl::Mutex cache_mu_;
  std::vector<Rendered> cache_ ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_EVENT_STREAM_H_
