// StreamCall: one server-streaming call driven by the async client
// (bench/cq_pool.h): StartCall, then Read after Read until the handler says
// stop or the stream ends, then Finish. Used for Subscribe (fanout,
// catch-up, stall, idle subscribers) and the server-stream baseline.
//
// The handler runs on the call's pool thread, one message at a time.
// Protobuf messages are parsed into an arena that is reset after each one, so a
// batch of events costs a few block allocations rather than several per
// event: the client shares the machine with the server it measures.
// Cancel() may be called from any thread; done() becomes true after the
// final status arrived, and the object may then be destroyed.
#ifndef FACTLOG_BENCH_STREAM_CALL_H_
#define FACTLOG_BENCH_STREAM_CALL_H_

#include <atomic>
#include <functional>
#include <memory>
#include <type_traits>

#include "bench/cq_pool.h"
#include "google/protobuf/arena.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/async_stream.h"
#include "grpcpp/support/status.h"

namespace factlog::bench {

template <typename Response>
class StreamCall final : public Completion {
 public:
  // Creates the (not yet started) call on `cq`, as a generated stub's
  // PrepareAsyncX(ctx, request, cq) does.
  using Prepare =
      std::function<std::unique_ptr<grpc::ClientAsyncReader<Response>>(
          grpc::ClientContext*, grpc::CompletionQueue*)>;
  // Gets each message; false cancels the call.
  using Handler = std::function<bool(const Response&)>;

  // With `read` false the call is started but never read: a subscriber
  // that stalls (only cancellation ends it).
  StreamCall(Prepare prepare, Handler handler, bool read = true)
      : prepare_(std::move(prepare)),
        handler_(std::move(handler)),
        read_(read) {}

  void Start(grpc::CompletionQueue* cq) {
    reader_ = prepare_(&ctx_, cq);
    state_ = kStarting;
    reader_->StartCall(this);
  }

  void Cancel() { ctx_.TryCancel(); }

  bool done() const { return done_.load(std::memory_order_acquire); }
  // The final status; valid once done().
  const grpc::Status& status() const { return status_; }
  grpc::ClientContext* context() { return &ctx_; }

  void Complete(bool ok) override {
    switch (state_) {
      case kStarting:
        if (ok && read_) {
          state_ = kReading;
          reader_->Read(NextMessage(), this);
        } else {
          // Not reading (a stalled subscriber): the status arrives when the
          // call is cancelled.
          state_ = kFinishing;
          reader_->Finish(&status_, this);
        }
        return;
      case kReading:
        if (ok) {
          if (!handler_(*message_)) ctx_.TryCancel();
          reader_->Read(NextMessage(), this);
        } else {
          state_ = kFinishing;
          reader_->Finish(&status_, this);
        }
        return;
      case kFinishing:
        done_.store(true, std::memory_order_release);
        return;
    }
  }

 private:
  enum State { kStarting, kReading, kFinishing };

  static google::protobuf::ArenaOptions Blocks() {
    google::protobuf::ArenaOptions options;
    options.start_block_size = 64 << 10;
    options.max_block_size = 64 << 10;
    return options;
  }

  Response* NextMessage() {
    if constexpr (std::is_base_of_v<google::protobuf::MessageLite, Response>) {
      arena_.Reset();
      message_ = google::protobuf::Arena::CreateMessage<Response>(&arena_);
    } else {  // grpc::ByteBuffer
      if (owned_ == nullptr) owned_ = std::make_unique<Response>();
      owned_->Clear();
      message_ = owned_.get();
    }
    return message_;
  }

  const Prepare prepare_;
  const Handler handler_;
  const bool read_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientAsyncReader<Response>> reader_;
  google::protobuf::Arena arena_{Blocks()};
  std::unique_ptr<Response> owned_;  // when Response is not a message
  Response* message_ = nullptr;      // on arena_, or owned_
  State state_ = kStarting;
  grpc::Status status_;
  std::atomic<bool> done_{false};
};

}  // namespace factlog::bench

#endif  // FACTLOG_BENCH_STREAM_CALL_H_
