// EventStore::Verify: the log replayed in memory (storage/replay.h) and
// compared with the stored projections and indexes, and the stored Merkle
// tree checked against the events, in one scan of the log.

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "domain/time_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "storage/claim_indexes.h"
#include "storage/event_store.h"
#include "storage/event_store_state.h"
#include "storage/keys.h"
#include "storage/replay.h"
#include "storage/source_projection.h"

namespace factlog::storage {
namespace {

// Mismatch lines past this many are summed up in one line.
constexpr size_t kMaxReported = 100;

// How an index entry reads in a mismatch.
std::string DescribeIndexEntry(ClaimIndex index, absl::string_view key) {
  if (index == ClaimIndex::kOverdue) {
    absl::Time at;
    absl::string_view claim_id;
    if (!keys::DecodeOverdueKey(key, &at, &claim_id)) return "(short key)";
    return absl::StrCat("\"", domain::Rfc3339(at), "\" -> \"", claim_id, "\"");
  }
  return absl::StrCat("\"", keys::IndexValue(key), "\" -> \"",
                      keys::IndexClaimId(key), "\"");
}

// The stored Merkle tree checked against the events as the log is scanned:
// every stored subtree of the lowest stored level against the hashes of its
// events' bytes, every stored parent against its children, and at the end
// the stored tail against the newest events.
class MerkleCheck {
 public:
  MerkleCheck(const StoreState& state, VerifyReport* report)
      : state_(state), report_(report) {}

  // The event stored at `position`, the next in the log. False when a node
  // could not be read (status() says why).
  bool Add(uint64_t position, absl::string_view bytes);
  // After the last event: the tail, and the tree's size against the log's.
  absl::Status Finish(uint64_t last_position);

  // A failed read of a node, if any.
  const absl::Status& status() const { return status_; }
  // The tree of every event added, as the events hash.
  const merkle::Frontier& whole() const { return whole_; }
  // What differs, in the order found; no more than can be reported.
  std::vector<std::string>& mismatches() { return mismatches_; }

 private:
  static constexpr int kLowest = keys::kLowestStoredMerkleLevel;

  void Mismatch(std::string line) {
    if (mismatches_.size() <= kMaxReported) {
      mismatches_.push_back(std::move(line));
    }
  }
  // `differs` makes the mismatch's message, only when there is one.
  template <typename Differs>
  void Check(const absl::StatusOr<merkle::Hash>& stored,
             const merkle::Hash& want, const Differs& differs) {
    ++report_->merkle_nodes_checked;
    if (!stored.ok()) {
      Mismatch(std::string(stored.status().message()));
    } else if (*stored != want) {
      Mismatch(differs());
    }
  }

