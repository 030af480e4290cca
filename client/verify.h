// Checking the tamper-evident log on the client, trusting nothing the server
// says without a proof (see LogHead in service.proto). `factlog verify`
// (verify_commands.cc) is built on it:
//
//   factlog verify claim ID [--public-key KEY.pub]
//     fetches the current head, every event of the claim and an inclusion
//     proof for each, and checks them locally: "verified N events of claim
//     ID against head T (root ...)".
//   factlog verify log --since-head FILE [--public-key KEY.pub]
//     checks a consistency proof from the head saved in FILE to the current
//     one, then saves the current head there. A watcher that runs this
//     regularly notices any rewrite of history behind it. A missing FILE is
//     created with the current head.
//
// With --public-key, every head must carry a valid Ed25519 signature by that
// key (factlogd --signing-key). A check that fails exits
// kExitVerificationFailed with what failed; FILE then keeps the old head.
#ifndef FACTLOG_CLIENT_VERIFY_H_
#define FACTLOG_CLIENT_VERIFY_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/connection.h"
#include "factlog/v1/service.pb.h"

namespace factlog::cli {

// The log or a proof did not check out (beyond connection.h's 0-3).
inline constexpr int kExitVerificationFailed = 4;

// "head 45 (root ab12..., signed)": how every message names a head.
std::string DescribeHead(const v1::LogHead& head);

// The head's root hash in lower-case hex, or "(malformed)".
std::string RootHex(const v1::LogHead& head);

// OK when the head's root hash is well formed and, with a `public_key` (raw,
// 32 bytes; empty accepts unsigned heads), the head is signed by that key
// with a valid signature; otherwise DATA_LOSS saying what is wrong.
absl::Status CheckHead(const v1::LogHead& head, const std::string& public_key);

struct ClaimVerification {
  uint64_t events = 0;        // events of the claim proven in the head
  uint64_t newer_events = 0;  // appended after the head, not checked
  v1::LogHead head;
};

// Checks every event of `claim_id` against the current head. `public_key`
// is raw (32 bytes) or empty to accept unsigned heads. RPC failures throw
// CommandError (connection.h); a failed check is DATA_LOSS saying what.
absl::StatusOr<ClaimVerification> VerifyClaim(Connection& connection,
                                              const std::string& claim_id,
                                              const std::string& public_key);

// Checks that the current log extends `saved`; returns the current head.
// A failed check (including a log now shorter than `saved`) is DATA_LOSS.
absl::StatusOr<v1::LogHead> VerifyLogExtends(Connection& connection,
                                             const v1::LogHead& saved,
                                             const std::string& public_key);

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_VERIFY_H_
