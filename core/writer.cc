#include "core/writer.h"

#include <pthread.h>

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "core/server_metrics.h"
#include "domain/decider.h"
#include "domain/evolve.h"
#include "domain/source_decider.h"
#include "domain/sources.h"
#include "domain/status.h"
#include "domain/time_util.h"
#include "domain/validation.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace factlog::core {
namespace {

std::string NewUuid(absl::BitGen& gen) {
  const uint64_t hi = absl::Uniform<uint64_t>(gen);
  return UuidV4(hi, absl::Uniform<uint64_t>(gen));
}

}  // namespace

std::string UuidV4(uint64_t hi, uint64_t lo) {
  // Version 4, variant 10xx.
  const uint64_t bits[2] = {
      (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL,
      (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL};
  // By hand: StrFormat was an eighth of deciding a command.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t at = 0;
  for (int half = 0; half < 2; ++half) {
    for (int shift = 60; shift >= 0; shift -= 4) {
      if (at == 8 || at == 13 || at == 18 || at == 23) ++at;
      out[at++] = kHex[(bits[half] >> shift) & 0xf];
    }
  }
  return out;
}

uint64_t CommandFingerprint(const v1::Command& command) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    command.SerializeToCodedStream(&coded);
  }
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// The state of one group commit: claims as decided so far in this batch over
// what is stored, the events to append and the request records to keep.
class Writer::Batch {
 public:
  // Every event of the batch is recorded at `stamp`; the first is appended
  // at `next_position`.
  Batch(storage::EventStore* store, const WriterOptions& options,
        absl::BitGen* gen, absl::Time stamp, uint64_t next_position)
      : store_(store),
        options_(options),
        gen_(gen),
        stamp_(stamp),
        next_position_(next_position) {}

  // Decides and applies one command, or says why not. Atomic: on error the
  // batch is as before.
  // `fingerprint`: CommandFingerprint(command), taken on the submitting
  // thread.
  absl::StatusOr<v1::CommandResponse> Apply(const v1::Command& command,
                                            uint64_t fingerprint,
                                            const std::string& actor) {
    const std::string& request_id = domain::RequestIdOf(command);
    if (!request_id.empty()) {
      absl::StatusOr<std::optional<v1::RequestRecord>> earlier =
          FindRequest(request_id);
      if (!earlier.ok()) return earlier.status();
      if (earlier->has_value()) {
        if ((*earlier)->fingerprint() != fingerprint) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "request_id: \"%s\" was already used for a different command; "
              "use a new request_id",
              request_id));
        }
        v1::CommandResponse response = (*earlier)->response();
        response.set_deduplicated(true);
        return response;
      }
    }

    domain::DecideContext context;
    context.now = stamp_;
    context.limits = options_.limits;
    if (command.has_record_claim() &&
        command.record_claim().claim_id().empty()) {
      absl::StatusOr<std::string> id = AssignClaimId();
      if (!id.ok()) return id.status();
      context.assigned_claim_id = *std::move(id);
    }
    context.sources = &sources();
    if (command.has_register_source() &&
        command.register_source().source_id().empty()) {
      context.assigned_source_id = AssignSourceId();
    }
    domain::ClaimLookup lookup = [this](const std::string& claim_id) {
      return Lookup(claim_id);
    };
    absl::StatusOr<domain::Decision> decision =
        domain::Decide(command, lookup, context);
    if (!decision.ok()) return decision.status();

    v1::CommandResponse response;
    response.set_claim_id(decision->claim_id);
    response.set_evidence_id(decision->evidence_id);
    response.set_first_position(next_position_);
    const google::protobuf::Timestamp now = domain::ToProto(context.now);
    for (v1::Event& event : decision->events) {
      event.set_position(next_position_++);
      event.set_event_id(NewUuid(*gen_));
      *event.mutable_recorded_at() = now;
      event.set_actor(actor);
      event.set_request_id(request_id);
      if (domain::IsRegistryEvent(event)) {
        // The batch's own registry: copied from the store's at its first
        // registry event, so later commands of the batch see this one.
        if (!changed_sources_) {
          changed_sources_ =
              std::make_shared<domain::SourceRegistry>(*stored_sources_);
        }
        changed_sources_->Apply(event);
        events_.push_back(std::move(event));
        statuses_.push_back(v1::CLAIM_STATUS_UNSPECIFIED);
        continue;
      }
      Entry& entry = claims_[event.claim_id()];
      if (!entry.current) entry.current.emplace();
      entry.dirty = true;
      domain::Evolve(event, &*entry.current);
      events_.push_back(std::move(event));
      statuses_.push_back(entry.current->status());
    }
    response.set_last_position(next_position_ - 1);
    if (domain::IsSourceCommand(command)) {
      response.set_source_id(decision->source_id);
      if (const v1::SourceView* source = sources().Find(decision->source_id)) {
        response.set_version(source->version());
        *response.mutable_source() = *source;
      } else {
        response.set_version(sources().policy().version());  // SetDeskPolicy
      }
    } else {
      response.set_version(claims_[decision->claim_id].current->version());
    }
    if (!request_id.empty()) {
      v1::RequestRecord& record = requests_[request_id];
      record.set_fingerprint(fingerprint);
      *record.mutable_response() = response;
    }
    return response;
  }

  // The claim as a reader sees it right after this batch, when it can be
  // read. Runs on the completer thread, after the commit.
  std::optional<v1::ClaimView> Present(const std::string& claim_id) const {
    std::optional<v1::ClaimView> view;
    if (auto it = claims_.find(claim_id); it != claims_.end()) {
      view = it->second.current;
    } else if (auto stored = store_->GetClaim(claim_id); stored.ok()) {
      view = *std::move(stored);  // a deduplicated command's claim
    }
    if (view) domain::PresentAt(options_.clock(), &*view);
    return view;
  }

  // The same, encoded; empty when there is no such claim. A claim this
  // batch committed that cannot read OVERDUE (overdue_at is set exactly
  // while it can) reads as stored, so its stored bytes serve as they are.
  std::string PresentEncoded(const std::string& claim_id) const {
    if (auto it = claims_.find(claim_id);
        it != claims_.end() && !it->second.stored.empty() &&
        !it->second.current->has_overdue_at()) {
      return it->second.stored;
    }
    std::optional<v1::ClaimView> view = Present(claim_id);
    return view ? view->SerializeAsString() : std::string();
  }

  // After a successful commit: keeps each committed claim's stored bytes,
  // parallel to the commit's claims.
  void KeepStored(const storage::CommitBatch& commit,
                  std::vector<std::string> claims) {
    for (size_t k = 0; k < commit.claims.size() && k < claims.size(); ++k) {
      claims_[commit.claims[k].after->claim_id()].stored = std::move(claims[k]);
    }
  }

  // The source registry commands are decided against: the store's as of
  // the batch's start, with the batch's own registry events applied.
  const domain::SourceRegistry& sources() const {
    return changed_sources_ ? *changed_sources_ : *stored_sources_;
  }

  // Room for the events of `commands` commands, most of which add one.
  void Reserve(size_t commands) {
    events_.reserve(commands);
    statuses_.reserve(commands);
  }

  const std::vector<v1::Event>& events() const { return events_; }
  // Each event's claim status right after it, parallel to the events.
  std::vector<v1::ClaimStatus> TakeStatuses() { return std::move(statuses_); }

  // The commit of this batch. Its claim views point into the batch, which
  // must outlive the Commit call.
  storage::CommitBatch TakeCommit() {
    storage::CommitBatch commit;
    commit.events = std::move(events_);
    for (auto& [claim_id, entry] : claims_) {
      if (!entry.dirty) continue;
      commit.claims.push_back(
          {entry.before ? &*entry.before : nullptr, &*entry.current});
    }
    for (auto& [request_id, record] : requests_) {
      commit.requests.emplace_back(request_id, std::move(record));
    }
    return commit;
  }

 private:
  struct Entry {
    // What its index entries were made of, as stored.
    std::optional<storage::ClaimIndexInputs> before;
    std::optional<v1::ClaimView> current;  // as decided in this batch
    bool dirty = false;
    std::string stored;  // `current` as committed, once it is
  };

  absl::StatusOr<const v1::ClaimView*> Lookup(const std::string& claim_id) {
    auto it = claims_.find(claim_id);
    if (it == claims_.end()) {
      absl::StatusOr<std::optional<v1::ClaimView>> stored =
          store_->GetClaim(claim_id);
      if (!stored.ok()) return stored.status();
      Entry entry;
      if (stored->has_value()) entry.before.emplace(**stored);
      entry.current = *std::move(stored);
      it = claims_.emplace(claim_id, std::move(entry)).first;
    }
    return it->second.current ? &*it->second.current : nullptr;
  }

  absl::StatusOr<std::optional<v1::RequestRecord>> FindRequest(
      const std::string& request_id) {
    if (auto it = requests_.find(request_id); it != requests_.end()) {
      return it->second;
    }
    return store_->GetRequest(request_id);
  }

  // Server-assigned source ids, as claim ids: "s-" and the zero-padded
  // position of the SourceRegistered event.
  std::string AssignSourceId() const {
    const std::string base = absl::StrFormat("s-%012d", next_position_);
    std::string id = base;
    for (int n = 2; sources().Find(id) != nullptr; ++n) {
      id = absl::StrCat(base, "-", n);
    }
    return id;
  }

  // Server-assigned ids sort in creation order: "c-" and the zero-padded
  // position of the ClaimRecorded event.
  absl::StatusOr<std::string> AssignClaimId() {
    const std::string base = absl::StrFormat("c-%012d", next_position_);
    std::string id = base;
    for (int n = 2;; ++n) {
      absl::StatusOr<const v1::ClaimView*> taken = Lookup(id);
      if (!taken.ok()) return taken.status();
      if (*taken == nullptr) return id;
      id = absl::StrCat(base, "-", n);
    }
  }

  storage::EventStore* const store_;
  const WriterOptions& options_;
  const std::shared_ptr<const domain::SourceRegistry> stored_sources_ =
      store_->Sources();
  std::shared_ptr<domain::SourceRegistry> changed_sources_;
  absl::BitGen* const gen_;
  const absl::Time stamp_;
  uint64_t next_position_;
  std::map<std::string, Entry> claims_;
  std::map<std::string, v1::RequestRecord> requests_;
  std::vector<v1::Event> events_;
  std::vector<v1::ClaimStatus> statuses_;  // parallel to events_
};

