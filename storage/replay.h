#ifndef FACTLOG_STORAGE_REPLAY_H_
#define FACTLOG_STORAGE_REPLAY_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "domain/sources.h"
#include "factlog/v1/views.pb.h"
#include "google/protobuf/arena.h"

namespace factlog::storage {

// One claim as a replay left it: its view and where its events are.
struct ReplayedClaim {
  // The claim id its events carry (its view's can differ only in a damaged
  // log); set when the log has ended, valid as long as the replay.
  absl::string_view claim_id;
  v1::ClaimView* view = nullptr;  // on the replay's arena
  // (version, position) of each of its events, in log order.
  std::vector<std::pair<uint64_t, uint64_t>> events;
};

// How many threads replay the whole log (ParallelReplay, and the work on
// its result): as many as cores beside the one reading, 2 to 4.
unsigned ReplayThreads();

// Replays the log into claim views on several threads (EventStore's
// rebuild and verify). Events are dealt out by claim (a hash of the claim id,
// read from the event's wire bytes), so each claim's events are evolved in log
// order by one thread; the thread reading the log only copies bytes. Each
// thread sorts its claims by id when the log ends, so the sorted whole is
// a merge. Views live on the threads' arenas, freed with the ParallelReplay.
//
// One thread calls Add, then Finish, then the accessors.
class ParallelReplay {
 public:
  explicit ParallelReplay(size_t threads);
  ~ParallelReplay();  // Finish()es
  ParallelReplay(const ParallelReplay&) = delete;
  ParallelReplay& operator=(const ParallelReplay&) = delete;

  // Hands the event stored at `position` to its claim's thread; applies a
  // registry event (one with no claim_id: few, and in log order) to the
  // source registry on this thread. False once a thread failed (Finish
  // says why).
  bool Add(uint64_t position, absl::string_view bytes);

  // Waits until every event is replayed; the first error, if any
  // (DATA_LOSS "event N does not parse").
  absl::Status Finish();

  // After a successful Finish:
  uint64_t events() const;
  // Every claim, in claim_id order.
  std::vector<const ReplayedClaim*> SortedClaims() const;
  // The source registry the log's registry events make.
  const domain::SourceRegistry& sources() const { return sources_; }

 private:
  struct Chunk {
    std::vector<uint64_t> positions;
    std::string bytes;
    std::vector<size_t> ends;  // of each event in `bytes`
  };
  struct Lane {
    absl::Mutex mu;
    std::deque<Chunk> queue ABSL_GUARDED_BY(mu);
    bool done ABSL_GUARDED_BY(mu) = false;
    Chunk filling;  // the reading thread's only
    // The lane's thread's only, until joined:
    google::protobuf::Arena arena;
    absl::flat_hash_map<std::string, ReplayedClaim> claims;
    // When the log has ended: the claims by id (the map's keys).
    std::vector<std::pair<absl::string_view, const ReplayedClaim*>> sorted;
    uint64_t events = 0;
    absl::Status error;
    std::thread thread;
  };

  // Queues the lane's filling chunk; `more`: whether another will follow.
  void Send(Lane& lane, bool more);
  void Run(Lane& lane);

  std::deque<Lane> lanes_;
  std::atomic<bool> failed_{false};
  // The reading thread's only, until Finish:
  domain::SourceRegistry sources_;
  uint64_t registry_events_ = 0;
  absl::Status registry_error_;
};

}  // namespace factlog::storage

#endif  // FACTLOG_STORAGE_REPLAY_H_
