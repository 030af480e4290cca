#include "bench/raw_subscribe.h"

#include <vector>

#include "common/wire.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/impl/codegen/rpc_method.h"

namespace factlog::bench {
namespace {

// Reads the event's position and recorded_at; false when the bytes do not
// frame.
bool VisitEvent(absl::string_view bytes, SubscribeVisitor& visitor) {
  wire::FieldReader event(bytes);
  wire::Field field;
  uint64_t position = 0;
  int64_t seconds = 0, nanos = 0;
  while (event.Next(&field)) {
    if (field.number == v1::Event::kPositionFieldNumber) {
      position = field.varint;
    } else if (field.number == v1::Event::kRecordedAtFieldNumber) {
      wire::FieldReader ts(field.bytes);
      while (ts.Next(&field)) {
        if (field.number == google::protobuf::Timestamp::kSecondsFieldNumber) {
          seconds = static_cast<int64_t>(field.varint);
        }
        if (field.number == google::protobuf::Timestamp::kNanosFieldNumber) {
          nanos = static_cast<int64_t>(field.varint);
        }
      }
      if (!ts.ok()) return false;
    }
  }
  if (!event.ok()) return false;
  visitor.OnEvent(position, seconds * 1000000000 + nanos);
  return true;
}

std::unique_ptr<grpc::ClientAsyncReader<grpc::ByteBuffer>> PrepareRawStream(
    const grpc::internal::RpcMethod& method, grpc::Channel* channel,
    grpc::ClientContext* ctx, const google::protobuf::Message& request,
    grpc::CompletionQueue* cq) {
  return std::unique_ptr<grpc::ClientAsyncReader<grpc::ByteBuffer>>(
      grpc::internal::ClientAsyncReaderFactory<grpc::ByteBuffer>::Create(
          channel, cq, method, ctx, request, /*start=*/false, nullptr));
}

}  // namespace

std::unique_ptr<grpc::ClientAsyncReader<grpc::ByteBuffer>> PrepareRawSubscribe(
    grpc::Channel* channel, grpc::ClientContext* ctx,
    const v1::SubscribeRequest& request, grpc::CompletionQueue* cq) {
  static const grpc::internal::RpcMethod method(
      "/factlog.v1.EventService/Subscribe",
      grpc::internal::RpcMethod::SERVER_STREAMING);
  return PrepareRawStream(method, channel, ctx, request, cq);
}

std::unique_ptr<grpc::ClientAsyncReader<grpc::ByteBuffer>> PrepareRawListen(
    grpc::Channel* channel, grpc::ClientContext* ctx,
    const ListenRequest& request, grpc::CompletionQueue* cq) {
  static const grpc::internal::RpcMethod method(
      "/factlog.bench.Baseline/Listen",
      grpc::internal::RpcMethod::SERVER_STREAMING);
  return PrepareRawStream(method, channel, ctx, request, cq);
}

bool VisitSubscribeResponse(const grpc::ByteBuffer& message,
                            SubscribeVisitor& visitor) {
  std::vector<grpc::Slice> slices;
  if (!message.Dump(&slices).ok()) return false;
  std::string flat;
  absl::string_view bytes;
  if (slices.size() == 1) {
    bytes = absl::string_view(reinterpret_cast<const char*>(slices[0].begin()),
                              slices[0].size());
  } else {
    flat.reserve(message.Length());
    for (const grpc::Slice& s : slices) {
      flat.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    bytes = flat;
  }
  wire::FieldReader response(bytes);
  wire::Field field;
  while (response.Next(&field)) {
    switch (field.number) {
      case v1::SubscribeResponse::kEventFieldNumber:
        if (!VisitEvent(field.bytes, visitor)) return false;
        break;
      case v1::SubscribeResponse::kEventsFieldNumber: {
        wire::FieldReader batch(field.bytes);
        wire::Field item_field;
        while (batch.Next(&item_field)) {
          if (item_field.number != v1::EventBatch::kEventsFieldNumber) continue;
          wire::FieldReader item(item_field.bytes);
          wire::Field event_field;
          while (item.Next(&event_field)) {
            if (event_field.number == v1::SubscribedEvent::kEventFieldNumber &&
                !VisitEvent(event_field.bytes, visitor)) {
              return false;
            }
          }
          if (!item.ok()) return false;
        }
        if (!batch.ok()) return false;
        break;
      }
      case v1::SubscribeResponse::kCaughtUpFieldNumber:
        visitor.OnCaughtUp();
        break;
      case v1::SubscribeResponse::kFellBehindFieldNumber:
        visitor.OnFellBehind();
        break;
      default:
        break;
    }
  }
  return response.ok();
}

}  // namespace factlog::bench