struct Writer::Completion {
  std::unique_ptr<Batch> batch;
  std::vector<Item> items;
  std::vector<SequenceResult> results;  // parallel to items
  CommittedEvents published;            // what was committed, for on_commit
  absl::Status committed;
};

std::unique_ptr<Writer> Writer::Start(storage::EventStore* store,
                                      WriterOptions options) {
  std::unique_ptr<Writer> writer(new Writer(store, std::move(options)));
  if (store->LastPosition() > 0) {
    // recorded_at continues from the log, whatever the clock says now.
    store
        ->ReadEvents(store->LastPosition(),
                     [&](const v1::Event& last) {
                       absl::MutexLock lock(&writer->time_mu_);
                       writer->last_stamp_ =
                           domain::FromProto(last.recorded_at());
                       return false;
                     })
        .IgnoreError();
  }
  writer->thread_ = std::thread([w = writer.get()] { w->Run(); });
  writer->completer_ = std::thread([w = writer.get()] { w->RunCompleter(); });
  pthread_setname_np(writer->thread_.native_handle(), "factlog-writer");
  pthread_setname_np(writer->completer_.native_handle(), "factlog-acks");
  return writer;
}

Writer::Writer(storage::EventStore* store, WriterOptions options)
    : store_(store),
      options_(std::move(options)),
      local_log_(options_.commit_log == nullptr ? NewLocalCommitLog(store)
                                                : nullptr),
      log_(options_.commit_log != nullptr ? options_.commit_log
                                          : local_log_.get()) {}

