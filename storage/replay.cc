#include "storage/replay.h"

#include <algorithm>
#include <iterator>

#include "absl/hash/hash.h"
#include "absl/strings/str_format.h"
#include "domain/evolve.h"
#include "factlog/v1/events.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace factlog::storage {
namespace {

constexpr size_t kChunkEvents = 1024;
constexpr size_t kMaxQueuedChunks = 8;

// The claim_id of a stored event (field 2 of Event), read from its wire
// bytes without parsing the rest; empty when it is not there.
absl::string_view PeekClaimId(absl::string_view bytes) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  for (uint32_t tag; (tag = in.ReadTag()) != 0;) {
    if (tag == (2 << 3 | 2)) {
      uint32_t length;
      const void* data;
      int size;
      if (!in.ReadVarint32(&length) ||
          !in.GetDirectBufferPointer(&data, &size) ||
          static_cast<uint32_t>(size) < length) {
        return {};
      }
      return absl::string_view(static_cast<const char*>(data), length);
    }
    if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) {
      return {};
    }
  }
  return {};
}

// A claim to sort, with its id at hand: comparing through the view
// would chase two pointers per comparison.
using SortEntry = std::pair<absl::string_view, const ReplayedClaim*>;

bool ByClaimId(const SortEntry& a, const SortEntry& b) {
  return a.first < b.first;
}

}  // namespace

unsigned ReplayThreads() {
  return std::clamp(std::thread::hardware_concurrency(), 2u, 4u);
}

ParallelReplay::ParallelReplay(size_t threads) : lanes_(threads) {
  for (Lane& lane : lanes_) {
    lane.thread = std::thread([this, &lane] { Run(lane); });
  }
}

ParallelReplay::~ParallelReplay() { Finish().IgnoreError(); }

bool ParallelReplay::Add(uint64_t position, absl::string_view bytes) {
  const absl::string_view claim_id = PeekClaimId(bytes);
  if (claim_id.empty()) {
    v1::Event e;
    if (!e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      registry_error_ = absl::DataLossError(
          absl::StrFormat("event %d does not parse", position));
      failed_.store(true, std::memory_order_relaxed);
      return false;
    }
    sources_.Apply(e);
    ++registry_events_;
    return !failed_.load(std::memory_order_relaxed);
  }
  Lane& lane =
      lanes_[absl::Hash<absl::string_view>()(claim_id) % lanes_.size()];
  Chunk& chunk = lane.filling;
  chunk.positions.push_back(position);
  chunk.bytes.append(bytes.data(), bytes.size());
  chunk.ends.push_back(chunk.bytes.size());
  if (chunk.positions.size() >= kChunkEvents) Send(lane, /*more=*/true);
  return !failed_.load(std::memory_order_relaxed);
}

absl::Status ParallelReplay::Finish() {
  for (Lane& lane : lanes_) {
    if (!lane.thread.joinable()) continue;
    Send(lane, /*more=*/false);
    {
      absl::MutexLock lock(&lane.mu);
      lane.done = true;
    }
    lane.thread.join();
  }
  if (!registry_error_.ok()) return registry_error_;
  for (Lane& lane : lanes_) {
    if (!lane.error.ok()) return lane.error;
  }
  return absl::OkStatus();
}

uint64_t ParallelReplay::events() const {
  uint64_t events = registry_events_;
  for (const Lane& lane : lanes_) events += lane.events;
  return events;
}

std::vector<const ReplayedClaim*> ParallelReplay::SortedClaims() const {
  std::vector<SortEntry> merged, next;
  for (const Lane& lane : lanes_) {
    next.clear();
    next.reserve(merged.size() + lane.sorted.size());
    std::merge(merged.begin(), merged.end(), lane.sorted.begin(),
               lane.sorted.end(), std::back_inserter(next), ByClaimId);
    merged.swap(next);
  }
  std::vector<const ReplayedClaim*> claims;
  claims.reserve(merged.size());
  for (const SortEntry& entry : merged) claims.push_back(entry.second);
  return claims;
}

void ParallelReplay::Send(Lane& lane, bool more) {
  if (lane.filling.positions.empty()) return;
  // The next chunk is likely the size of this one: room for it up front
  // spares growing it (and copying its bytes) a dozen times.
  Chunk next;
  if (more) {
    next.positions.reserve(kChunkEvents);
    next.ends.reserve(kChunkEvents);
    next.bytes.reserve(lane.filling.bytes.size() * 9 / 8);
  }
  {
    absl::MutexLock lock(&lane.mu);
    auto room = [&lane]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lane.mu) {
      return lane.queue.size() < kMaxQueuedChunks;
    };
    lane.mu.Await(absl::Condition(&room));
    lane.queue.push_back(std::move(lane.filling));
  }
  lane.filling = std::move(next);
}

void ParallelReplay::Run(Lane& lane) {
  v1::Event e;
  for (;;) {
    Chunk chunk;
    {
      absl::MutexLock lock(&lane.mu);
      auto ready = [&lane]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lane.mu) {
        return lane.done || !lane.queue.empty();
      };
      lane.mu.Await(absl::Condition(&ready));
      if (lane.queue.empty()) break;
      chunk = std::move(lane.queue.front());
      lane.queue.pop_front();
    }
    if (!lane.error.ok()) continue;  // drain, so the reader never blocks
    size_t begin = 0;
    for (size_t i = 0; i < chunk.positions.size(); ++i) {
      const size_t end = chunk.ends[i];
      if (!e.ParseFromArray(chunk.bytes.data() + begin,
                            static_cast<int>(end - begin))) {
        lane.error = absl::DataLossError(
            absl::StrFormat("event %d does not parse", chunk.positions[i]));
        failed_.store(true, std::memory_order_relaxed);
        break;
      }
      begin = end;
      ReplayedClaim& claim = lane.claims[e.claim_id()];
      if (claim.view == nullptr) {
        claim.view =
            google::protobuf::Arena::CreateMessage<v1::ClaimView>(&lane.arena);
      }
      domain::Evolve(e, claim.view);
      claim.events.emplace_back(e.version(), chunk.positions[i]);
      ++lane.events;
    }
  }
  if (!lane.error.ok()) return;
  // The log has ended: this lane's share of the sorting, on its thread.
  lane.sorted.reserve(lane.claims.size());
  for (auto& [claim_id, claim] : lane.claims) {
    claim.claim_id = claim_id;
    lane.sorted.emplace_back(claim_id, &claim);
  }
  std::sort(lane.sorted.begin(), lane.sorted.end(), ByClaimId);
}

}  // namespace factlog::storage
