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
#include "factlog/v1/service.pb.h"

namespace factlog::bench {

// Events per message the bench's subscribers ask for, as `factlog watch`
// does.
constexpr uint32_t kEventsPerMessage = 256;

struct Tracker {
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
  Histogram lag;

  bool OnMessage(const v1::SubscribeResponse& m) {
    if (m.has_event()) {
      OnEvent(m.event());
    } else if (m.has_events()) {
      for (const v1::SubscribedEvent& e : m.events().events()) {
        OnEvent(e.event());
      }
    } else if (m.has_caught_up()) {
      caught_up.store(true, std::memory_order_release);
    } else if (m.has_fell_behind()) {
      ++fell_behind;
    }
    return true;
  }

 private:
  void OnEvent(const v1::Event& event) {
    const uint64_t p = event.position();
    const uint64_t last = last_position.load(std::memory_order_relaxed);
    if (p != last + 1) {
      if (p > last) {
        gaps += p - last - 1;
      } else {
        ++repeats;
      }
    }
    const absl::Time recorded =
        absl::FromUnixSeconds(event.recorded_at().seconds()) +
        absl::Nanoseconds(event.recorded_at().nanos());
    if (absl::ToUnixNanos(recorded) >=
        lag_from.load(std::memory_order_relaxed)) {
      lag.Record(absl::ToInt64Microseconds(absl::Now() - recorded));
    }
    last_position.store(std::max(p, last), std::memory_order_release);
    received.fetch_add(1, std::memory_order_relaxed);
  }
};

}  // namespace factlog::bench

#endif  // FACTLOG_BENCH_WORKLOADS_TRACKER_H_
