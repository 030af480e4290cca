#ifndef FACTLOG_CORE_SUBSCRIBE_RESPONSE_H_
#define FACTLOG_CORE_SUBSCRIBE_RESPONSE_H_

// SubscribeResponse messages assembled from events already encoded (the
// hub keeps each event's bytes once for every subscriber, catch-up reads
// them as stored), so that no event is parsed or encoded per subscriber.
// The bytes are those protobuf's serialization of the same message gives.
// Inline: they run for every event and subscriber. Thread-compatible.

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "common/wire.h"
#include "factlog/v1/service.pb.h"

namespace factlog::core {

// Appends SubscribeResponse{event: `event` (an encoded v1::Event),
// status_after: `status`} to `out`.
inline void AppendEventResponse(absl::string_view event, v1::ClaimStatus status,
                                std::string* out) {
  wire::AppendLengthDelimitedHeader(v1::SubscribeResponse::kEventFieldNumber,
                                    event.size(), out);
  out->append(event.data(), event.size());
  wire::AppendEnumField(v1::SubscribeResponse::kStatusAfterFieldNumber, status,
                        out);
}

// Appends to the encoded EventBatch `batch` one more item of
// EventBatch.events: SubscribedEvent{event: `event`, status_after:
// `status`}.
inline void AppendBatchItem(absl::string_view event, v1::ClaimStatus status,
                            std::string* batch) {
  const size_t item_size =
      wire::LengthDelimitedFieldSize(v1::SubscribedEvent::kEventFieldNumber,
                                     event.size()) +
      wire::EnumFieldSize(v1::SubscribedEvent::kStatusAfterFieldNumber, status);
  wire::AppendLengthDelimitedHeader(v1::EventBatch::kEventsFieldNumber,
                                    item_size, batch);
  wire::AppendLengthDelimitedHeader(v1::SubscribedEvent::kEventFieldNumber,
                                    event.size(), batch);
  batch->append(event.data(), event.size());
  wire::AppendEnumField(v1::SubscribedEvent::kStatusAfterFieldNumber, status,
                        batch);
}

// Appends to `out` what precedes an encoded EventBatch of `batch_size`
// bytes in SubscribeResponse{events: the batch}: the batch follows it on
// the wire, so it is sent as it is, without copying it behind a header.
inline void AppendBatchResponseHeader(size_t batch_size, std::string* out) {
  wire::AppendLengthDelimitedHeader(v1::SubscribeResponse::kEventsFieldNumber,
                                    batch_size, out);
}

}  // namespace factlog::core

#endif  // FACTLOG_CORE_SUBSCRIBE_RESPONSE_H_
