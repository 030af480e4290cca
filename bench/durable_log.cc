#include "bench/durable_log.h"

#include <pthread.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "storage/rocksdb_options.h"

namespace factlog::bench {

absl::StatusOr<std::unique_ptr<DurableLog>> DurableLog::Open(
    const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.error_if_exists = true;
  // What storage::EventStore sets that bears on writing and syncing.
  storage::ApplyDatabaseWriteSettings(&options);
  storage::ApplyFamilyWriteSettings(&options);
  // Thrown away after its measurement: nothing to flush on the way out.
  options.avoid_flush_during_shutdown = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("durable log in ", dir, ": ", s.ToString()));
  }
  std::unique_ptr<DurableLog> log(
      new DurableLog(std::unique_ptr<rocksdb::DB>(raw)));
  log->writer_ = std::thread([l = log.get()] { l->RunWriter(); });
  log->completer_ = std::thread([l = log.get()] { l->RunCompleter(); });
  pthread_setname_np(log->writer_.native_handle(), "floor-writer");
  pthread_setname_np(log->completer_.native_handle(), "floor-acks");
  return log;
}

DurableLog::DurableLog(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}

DurableLog::~DurableLog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
  completer_.join();
  db_->Close().PermitUncheckedError();
}

void DurableLog::Append(std::vector<std::string> records, Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queue_.push_back({std::move(records), std::move(done)});
      return;
    }
  }
  done(false);  // closing: nothing more is written
}

void DurableLog::RunWriter() {
  rocksdb::WriteOptions sync;
  sync.sync = true;
  for (;;) {
    std::vector<Pending> group;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](DurableLog* l) ABSL_EXCLUSIVE_LOCKS_REQUIRED(l->mu_) {
            return l->stopping_ || !l->queue_.empty();
          },
          this));
      if (queue_.empty()) break;  // stopping, and everything is written
      group.swap(queue_);
    }
    rocksdb::WriteBatch batch;
    uint64_t records = 0;
    for (const Pending& p : group) {
      for (const std::string& record : p.records) {
        char key[8];
        for (int i = 0; i < 8; ++i) key[i] = char(next_key_ >> (56 - 8 * i));
        ++next_key_;
        batch.Put(rocksdb::Slice(key, sizeof(key)), record);
        ++records;
      }
    }
    const bool durable = db_->Write(sync, &batch).ok();
    if (durable) durable_.fetch_add(records, std::memory_order_release);
    std::vector<Done> callbacks;
    callbacks.reserve(group.size());
    for (Pending& p : group) callbacks.push_back(std::move(p.done));
    absl::MutexLock lock(&done_mu_);
    written_.emplace_back(std::move(callbacks), durable);
  }
  absl::MutexLock lock(&done_mu_);
  writer_done_ = true;
}

void DurableLog::RunCompleter() {
  for (;;) {
    std::deque<std::pair<std::vector<Done>, bool>> ready;
    {
      absl::MutexLock lock(&done_mu_);
      done_mu_.Await(absl::Condition(
          +[](DurableLog* l) ABSL_EXCLUSIVE_LOCKS_REQUIRED(l->done_mu_) {
            return l->writer_done_ || !l->written_.empty();
          },
          this));
      if (written_.empty()) return;  // the writer stopped; all completed
      ready.swap(written_);
    }
    for (auto& [callbacks, durable] : ready) {
      for (Done& done : callbacks) done(durable);
    }
  }
}

}  // namespace factlog::bench
