#include "http/transport.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace factlog::http {
namespace {

// OpenSSL's error queue of this thread, in words, emptied.
std::string TakeOpensslErrors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "no detail from OpenSSL" : text;
}

class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(int fd) : fd_(fd) {}
  Io Handshake() override { return Io::kDone; }
  Io Read(char* buffer, size_t capacity, size_t* n) override {
    const ssize_t got = read(fd_, buffer, capacity);
    if (got > 0) {
      *n = static_cast<size_t>(got);
      return Io::kDone;
    }
    if (got == 0) return Io::kClosed;
    return Failed(Io::kWantRead);
  }
  Io Write(const char* data, size_t size, size_t* n) override {
    const ssize_t sent = send(fd_, data, size, MSG_NOSIGNAL);
    if (sent >= 0) {
      *n = static_cast<size_t>(sent);
      return Io::kDone;
    }
    return Failed(Io::kWantWrite);
  }
  Io WriteParts(const absl::string_view* parts, size_t count,
                size_t* n) override {
    constexpr size_t kMaxParts = 64;
    iovec vectors[kMaxParts];
    const size_t used = std::min(count, kMaxParts);
    for (size_t i = 0; i < used; ++i) {
      vectors[i].iov_base = const_cast<char*>(parts[i].data());
      vectors[i].iov_len = parts[i].size();
    }
    msghdr message{};
    message.msg_iov = vectors;
    message.msg_iovlen = used;
    const ssize_t sent = sendmsg(fd_, &message, MSG_NOSIGNAL);
    if (sent >= 0) {
      *n = static_cast<size_t>(sent);
      return Io::kDone;
    }
    return Failed(Io::kWantWrite);
  }
  void Shutdown() override { shutdown(fd_, SHUT_WR); }
  std::string LastError() const override { return std::strerror(errno_); }

 private:
  Io Failed(Io blocked) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      return blocked;
    }
    errno_ = errno;
    return Io::kError;
  }
  const int fd_;
  int errno_ = 0;
};

class TlsTransport final : public Transport {
 public:
  TlsTransport(SSL* ssl, std::shared_ptr<TlsContext> tls, int fd)
      : ssl_(ssl), tls_(std::move(tls)), fd_(fd) {}
  ~TlsTransport() override { SSL_free(ssl_); }

  Io Handshake() override {
    Clear();
    const int result = SSL_do_handshake(ssl_);
    return result == 1 ? Io::kDone : Map(result);
  }
  Io Read(char* buffer, size_t capacity, size_t* n) override {
    Clear();
    const int got = SSL_read(ssl_, buffer, static_cast<int>(capacity));
    if (got > 0) {
      *n = static_cast<size_t>(got);
      return Io::kDone;
    }
    return Map(got);
  }
  Io Write(const char* data, size_t size, size_t* n) override {
    Clear();
    const int sent = SSL_write(ssl_, data, static_cast<int>(size));
    if (sent > 0) {
      *n = static_cast<size_t>(sent);
      return Io::kDone;
    }
    return Map(sent);
  }
  // One record from the parts' first 16 KiB. A write that must be retried
  // keeps what it gathered: OpenSSL wants the same bytes again, and the
  // caller's next parts start with them.
  Io WriteParts(const absl::string_view* parts, size_t count,
                size_t* n) override {
    constexpr size_t kRecord = 16 << 10;
    if (gathered_.empty()) {
      for (size_t i = 0; i < count && gathered_.size() < kRecord; ++i) {
        const size_t take =
            std::min(parts[i].size(), kRecord - gathered_.size());
        gathered_.append(parts[i].data(), take);
      }
    }
    const Io io = Write(gathered_.data(), gathered_.size(), n);
    if (io == Io::kDone) {
      gathered_.erase(0, *n);
      if (gathered_.empty()) std::string().swap(gathered_);
    } else if (io != Io::kWantRead && io != Io::kWantWrite) {
      std::string().swap(gathered_);
    }
    return io;
  }
  void Shutdown() override {
    if (SSL_is_init_finished(ssl_)) (void)SSL_shutdown(ssl_);
    ERR_clear_error();
    shutdown(fd_, SHUT_WR);
  }
  std::string LastError() const override { return error_; }

 private:
  // OpenSSL's advice: an empty error queue and errno before each call, so
  // that SSL_get_error reads this call's outcome.
  static void Clear() {
    ERR_clear_error();
    errno = 0;
  }
  Io Map(int result) {
    switch (SSL_get_error(ssl_, result)) {
      case SSL_ERROR_WANT_READ:
        return Io::kWantRead;
      case SSL_ERROR_WANT_WRITE:
        return Io::kWantWrite;
      case SSL_ERROR_ZERO_RETURN:
        return Io::kClosed;
      case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
          // The peer closed without close_notify, or a socket error.
          error_ = errno != 0 ? std::strerror(errno) : "connection closed";
          return errno == 0 ? Io::kClosed : Io::kError;
        }
        error_ = TakeOpensslErrors();
        return Io::kError;
      default:
        error_ = TakeOpensslErrors();
        return Io::kError;
    }
  }

  SSL* const ssl_;
  const std::shared_ptr<TlsContext> tls_;  // outlives ssl_
  const int fd_;
  std::string error_;
  std::string gathered_;  // WriteParts' record, until it is written
};

}  // namespace

absl::StatusOr<std::shared_ptr<TlsContext>> TlsContext::Make(
    const std::string& cert_chain_pem, const std::string& private_key_pem,
    const std::string& cert_name, const std::string& key_name) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot make a TLS context: ", TakeOpensslErrors()));
  }
  std::shared_ptr<TlsContext> context(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Partial writes from a buffer that may move between retries (the
  // connection's output grows while a write waits); idle connections give
  // their read and write buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

  BIO* certs = BIO_new_mem_buf(cert_chain_pem.data(),
                               static_cast<int>(cert_chain_pem.size()));
  X509* leaf = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr);
  if (leaf == nullptr) {
    BIO_free(certs);
    return absl::InvalidArgumentError(absl::StrCat(
        cert_name, ": no PEM certificate in it (", TakeOpensslErrors(), ")"));
  }
  const int used = SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  if (used != 1) {
    BIO_free(certs);
    return absl::InvalidArgumentError(
        absl::StrCat(cert_name, ": the certificate is not usable (",
                     TakeOpensslErrors(), ")"));
  }
  while (X509* extra = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr)) {
    SSL_CTX_add0_chain_cert(ctx, extra);  // takes it
  }
  ERR_clear_error();  // the end of the chain reads as an error
  BIO_free(certs);

  BIO* key_bio = BIO_new_mem_buf(private_key_pem.data(),
                                 static_cast<int>(private_key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(key_name, ": no unencrypted PEM private key in it (",
                     TakeOpensslErrors(), ")"));
  }
  const int key_used = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (key_used != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(key_name, ": the private key does not match ", cert_name,
                     " (", TakeOpensslErrors(), ")"));
  }
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::unique_ptr<Transport> NewPlainTransport(int fd) {
  return std::make_unique<PlainTransport>(fd);
}

std::unique_ptr<Transport> NewTlsTransport(int fd,
                                           std::shared_ptr<TlsContext> tls) {
  SSL* ssl = SSL_new(tls->get());
  if (ssl == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  SSL_set_fd(ssl, fd);
  SSL_set_accept_state(ssl);
  return std::make_unique<TlsTransport>(ssl, std::move(tls), fd);
}

}  // namespace factlog::http
