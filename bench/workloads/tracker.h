// Tracker: what one Subscribe stream received — events in order, gaps and
// repeats, fell_behind / caught_up, and the end-to-end lag of each event
// (from its recorded_at, taken by the writer just before the batch's
// fsync, to its arrival here: an upper bound of commit -> received; server
// and client share this process's clock).
//
// OnMessage runs on the stream's pool thread; the atomics may be read from
// any thread meanwhile, everything else once the stream is done.
#ifndef FACTLOG_BENCH_WORKLOADS_TRACKER_H_
#define FACTLOG_BENCH_WORKLOADS_TRACKER_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/histogram.h"
#include "bench/raw_subscribe.h"
#include "factlog/v1/service.pb.h"

namespace factlog::bench {

// Events per message the bench's subscribers ask for, as `factlog watch`
// does.
constexpr uint32_t kEventsPerMessage = 256;

struct Tracker final : SubscribeVisitor {
  // Lag is recorded for events recorded at or after this (Unix ns); may be
  // set while the stream runs.
  std::atomic<int64_t> lag_from{INT64_MAX};
  // The last position received; set it to where the stream starts.
  std::atomic<uint64_t> last_position{0};
  std::atomic<uint64_t> received{0};
  std::atomic<bool> caught_up{false};
  uint64_t gaps = 0;     // positions skipped
  uint64_t repeats = 0;  // positions received again
  uint64_t fell_behind = 0;
  uint64_t malformed = 0;  // messages that did not decode
  Histogram lag;

  // One raw SubscribeResponse; false (cancel) when it does not decode.
  bool OnMessage(const grpc::ByteBuffer& m) {
    if (VisitSubscribeResponse(m, *this)) return true;
    ++malformed;
    return false;
  }

  void OnCaughtUp() override {
    caught_up.store(true, std::memory_order_release);
  }
  void OnFellBehind() override { ++fell_behind; }
  void OnEvent(uint64_t p, int64_t recorded_unix_nanos) override {
    const uint64_t last = last_position.load(std::memory_order_relaxed);
    if (p != last + 1) {
      if (p > last) {
        gaps += p - last - 1;
      } else {
        ++repeats;
      }
    }
    if (recorded_unix_nanos >= lag_from.load(std::memory_order_relaxed)) {
      lag.Record((absl::GetCurrentTimeNanos() - recorded_unix_nanos) / 1000);
    }
    last_position.store(std::max(p, last), std::memory_order_release);
    received.fetch_add(1, std::memory_order_relaxed);
  }
};

}  // namespace factlog::bench

#endif  // FACTLOG_BENCH_WORKLOADS_TRACKER_H_
