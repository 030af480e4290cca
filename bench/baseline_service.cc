#include "bench/baseline_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/unary_load.h"
#include "common/wire.h"
#include "core/subscribe_response.h"
#include "factlog/bench/baseline.grpc.pb.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/service.pb.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/byte_buffer.h"

namespace factlog::bench {
namespace {

// The status_after every event of a Listen stream carries.
constexpr v1::ClaimStatus kStatusAfter = v1::CLAIM_STATUS_DISPUTED;

// The events published so far and the Listen streams waiting for the next.
class Broadcast {
 public:
  class Listener;

  // Stamps and keeps one event, then wakes the waiting listeners.
  void Publish(const std::string& unstamped);
  // Events published so far (the last one's position).
  uint64_t size() {
    absl::MutexLock lock(&mu_);
    return events_.size();
  }

 private:
  friend class Listener;
  absl::Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);  // position - 1
  std::vector<Listener*> waiting_ ABSL_GUARDED_BY(mu_);
};

// One Listen stream: one write in flight; after it, whatever was published
// meanwhile (up to the batch limit) goes out as the next message, or the
// stream waits for Publish to wake it. It deletes itself when done.
class Broadcast::Listener final
    : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // Starts with a caught_up message, as Subscribe from the end does, so
  // the client knows it is live.
  Listener(Broadcast* broadcast, uint32_t max_events)
      : broadcast_(broadcast), max_events_(max_events ? max_events : 1) {
    {
      absl::MutexLock lock(&broadcast_->mu_);
      next_ = broadcast_->events_.size();
    }
    std::string caught_up;
    wire::AppendLengthDelimitedHeader(
        v1::SubscribeResponse::kCaughtUpFieldNumber, 0, &caught_up);
    grpc::Slice slice(std::move(caught_up));
    buffer_ = grpc::ByteBuffer(&slice, 1);
    StartWrite(&buffer_);
  }

  // Writes what is new, or waits again. Called by Publish (after taking
  // the stream off the waiting list) and after each write.
  void Pump() {
    std::string batch;
    {
      absl::MutexLock lock(&broadcast_->mu_);
      if (cancelled_) {
        // OnCancel found the stream pumped or writing; it ends here.
      } else if (next_ == broadcast_->events_.size()) {
        broadcast_->waiting_.push_back(this);
        return;
      } else {
        batch = Assemble();
      }
    }
    if (batch.empty()) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, ""));
      return;
    }
    // SubscribeResponse.events = the batch: a small header slice and the
    // batch's own, as factlog's Subscribe sends it.
    std::string header;
    core::AppendBatchResponseHeader(batch.size(), &header);
    grpc::Slice slices[2] = {grpc::Slice(std::move(header)),
                             grpc::Slice(std::move(batch))};
    buffer_ = grpc::ByteBuffer(slices, 2);
    StartWrite(&buffer_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "closed"));
      return;
    }
    Pump();
  }

  // Only a waiting stream is finished here; one with a write in flight or
  // about to be pumped finishes in OnWriteDone or Pump.
  void OnCancel() override {
    bool was_waiting = false;
    {
      absl::MutexLock lock(&broadcast_->mu_);
      cancelled_ = true;
      auto& waiting = broadcast_->waiting_;
      auto it = std::find(waiting.begin(), waiting.end(), this);
      if (it != waiting.end()) {
        waiting.erase(it);
        was_waiting = true;
      }
    }
    if (was_waiting) Finish(grpc::Status(grpc::StatusCode::CANCELLED, ""));
  }

  void OnDone() override { delete this; }

 private:
  // The EventBatch of the next message, from events_[next_...], as
  // factlog's Subscribe assembles one from encoded events.
  std::string Assemble() ABSL_EXCLUSIVE_LOCKS_REQUIRED(broadcast_->mu_) {
    const std::vector<std::string>& events = broadcast_->events_;
    const size_t end = std::min(events.size(), next_ + max_events_);
    std::string batch;
    batch.reserve((end - next_) * (events[next_].size() + 16));
    for (; next_ < end; ++next_) {
      core::AppendBatchItem(events[next_], kStatusAfter, &batch);
    }
    return batch;
  }

  Broadcast* const broadcast_;
  const size_t max_events_;
  // Under broadcast_->mu_: the index of the next event to send, and
  // whether the call was cancelled.
  size_t next_;
  bool cancelled_ = false;
  grpc::ByteBuffer buffer_;  // the write in flight
};

