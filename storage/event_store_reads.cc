// EventStore: reads of the log, the projections and the indexes.

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "storage/event_store.h"
#include "storage/event_store_state.h"
#include "storage/keys.h"

namespace factlog::storage {

using rocksdb::ColumnFamilyHandle;

namespace {

// The stored `Message` under `key` of `f`, or nullopt.
template <typename Message>
absl::StatusOr<std::optional<Message>> ReadMessage(const StoreState& state,
                                                   Family f,
                                                   absl::string_view key,
                                                   absl::string_view what) {
  rocksdb::PinnableSlice value;
  absl::StatusOr<bool> found = state.ReadValue(f, key, what, &value);
  if (!found.ok()) return found.status();
  if (!*found) return std::nullopt;
  Message message;
  if (auto st = Parse(ToView(value), &message, what); !st.ok()) return st;
  return message;
}

// The full key range of a column family whose keys never start with 0xff.
const std::string& RangeEnd() {
  static const std::string* const end = new std::string(9, '\xff');
  return *end;
}

absl::Status ScanEventBytes(
    rocksdb::DB* db, ColumnFamilyHandle* events, rocksdb::ReadOptions ro,
    uint64_t from_position,
    const std::function<bool(uint64_t, absl::string_view)>& fn) {
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, events));
  for (it->Seek(keys::EventKey(std::max<uint64_t>(from_position, 1)));
       it->Valid(); it->Next()) {
    const std::optional<uint64_t> position = keys::DecodeU64(ToView(it->key()));
    if (!position) return absl::DataLossError("events: malformed key");
    if (!fn(*position, ToView(it->value()))) return absl::OkStatus();
  }
  return FromRocks(it->status(), "reading events");
}

}  // namespace

absl::StatusOr<std::optional<v1::ClaimView>> EventStore::GetClaim(
    absl::string_view claim_id) const {
  absl::StatusOr<std::optional<std::string>> bytes = GetClaimBytes(claim_id);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::nullopt;
  v1::ClaimView view;
  if (auto s = Parse(**bytes, &view, "claim"); !s.ok()) return s;
  return view;
}

absl::StatusOr<std::optional<std::string>> EventStore::GetClaimBytes(
    absl::string_view claim_id) const {
  std::string bytes;
  uint64_t ticket = 0;
  if (state_->claim_cache.Get(claim_id, &bytes, &ticket)) return bytes;
  rocksdb::PinnableSlice value;
  absl::StatusOr<bool> found =
      state_->ReadValue(kClaims, claim_id, "claim", &value);
  if (!found.ok()) return found.status();
  if (!*found) return std::nullopt;
  state_->claim_cache.Fill(claim_id, ToView(value), ticket);
  return value.ToString();
}

absl::StatusOr<std::optional<v1::RequestRecord>> EventStore::GetRequest(
    absl::string_view request_id) const {
  return ReadMessage<v1::RequestRecord>(*state_, kRequests, request_id,
                                        "request");
}

absl::Status EventStore::ReadEvents(
    uint64_t from_position,
    const std::function<bool(const v1::Event&)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(
      state_->db->NewIterator(ro, state_->family(kEvents)));
  v1::Event event;
  for (it->Seek(keys::EventKey(std::max<uint64_t>(from_position, 1)));
       it->Valid(); it->Next()) {
    if (auto s = Parse(ToView(it->value()), &event, "event"); !s.ok()) return s;
    if (!fn(event)) return absl::OkStatus();
  }
  return FromRocks(it->status(), "reading events");
}

absl::Status EventStore::ReadClaimEvents(
    absl::string_view claim_id, uint64_t from_version,
    const std::function<bool(const v1::Event&)>& fn) const {
  const rocksdb::Snapshot* snapshot = state_->db->GetSnapshot();
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  const std::string prefix = keys::ClaimEventPrefix(claim_id);
  absl::Status status;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        state_->db->NewIterator(ro, state_->family(kClaimEvents)));
    v1::Event event;
    std::string bytes;
    for (it->Seek(keys::ClaimEventKey(claim_id, from_version));
         it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const std::optional<uint64_t> position =
          keys::DecodeU64(ToView(it->value()));
      if (!position) {
        status = absl::DataLossError("claim_events: bad position value");
        break;
      }
      status = FromRocks(state_->db->Get(ro, state_->family(kEvents),
                                         keys::EventKey(*position), &bytes),
                         absl::StrCat("reading event ", *position));
      if (status.ok()) status = Parse(bytes, &event, "event");
      if (!status.ok() || !fn(event)) break;
    }
    if (status.ok()) status = FromRocks(it->status(), "reading claim events");
  }
  state_->db->ReleaseSnapshot(snapshot);
  return status;
}

absl::Status EventStore::ScanClaims(
    absl::string_view start_after,
    const std::function<bool(v1::ClaimView)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      state_->db->NewIterator(rocksdb::ReadOptions(), state_->family(kClaims)));
  for (it->Seek(ToSlice(start_after)); it->Valid(); it->Next()) {
    if (!start_after.empty() && ToView(it->key()) == start_after) continue;
    v1::ClaimView view;
    if (auto s = Parse(ToView(it->value()), &view, "claim"); !s.ok()) return s;
    if (!fn(std::move(view))) return absl::OkStatus();
  }
  return FromRocks(it->status(), "scanning claims");
}

