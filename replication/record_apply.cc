#include "replication/record_apply.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "domain/evolve.h"
#include "domain/merkle.h"

namespace factlog::replication {

CommitRecord RecordOf(const storage::CommitBatch& batch, uint64_t commit,
                      const merkle::Hash& root_after, const std::string& node) {
  CommitRecord record;
  record.set_commit(commit);
  record.set_first_position(
      batch.events.empty() ? 0 : batch.events.front().position());
  for (const v1::Event& event : batch.events) {
    record.add_events(merkle::CanonicalEventBytes(event));
  }
  for (const auto& [request_id, request] : batch.requests) {
    record.add_request_ids(request_id);
    record.add_request_records(request.SerializeAsString());
  }
  record.set_root_after(merkle::ToBytes(root_after));
  record.set_node(node);
  return record;
}

absl::StatusOr<std::unique_ptr<AppliedBatch>> BatchOf(
    const CommitRecord& record, const storage::EventStore& store) {
  const uint64_t expected = store.LastPosition() + 1;
  if (record.first_position() != expected) {
    return absl::DataLossError(absl::StrFormat(
        "commit record %d starts at position %d, but this node's log ends "
        "at %d",
        record.commit(), record.first_position(), expected - 1));
  }
  if (record.request_ids_size() != record.request_records_size()) {
    return absl::DataLossError(absl::StrFormat(
        "commit record %d: request ids and records differ in number",
        record.commit()));
  }
  absl::StatusOr<merkle::Hash> root =
      merkle::HashFromBytes(record.root_after());
  if (!root.ok()) {
    return absl::DataLossError(
        absl::StrFormat("commit record %d: root_after: %s", record.commit(),
                        root.status().message()));
  }
  auto out = std::make_unique<AppliedBatch>();
  storage::CommitBatch& commit = out->commit;
  commit.expected_root = *root;
  commit.events.reserve(record.events_size());
  out->statuses.reserve(record.events_size());
  uint64_t position = expected;
  for (const std::string& bytes : record.events()) {
    v1::Event event;
    if (!event.ParseFromString(bytes) || event.position() != position) {
      return absl::DataLossError(absl::StrFormat(
          "commit record %d: event %d does not parse or is out of order",
          record.commit(), position));
    }
    ++position;
    if (event.claim_id().empty()) {
      // A source registry event: EventStore::Commit derives the registry
      // from the events themselves (storage/event_store.h, Sources).
      out->statuses.push_back(v1::CLAIM_STATUS_UNSPECIFIED);
      commit.events.push_back(std::move(event));
      continue;
    }
    auto it = out->after.find(event.claim_id());
    if (it == out->after.end()) {
      absl::StatusOr<std::optional<v1::ClaimView>> stored =
          store.GetClaim(event.claim_id());
      if (!stored.ok()) return stored.status();
      std::optional<storage::ClaimIndexInputs>& before =
          out->before[event.claim_id()];
      v1::ClaimView view;
      if (stored->has_value()) {
        before.emplace(**stored);
        view = **std::move(stored);
      }
      it = out->after.emplace(event.claim_id(), std::move(view)).first;
    }
    domain::Evolve(event, &it->second);
    out->statuses.push_back(it->second.status());
    commit.events.push_back(std::move(event));
  }
  for (auto& [claim_id, view] : out->after) {
    const auto& before = out->before[claim_id];
    commit.claims.push_back({before ? &*before : nullptr, &view});
  }
  for (int i = 0; i < record.request_ids_size(); ++i) {
    v1::RequestRecord request;
    if (!request.ParseFromString(record.request_records(i))) {
      return absl::DataLossError(
          absl::StrFormat("commit record %d: request record %s does not parse",
                          record.commit(), record.request_ids(i)));
    }
    commit.requests.emplace_back(record.request_ids(i), std::move(request));
  }
  return out;
}

}  // namespace factlog::replication
