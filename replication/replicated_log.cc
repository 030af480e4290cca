#include "replication/replicated_log.h"

#include <pthread.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "domain/time_util.h"
#include "replication/record_apply.h"

namespace factlog::replication {
namespace {

// etcd refuses requests over 1.5 MiB; a record and the head must fit.
constexpr size_t kMaxRecordBytes = 1400 * 1024;

bool Unreachable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

std::string NewClusterId() {
  absl::BitGen gen;
  const uint64_t hi = absl::Uniform<uint64_t>(gen);
  return core::UuidV4(hi, absl::Uniform<uint64_t>(gen));
}

}  // namespace

ReplicatedLog::ReplicatedLog(storage::EventStore* store,
                             ReplicatedLogOptions options)
    : store_(store), options_(std::move(options)), etcd_(options_.etcd) {
  if (options_.metrics != nullptr) {
    const std::vector<double> buckets = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    commit_seconds_ =
        options_.metrics
            ->AddHistogram("factlog_replication_commit_seconds",
                           "Time of one commit record's etcd transaction "
                           "(quorum fsync), as the committing node sees it.",
                           {}, buckets)
            ->Get();
    apply_lag_seconds_ =
        options_.metrics
            ->AddHistogram("factlog_replication_apply_lag_seconds",
                           "From a record's recorded_at (stamped by the node "
                           "that committed it) until this node applied it.",
                           {}, buckets)
            ->Get();
    records_trimmed_ =
        options_.metrics
            ->AddCounter("factlog_replication_records_trimmed_total",
                         "Commit records this node deleted from etcd while "
                         "it led (every live node had applied them).")
            ->Get();
  }
}

absl::StatusOr<std::unique_ptr<ReplicatedLog>> ReplicatedLog::Open(
    storage::EventStore* store, ReplicatedLogOptions options) {
  if (options.etcd == nullptr) {
    return absl::InvalidArgumentError("replicated log: no etcd client");
  }
  std::unique_ptr<ReplicatedLog> log(
      new ReplicatedLog(store, std::move(options)));
  if (absl::Status joined = log->Join(); !joined.ok()) return joined;
  if (store->LastPosition() > 0) {
    store
        ->ReadEvents(store->LastPosition(),
                     [&](const v1::Event& last) {
                       log->last_recorded_nanos_.store(absl::ToUnixNanos(
                           domain::FromProto(last.recorded_at())));
                       return false;
                     })
        .IgnoreError();
  }
  log->applier_ = std::thread([l = log.get()] { l->RunApplier(); });
  pthread_setname_np(log->applier_.native_handle(), "factlog-apply");
  return log;
}

ReplicatedLog::~ReplicatedLog() {
  {
    absl::MutexLock lock(&watch_mu_);
    stopping_ = true;
    if (watch_ != nullptr) watch_->Cancel();
  }
  if (applier_.joinable()) applier_.join();
}

absl::Status ReplicatedLog::Join() {
  const std::string key = options_.prefix + "cluster_id";
  absl::StatusOr<etcdserverpb::KeyValue> found;
  absl::Time next_log = absl::InfinitePast();
  for (;;) {
    found = etcd_->Get(key);
    if (found.ok() || !Unreachable(found.status())) break;
    if (options_.stop_requested && options_.stop_requested()) {
      return absl::CancelledError("stopped while waiting for etcd");
    }
    if (absl::Now() >= next_log) {
      log::Warn("waiting for etcd; serving nothing until it answers",
                {{"error", found.status().message()}});
      next_log = absl::Now() + options_.wait_log_interval;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  if (!found.ok() && !absl::IsNotFound(found.status())) return found.status();

  absl::StatusOr<std::optional<std::string>> stored = store_->ReplicaState();
  if (!stored.ok()) return stored.status();
  ReplicaState local;
  if (stored->has_value() && !local.ParseFromString(**stored)) {
    return absl::DataLossError("this store's replica_state does not parse");
  }
  const bool has_state = stored->has_value();
  std::string cluster_id;
  if (found.ok()) {
    cluster_id = found->value();
  } else {
    if (has_state) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "this store belongs to factlog cluster %s, but etcd holds no "
          "factlog cluster under %s: are these the right --etcd-endpoints? "
          "Nothing was changed",
          local.cluster_id(), options_.prefix));
    }
    if (store_->LastPosition() > 0) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "this data dir is a single-node store (%d events); a replicated "
          "node starts from an empty data dir or a cluster node's backup. "
          "Nothing was changed",
          store_->LastPosition()));
    }
    // Found the cluster, unless another node just did.
    etcdserverpb::TxnRequest txn;
    *txn.add_compare() = etcd::VersionIs(key, 0);
    *txn.add_success() = etcd::PutOp(key, NewClusterId());
    *txn.add_failure() = etcd::GetOp(key);
    absl::StatusOr<etcdserverpb::TxnResponse> created = etcd_->Txn(txn);
    if (!created.ok()) return created.status();
    if (created->succeeded()) {
      absl::StatusOr<etcdserverpb::KeyValue> now = etcd_->Get(key);
      if (!now.ok()) return now.status();
      cluster_id = now->value();
      log::Info("founded a factlog cluster", {{"cluster_id", cluster_id}});
    } else {
      cluster_id = created->responses(0).response_range().kvs(0).value();
    }
  }
  if (has_state && local.cluster_id() != cluster_id) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "this store belongs to factlog cluster %s, but etcd holds cluster %s "
        "under %s; refusing to mix them. Nothing was changed",
        local.cluster_id(), cluster_id, options_.prefix));
  }
  if (!has_state && store_->LastPosition() > 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "this data dir is a single-node store (%d events), not a node of "
        "factlog cluster %s. Nothing was changed",
        store_->LastPosition(), cluster_id));
  }
  absl::StatusOr<std::pair<uint64_t, int64_t>> trimmed = ReadTrimmed();
  if (!trimmed.ok()) return trimmed.status();
  if (local.applied_commit() < trimmed->first) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "this store has applied the cluster's log up to commit %d, but etcd "
        "keeps only the records after commit %d (the older ones were "
        "trimmed): start this node from a backup of a live node (`factlog "
        "admin backup` there, then `factlogd --restore-from`), which then "
        "applies the rest. Nothing was changed",
        local.applied_commit(), trimmed->first));
  }
  absl::MutexLock lock(&apply_mu_);
  cluster_id_ = cluster_id;
  applied_commit_ = local.applied_commit();
  applied_revision_ = local.applied_revision();
  log::Info("joined the factlog cluster",
            {{"cluster_id", cluster_id},
             {"node", options_.node_name},
             {"applied_commit", applied_commit_},
             {"applied_position", store_->LastPosition()}});
  return absl::OkStatus();
}

