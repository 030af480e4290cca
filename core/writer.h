#ifndef FACTLOG_CORE_WRITER_H_
#define FACTLOG_CORE_WRITER_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/commit_log.h"
#include "domain/limits.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/service.pb.h"
#include "factlog/v1/views.pb.h"
#include "storage/event_store.h"

namespace factlog::core {

class ServerMetrics;

// The events of one durable commit, as WriterOptions::on_commit gets them.
struct CommittedEvents {
  std::vector<v1::Event> events;          // in position order
  std::vector<v1::ClaimStatus> statuses;  // each one's claim, right after it
  std::vector<std::string> serialized;    // each one as stored
};

struct WriterOptions {
  domain::Limits limits;
  // Most commands decided and committed with one fsync.
  size_t max_batch = 1024;
  // Commands waiting beyond this many are refused with RESOURCE_EXHAUSTED.
  size_t max_queued = 100000;
  // Server clock; tests may pin it. recorded_at comes from it, made
  // monotonic (see Writer).
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Called on the completer thread with each durable commit before any
  // command of it is completed. Commits arrive in order. Must not block.
  std::function<void(CommittedEvents)> on_commit;
  // Counts commands, events, batches and commit latency when set; must
  // outlive the Writer.
  ServerMetrics* metrics = nullptr;
  // Where decided batches become durable (core/commit_log.h); must outlive
  // the Writer. Null: the store the Writer starts over, directly.
  CommitLog* commit_log = nullptr;
  // Tests only: called on the writer thread when a batch with events is
  // stamped and decided, just before it is written.
  std::function<void()> before_commit;
};

// The outcome of a sequence of commands applied in order.
struct SequenceResult {
  // One per applied command, in order, without `claim`.
  std::vector<v1::CommandResponse> responses;
  // For a sequence of one applied command: the response's `claim` (the claim
  // as it stands after the command's commit), encoded, for the caller to
  // put in field CommandResponse.claim as it is (often the stored bytes,
  // not encoded again). Empty otherwise.
  std::string claim;
  // OK when every command was applied; otherwise why command
  // `failed_index` was refused. Commands before it were applied and are
  // durable; it and the commands after it were not applied.
  absl::Status error;
  size_t failed_index = 0;
};

// Writer is the single owner of appends (docs/ARCHITECTURE.md, "Write
// path"): it decides and orders every commit. Callers enqueue
// commands and are called back once each command is durable or refused; no
// caller thread ever waits on I/O. The writer thread drains everything
// queued (group commit), decides each command against the latest state,
// including state produced earlier in the same batch, and makes the batch
// durable through its CommitLog (one WriteBatch and one fsync of the local
// store by default). It then hands the batch to the completer thread and goes
// on with the next one: the completer publishes the events through
// WriterOptions::on_commit, then completes every command of the batch.
// Completing a command runs the caller's callback, which for a gRPC handler
// serializes the response and starts the send; keeping that off the writer
// thread lets the next batch be decided and synced meanwhile. Batches are
// published and completed in commit order.
//
// A batch its CommitLog answers as superseded (another node extended a
// replicated log first; core/commit_log.h) is decided again over the state
// the log caught up to, up to 32 times, then refused with UNAVAILABLE.
//
// Time: every command of a batch gets the same recorded_at, the batch's
// stamp = max(clock(), the previous stamp, the last SafeTime() + 1 ns,
// the log's LastRecordedAt()), so
// recorded_at never decreases along the log (also across restarts: the
// first stamp is at least the last stored recorded_at) even when the clock
// goes backwards; positions and versions are ordered regardless.
//
// Idempotency: a command whose request_id was applied before (in this batch,
// or in any earlier commit, also before a restart) is answered with the
// original response and `deduplicated` set; nothing is appended. Reusing a
// request_id for a different command is INVALID_ARGUMENT.
//
// Thread-safe. Callbacks run on the completer thread and must not block.
class Writer {
 public:
  using Callback = std::function<void(absl::StatusOr<v1::CommandResponse>)>;
  using SequenceCallback = std::function<void(SequenceResult)>;

