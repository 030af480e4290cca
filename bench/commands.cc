#include "bench/commands.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/writer.h"
#include "storage/event_store.h"

namespace factlog::bench {

std::string SubjectName(uint64_t n) {
  return absl::StrFormat("subject-%02d", n % kSubjects);
}
std::string ClaimantName(uint64_t n) {
  return absl::StrFormat("Claimant %03d", n % kClaimants);
}
std::string TagName(uint64_t n) {
  return absl::StrFormat("tag-%02d", n % kTags);
}

v1::RecordClaimRequest ClaimRequest(const std::string& claim_id, uint64_t n) {
  static constexpr v1::ClaimKind kKinds[] = {
      v1::CLAIM_KIND_FACT, v1::CLAIM_KIND_PROMISE, v1::CLAIM_KIND_PREDICTION,
      v1::CLAIM_KIND_STATISTIC};
  v1::RecordClaimRequest req;
  req.set_claim_id(claim_id);
  req.set_text(
      "The withdrawal of the troops from near the border has started, and "
      "could take some time to finish.");
  req.set_claimant(ClaimantName(n * 7));
  req.mutable_reported_by()->set_name("Dmitry Peskov");
  req.mutable_reported_by()->set_outlet("CNN");
  req.set_subject(SubjectName(n));
  req.set_kind(kKinds[n % 4]);
  req.add_tags(TagName(n));
  req.add_tags(TagName(n + 1));
  return req;
}

v1::AddEvidenceRequest EvidenceRequest(const std::string& claim_id, uint64_t n,
                                       uint64_t k) {
  v1::AddEvidenceRequest req;
  req.set_claim_id(claim_id);
  req.set_stance((n + k) % 2 == 0 ? v1::STANCE_SUPPORTS : v1::STANCE_REFUTES);
  req.mutable_source()->set_name(absl::StrCat("Source ", k));
  req.mutable_source()->set_outlet("Reuters");
  req.set_note("Satellite images show no sign of the units leaving.");
  return req;
}

std::string MixClaimId(absl::string_view prefix, uint64_t i) {
  return absl::StrCat(prefix, "-", i / 4);
}

v1::Command MixCommand(absl::string_view prefix, uint64_t i) {
  v1::Command c;
  const std::string id = MixClaimId(prefix, i);
  if (i % 4 == 0) {
    *c.mutable_record_claim() = ClaimRequest(id, i / 4);
  } else {
    *c.mutable_add_evidence() = EvidenceRequest(id, i / 4, i % 4 - 1);
  }
  return c;
}

uint64_t PreloadSpec::events() const {
  uint64_t n = 0;
  const uint64_t period = max_evidence + 1;
  // Per full period of claims: 1 + 2 + ... + period events.
  n += (claims / period) * (period * (period + 1) / 2);
  for (uint64_t c = claims - claims % period; c < claims; ++c) {
    n += 1 + c % period;
  }
  return n;
}

namespace {

// Closes `store` (which flushes its memtables), reopens the store in `dir`
// and waits (up to three minutes) until RocksDB has finished the flushes
// and compactions a preload left. Returns the store's last position.
absl::StatusOr<uint64_t> SettleStore(
    const std::string& dir, std::unique_ptr<storage::EventStore> store) {
  const uint64_t last = store->LastPosition();
  storage::StoreOptions store_options;
  store_options.sync = false;
  store.reset();
  auto reopened = storage::EventStore::Open(dir, store_options);
  if (!reopened.ok()) return reopened.status();
  const absl::Time deadline = absl::Now() + absl::Minutes(3);
  while (absl::Now() < deadline) {
    std::map<std::string, uint64_t> p = (*reopened)->Properties();
    if (p["pending_compaction_bytes"] == 0 && p["running_compactions"] == 0 &&
        p["running_flushes"] == 0) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return last;
}

}  // namespace

absl::StatusOr<uint64_t> PreloadStore(const std::string& dir,
                                      const PreloadSpec& spec) {
  storage::StoreOptions store_options;
  store_options.sync = false;  // preload only; see the header
  auto store = storage::EventStore::Open(dir, store_options);
  if (!store.ok()) return store.status();
  core::WriterOptions writer_options;
  writer_options.max_batch = 4096;
  auto writer = core::Writer::Start(store->get(), writer_options);

  constexpr size_t kSequence = 1024;
  constexpr int kInFlight = 4;
  absl::Mutex mu;
  int in_flight = 0;
  absl::Status failed;
  auto submit = [&](std::vector<v1::Command> commands) {
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](int* n) { return *n < kInFlight; }, &in_flight));
      ++in_flight;
    }
    writer->SubmitSequence(std::move(commands), "factlog-bench",
                           [&](core::SequenceResult result) {
                             absl::MutexLock lock(&mu);
                             --in_flight;
                             if (!result.error.ok() && failed.ok()) {
                               failed = result.error;
                             }
                           });
  };
  std::vector<v1::Command> chunk;
  for (uint64_t n = 0; n < spec.claims; ++n) {
    const std::string id = absl::StrCat(spec.prefix, "-", n);
    v1::Command c;
    *c.mutable_record_claim() = ClaimRequest(id, n);
    chunk.push_back(std::move(c));
    const uint64_t evidence = n % (spec.max_evidence + 1);
    for (uint64_t k = 0; k < evidence; ++k) {
      v1::Command e;
      *e.mutable_add_evidence() = EvidenceRequest(id, n, k);
      chunk.push_back(std::move(e));
    }
    if (chunk.size() >= kSequence) submit(std::exchange(chunk, {}));
  }
  if (!chunk.empty()) submit(std::move(chunk));
  writer->Stop();
  if (!failed.ok()) return failed;
  return SettleStore(dir, std::move(*store));
}

absl::StatusOr<uint64_t> PreloadSources(const std::string& dir, int count) {
  storage::StoreOptions store_options;
  store_options.sync = false;  // preload only; see the header
  auto store = storage::EventStore::Open(dir, store_options);
  if (!store.ok()) return store.status();
  auto writer = core::Writer::Start(store->get(), {});
  std::vector<v1::Command> commands;
  for (int i = 0; i < count; ++i) {
    v1::RegisterSourceRequest* r =
        commands.emplace_back().mutable_register_source();
    if (i % 100 == 0) {
      r->set_source_id(absl::StrFormat("org-%d", i / 100));
      r->set_name(absl::StrFormat("Org %d", i / 100));
      r->set_kind(v1::SOURCE_KIND_ORGANISATION);
    } else {
      r->set_source_id(absl::StrFormat("src-%d", i));
      r->set_name(absl::StrCat("Source ", i % 100 - 1 + (i / 100) * 99));
      r->set_kind(v1::SOURCE_KIND_PERSON);
      r->set_parent_id(absl::StrFormat("org-%d", i / 100));
    }
  }
  absl::Status failed;
  absl::Notification done;
  writer->SubmitSequence(std::move(commands), "factlog-bench",
                         [&](core::SequenceResult result) {
                           failed = result.error;
                           done.Notify();
                         });
  done.WaitForNotification();
  writer->Stop();
  if (!failed.ok()) return failed;
  return SettleStore(dir, std::move(*store));
}

}  // namespace factlog::bench