std::string ReplicatedLog::RecordKey(uint64_t commit) const {
  return absl::StrFormat("%slog/%020d", options_.prefix, commit);
}

absl::StatusOr<std::pair<uint64_t, int64_t>> ReplicatedLog::ReadTrimmed()
    const {
  absl::StatusOr<etcdserverpb::KeyValue> kv = etcd_->Get(TrimmedKey());
  if (absl::IsNotFound(kv.status()))
    return std::make_pair(uint64_t{0}, int64_t{0});
  if (!kv.ok()) return kv.status();
  uint64_t commit = 0;
  if (!absl::SimpleAtoi(kv->value(), &commit)) {
    return absl::DataLossError(
        absl::StrCat("etcd key ", TrimmedKey(), " is not a commit number"));
  }
  return std::make_pair(commit, static_cast<int64_t>(kv->mod_revision()));
}

absl::StatusOr<uint64_t> ReplicatedLog::Trim(uint64_t applied_by_all,
                                             uint64_t head_commit,
                                             uint64_t retain_records,
                                             uint64_t batch) {
  if (head_commit <= retain_records) return 0;
  const uint64_t upto = std::min(applied_by_all, head_commit - retain_records);
  absl::StatusOr<std::pair<uint64_t, int64_t>> trimmed = ReadTrimmed();
  if (!trimmed.ok()) return trimmed.status();
  const auto [before, revision] = *trimmed;
  if (upto < before + std::max<uint64_t>(batch, 1)) return 0;
  etcdserverpb::TxnRequest txn;
  // Another node trimming at once: one of the two wins, the bound only
  // grows.
  *txn.add_compare() = revision == 0
                           ? etcd::VersionIs(TrimmedKey(), 0)
                           : etcd::ModRevisionIs(TrimmedKey(), revision);
  etcdserverpb::DeleteRangeRequest* deleted =
      txn.add_success()->mutable_request_delete_range();
  deleted->set_key(RecordKey(before + 1));
  deleted->set_range_end(RecordKey(upto + 1));
  *txn.add_success() = etcd::PutOp(TrimmedKey(), absl::StrCat(upto));
  absl::StatusOr<etcdserverpb::TxnResponse> response = etcd_->Txn(txn);
  if (!response.ok()) return response.status();
  if (!response->succeeded()) return 0;
  // The deleted records' history goes too: etcd's database stays bounded.
  if (absl::Status compacted = etcd_->Compact(response->header().revision());
      !compacted.ok() && !absl::IsOutOfRange(compacted)) {
    log::Warn("trimmed the log but etcd's compaction failed",
              {{"error", compacted.message()}});
  }
  const uint64_t count = upto - before;
  if (records_trimmed_ != nullptr) records_trimmed_->Increment(count);
  log::Info("trimmed the cluster's log in etcd",
            {{"up_to_commit", upto}, {"records", count}});
  return count;
}

