#ifndef FACTLOG_CORE_HUB_H_
#define FACTLOG_CORE_HUB_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/service.pb.h"
#include "factlog/v1/views.pb.h"

namespace factlog::core {

struct HubOptions {
  // The in-memory window of recent events shared by all live subscribers:
  // whichever of the two limits is reached first evicts the oldest events.
  size_t window_events = 100000;
  size_t window_bytes = 64 << 20;
  size_t max_subscribers = 10000;
  size_t max_subscribers_per_peer = 100;
  // How often idle subscribers are woken to emit checkpoints.
  absl::Duration checkpoint_interval = absl::Seconds(5);
  // How often subscribers that asked for overdue notices are told to sweep
  // (HubSubscriber::SweepTick). Others never get these ticks.
  absl::Duration overdue_sweep_interval = absl::Seconds(1);
  // Threads that wake subscribers, the hub's own included: a round of at
  // least kMinParallelWakes wake-ups is shared among them. A wake-up sends
  // the subscriber's next message, and with it the write to its socket, so
  // with many live subscribers one thread is what a new event waits for.
  // 0: one per core, at most 4.
  size_t wake_threads = 0;
};

// One committed event as the hub keeps it.
struct LiveEvent {
  v1::Event event;
  std::string serialized;  // `event` encoded once, for every subscriber
  v1::ClaimStatus status_after = v1::CLAIM_STATUS_UNSPECIFIED;
  size_t bytes = 0;  // accounted size
};
using LiveEventPtr = std::shared_ptr<const LiveEvent>;

// What the hub needs from a subscription. Calls arrive on the hub's thread;
// they must not block for long.
class HubSubscriber {
 public:
  virtual ~HubSubscriber() = default;
  // New events were published, or a checkpoint tick is due.
  virtual void Wake() = 0;
  // True for subscribers that want SweepTick calls; asked once, at Register.
  virtual bool WantsSweepTicks() const { return false; }
  // Every HubOptions::overdue_sweep_interval, for subscribers that want it:
  // time for an overdue sweep.
  virtual void SweepTick() { Wake(); }
  // The hub is shutting down: end the stream with `status`.
  virtual void Stop(const absl::Status& status) = 0;
  virtual v1::SubscriberStats Stats() const = 0;
  // Bytes of events this subscriber holds in its send buffer.
  virtual size_t BufferedBytes() const = 0;
};

// Hub fans committed events out to subscribers (docs/ARCHITECTURE.md,
// "Write path"). The writer publishes each commit; the hub appends it to a
// bounded window and wakes the subscribers waiting for it, on the hub's own
// thread, so the writer never waits for a subscriber. A subscriber is only a
// cursor: it copies shared pointers out of the window, or is told it fell
// behind the window and reads the store instead. Memory is the window plus a
// bounded buffer per subscriber, whatever their speed.
//
// Thread-safe. Subscribers are held by shared_ptr, so a subscriber that
// unregisters while a wake-up is in progress stays valid until it returns.
class Hub {
 public:
  // `last_position`: the log's end when the hub starts; the window begins
  // after it.
  Hub(uint64_t last_position, HubOptions options);
  ~Hub();  // Shutdown()s
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Appends one commit's events (consecutive positions) and schedules
  // wake-ups; `statuses[i]` is the status of event i's claim right after
  // it. `serialized[i]`, when given, is event i encoded (as stored), which
  // spares the hub encoding it again. Takes one short lock; never blocks on
  // subscribers.
  void Publish(std::vector<v1::Event> events,
               const std::vector<v1::ClaimStatus>& statuses,
               std::vector<std::string> serialized = {});

  enum class ReadResult {
    kEvents,      // `out` holds events from `from` on
    kFellBehind,  // `from` is older than the window: read the store
    kWaiting,     // `from` is past the last published event; `waiter` will
                  // be woken when it arrives
  };
  // Copies up to `max` events with positions from `from` on into `out`.
  // Registers `waiter` for a wake-up when nothing is there yet; checking and
  // registering are atomic, so no publication can be missed.
  ReadResult Read(uint64_t from, size_t max, std::vector<LiveEventPtr>* out,
                  const std::shared_ptr<HubSubscriber>& waiter);

  // The position of the last published event.
  uint64_t LastPublished() const;

  // Adds a subscriber. RESOURCE_EXHAUSTED beyond the total or per-peer
  // limit (the message names the limit), UNAVAILABLE after Shutdown.
  absl::Status Register(const std::shared_ptr<HubSubscriber>& subscriber,
                        const std::string& peer);
  void Unregister(const HubSubscriber* subscriber);

  // Stops every subscriber with UNAVAILABLE and refuses new ones. Idempotent.
  void Shutdown();

  // Rounds with fewer wake-ups than this stay on the hub's thread.
  static constexpr size_t kMinParallelWakes = 64;

  // Subscriber stats, window size and accounted bytes.
  void FillStats(v1::GetStatsResponse* stats) const;
  // Window bytes plus every subscriber's buffered bytes.
  size_t AccountedBytes() const;

 private:
  void Run();

  const HubOptions options_;

  mutable absl::Mutex mu_;
  std::deque<LiveEventPtr> window_ ABSL_GUARDED_BY(mu_);
  uint64_t window_first_ ABSL_GUARDED_BY(mu_);  // position of window_[0]
  uint64_t last_published_ ABSL_GUARDED_BY(mu_);
  size_t window_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::shared_ptr<HubSubscriber>> waiting_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<HubSubscriber>> to_wake_ ABSL_GUARDED_BY(mu_);
  // Subscribers that want SweepTick, and whether their tick is due now.
  absl::flat_hash_set<const HubSubscriber*> sweepers_ ABSL_GUARDED_BY(mu_);
  bool sweep_due_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<const HubSubscriber*,
                      std::pair<std::shared_ptr<HubSubscriber>, std::string>>
      subscribers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, size_t> per_peer_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;

  // Threads that share a round of wake-ups with the hub's own (wake_threads
  // - 1 of them), and the round they work on.
  class WakePool;
  std::unique_ptr<WakePool> wake_pool_;
  std::thread thread_;
};

}  // namespace factlog::core

#endif  // FACTLOG_CORE_HUB_H_
