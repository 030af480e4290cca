// Signed log heads: the exact bytes an Ed25519 signature over a LogHead
// covers, signing (factlogd --signing-key) and checking (factlog verify).
// OpenSSL's libcrypto does the cryptography.
#ifndef FACTLOG_DOMAIN_SIGNED_HEAD_H_
#define FACTLOG_DOMAIN_SIGNED_HEAD_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "factlog/v1/service.pb.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace factlog::merkle {

// "factlog-log-head-v1" 0x00 || tree_size (u64 BE) || root_hash ||
// time in Unix nanoseconds (i64 BE): what LogHead.signature signs.
std::string SignedHeadBytes(const v1::LogHead& head);

// OK when `head.signature` is a valid Ed25519 signature of
// SignedHeadBytes(head) by `public_key` (raw, 32 bytes). DATA_LOSS when it
// is missing or does not verify; INVALID_ARGUMENT for a malformed key.
absl::Status VerifyHeadSignature(const v1::LogHead& head,
                                 absl::string_view public_key);

// The raw 32-byte Ed25519 public key in a PEM "PUBLIC KEY" or "PRIVATE
// KEY" block. INVALID_ARGUMENT naming what is wrong otherwise.
absl::StatusOr<std::string> Ed25519PublicKeyFromPem(absl::string_view pem);

// A fresh Ed25519 key pair as PEM (PKCS#8 private key, SPKI public key).
struct SigningKeyPem {
  std::string private_pem;
  std::string public_pem;
};
absl::StatusOr<SigningKeyPem> NewSigningKey();

// Signs heads with one Ed25519 private key. Thread-safe.
class HeadSigner {
 public:
  // INVALID_ARGUMENT unless `pem` holds an Ed25519 private key.
  static absl::StatusOr<std::unique_ptr<HeadSigner>> FromPem(
      absl::string_view pem);
  ~HeadSigner();

  // Sets head->public_key and head->signature.
  void Sign(v1::LogHead* head) const;
  const std::string& public_key() const { return public_key_; }

 private:
  HeadSigner(EVP_PKEY* key, std::string public_key);
  EVP_PKEY* const key_;
  const std::string public_key_;
};

}  // namespace factlog::merkle

#endif  // FACTLOG_DOMAIN_SIGNED_HEAD_H_