absl::Time ReplicatedLog::LastRecordedAt() const {
  const int64_t nanos = last_recorded_nanos_.load();
  return nanos == 0 ? absl::InfinitePast() : absl::FromUnixNanos(nanos);
}

ReplicaStatus ReplicatedLog::status() const {
  absl::MutexLock lock(&apply_mu_);
  ReplicaStatus out;
  out.cluster_id = cluster_id_;
  out.applied_commit = applied_commit_;
  out.applied_position = store_->LastPosition();
  out.applied_revision = applied_revision_;
  out.stopped = stopped_;
  return out;
}

absl::Status ReplicatedLog::WaitForPosition(uint64_t position,
                                            absl::Time deadline) {
  absl::MutexLock lock(&apply_mu_);
  auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_) {
    return store_->LastPosition() >= position || !stopped_.empty();
  };
  apply_mu_.AwaitWithDeadline(absl::Condition(&reached), deadline);
  if (!stopped_.empty()) return absl::UnavailableError(stopped_);
  if (store_->LastPosition() >= position) return absl::OkStatus();
  return absl::DeadlineExceededError(
      absl::StrFormat("this node has applied up to position %d, not yet %d",
                      store_->LastPosition(), position));
}

void ReplicatedLog::Stop(absl::string_view why, bool forked) {
  if (!stopped_.empty()) return;
  stopped_ = absl::StrCat(
      "this node stopped applying the cluster's log and refuses writes: ", why);
  log::Error(forked ? "FORKED LOG: this node stops applying and committing"
                    : "BEHIND THE TRIMMED LOG: this node stops applying and "
                      "committing",
             {{"why", why}, {"node", options_.node_name}});
  if (options_.on_stop) options_.on_stop(stopped_);
}

absl::Status ReplicatedLog::Apply(const CommitRecord& record,
                                  int64_t revision) {
  if (!stopped_.empty()) return absl::UnavailableError(stopped_);
  if (record.commit() <= applied_commit_) return absl::OkStatus();
  if (record.commit() != applied_commit_ + 1) {
    return absl::UnavailableError(
        absl::StrFormat("commit record %d arrived after %d; catching up again",
                        record.commit(), applied_commit_));
  }
  absl::StatusOr<std::unique_ptr<AppliedBatch>> batch =
      BatchOf(record, *store_);
  if (!batch.ok()) {
    if (absl::IsDataLoss(batch.status())) Stop(batch.status().message());
    return batch.status();
  }
  ReplicaState state;
  state.set_cluster_id(cluster_id_);
  state.set_applied_commit(record.commit());
  state.set_applied_revision(revision);
  (*batch)->commit.replica_state = state.SerializeAsString();
  storage::StoredBytes stored;
  absl::Status committed = store_->Commit((*batch)->commit, &stored);
  if (!committed.ok()) {
    if (absl::IsDataLoss(committed)) {
      Stop(absl::StrFormat("commit record %d (from node %s): %s",
                           record.commit(), record.node(),
                           committed.message()));
    }
    return committed;
  }
  applied_commit_ = record.commit();
  applied_revision_ = revision;
  std::vector<v1::Event>& events = (*batch)->commit.events;
  if (!events.empty()) {
    const absl::Time recorded = domain::FromProto(events.back().recorded_at());
    last_recorded_nanos_.store(absl::ToUnixNanos(recorded));
    if (apply_lag_seconds_ != nullptr) {
      apply_lag_seconds_->Observe(absl::ToDoubleSeconds(
          std::max(absl::ZeroDuration(), absl::Now() - recorded)));
    }
  }
  if (options_.on_apply && !events.empty()) {
    core::CommittedEvents published;
    published.events = std::move(events);
    published.statuses = std::move((*batch)->statuses);
    published.serialized = std::move(stored.events);
    options_.on_apply(std::move(published));
  }
  return absl::OkStatus();
}