void Broadcast::Publish(const std::string& unstamped) {
  std::vector<Listener*> woken;
  {
    absl::MutexLock lock(&mu_);
    v1::Event stamp;
    stamp.set_position(events_.size() + 1);
    const int64_t now = absl::GetCurrentTimeNanos();
    stamp.mutable_recorded_at()->set_seconds(now / 1000000000);
    stamp.mutable_recorded_at()->set_nanos(now % 1000000000);
    events_.push_back(unstamped + stamp.SerializeAsString());
    woken.swap(waiting_);
  }
  for (Listener* listener : woken) listener->Pump();
}

// One DurableIngest stream: reads a chunk, appends it to the log, and reads
// on once it is durable, as factlog's Import does. Deletes itself when done.
class Ingest final : public grpc::ServerReadReactor<Payload> {
 public:
  static constexpr size_t kChunk = 256;  // rpc::ClaimServiceImpl's

  Ingest(DurableLog* log, IngestResult* result) : log_(log), result_(result) {
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      chunk_.push_back(std::move(*incoming_.mutable_data()));
      if (chunk_.size() < kChunk) {
        StartRead(&incoming_);
        return;
      }
    } else {
      reading_done_ = true;
    }
    Flush();
  }

  void OnDone() override { delete this; }

 private:
  void Flush() {
    if (chunk_.empty()) {
      result_->set_count(count_);
      Finish(grpc::Status::OK);
      return;
    }
    const size_t n = chunk_.size();
    std::vector<std::string> chunk;
    chunk.swap(chunk_);
    log_->Append(std::move(chunk), [this, n](bool durable) {
      if (!durable) {
        Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
        return;
      }
      count_ += n;
      if (reading_done_) {
        result_->set_count(count_);
        Finish(grpc::Status::OK);
      } else {
        StartRead(&incoming_);
      }
    });
  }

  DurableLog* const log_;
  IngestResult* const result_;
  Payload incoming_;
  std::vector<std::string> chunk_;
  bool reading_done_ = false;
  uint64_t count_ = 0;
};

}  // namespace

