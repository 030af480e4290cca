#ifndef FACTLOG_RPC_AUTH_H_
#define FACTLOG_RPC_AUTH_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_context.h"

namespace factlog::rpc {

// Roles are ordered: each may do everything the ones before it may.
//   reader   queries, ReadEvents, Subscribe, reflection
//   reporter + RecordClaim, AddEvidence, Import
//   editor   + IssueVerdict, CorrectClaim, RetractClaim, LinkClaims,
//              WithdrawEvidence
//   admin    + AdminService
enum class Role { kReader = 1, kReporter = 2, kEditor = 3, kAdmin = 4 };

absl::StatusOr<Role> ParseRole(absl::string_view name);
absl::string_view RoleName(Role role);

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

// A fresh bearer token: 32 random bytes from the OS CSPRNG, base64url.
std::string NewToken();

// The principals allowed in, from a tokens file. Each non-empty line that is
// not a comment (#) reads
//   PRINCIPAL ROLE SHA256-HEX-OF-TOKEN
// so the file never holds a token itself. Thread-safe; Reload swaps the set
// atomically and keeps the old one when the file is bad.
class TokenStore {
 public:
  struct Principal {
    std::string name;
    Role role;
  };

  // INVALID_ARGUMENT naming the file and line for a malformed file,
  // NOT_FOUND / PERMISSION_DENIED when it cannot be read.
  static absl::StatusOr<std::unique_ptr<TokenStore>> Load(std::string path);
  absl::Status Reload();

  // The principal whose token this is, or nullopt. Compares the token's
  // digest with every entry in constant time, so timing reveals nothing
  // about which entry, if any, is close.
  std::optional<Principal> Authenticate(absl::string_view token) const;
  size_t size() const;
  const std::string& path() const { return path_; }

 private:
  struct Entry {
    std::string name;
    Role role;
    std::array<unsigned char, 32> digest;
  };
  explicit TokenStore(std::string path) : path_(std::move(path)) {}
  static absl::StatusOr<std::vector<Entry>> Parse(const std::string& path);

  const std::string path_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const std::vector<Entry>> entries_ ABSL_GUARDED_BY(mu_);
};

// Decides who an RPC acts as and whether it may. Without a token store
// (loopback, no --auth-tokens) every call is allowed and acts as the client
// certificate's subject under mTLS, else "anonymous". With one, calls must
// carry `authorization: Bearer <token>`.
class Authorizer {
 public:
  // `tokens` may be null; it must outlive the Authorizer.
  explicit Authorizer(const TokenStore* tokens) : tokens_(tokens) {}

  // The acting principal, or UNAUTHENTICATED (no or unknown token) /
  // PERMISSION_DENIED (role too low; the message names both roles).
  absl::StatusOr<std::string> Authorize(const grpc::ServerContextBase& ctx,
                                        Role needed,
                                        absl::string_view method) const;
  bool enabled() const { return tokens_ != nullptr; }

 private:
  const TokenStore* const tokens_;
};

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_AUTH_H_
