#ifndef FACTLOG_RPC_CHUNKED_STREAM_H_
#define FACTLOG_RPC_CHUNKED_STREAM_H_

#include <deque>

#include "absl/status/status.h"
#include "grpcpp/support/server_callback.h"
#include "rpc/grpc_order.h"
#include "rpc/grpc_status.h"

namespace factlog::rpc {

// A server stream that reads what it sends a chunk at a time and keeps one
// write in flight (ReadEvents, ExportClaimReviews). A subclass fills the
// buffer when it runs dry and calls Start() at the end of its constructor;
// the reactor deletes itself when gRPC is done with it. A client that goes
// away ends the stream with CANCELLED.
template <typename Message>
class ChunkedWriteReactor : public grpc::ServerWriteReactor<Message> {
 public:
  void OnWriteDone(bool ok) override {
    GrpcReact(this);
    if (!ok) {
      GrpcStart(this, [&] {
        this->Finish(
            grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      });
      return;
    }
    buffer_.pop_front();
    Next();
  }

  void OnDone() override {
    GrpcReact(this);
    delete this;
  }

 protected:
  // Appends the next messages to `buffer`, which is empty. OK with nothing
  // appended ends the stream; an error ends it with that status.
  virtual absl::Status Fill(std::deque<Message>* buffer) = 0;

  // Sends the first message (or the end); once, last in the subclass's
  // constructor.
  void Start() { Next(); }

 private:
  void Next() {
    if (buffer_.empty()) {
      if (absl::Status s = Fill(&buffer_); !s.ok()) {
        GrpcStart(this, [&] { this->Finish(ToGrpcStatus(s)); });
        return;
      }
    }
    if (buffer_.empty()) {
      GrpcStart(this, [&] { this->Finish(grpc::Status::OK); });
      return;
    }
    GrpcStart(this, [&] { this->StartWrite(&buffer_.front()); });
  }

  std::deque<Message> buffer_;
};

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_CHUNKED_STREAM_H_