Writer::~Writer() { Stop(); }

void Writer::Submit(v1::Command command, std::string actor, Callback done) {
  std::vector<v1::Command> commands;
  commands.push_back(std::move(command));
  SubmitSequence(
      std::move(commands), std::move(actor),
      [done = std::move(done)](SequenceResult result) {
        if (!result.error.ok()) {
          done(std::move(result.error));
          return;
        }
        v1::CommandResponse& response = result.responses.back();
        if (!result.claim.empty() &&
            !response.mutable_claim()->ParseFromString(result.claim)) {
          done(absl::DataLossError("stored claim does not parse"));
          return;
        }
        done(std::move(response));
      });
}

void Writer::SubmitSequence(std::vector<v1::Command> commands,
                            std::string actor, SequenceCallback done) {
  // On the caller's thread, not the writer's: fields this version does not
  // know never reach the log (the events are made of the command's fields),
  // and each command's fingerprint.
  std::vector<uint64_t> fingerprints;
  fingerprints.reserve(commands.size());
  for (v1::Command& command : commands) {
    command.DiscardUnknownFields();
    fingerprints.push_back(CommandFingerprint(command));
  }
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      refused = absl::UnavailableError("factlogd is shutting down");
    } else if (queued_commands_ + commands.size() > options_.max_queued) {
      refused = absl::ResourceExhaustedError(absl::StrFormat(
          "write queue is full (%d commands waiting); retry later",
          queued_commands_));
    } else {
      queued_commands_ += commands.size();
      queue_.push_back({std::move(commands), std::move(fingerprints),
                        std::move(actor), std::move(done)});
      return;
    }
  }
  if (options_.metrics) options_.metrics->CommandsDone({}, refused);
  SequenceResult result;
  result.error = refused;
  done(std::move(result));
}

