// Unary load over the async client (bench/cq_pool.h), sent as raw bytes
// through grpc::GenericStub so that factlog calls and the echo baseline
// take exactly the same client path.
//
//   RunClosedLoop  N clients, each with exactly one call in flight: the
//                  next starts when the previous finishes (throughput at a
//                  fixed concurrency, like pgbench -c N).
//   RunPaced       calls started at a fixed rate whatever the answers
//                  (open loop); latency counts from the scheduled start, so
//                  a stall shows up in it instead of hiding (no coordinated
//                  omission).
//
// Only calls started inside the measured window (after the warm-up) count;
// both return after every call they started has finished.
#ifndef FACTLOG_BENCH_UNARY_LOAD_H_
#define FACTLOG_BENCH_UNARY_LOAD_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "bench/cq_pool.h"
#include "bench/histogram.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"

namespace factlog::bench {

// What one call sends. `method` ("/pkg.Service/Method") must outlive the
// run: use a static string.
struct UnaryRequest {
  const std::string* method = nullptr;
  grpc::ByteBuffer payload;
};

grpc::ByteBuffer Serialize(const google::protobuf::Message& message);

struct LoadWindow {
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(5);
};

struct UnaryLoadResult {
  uint64_t ops = 0;  // measured calls that finished and were accepted
  uint64_t errors = 0;
  grpc::Status first_error;
  double seconds = 0;
  Histogram latency;
  double ops_per_sec() const { return seconds > 0 ? ops / seconds : 0; }
};

// Builds call `seq` (0, 1, ...) of `client`. Runs on a pool thread, never
// concurrently for the same client.
using MakeUnary = std::function<UnaryRequest(int client, uint64_t seq)>;
// Whether a finished call counts as a success; null: only OK does.
using AcceptUnary = std::function<bool(const grpc::Status&)>;

// Client i uses channels[i % channels.size()] and pool.cq(i).
UnaryLoadResult RunClosedLoop(
    CqPool& pool, const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    int clients, const LoadWindow& window, const MakeUnary& make,
    const AcceptUnary& accept = nullptr);

// One side of RunInterleaved: closed-loop load as RunClosedLoop takes it.
struct ClosedLoop {
  const std::vector<std::shared_ptr<grpc::Channel>>* channels = nullptr;
  int clients = 0;
  MakeUnary make;
  AcceptUnary accept;
};

// Two closed-loop loads measured at the same moments: `a` and `b` take
// turns in `slices` slices each of window.duration / slices, after a
// warm-up of window.warmup each (and of kSliceWarmup before every later
// slice, while the clients ramp up again). Each result covers its own
// slices: `seconds` is window.duration for both. On a machine whose speed
// drifts by a quarter between runs minutes apart, this keeps the drift out
// of a ratio of the two.
constexpr absl::Duration kSliceWarmup = absl::Milliseconds(50);
std::pair<UnaryLoadResult, UnaryLoadResult> RunInterleaved(
    CqPool& pool, const ClosedLoop& a, const ClosedLoop& b,
    const LoadWindow& window, int slices);

// `rate` calls per second for warm-up + duration, round-robin over
// `channels`; make() gets client 0 and the call's sequence number.
UnaryLoadResult RunPaced(
    CqPool& pool, const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    double rate, const LoadWindow& window, const MakeUnary& make,
    const AcceptUnary& accept = nullptr);

// Monotonic nanoseconds.
int64_t NowNanos();

}  // namespace factlog::bench

#endif  // FACTLOG_BENCH_UNARY_LOAD_H_
