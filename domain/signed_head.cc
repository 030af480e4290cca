#include "domain/signed_head.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace factlog::merkle {
namespace {

constexpr char kDomain[] = "factlog-log-head-v1";

void AppendBigEndian(uint64_t value, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

absl::StatusOr<std::string> RawPublicKey(EVP_PKEY* key) {
  if (EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("the key is not an Ed25519 key");
  }
  std::string raw(32, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(
          key, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 ||
      len != 32) {
    return absl::InvalidArgumentError("cannot read the Ed25519 public key");
  }
  return raw;
}

std::string PemOf(EVP_PKEY* key, bool private_key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (private_key) {
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                             nullptr);
  } else {
    PEM_write_bio_PUBKEY(bio.get(), key);
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len > 0 ? static_cast<size_t>(len) : 0);
}

}  // namespace

std::string SignedHeadBytes(const v1::LogHead& head) {
  std::string out(kDomain, sizeof(kDomain));  // includes the 0x00
  AppendBigEndian(head.tree_size(), &out);
  out += head.root_hash();
  const int64_t nanos =
      head.time().seconds() * 1000000000 + head.time().nanos();
  AppendBigEndian(static_cast<uint64_t>(nanos), &out);
  return out;
}

absl::Status VerifyHeadSignature(const v1::LogHead& head,
                                 absl::string_view public_key) {
  if (public_key.size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an Ed25519 public key is 32 bytes, got ", public_key.size()));
  }
  if (head.signature().empty()) {
    return absl::DataLossError(
        "the head is not signed (does factlogd run with --signing-key?)");
  }
  Key key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr,
      reinterpret_cast<const unsigned char*>(public_key.data()),
      public_key.size()));
  if (!key) return absl::InvalidArgumentError("not an Ed25519 public key");
  std::unique_ptr<EVP_MD_CTX, MdFree> ctx(EVP_MD_CTX_new());
  const std::string message = SignedHeadBytes(head);
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) !=
          1 ||
      EVP_DigestVerify(
          ctx.get(),
          reinterpret_cast<const unsigned char*>(head.signature().data()),
          head.signature().size(),
          reinterpret_cast<const unsigned char*>(message.data()),
          message.size()) != 1) {
    return absl::DataLossError(
        "the head's signature does not verify with the given public key");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Ed25519PublicKeyFromPem(absl::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    bio.reset(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  }
  if (!key) {
    return absl::InvalidArgumentError(
        "no PEM PUBLIC KEY or PRIVATE KEY block found");
  }
  return RawPublicKey(key.get());
}

absl::StatusOr<SigningKeyPem> NewSigningKey() {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return absl::InternalError("OpenSSL could not generate an Ed25519 key");
  }
  Key key(raw);
  return SigningKeyPem{PemOf(key.get(), true), PemOf(key.get(), false)};
}

absl::StatusOr<std::unique_ptr<HeadSigner>> HeadSigner::FromPem(
    absl::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return absl::InvalidArgumentError(
        "no PEM PRIVATE KEY block found (make one with `factlogd key new`)");
  }
  absl::StatusOr<std::string> public_key = RawPublicKey(key.get());
  if (!public_key.ok()) return public_key.status();
  return std::unique_ptr<HeadSigner>(
      new HeadSigner(key.release(), *std::move(public_key)));
}

HeadSigner::HeadSigner(EVP_PKEY* key, std::string public_key)
    : key_(key), public_key_(std::move(public_key)) {}

HeadSigner::~HeadSigner() { EVP_PKEY_free(key_); }

void HeadSigner::Sign(v1::LogHead* head) const {
  head->set_public_key(public_key_);
  const std::string message = SignedHeadBytes(*head);
  std::string signature(64, '\0');
  size_t len = signature.size();
  std::unique_ptr<EVP_MD_CTX, MdFree> ctx(EVP_MD_CTX_new());
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_) != 1 ||
      EVP_DigestSign(ctx.get(),
                     reinterpret_cast<unsigned char*>(signature.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    head->clear_signature();  // an unsigned head fails verification loudly
    return;
  }
  signature.resize(len);
  head->set_signature(signature);
}

}  // namespace factlog::merkle