void Writer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  if (completer_.joinable()) completer_.join();
}

void Writer::Run() {
  for (;;) {
    std::vector<Item> items;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Writer* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) {
            return w->stopping_ || !w->queue_.empty();
          },
          this));
      if (queue_.empty()) break;  // stopping, and everything is decided
      size_t commands = 0;
      while (!queue_.empty() &&
             (items.empty() || commands + queue_.front().commands.size() <=
                                   options_.max_batch)) {
        commands += queue_.front().commands.size();
        items.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_commands_ -= commands;
    }
    std::unique_ptr<Completion> done = Process(std::move(items));
    absl::MutexLock lock(&completer_mu_);
    completions_.push_back(std::move(done));
  }
  absl::MutexLock lock(&completer_mu_);
  writer_done_ = true;
}

void Writer::RunCompleter() {
  for (;;) {
    std::deque<std::unique_ptr<Completion>> ready;
    {
      absl::MutexLock lock(&completer_mu_);
      completer_mu_.Await(absl::Condition(
          +[](Writer* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->completer_mu_) {
            return w->writer_done_ || !w->completions_.empty();
          },
          this));
      if (completions_.empty()) return;  // the writer stopped; all done
      ready.swap(completions_);
    }
    for (std::unique_ptr<Completion>& done : ready) Complete(*done);
  }
}

namespace {

// Timestamps carry nanoseconds; so do stamps and safe times, so that they
// compare exactly with what is stored.
absl::Time TruncateToNanos(absl::Time t) {
  return absl::FromUnixNanos(absl::ToUnixNanos(t));
}

}  // namespace

absl::Time Writer::BeginStamp(absl::Time floor) {
  const absl::Time now = TruncateToNanos(options_.clock());
  absl::MutexLock lock(&time_mu_);
  last_stamp_ =
      std::max({now, last_stamp_, last_safe_ + absl::Nanoseconds(1), floor});
  in_flight_.push_back(last_stamp_);
  return last_stamp_;
}

void Writer::EndStamp(absl::Time stamp) {
  absl::MutexLock lock(&time_mu_);
  auto it = std::find(in_flight_.begin(), in_flight_.end(), stamp);
  if (it != in_flight_.end()) in_flight_.erase(it);
}

absl::Time Writer::SafeTime() {
  const absl::Time now = TruncateToNanos(options_.clock());
  absl::MutexLock lock(&time_mu_);
  const absl::Time safe = in_flight_.empty()
                              ? std::max({now, last_stamp_, last_safe_})
                              : in_flight_.front() - absl::Nanoseconds(1);
  last_safe_ = std::max(last_safe_, safe);
  return last_safe_;
}