absl::Status EventStore::ScanIndex(
    ClaimIndex index, absl::string_view value, absl::string_view start_after,
    const std::function<bool(absl::string_view claim_id)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(state_->db->NewIterator(
      rocksdb::ReadOptions(), state_->index_family(index)));
  const std::string prefix = keys::IndexPrefix(value);
  const std::string start = keys::IndexKey(value, start_after);
  for (it->Seek(start); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    if (!start_after.empty() && ToView(it->key()) == start) continue;
    if (!fn(keys::IndexClaimId(ToView(it->key())))) return absl::OkStatus();
  }
  return FromRocks(it->status(), "scanning index");
}

absl::Status EventStore::ScanClaimant(
    absl::string_view claimant,
    const std::function<bool(const ClaimantEntry&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(state_->db->NewIterator(
      rocksdb::ReadOptions(), state_->family(kByClaimant)));
  const std::string prefix = keys::IndexPrefix(claimant);
  ClaimantEntry entry;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    entry.claim_id = keys::IndexClaimId(ToView(it->key()));
    if (!keys::DecodeClaimantEntryValue(ToView(it->value()), &entry.subject,
                                        &entry.word_hashes)) {
      return absl::DataLossError(absl::StrFormat(
          "by_claimant: malformed entry for claim \"%s\"", entry.claim_id));
    }
    if (!fn(entry)) return absl::OkStatus();
  }
  return FromRocks(it->status(), "scanning the claimant index");
}

absl::Status EventStore::ScanIndexValues(
    ClaimIndex index, absl::string_view start_after,
    const std::function<bool(absl::string_view value,
                             const std::vector<std::string>& claim_ids)>& fn)
    const {
  std::unique_ptr<rocksdb::Iterator> it(state_->db->NewIterator(
      rocksdb::ReadOptions(), state_->index_family(index)));
  std::string current;
  std::vector<std::string> ids;
  it->Seek(start_after.empty() ? std::string()
                               : keys::IndexKey(start_after, RangeEnd()));
  for (; it->Valid(); it->Next()) {
    const absl::string_view key = ToView(it->key());
    const absl::string_view value = keys::IndexValue(key);
    if (!ids.empty() && value != current) {
      if (!fn(current, ids)) return absl::OkStatus();
      ids.clear();
    }
    current = std::string(value);
    ids.emplace_back(keys::IndexClaimId(key));
  }
  if (auto s = FromRocks(it->status(), "scanning index"); !s.ok()) return s;
  if (!ids.empty()) fn(current, ids);
  return absl::OkStatus();
}

absl::Status EventStore::ScanOverdue(
    const domain::OverdueCursor& after, absl::Time until,
    const std::function<bool(const OverdueEntry&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(state_->db->NewIterator(
      rocksdb::ReadOptions(), state_->family(kByOverdue)));
  // Claim ids are slugs, so 0xff sorts after every id at the same time.
  it->Seek(after.claim_id.empty()
               ? absl::StrCat(keys::EncodeTime(after.at), "\xff")
               : keys::OverdueKey(after.at, after.claim_id));
  OverdueEntry entry;
  for (; it->Valid(); it->Next()) {
    if (!keys::DecodeOverdueKey(ToView(it->key()), &entry.overdue_at,
                                &entry.claim_id)) {
      return absl::DataLossError("by_overdue: malformed key");
    }
    if (after.Covers(entry.overdue_at, entry.claim_id)) continue;
    if (entry.overdue_at > until) break;
    const std::optional<absl::Time> due = keys::DecodeTime(ToView(it->value()));
    if (!due) return absl::DataLossError("by_overdue: malformed value");
    entry.due_at = *due;
    if (!fn(entry)) return absl::OkStatus();
  }
  return FromRocks(it->status(), "scanning the overdue index");
}

absl::Status EventStore::ReadEventBytes(
    uint64_t from_position,
    const std::function<bool(uint64_t, absl::string_view)>& fn) const {
  return ScanEventBytes(state_->db.get(), state_->family(kEvents),
                        rocksdb::ReadOptions(), from_position, fn);
}

absl::Status StoreState::ScanLogBytes(
    const std::function<bool(uint64_t, absl::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  return ScanEventBytes(db.get(), family(kEvents), ro, 1, fn);
}

absl::StatusOr<bool> StoreState::ReadValue(
    Family f, absl::string_view key, absl::string_view what,
    rocksdb::PinnableSlice* value) const {
  rocksdb::Status s =
      db->Get(rocksdb::ReadOptions(), family(f), ToSlice(key), value);
  if (s.IsNotFound()) return false;
  if (auto st = FromRocks(s, absl::StrCat("reading ", what)); !st.ok()) {
    return st;
  }
  return true;
}

}  // namespace factlog::storage