  const StoreState& state_;
  VerifyReport* const report_;
  // The events of the current lowest stored subtree, hashed from their
  // bytes; above it, a tree whose leaves are the stored lowest subtrees
  // (its level j is the tree's level kLowest + j), so that parents are
  // checked against the stored children and one changed event is reported
  // once, not once per ancestor; and the whole tree as the events hash.
  merkle::Frontier block_, upper_, whole_;
  MerkleNodes nodes_;
  v1::Event event_;
  absl::Status status_;
  std::vector<std::string> mismatches_;
};

bool MerkleCheck::Add(uint64_t position, absl::string_view bytes) {
  const merkle::Hash leaf = merkle::LeafHash(bytes);
  if (!event_.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      merkle::CanonicalEventBytes(event_) != bytes) {
    Mismatch(absl::StrFormat(
        "merkle: the event at position %d is not stored in canonical form, "
        "so clients cannot verify it",
        position));
  }
  whole_.Append(leaf, &nodes_);
  block_.Append(leaf, &nodes_);
  nodes_.clear();
  if (block_.size() < (uint64_t{1} << kLowest)) return true;
  const merkle::NodeId id{kLowest, upper_.size()};
  absl::StatusOr<merkle::Hash> stored = state_.StoredMerkleNode(id);
  if (!stored.ok() && !absl::IsDataLoss(stored.status())) {
    status_ = stored.status();
    return false;
  }
  Check(stored, block_.Root(), [&] {
    return absl::StrFormat(
        "merkle: the events at positions %d to %d do not match their "
        "stored subtree (level %d, index %d): one of them changed after it "
        "was appended",
        position - block_.size() + 1, position, id.level, id.index);
  });
  upper_.Append(stored.ok() ? *stored : block_.Root(), &nodes_);
  block_ = merkle::Frontier();
  for (size_t i = 1; i < nodes_.size(); ++i) {
    const merkle::NodeId parent{nodes_[i].first.level + kLowest,
                                nodes_[i].first.index};
    Check(state_.StoredMerkleNode(parent), nodes_[i].second, [&] {
      return absl::StrFormat(
          "merkle: node (level %d, index %d) is not the hash of its children",
          parent.level, parent.index);
    });
  }
  nodes_.clear();
  return true;
}

absl::Status MerkleCheck::Finish(uint64_t last_position) {
  // The newest events, in no stored subtree yet: against the stored tail.
  rocksdb::PinnableSlice bytes;
  absl::StatusOr<bool> found =
      state_.ReadValue(kMeta, keys::kMerkleTail, "merkle tail", &bytes);
  if (!found.ok()) return found.status();
  std::optional<MerkleTail> tail;
  if (*found) tail = MerkleTail::Decode(ToView(bytes));
  if (*found && !tail) {
    Mismatch("merkle: the stored tail is malformed");
  } else if (tail && tail->size != whole_.size()) {
    Mismatch(absl::StrFormat(
        "merkle: the stored tail is of a tree of %d events, the log has %d",
        tail->size, whole_.size()));
  } else if (block_.size() > 0) {
    const std::vector<merkle::Hash> peaks = block_.PeaksBelow(kLowest);
    uint64_t first = whole_.size() - block_.size() + 1;
    size_t i = 0;
    for (int level = kLowest - 1; level >= 0; --level) {
      if (!((block_.size() >> level) & 1)) continue;
      const uint64_t last = first + (uint64_t{1} << level) - 1;
      const std::optional<merkle::Hash> stored =
          tail ? tail->Find(MerkleTail::PeakId(whole_.size(), level))
               : std::nullopt;
      Check(stored ? absl::StatusOr<merkle::Hash>(*stored)
                   : absl::DataLossError(absl::StrFormat(
                         "merkle: the stored tail, which covers the events at "
                         "positions %d to %d, is missing",
                         first, last)),
            peaks[i++], [&] {
              return absl::StrFormat(
                  "merkle: the events at positions %d to %d do not match the "
                  "stored tail of the tree: one of them changed after it was "
                  "appended",
                  first, last);
            });
      first = last + 1;
    }
  }
  if (whole_.size() != last_position) {
    Mismatch(absl::StrFormat("merkle: the tree covers %d events, the log %d",
                             whole_.size(), last_position));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<VerifyReport> EventStore::Verify() const {
  const StoreState& state = *state_;
  VerifyReport report;
  auto mismatch = [&](std::string line) {
    if (report.mismatches.size() < kMaxReported) {
      report.mismatches.push_back(std::move(line));
    } else if (report.mismatches.size() == kMaxReported) {
      report.mismatches.push_back("... more mismatches not shown");
    }
  };

  // One scan of the log: replayed into views, and hashed into the tree.
  ParallelReplay replay(ReplayThreads());
  MerkleCheck merkle(state, &report);
  absl::Status read =
      state.ScanLogBytes([&](uint64_t position, absl::string_view bytes) {
        return replay.Add(position, bytes) && merkle.Add(position, bytes);
      });
  if (absl::Status s = replay.Finish(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("verify: ", s.message()));
  }
  if (!read.ok()) return read;
  if (!merkle.status().ok()) return merkle.status();
  const std::vector<const ReplayedClaim*> expected = replay.SortedClaims();
  report.events_replayed = replay.events();
  // The index in `expected` of the claim `claim_id`; expected.size() when
  // it has no events.
  auto find_expected = [&](absl::string_view claim_id) -> size_t {
    auto it =
        std::lower_bound(expected.begin(), expected.end(), claim_id,
                         [](const ReplayedClaim* c, absl::string_view id) {
                           return c->claim_id < id;
                         });
    if (it == expected.end() || (*it)->claim_id != claim_id) {
      return expected.size();
    }
    return it - expected.begin();
  };

  // Projections.
  std::vector<bool> seen(expected.size());
  absl::Status s = ScanClaims("", [&](const v1::ClaimView& stored) {
    ++report.claims_checked;
    const size_t i = find_expected(stored.claim_id());
    if (i == expected.size()) {
      mismatch(absl::StrCat("claims: \"", stored.claim_id(),
                            "\" is stored but has no events"));
      return true;
    }
    seen[i] = true;
    const ReplayedClaim* claim = expected[i];
    std::string diff;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    if (!differ.Compare(*claim->view, stored)) {
      mismatch(
          absl::StrCat("claims: \"", stored.claim_id(),
                       "\" differs from replay (replayed -> stored): ", diff));
    }
    return true;
  });
  if (!s.ok()) return s;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (!seen[i]) {
      mismatch(absl::StrCat("claims: \"", expected[i]->claim_id,
                            "\" has events but no stored projection"));
    }
  }

  // Secondary indexes.
  for (ClaimIndex index : kAllClaimIndexes) {
    std::map<std::string, std::string> want;
    IndexEntryList entries;
    for (const ReplayedClaim* claim : expected) {
      entries.clear();
      AppendIndexEntries(index, *claim->view, &entries);
      for (auto& [key, value] : entries) {
        want.emplace(std::move(key), std::move(value));
      }
    }
    rocksdb::ColumnFamilyHandle* family = state.index_family(index);
    const std::string name = family->GetName();
    std::unique_ptr<rocksdb::Iterator> it(
        state.db->NewIterator(rocksdb::ReadOptions(), family));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key(ToView(it->key()));
      auto wanted = want.find(key);
      if (wanted == want.end()) {
        mismatch(absl::StrCat(name, ": unexpected entry ",
                              DescribeIndexEntry(index, key)));
        continue;
      }
      if (wanted->second != ToView(it->value())) {
        mismatch(absl::StrCat(name, ": entry ", DescribeIndexEntry(index, key),
                              " has a wrong value"));
      }
      want.erase(wanted);
    }
    if (auto st = FromRocks(it->status(), "verify"); !st.ok()) return st;
    for (const auto& [key, value] : want) {
      mismatch(absl::StrCat(name, ": missing entry ",
                            DescribeIndexEntry(index, key)));
    }
  }

  // Per-claim event index.
  std::map<std::string, uint64_t> expected_claim_events;
  for (const ReplayedClaim* claim : expected) {
    for (const auto& [version, position] : claim->events) {
      expected_claim_events[keys::ClaimEventKey(claim->claim_id, version)] =
          position;
    }
  }
  std::unique_ptr<rocksdb::Iterator> it(state.db->NewIterator(
      rocksdb::ReadOptions(), state.family(kClaimEvents)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string key(ToView(it->key()));
    auto want = expected_claim_events.find(key);
    const std::optional<uint64_t> got = keys::DecodeU64(ToView(it->value()));
    if (want == expected_claim_events.end() || got != want->second) {
      mismatch(absl::StrCat("claim_events: entry for \"", keys::IndexValue(key),
                            "\" points at position ", got.value_or(0)));
    } else {
      expected_claim_events.erase(want);
    }
  }
  if (auto st = FromRocks(it->status(), "verify"); !st.ok()) return st;
  for (const auto& [key, position] : expected_claim_events) {
    mismatch(absl::StrCat("claim_events: missing entry for \"",
                          keys::IndexValue(key), "\" at position ", position));
  }

  // The source registry: the family as stored, and as held in memory.
  {
    std::map<std::string, std::string> want = SourceEntries(replay.sources());
    report.sources_checked = replay.sources().size();
    std::unique_ptr<rocksdb::Iterator> sources(
        state.db->NewIterator(rocksdb::ReadOptions(), state.family(kSources)));
    for (sources->SeekToFirst(); sources->Valid(); sources->Next()) {
      const std::string key(ToView(sources->key()));
      auto wanted = want.find(key);
      if (wanted == want.end()) {
        mismatch(absl::StrCat("sources: unexpected entry \"", key, "\""));
      } else {
        if (wanted->second != ToView(sources->value())) {
          mismatch(absl::StrCat("sources: \"", key, "\" differs from replay"));
        }
        want.erase(wanted);
      }
    }
    if (auto st = FromRocks(sources->status(), "verify"); !st.ok()) return st;
    for (const auto& [key, value] : want) {
      mismatch(absl::StrCat("sources: missing entry \"", key, "\""));
    }
    if (SourceEntries(*state.Sources()) != SourceEntries(replay.sources())) {
      mismatch("sources: the registry in memory differs from replay");
    }
  }

  // The Merkle tree: what the scan found, then the tail and the root.
  if (auto st = merkle.Finish(LastPosition()); !st.ok()) return st;
  for (std::string& line : merkle.mismatches()) mismatch(std::move(line));
  absl::StatusOr<merkle::Hash> root = RootAt(merkle.whole().size());
  if (root.ok() && *root != merkle.whole().Root()) {
    mismatch("merkle: the stored tree's root differs from the recomputed one");
  }
  return report;
}

}  // namespace factlog::storage