  // Starts the writer thread over `store`, which must outlive the Writer.
  static std::unique_ptr<Writer> Start(storage::EventStore* store,
                                       WriterOptions options);
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer();  // Stop()s

  // Applies one command as `actor`. `done` gets the response (with `claim`
  // as it stands after the command), or the domain error, RESOURCE_EXHAUSTED
  // when the queue is full, UNAVAILABLE when stopped or the commit failed.
  void Submit(v1::Command command, std::string actor, Callback done);

  // Applies `commands` in order within one commit, stopping at the first
  // refused one (see SequenceResult).
  //
  // Both drop the fields a command carries that this version does not know
  // (protobuf keeps them through parsing), on the caller's thread, before
  // queueing it: they would otherwise reach the log inside its events.
  void SubmitSequence(std::vector<v1::Command> commands, std::string actor,
                      SequenceCallback done);

  // Completes everything already queued, then stops the thread. Later
  // submissions get UNAVAILABLE. Idempotent.
  void Stop();

  // A time T such that every event committed after this call returns has
  // recorded_at > T (and every event with recorded_at <= T is committed):
  // the stamp of the batch being written minus 1 ns while one is, else the
  // latest of the clock, the last stamp and every T handed out before. Never
  // decreases. Overdue sweeps use it so that no index entry can appear
  // behind a cursor they advanced. Cheap: one short lock, no I/O.
  absl::Time SafeTime();

 private:
  struct Item {
    std::vector<v1::Command> commands;
    std::vector<uint64_t> fingerprints;  // CommandFingerprint of each
    std::string actor;
    SequenceCallback done;
  };
  class Batch;
  // A decided and committed (or failed) batch waiting to be published and
  // completed.
  struct Completion;

  Writer(storage::EventStore* store, WriterOptions options);
  void Run();
  std::unique_ptr<Completion> Process(std::vector<Item> items);
  // Decides `items` as one batch and commits it once.
  std::unique_ptr<Completion> DecideAndCommit(std::vector<Item> items);
  void RunCompleter();
  void Complete(Completion& done);
  // The recorded_at of a batch about to be decided; it stays in flight
  // (holding SafeTime() below it) until EndStamp.
  absl::Time BeginStamp(absl::Time floor);
  void EndStamp(absl::Time stamp);

  // Reads: the state commands are decided against.
  storage::EventStore* const store_;
  const WriterOptions options_;
  std::unique_ptr<CommitLog> local_log_;  // when options_ has none
  // Writes: where each decided batch becomes durable.
  CommitLog* const log_;
  absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_commands_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Commits that failed in a row; only the writer thread uses it.
  uint64_t failed_commits_ = 0;
  std::thread thread_;

  absl::Mutex completer_mu_;
  std::deque<std::unique_ptr<Completion>> completions_
      ABSL_GUARDED_BY(completer_mu_);
  bool writer_done_ ABSL_GUARDED_BY(completer_mu_) = false;
  std::thread completer_;

  absl::Mutex time_mu_;
  absl::Time last_stamp_ ABSL_GUARDED_BY(time_mu_) = absl::InfinitePast();
  absl::Time last_safe_ ABSL_GUARDED_BY(time_mu_) = absl::InfinitePast();
  // Stamps of batches not yet committed, oldest first (one at a time: the
  // writer thread commits one batch after another; a writer overlapping
  // commits would hold several).
  std::deque<absl::Time> in_flight_ ABSL_GUARDED_BY(time_mu_);
};

// FNV-1a 64 of the command's deterministic serialization.
uint64_t CommandFingerprint(const v1::Command& command);

// The version 4 UUID (RFC 9562) made of 128 random bits, `hi` first, in
// lower-case 8-4-4-4-12 hex: each event's event_id.
std::string UuidV4(uint64_t hi, uint64_t lo);

}  // namespace factlog::core

#endif  // FACTLOG_CORE_WRITER_H_