std::unique_ptr<Writer::Completion> Writer::Process(std::vector<Item> items) {
  // Decided again over the caught-up state while other nodes keep
  // extending the log first: with three nodes writing at once each round
  // is won by one of them, so 32 rounds lose all with odds of (2/3)^32.
  constexpr int kMaxAttempts = 32;
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<Completion> done = DecideAndCommit(std::move(items));
    if (!IsSuperseded(done->committed) || attempt == kMaxAttempts) {
      return done;
    }
    items = std::move(done->items);
  }
}

std::unique_ptr<Writer::Completion> Writer::DecideAndCommit(
    std::vector<Item> items) {
  static thread_local absl::BitGen gen;
  const absl::Time stamp = BeginStamp(log_->LastRecordedAt());
  auto done = std::make_unique<Completion>();
  done->batch = std::make_unique<Batch>(store_, options_, &gen, stamp,
                                        log_->LastPosition() + 1);
  Batch& batch = *done->batch;
  std::vector<SequenceResult>& results = done->results;
  results.resize(items.size());
  size_t commands = 0;
  for (const Item& item : items) commands += item.commands.size();
  batch.Reserve(commands);
  if (options_.metrics) options_.metrics->BatchProcessed(commands);
  for (size_t i = 0; i < items.size(); ++i) {
    const Item& item = items[i];
    results[i].responses.reserve(item.commands.size());
    for (size_t k = 0; k < item.commands.size(); ++k) {
      absl::StatusOr<v1::CommandResponse> response =
          batch.Apply(item.commands[k], item.fingerprints[k], item.actor);
      if (!response.ok()) {
        results[i].error = response.status();
        results[i].failed_index = k;
        break;
      }
      results[i].responses.push_back(*std::move(response));
    }
  }
  done->items = std::move(items);

  if (batch.events().empty()) {
    EndStamp(stamp);
  } else {
    storage::CommitBatch commit = batch.TakeCommit();
    if (options_.before_commit) options_.before_commit();
    const absl::Time commit_start = absl::Now();
    storage::StoredBytes stored;
    done->committed = log_->Commit(commit, &stored);
    done->published.serialized = std::move(stored.events);
    if (done->committed.ok()) {
      batch.KeepStored(commit, std::move(stored.claims));
    }
    EndStamp(stamp);  // committed (visible to readers) or not stored at all
    if (options_.metrics && !IsSuperseded(done->committed)) {
      options_.metrics->Committed(commit.events, absl::Now() - commit_start,
                                  done->committed.ok());
    }
    if (IsSuperseded(done->committed)) {
      // Decided again by Process; not a failure of the store.
    } else if (!done->committed.ok()) {
      ++failed_commits_;
      log::Error("commit failed; its commands are refused with UNAVAILABLE",
                 {{"error", done->committed.message()},
                  {"events", commit.events.size()}});
    } else if (failed_commits_ > 0) {
      log::Info("commits succeed again", {{"failed_commits", failed_commits_}});
      failed_commits_ = 0;
    }
    done->published.events = std::move(commit.events);
    done->published.statuses = batch.TakeStatuses();
  }
  return done;
}

void Writer::Complete(Completion& done) {
  Batch& batch = *done.batch;
  if (done.committed.ok() && !done.published.events.empty() &&
      options_.on_commit) {
    options_.on_commit(std::move(done.published));
  }
  for (size_t i = 0; i < done.items.size(); ++i) {
    SequenceResult& result = done.results[i];
    if (!done.committed.ok() && !result.responses.empty()) {
      // Nothing of this batch was stored: every command in it is unapplied.
      result.responses.clear();
      result.failed_index = 0;
      result.error = absl::UnavailableError(
          absl::StrCat("commit failed, nothing was stored; retry with the same "
                       "request_id: ",
                       done.committed.message()));
    }
    if (done.items[i].commands.size() == 1 && result.error.ok() &&
        !result.responses.back().claim_id().empty()) {
      result.claim = batch.PresentEncoded(result.responses.back().claim_id());
    }
    if (options_.metrics) {
      options_.metrics->CommandsDone(result.responses, result.error);
    }
    done.items[i].done(std::move(result));
  }
}

}  // namespace factlog::core