absl::Status ReplicatedLog::Commit(const storage::CommitBatch& batch,
                                   storage::StoredBytes* stored) {
  if (batch.events.empty()) return absl::OkStatus();
  CommitRecord record;
  int64_t base_revision = 0;
  uint64_t base_commit = 0;
  {
    absl::MutexLock lock(&apply_mu_);
    if (!stopped_.empty()) return absl::UnavailableError(stopped_);
    if (batch.events.front().position() != store_->LastPosition() + 1) {
      return core::Superseded("records were applied while it was decided");
    }
    base_commit = applied_commit_;
    base_revision = applied_revision_;
    std::vector<std::string> bytes;
    bytes.reserve(batch.events.size());
    for (const v1::Event& event : batch.events) {
      bytes.push_back(merkle::CanonicalEventBytes(event));
    }
    record = RecordOf(batch, base_commit + 1, store_->RootWith(bytes),
                      options_.node_name);
  }
  const std::string value = record.SerializeAsString();
  if (value.size() > kMaxRecordBytes) {
    return absl::UnavailableError(absl::StrFormat(
        "the batch's commit record is %d bytes, over the %d etcd accepts; "
        "nothing was stored",
        value.size(), kMaxRecordBytes));
  }
  LogHead head;
  head.set_commit(record.commit());
  head.set_last_position(batch.events.back().position());
  head.set_root(record.root_after());

  etcdserverpb::TxnRequest txn;
  *txn.add_compare() = base_commit == 0
                           ? etcd::VersionIs(HeadKey(), 0)
                           : etcd::ModRevisionIs(HeadKey(), base_revision);
  *txn.add_success() = etcd::PutOp(HeadKey(), head.SerializeAsString());
  *txn.add_success() = etcd::PutOp(RecordKey(record.commit()), value);
  *txn.add_failure() = etcd::GetOp(HeadKey());
  const absl::Time sent = absl::Now();
  absl::StatusOr<etcdserverpb::TxnResponse> response = etcd_->Txn(txn);
  if (commit_seconds_ != nullptr) {
    commit_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - sent));
  }
  if (!response.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the cluster's log could not be extended (",
        response.status().message(),
        "); if etcd applied it anyway, this node applies it from etcd"));
  }
  const absl::Time deadline = absl::Now() + options_.commit_timeout;
  if (!response->succeeded()) {
    LogHead now;
    const auto& kvs = response->responses(0).response_range().kvs();
    if (kvs.empty() || !now.ParseFromString(kvs[0].value())) {
      return absl::DataLossError(
          "etcd: the log's head is missing or malformed");
    }
    absl::MutexLock lock(&apply_mu_);
    auto caught_up = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_) {
      return applied_commit_ >= now.commit() || !stopped_.empty();
    };
    if (!apply_mu_.AwaitWithDeadline(absl::Condition(&caught_up), deadline)) {
      return absl::UnavailableError(absl::StrFormat(
          "another node extended the log to commit %d; this node has not "
          "applied it yet (at %d)",
          now.commit(), applied_commit_));
    }
    return core::Superseded(
        absl::StrFormat("the log's head is at commit %d", now.commit()));
  }
  {
    absl::MutexLock lock(&apply_mu_);
    absl::Status applied = Apply(record, response->header().revision());
    if (!applied.ok() || applied_commit_ < record.commit()) {
      return absl::UnavailableError(
          absl::StrCat("committed to the cluster's log but not applied here: ",
                       applied.message()));
    }
  }
  if (stored != nullptr) {
    stored->events.assign(record.events().begin(), record.events().end());
    stored->claims.clear();
    for (const storage::ClaimUpdate& update : batch.claims) {
      stored->claims.push_back(update.after->SerializeAsString());
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ReplicatedLog::CatchUp() {
  const std::string end = etcd::PrefixEnd(options_.prefix + "log/");
  for (;;) {
    uint64_t next;
    {
      absl::MutexLock lock(&apply_mu_);
      if (!stopped_.empty()) return absl::UnavailableError(stopped_);
      next = applied_commit_ + 1;
    }
    etcdserverpb::RangeRequest range;
    range.set_key(RecordKey(next));
    range.set_range_end(end);
    range.set_limit(64);
    absl::StatusOr<etcdserverpb::RangeResponse> page = etcd_->Range(range);
    if (!page.ok()) return page.status();
    for (const etcdserverpb::KeyValue& kv : page->kvs()) {
      CommitRecord record;
      if (!record.ParseFromString(kv.value())) {
        absl::MutexLock lock(&apply_mu_);
        Stop(absl::StrCat("etcd key ", kv.key(), " is not a commit record"));
        return absl::DataLossError(stopped_);
      }
      if (record.commit() > next) {
        // A gap: the records this node lacks were trimmed while it was
        // away (not live), so it can never apply them.
        absl::StatusOr<std::pair<uint64_t, int64_t>> trimmed = ReadTrimmed();
        if (trimmed.ok() && trimmed->first >= next) {
          absl::MutexLock lock(&apply_mu_);
          Stop(absl::StrFormat(
                   "it has applied up to commit %d, and the records after it "
                   "were trimmed (up to %d) while it was away: start it again "
                   "from a backup of a live node",
                   next - 1, trimmed->first),
               /*forked=*/false);
          return absl::UnavailableError(stopped_);
        }
      }
      absl::MutexLock lock(&apply_mu_);
      if (absl::Status s = Apply(record, kv.mod_revision()); !s.ok()) return s;
      next = record.commit() + 1;
    }
    if (!page->more()) return page->header().revision();
  }
}

absl::Status ReplicatedLog::FollowWatch(int64_t from_revision) {
  const std::string prefix = options_.prefix + "log/";
  absl::StatusOr<std::unique_ptr<etcd::Client::WatchStream>> watch =
      etcd_->Watch(prefix, etcd::PrefixEnd(prefix), from_revision);
  if (!watch.ok()) return watch.status();
  {
    absl::MutexLock lock(&watch_mu_);
    if (stopping_) return absl::CancelledError("stopping");
    watch_ = watch->get();
  }
  absl::Status status;
  while (status.ok()) {
    absl::StatusOr<etcdserverpb::WatchResponse> response = (*watch)->Next();
    if (!response.ok()) {
      status = response.status();
      break;
    }
    for (const etcdserverpb::WatchEvent& event : response->events()) {
      if (event.type() != etcdserverpb::WatchEvent::PUT) continue;
      CommitRecord record;
      absl::MutexLock lock(&apply_mu_);
      if (!record.ParseFromString(event.kv().value())) {
        Stop(absl::StrCat("etcd key ", event.kv().key(),
                          " is not a commit record"));
        status = absl::DataLossError(stopped_);
        break;
      }
      status = Apply(record, event.kv().mod_revision());
      if (!status.ok()) break;
    }
  }
  absl::MutexLock lock(&watch_mu_);
  watch_ = nullptr;
  return status;
}

void ReplicatedLog::RunApplier() {
  absl::Time next_log = absl::InfinitePast();
  for (;;) {
    {
      absl::MutexLock lock(&watch_mu_);
      if (stopping_) return;
    }
    absl::StatusOr<int64_t> revision = CatchUp();
    absl::Status status =
        revision.ok() ? FollowWatch(*revision + 1) : revision.status();
    {
      absl::MutexLock lock(&watch_mu_);
      if (stopping_) return;
    }
    {
      absl::MutexLock lock(&apply_mu_);
      if (!stopped_.empty()) return;  // forked: said loudly in Stop
    }
    if (absl::Now() >= next_log) {
      log::Warn("following the cluster's log again after an interruption",
                {{"error", status.message()}});
      next_log = absl::Now() + options_.wait_log_interval;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace factlog::replication
