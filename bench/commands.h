// The synthetic story every workload writes, deterministic in its inputs:
// claims spread over 100 subjects, 1,000 claimants, 50 tags and the four
// kinds, and evidence with alternating stances from distinct sources.
// Also the fast preload of a store straight through core::Writer.
#ifndef FACTLOG_BENCH_COMMANDS_H_
#define FACTLOG_BENCH_COMMANDS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "factlog/v1/service.pb.h"

namespace factlog::bench {

inline constexpr int kSubjects = 100;
inline constexpr int kClaimants = 1000;
inline constexpr int kTags = 50;

std::string SubjectName(uint64_t n);   // "subject-07"
std::string ClaimantName(uint64_t n);  // "Claimant 042"
std::string TagName(uint64_t n);       // "tag-13"

// Claim number `n` (subject, claimant, tags and kind follow from n).
v1::RecordClaimRequest ClaimRequest(const std::string& claim_id, uint64_t n);
// Evidence number `k` on a claim: source "Source k", stances alternating.
v1::AddEvidenceRequest EvidenceRequest(const std::string& claim_id, uint64_t n,
                                       uint64_t k);

// Command `i` of the append mix under `prefix`: every fourth records claim
// "<prefix>-<i/4>", the three after it add evidence to that claim.
v1::Command MixCommand(absl::string_view prefix, uint64_t i);
std::string MixClaimId(absl::string_view prefix, uint64_t i);

// What PreloadStore writes: claims "<prefix>-0" .. "<prefix>-(claims-1)";
// claim n gets (n % (max_evidence + 1)) pieces of evidence.
struct PreloadSpec {
  std::string prefix = "p";
  uint64_t claims = 0;
  int max_evidence = 3;
  uint64_t events() const;
};

// Appends `spec` to the store in `dir` (created if missing) through
// core::Writer, the server's own decide-and-commit path, but with
// StoreOptions::sync off: a preload only, not crash-safe, never a measured
// workload. Then lets RocksDB finish the flushes and compactions the preload
// left (for up to three minutes), so that what is measured next finds a
// store at rest, as a restart would, rather than sharing the cores with
// them. Returns the store's last position.
absl::StatusOr<uint64_t> PreloadStore(const std::string& dir,
                                      const PreloadSpec& spec);

// Registers `count` sources in the store in `dir` (created if missing)
// through core::Writer, without fsync, as PreloadStore: one organisation
// "Org <j>" for every 100 sources and under them people named "Source <i>"
// for the rest (so the append mix's evidence, from "Source 0" .. "Source
// 2", resolves to registered people under an organisation). Like
// PreloadStore, lets RocksDB finish what the preload left. Returns the
// store's last position.
absl::StatusOr<uint64_t> PreloadSources(const std::string& dir, int count);

}  // namespace factlog::bench

#endif  // FACTLOG_BENCH_COMMANDS_H_
