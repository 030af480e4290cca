#include "bench/unary_load.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"

namespace factlog::bench {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

grpc::ByteBuffer Serialize(const google::protobuf::Message& message) {
  const std::string bytes = message.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

namespace {

// Shared by the calls of one run.
struct Run {
  int64_t measure_from = 0;
  int64_t end = 0;
  const MakeUnary* make = nullptr;
  const AcceptUnary* accept = nullptr;
  std::atomic<int> outstanding{0};
  absl::Notification all_done;

  absl::Mutex mu;
  UnaryLoadResult result ABSL_GUARDED_BY(mu);

  void Finished() {
    if (outstanding.fetch_sub(1) == 1) all_done.Notify();
  }
  bool Accepted(const grpc::Status& s) const {
    return *accept ? (*accept)(s) : s.ok();
  }
};

class ClosedLoopClient final : public Completion {
 public:
  ClosedLoopClient(Run* run, int id, grpc::GenericStub* stub,
                   grpc::CompletionQueue* cq)
      : run_(run), id_(id), stub_(stub), cq_(cq) {}

  void StartNext() {
    ctx_ = std::make_unique<grpc::ClientContext>();
    UnaryRequest req = (*run_->make)(id_, seq_);
    start_ = NowNanos();
    call_ = stub_->PrepareUnaryCall(ctx_.get(), *req.method, req.payload, cq_);
    call_->StartCall();
    call_->Finish(&response_, &status_, this);
  }

  void Complete(bool) override {
    const int64_t now = NowNanos();
    if (start_ >= run_->measure_from) {
      if (run_->Accepted(status_)) {
        ++ops_;
        latency_.Record((now - start_) / 1000);
      } else {
        if (errors_++ == 0) first_error_ = status_;
      }
    }
    ++seq_;
    if (now < run_->end) {
      StartNext();
      return;
    }
    {
      absl::MutexLock lock(&run_->mu);
      run_->result.ops += ops_;
      run_->result.errors += errors_;
      if (run_->result.first_error.ok())
        run_->result.first_error = first_error_;
      run_->result.latency.Merge(latency_);
    }
    run_->Finished();
  }

 private:
  Run* const run_;
  const int id_;
  grpc::GenericStub* const stub_;
  grpc::CompletionQueue* const cq_;
  uint64_t seq_ = 0;
  int64_t start_ = 0;
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call_;
  grpc::ByteBuffer response_;
  grpc::Status status_;
  uint64_t ops_ = 0, errors_ = 0;
  grpc::Status first_error_;
  Histogram latency_;
};

// One open-loop call; deletes itself when done.
class PacedCall final : public Completion {
 public:
  PacedCall(Run* run, int64_t scheduled) : run_(run), scheduled_(scheduled) {}

  void Start(grpc::GenericStub* stub, grpc::CompletionQueue* cq, uint64_t seq) {
    UnaryRequest req = (*run_->make)(0, seq);
    ctx_.set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(60));
    call_ = stub->PrepareUnaryCall(&ctx_, *req.method, req.payload, cq);
    call_->StartCall();
    call_->Finish(&response_, &status_, this);
  }

  void Complete(bool) override {
    if (scheduled_ >= run_->measure_from) {
      const int64_t now = NowNanos();
      absl::MutexLock lock(&run_->mu);
      if (run_->Accepted(status_)) {
        ++run_->result.ops;
        run_->result.latency.Record((now - scheduled_) / 1000);
      } else if (run_->result.errors++ == 0) {
        run_->result.first_error = status_;
      }
    }
    Run* run = run_;
    delete this;
    run->Finished();
  }

 private:
  Run* const run_;
  const int64_t scheduled_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call_;
  grpc::ByteBuffer response_;
  grpc::Status status_;
};

std::vector<std::unique_ptr<grpc::GenericStub>> Stubs(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels) {
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (const auto& c : channels) {
    stubs.push_back(std::make_unique<grpc::GenericStub>(c));
  }
  return stubs;
}

}  // namespace

UnaryLoadResult RunClosedLoop(
    CqPool& pool, const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    int clients, const LoadWindow& window, const MakeUnary& make,
    const AcceptUnary& accept) {
  auto stubs = Stubs(channels);
  Run run;
  run.make = &make;
  run.accept = &accept;
  const int64_t start = NowNanos();
  run.measure_from = start + absl::ToInt64Nanoseconds(window.warmup);
  run.end = run.measure_from + absl::ToInt64Nanoseconds(window.duration);
  std::vector<std::unique_ptr<ClosedLoopClient>> all;
  run.outstanding = clients;
  for (int i = 0; i < clients; ++i) {
    all.push_back(std::make_unique<ClosedLoopClient>(
        &run, i, stubs[i % stubs.size()].get(), pool.cq(i)));
  }
  for (auto& c : all) c->StartNext();
  run.all_done.WaitForNotification();
  absl::MutexLock lock(&run.mu);
  UnaryLoadResult result = std::move(run.result);
  result.seconds = absl::ToDoubleSeconds(window.duration);
  return result;
}

std::pair<UnaryLoadResult, UnaryLoadResult> RunInterleaved(
    CqPool& pool, const ClosedLoop& a, const ClosedLoop& b,
    const LoadWindow& window, int slices) {
  if (slices < 1) slices = 1;
  UnaryLoadResult results[2];
  const ClosedLoop* loads[2] = {&a, &b};
  for (int slice = 0; slice < slices; ++slice) {
    LoadWindow w;
    w.warmup = slice == 0 ? window.warmup : kSliceWarmup;
    w.duration = window.duration / slices;
    for (int k = 0; k < 2; ++k) {
      UnaryLoadResult r =
          RunClosedLoop(pool, *loads[k]->channels, loads[k]->clients, w,
                        loads[k]->make, loads[k]->accept);
      UnaryLoadResult& total = results[k];
      total.ops += r.ops;
      if (total.errors == 0 && r.errors > 0) total.first_error = r.first_error;
      total.errors += r.errors;
      total.seconds += r.seconds;
      total.latency.Merge(r.latency);
    }
  }
  return {std::move(results[0]), std::move(results[1])};
}

UnaryLoadResult RunPaced(
    CqPool& pool, const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    double rate, const LoadWindow& window, const MakeUnary& make,
    const AcceptUnary& accept) {
  auto stubs = Stubs(channels);
  Run run;
  run.make = &make;
  run.accept = &accept;
  const int64_t start = NowNanos();
  run.measure_from = start + absl::ToInt64Nanoseconds(window.warmup);
  run.end = run.measure_from + absl::ToInt64Nanoseconds(window.duration);
  const double period_ns = 1e9 / rate;
  run.outstanding = 1;  // the pacer itself
  for (uint64_t k = 0;; ++k) {
    const int64_t scheduled = start + static_cast<int64_t>(k * period_ns);
    if (scheduled >= run.end) break;
    const int64_t wait = scheduled - NowNanos();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
    ++run.outstanding;
    auto* call = new PacedCall(&run, scheduled);
    call->Start(stubs[k % stubs.size()].get(), pool.cq(k), k);
  }
  run.Finished();
  run.all_done.WaitForNotification();
  absl::MutexLock lock(&run.mu);
  UnaryLoadResult result = std::move(run.result);
  result.seconds = absl::ToDoubleSeconds(window.duration);
  return result;
}

}  // namespace factlog::bench
