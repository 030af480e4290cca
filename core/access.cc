#include "core/access.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace factlog::core {
namespace {

std::array<unsigned char, 32> Sha256(absl::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

}  // namespace

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  if (name == "reader") return Role::kReader;
  if (name == "reporter") return Role::kReporter;
  if (name == "editor") return Role::kEditor;
  if (name == "admin") return Role::kAdmin;
  return absl::InvalidArgumentError(absl::StrFormat(
      "role: \"%s\" is not one of reader, reporter, editor, admin", name));
}

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kReader:
      return "reader";
    case Role::kReporter:
      return "reporter";
    case Role::kEditor:
      return "editor";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::string Sha256Hex(absl::string_view data) {
  const std::array<unsigned char, 32> digest = Sha256(data);
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string NewToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) std::abort();  // no entropy
  return absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

absl::StatusOr<std::vector<TokenStore::Entry>> TokenStore::Parse(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("auth tokens file ", path, " cannot be read"));
  }
  std::vector<Entry> entries;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || absl::StartsWith(text, "#")) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s:%d: %s (want: PRINCIPAL ROLE SHA256-HEX)", path, number, why));
    };
    if (fields.size() != 3) return bad("expected 3 fields");
    absl::StatusOr<Role> role = ParseRole(fields[1]);
    if (!role.ok()) return bad(role.status().message());
    const absl::string_view hex = fields[2];
    if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), [](char c) {
          return absl::ascii_isxdigit(c);
        })) {
      return bad("the third field must be 64 hex digits (a SHA-256)");
    }
    Entry entry;
    entry.name = std::string(fields[0]);
    entry.role = *role;
    const std::string raw = absl::HexStringToBytes(absl::AsciiStrToLower(hex));
    std::copy(raw.begin(), raw.end(), entry.digest.begin());
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<std::unique_ptr<TokenStore>> TokenStore::Load(std::string path) {
  std::unique_ptr<TokenStore> store(new TokenStore(std::move(path)));
  if (absl::Status s = store->Reload(); !s.ok()) return s;
  return store;
}

absl::Status TokenStore::Reload() {
  absl::StatusOr<std::vector<Entry>> entries = Parse(path_);
  if (!entries.ok()) return entries.status();
  auto fresh = std::make_shared<const std::vector<Entry>>(*std::move(entries));
  absl::MutexLock lock(&mu_);
  entries_ = std::move(fresh);
  return absl::OkStatus();
}

size_t TokenStore::size() const {
  absl::MutexLock lock(&mu_);
  return entries_ ? entries_->size() : 0;
}

std::optional<TokenStore::Principal> TokenStore::Authenticate(
    absl::string_view token) const {
  std::shared_ptr<const std::vector<Entry>> entries;
  {
    absl::MutexLock lock(&mu_);
    entries = entries_;
  }
  const std::array<unsigned char, 32> digest = Sha256(token);
  const Entry* match = nullptr;
  for (const Entry& e : *entries) {
    // No early exit: every entry is compared in constant time.
    const bool equal =
        CRYPTO_memcmp(e.digest.data(), digest.data(), digest.size()) == 0;
    if (equal && match == nullptr) match = &e;
  }
  if (match == nullptr || token.empty()) return std::nullopt;
  return Principal{match->name, match->role};
}

absl::StatusOr<TokenStore::Principal> AuthenticateBearer(
    const TokenStore& tokens, std::optional<absl::string_view> authorization) {
  if (!authorization.has_value()) {
    return absl::UnauthenticatedError(
        "missing authorization: send \"authorization: Bearer <token>\"");
  }
  absl::string_view header = *authorization;
  if (!absl::ConsumePrefix(&header, "Bearer ")) {
    return absl::UnauthenticatedError(
        "authorization: expected \"Bearer <token>\"");
  }
  std::optional<TokenStore::Principal> principal =
      tokens.Authenticate(absl::StripAsciiWhitespace(header));
  if (!principal) {
    return absl::UnauthenticatedError("authorization: unknown token");
  }
  return *std::move(principal);
}

absl::Status CheckRole(const TokenStore::Principal& principal, Role needed,
                       absl::string_view method) {
  if (principal.role < needed) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s: principal \"%s\" has role %s; %s needs %s", method, principal.name,
        RoleName(principal.role), method, RoleName(needed)));
  }
  return absl::OkStatus();
}

}  // namespace factlog::core
