// The bytes of one HTTP connection: plain TCP, or TLS with OpenSSL 3 over
// the same non-blocking socket (docs/ARCHITECTURE.md, "http/"). Used by
// the connection's event loop thread only.
#ifndef FACTLOG_HTTP_TRANSPORT_H_
#define FACTLOG_HTTP_TRANSPORT_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace factlog::http {

class Transport {
 public:
  // How an operation went. kWantRead / kWantWrite: not now; try again when
  // the socket is readable / writable (TLS may need either for both).
  enum class Io { kDone, kWantRead, kWantWrite, kClosed, kError };

  virtual ~Transport() = default;
  // Completes the TLS handshake (plain: kDone at once).
  virtual Io Handshake() = 0;
  // Reads up to `capacity` bytes; kDone with `*n` > 0, or kClosed at the
  // client's end.
  virtual Io Read(char* buffer, size_t capacity, size_t* n) = 0;
  // Writes some of `data`; kDone with `*n` > 0.
  virtual Io Write(const char* data, size_t size, size_t* n) = 0;
  // Writes some of the `count` (> 0, none empty) `parts`, in order, as if
  // they were one buffer: plain TCP in one sendmsg, TLS in records of up
  // to 16 KiB. kDone with `*n` > 0 bytes taken from their start. After
  // kWantRead / kWantWrite, the next call must start with the same bytes
  // (TLS retries what it began).
  virtual Io WriteParts(const absl::string_view* parts, size_t count,
                        size_t* n) = 0;
  // Says the server will send no more (TLS close_notify, then the TCP
  // half-close); best effort.
  virtual void Shutdown() = 0;
  // What went wrong last, in words (for logs).
  virtual std::string LastError() const = 0;
};

// A server TLS configuration: one certificate chain and key, TLS 1.2 and
// later. Thread-safe once made; shared by every connection.
class TlsContext {
 public:
  // Loads a PEM certificate chain (leaf first) and its private key.
  // INVALID_ARGUMENT naming `cert_name` or `key_name` (the flags) and what
  // OpenSSL found wrong: no certificate, no key, a key that does not match.
  static absl::StatusOr<std::shared_ptr<TlsContext>> Make(
      const std::string& cert_chain_pem, const std::string& private_key_pem,
      const std::string& cert_name, const std::string& key_name);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* const ctx_;
};

// Plain TCP over `fd` (not owned).
std::unique_ptr<Transport> NewPlainTransport(int fd);
// TLS as the server over `fd` (not owned); null when OpenSSL cannot make
// a session (out of memory).
std::unique_ptr<Transport> NewTlsTransport(int fd,
                                           std::shared_ptr<TlsContext> tls);

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_TRANSPORT_H_
