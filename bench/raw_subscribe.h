// Subscribe as a high-volume consumer would read it: the stream's messages
// arrive as raw bytes and the bench decodes only what it measures (each
// event's position and recorded_at, and the control messages), straight
// from the protobuf wire format. Full parsing of every event would make the
// bench's own client, which shares the machine with the server, the
// bottleneck of fanout and catch-up.
#ifndef FACTLOG_BENCH_RAW_SUBSCRIBE_H_
#define FACTLOG_BENCH_RAW_SUBSCRIBE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "factlog/bench/baseline.pb.h"
#include "factlog/v1/service.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/support/async_stream.h"
#include "grpcpp/support/byte_buffer.h"

namespace factlog::bench {

// A not yet started Subscribe call whose responses are raw bytes.
std::unique_ptr<grpc::ClientAsyncReader<grpc::ByteBuffer>> PrepareRawSubscribe(
    grpc::Channel* channel, grpc::ClientContext* ctx,
    const v1::SubscribeRequest& request, grpc::CompletionQueue* cq);

// The same for the broadcast ceiling's Baseline.Listen
// (bench/baseline_service.h), whose messages read as Subscribe's.
std::unique_ptr<grpc::ClientAsyncReader<grpc::ByteBuffer>> PrepareRawListen(
    grpc::Channel* channel, grpc::ClientContext* ctx,
    const ListenRequest& request, grpc::CompletionQueue* cq);

// What one SubscribeResponse holds, as far as the bench cares.
class SubscribeVisitor {
 public:
  virtual ~SubscribeVisitor() = default;
  virtual void OnEvent(uint64_t position, int64_t recorded_at_unix_nanos) = 0;
  virtual void OnCaughtUp() = 0;
  virtual void OnFellBehind() = 0;
};

// Decodes one raw SubscribeResponse into calls on `visitor`; false when
// the bytes are not a well-formed message.
bool VisitSubscribeResponse(const grpc::ByteBuffer& message,
                            SubscribeVisitor& visitor);

}  // namespace factlog::bench

#endif  // FACTLOG_BENCH_RAW_SUBSCRIBE_H_
