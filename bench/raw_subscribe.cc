#include "bench/raw_subscribe.h"

#include <vector>

#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/impl/codegen/rpc_method.h"

namespace factlog::bench {
namespace {

// Field numbers from proto/factlog/v1 (service.proto, events.proto).
constexpr uint32_t kResponseEvent = 1;
constexpr uint32_t kResponseCaughtUp = 3;
constexpr uint32_t kResponseFellBehind = 4;
constexpr uint32_t kResponseEvents = 6;
constexpr uint32_t kBatchEvents = 1;
constexpr uint32_t kItemEvent = 1;
constexpr uint32_t kEventPosition = 1;
constexpr uint32_t kEventRecordedAt = 5;
constexpr uint32_t kTimestampSeconds = 1;
constexpr uint32_t kTimestampNanos = 2;

// Reads the fields of one message; wire types 0 (varint), 1 (64-bit),
// 2 (length-delimited) and 5 (32-bit).
class WireReader {
 public:
  explicit WireReader(absl::string_view bytes)
      : p_(bytes.data()), end_(p_ + bytes.size()) {}

  // The next field: its number, and its value as a varint or as bytes.
  bool Next(uint32_t* field, uint64_t* varint, absl::string_view* bytes) {
    if (p_ == end_) return false;
    uint64_t key;
    if (!Varint(&key)) return Fail();
    *field = static_cast<uint32_t>(key >> 3);
    switch (key & 7) {
      case 0:
        return Varint(varint) || Fail();
      case 1:
        return Skip(8);
      case 2: {
        uint64_t length;
        if (!Varint(&length) || length > static_cast<uint64_t>(end_ - p_)) {
          return Fail();
        }
        *bytes = absl::string_view(p_, length);
        p_ += length;
        return true;
      }
      case 5:
        return Skip(4);
      default:
        return Fail();
    }
  }

  bool ok() const { return ok_; }

 private:
  bool Varint(uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      const uint8_t b = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *out = v;
        return true;
      }
    }
    return false;
  }
  bool Skip(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return Fail();
    p_ += n;
    return true;
  }
  bool Fail() {
    ok_ = false;
    p_ = end_;
    return false;
  }

  const char* p_;
  const char* end_;
  bool ok_ = true;
};

bool VisitEvent(absl::string_view bytes, SubscribeVisitor& visitor) {
  WireReader event(bytes);
  uint32_t field;
  uint64_t varint = 0;
  absl::string_view sub;
  uint64_t position = 0;
  int64_t seconds = 0, nanos = 0;
  while (event.Next(&field, &varint, &sub)) {
    if (field == kEventPosition) {
      position = varint;
    } else if (field == kEventRecordedAt) {
      WireReader ts(sub);
      while (ts.Next(&field, &varint, &sub)) {
        if (field == kTimestampSeconds) seconds = static_cast<int64_t>(varint);
        if (field == kTimestampNanos) nanos = static_cast<int64_t>(varint);
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
  WireReader response(bytes);
  uint32_t field;
  uint64_t varint = 0;
  absl::string_view sub;
  while (response.Next(&field, &varint, &sub)) {
    switch (field) {
      case kResponseEvent:
        if (!VisitEvent(sub, visitor)) return false;
        break;
      case kResponseEvents: {
        WireReader batch(sub);
        while (batch.Next(&field, &varint, &sub)) {
          if (field != kBatchEvents) continue;
          WireReader item(sub);
          while (item.Next(&field, &varint, &sub)) {
            if (field == kItemEvent && !VisitEvent(sub, visitor)) return false;
          }
          if (!item.ok()) return false;
        }
        if (!batch.ok()) return false;
        break;
      }
      case kResponseCaughtUp:
        visitor.OnCaughtUp();
        break;
      case kResponseFellBehind:
        visitor.OnFellBehind();
        break;
      default:
        break;
    }
  }
  return response.ok();
}

}  // namespace factlog::bench
