#ifndef FACTLOG_CORE_ACCESS_H_
#define FACTLOG_CORE_ACCESS_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

// Who may do what, independent of the transport: roles, bearer tokens and
// the file of principals. rpc/auth.h applies it to gRPC calls, with the
// role each method needs from rpc/methods.h.
namespace factlog::core {

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

// The bearer-token rule every transport applies (gRPC metadata, HTTP
// headers): `authorization` is the value of the request's authorization
// header, nullopt when it has none. The principal the token names, or
// UNAUTHENTICATED saying what is wrong (missing, not "Bearer <token>",
// unknown token). Thread-safe.
absl::StatusOr<TokenStore::Principal> AuthenticateBearer(
    const TokenStore& tokens, std::optional<absl::string_view> authorization);

// OK when `principal` may call `method`, which needs `needed`;
// PERMISSION_DENIED naming both roles otherwise.
absl::Status CheckRole(const TokenStore::Principal& principal, Role needed,
                       absl::string_view method);

}  // namespace factlog::core

#endif  // FACTLOG_CORE_ACCESS_H_