class BaselineServer::Service final
    : public Baseline::WithRawCallbackMethod_Listen<Baseline::CallbackService> {
 public:
  // The durable calls' log, or null while none is open.
  void SetLog(DurableLog* log) { log_.store(log, std::memory_order_release); }

  grpc::ServerUnaryReactor* DurableEcho(grpc::CallbackServerContext* ctx,
                                        const Payload* request,
                                        Payload* /*response*/) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    DurableLog* log = log_.load(std::memory_order_acquire);
    if (log == nullptr) {
      reactor->Finish(NoLog());
      return reactor;
    }
    std::vector<std::string> records(1, request->data());
    log->Append(std::move(records), [reactor](bool durable) {
      reactor->Finish(durable ? grpc::Status::OK
                              : grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                             "write failed"));
    });
    return reactor;
  }

  grpc::ServerReadReactor<Payload>* DurableIngest(
      grpc::CallbackServerContext* /*ctx*/, IngestResult* result) override {
    DurableLog* log = log_.load(std::memory_order_acquire);
    if (log == nullptr) {
      class Refused final : public grpc::ServerReadReactor<Payload> {
       public:
        Refused() { Finish(NoLog()); }
        void OnDone() override { delete this; }
      };
      return new Refused();
    }
    return new Ingest(log, result);
  }

  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* ctx,
                                    const Payload* request,
                                    Payload* /*response*/) override {
    broadcast_.Publish(request->data());
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerWriteReactor<grpc::ByteBuffer>* Listen(
      grpc::CallbackServerContext* /*ctx*/,
      const grpc::ByteBuffer* request) override {
    ListenRequest parsed;
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (request->Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) {
        bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
    parsed.ParseFromString(bytes);
    return new Broadcast::Listener(&broadcast_,
                                   parsed.max_events_per_message());
  }

  uint64_t BroadcastEvents() { return broadcast_.size(); }

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx,
                                 const Payload* request,
                                 Payload* response) override {
    *response = *request;
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerWriteReactor<Payload>* Stream(
      grpc::CallbackServerContext* ctx, const StreamRequest* request) override {
    class Writer final : public grpc::ServerWriteReactor<Payload> {
     public:
      explicit Writer(const StreamRequest& request) : left_(request.count()) {
        payload_.set_data(std::string(request.bytes(), 'x'));
        Next();
      }
      void OnWriteDone(bool ok) override {
        if (!ok) {
          Finish(grpc::Status(grpc::StatusCode::CANCELLED, "closed"));
          return;
        }
        Next();
      }
      void OnDone() override { delete this; }

     private:
      void Next() {
        if (left_ == 0) {
          Finish(grpc::Status::OK);
          return;
        }
        --left_;
        StartWrite(&payload_);
      }
      uint64_t left_;
      Payload payload_;
    };
    return new Writer(*request);
  }

 private:
  static grpc::Status NoLog() {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        "no durable log is open (BaselineServer::OpenDurableLog)");
  }

  Broadcast broadcast_;
  std::atomic<DurableLog*> log_{nullptr};
};

absl::StatusOr<std::unique_ptr<BaselineServer>> BaselineServer::Start() {
  std::unique_ptr<BaselineServer> s(new BaselineServer());
  s->service_ = std::make_unique<Service>();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  // As factlogd sets them (server/factlog_server.cc).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 1000);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(4 << 20);
  builder.RegisterService(s->service_.get());
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || port == 0) {
    return absl::UnavailableError("baseline server: cannot listen");
  }
  s->address_ = absl::StrCat("127.0.0.1:", port);
  return s;
}

uint64_t BaselineServer::BroadcastEvents() const {
  return service_->BroadcastEvents();
}

absl::Status BaselineServer::OpenDurableLog(const std::string& dir) {
  if (log_ != nullptr) {
    return absl::FailedPreconditionError("a durable log is open already");
  }
  auto log = DurableLog::Open(dir);
  if (!log.ok()) return log.status();
  log_ = *std::move(log);
  service_->SetLog(log_.get());
  return absl::OkStatus();
}

void BaselineServer::CloseDurableLog() {
  service_->SetLog(nullptr);
  log_.reset();
}

uint64_t BaselineServer::DurableRecords() const {
  return log_ ? log_->durable() : 0;
}

BaselineServer::~BaselineServer() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
    server_->Wait();
  }
}

DiskCeilingResult DiskCeiling(const std::string& dir, absl::Duration duration) {
  DiskCeilingResult r;
  const std::string path = dir + "/fsync-probe";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return r;
  const std::string block(4096, 'x');
  const int64_t end = NowNanos() + absl::ToInt64Nanoseconds(duration);
  uint64_t n = 0;
  const int64_t start = NowNanos();
  int64_t now = start;
  while (now < end) {
    if (write(fd, block.data(), block.size()) !=
            static_cast<ssize_t>(block.size()) ||
        fdatasync(fd) != 0) {
      break;
    }
    const int64_t after = NowNanos();
    r.latency.Record((after - now) / 1000);
    now = after;
    ++n;
  }
  close(fd);
  unlink(path.c_str());
  r.syncs_per_sec = now > start ? n * 1e9 / (now - start) : 0;
  return r;
}

}  // namespace factlog::bench
