#include "client/connection.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace factlog::cli {
namespace {

std::chrono::system_clock::time_point DeadlineFrom(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(seconds));
}

}  // namespace

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return absl::StrCat("CODE_", static_cast<int>(code));
  }
}

std::string OneLine(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t') {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.empty() && out.back() != ' ' && c != ' ') {
      out += ' ';
    }
    pending_space = false;
    out += c;
  }
  return out;
}

namespace {

// gRPC retries a call that failed with UNAVAILABLE (e.g. the server is
// restarting) a couple of times. Every mutating request carries a
// request_id, so a retry of a request that was in fact applied records
// nothing twice.
constexpr char kServiceConfig[] = R"json({
  "methodConfig": [{
    "name": [{"service": "factlog.v1.ClaimService"},
             {"service": "factlog.v1.EventService"}],
    "retryPolicy": {
      "maxAttempts": 3,
      "initialBackoff": "0.2s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})json";

// The whole of the file at `path`; `what` names it in errors ("--tls-ca
// file", "token file"). A usage error when it cannot be read.
std::string ReadSecurityFile(const std::string& path, const std::string& what) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int error = errno;
    throw CommandError(kExitUsage, absl::StrCat("cannot read ", what, " ", path,
                                                ": ", std::strerror(error)));
  }
  std::string content;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    content.append(buffer, n);
    if (content.size() > (1 << 20)) {
      std::fclose(file);
      throw CommandError(kExitUsage, absl::StrCat("cannot read ", what, " ",
                                                  path, ": larger than 1 MiB"));
    }
  }
  const int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0) {
    throw CommandError(kExitUsage, absl::StrCat("cannot read ", what, " ", path,
                                                ": ", std::strerror(error)));
  }
  return content;
}

// Reads a PEM file that must hold a block ending in `marker` ("CERTIFICATE",
// "PRIVATE KEY").
std::string ReadPemFile(const std::string& path, const std::string& flag,
                        const std::string& marker) {
  const std::string what = absl::StrCat(flag, " file");
  std::string pem = ReadSecurityFile(path, what);
  if (!absl::StrContains(pem, absl::StrCat(marker, "-----"))) {
    throw CommandError(kExitUsage,
                       absl::StrCat(what, " ", path, " holds no PEM ",
                                    absl::AsciiStrToLower(marker)));
  }
  return pem;
}

// The channel credentials `options` ask for: TLS when a CA is given or the
// address says https://, with a client certificate for mTLS; else plaintext.
std::shared_ptr<grpc::ChannelCredentials> MakeCredentials(
    const GlobalOptions& options, bool https) {
  const bool tls = https || !options.tls_ca_file.empty();
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    throw CommandError(kExitUsage,
                       "--tls-cert and --tls-key must be given together");
  }
  if (!tls) {
    if (!options.tls_cert_file.empty()) {
      throw CommandError(kExitUsage,
                         "--tls-cert/--tls-key need TLS: give --tls-ca FILE "
                         "or an https:// --server address");
    }
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions ssl;  // no roots: the system's
  if (!options.tls_ca_file.empty()) {
    ssl.pem_root_certs =
        ReadPemFile(options.tls_ca_file, "--tls-ca", "CERTIFICATE");
  }
  if (!options.tls_cert_file.empty()) {
    ssl.pem_cert_chain =
        ReadPemFile(options.tls_cert_file, "--tls-cert", "CERTIFICATE");
    ssl.pem_private_key =
        ReadPemFile(options.tls_key_file, "--tls-key", "PRIVATE KEY");
  }
  return grpc::SslCredentials(ssl);
}

// "Bearer <token>" from --token-file (or FACTLOG_TOKEN_FILE), else from
// FACTLOG_TOKEN; empty when neither is set.
std::string Authorization(const GlobalOptions& options) {
  if (!options.token_file.empty()) {
    const std::string what = "token file";
    return absl::StrCat(
        "Bearer ", TokenFromText(ReadSecurityFile(options.token_file, what),
                                 absl::StrCat(what, " ", options.token_file)));
  }
  const char* env = std::getenv("FACTLOG_TOKEN");
  if (env != nullptr && *env != '\0') {
    return absl::StrCat("Bearer ", TokenFromText(env, "FACTLOG_TOKEN"));
  }
  return "";
}

std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& target,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    ConnectionKind kind) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(kServiceConfig);
  if (kind == ConnectionKind::kLongLived) {
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    // A ping every 6 minutes: more often than gRPC servers accept from an
    // idle client by default (5 minutes) would get the connection closed
    // with "too many pings". Unlimited pings without data, as an idle watch
    // sends none.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 6 * 60 * 1000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  return grpc::CreateCustomChannel(target, credentials, args);
}

}  // namespace

std::string ServerTarget(const std::string& server, bool* https) {
  auto refuse = [&server](absl::string_view why) {
    return CommandError(
        kExitUsage,
        absl::StrCat("--server \"", server, "\": ", why,
                     "; expected HOST[:PORT] (e.g. localhost:50051), "
                     "optionally after https://"));
  };
  absl::string_view address = absl::StripAsciiWhitespace(server);
  *https = false;
  if (absl::StartsWith(address, "unix:")) return std::string(address);
  if (absl::ConsumePrefix(&address, "https://")) {
    *https = true;
  } else if (!absl::ConsumePrefix(&address, "http://") &&
             absl::StrContains(address, "://")) {
    throw refuse("unsupported scheme (https:// or none)");
  }
  absl::ConsumeSuffix(&address, "/");
  if (absl::StrContains(address, '/')) throw refuse("an address has no path");
  absl::string_view host = address;
  absl::string_view port;
  if (absl::ConsumePrefix(&host, "[")) {  // [IPv6] or [IPv6]:PORT
    const size_t end = host.find(']');
    if (end == absl::string_view::npos) throw refuse("no ']' after '['");
    absl::string_view rest = host.substr(end + 1);
    host = host.substr(0, end);
    if (!rest.empty() && !absl::ConsumePrefix(&rest, ":")) {
      throw refuse("expected ':' after ']'");
    }
    port = rest;
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    const size_t colon = host.find(':');
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  const bool ipv6 = absl::StrContains(host, ':');
  if (host.empty()) throw refuse("no host");
  for (char c : host) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '-' && c != '_' && !(ipv6 && (c == ':' || c == '%'))) {
      throw refuse(
          absl::StrCat("'", std::string(1, c), "' cannot be in a host name"));
    }
  }
  int port_number = kDefaultPort;
  if (!port.empty() &&
      (!absl::SimpleAtoi(port, &port_number) || port_number < 1 ||
       port_number > 65535 || !absl::ascii_isdigit(port[0]))) {
    throw refuse("the port must be a number from 1 to 65535");
  }
  return ipv6 ? absl::StrCat("[", host, "]:", port_number)
              : absl::StrCat(host, ":", port_number);
}

std::string TokenFromText(const std::string& content,
                          const std::string& source) {
  const absl::string_view token = absl::StripAsciiWhitespace(content);
  if (token.empty()) {
    throw CommandError(kExitUsage, absl::StrCat(source, " holds no token"));
  }
  for (char c : token) {
    // What one HTTP/2 header token may hold: printable, no spaces.
    if (c < 0x21 || c > 0x7e) {
      throw CommandError(
          kExitUsage,
          absl::StrCat(source,
                       " must hold one token: printable ASCII without "
                       "spaces or line breaks"));
    }
  }
  return std::string(token);
}

Connection::Connection(const GlobalOptions& options, ConnectionKind kind)
    : options_(options) {
  bool https = false;
  target_ = ServerTarget(options.server, &https);
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      MakeCredentials(options, https);
  authorization_ = Authorization(options);
  channel_ = MakeChannel(target_, credentials, kind);
  claims_ = factlog::v1::ClaimService::NewStub(channel_);
  events_ = factlog::v1::EventService::NewStub(channel_);
  admin_ = factlog::v1::AdminService::NewStub(channel_);
}

void Connection::PrepareUnary(grpc::ClientContext* context) const {
  context->set_deadline(DeadlineFrom(options_.timeout_seconds));
  PrepareStream(context);
}

void Connection::PrepareStream(grpc::ClientContext* context) const {
  if (!authorization_.empty()) {
    context->AddMetadata("authorization", authorization_);
  }
}

void Connection::AwaitConnected() {
  AwaitConnected([] { return false; });
}

bool Connection::AwaitConnected(const std::function<bool()>& stopped) {
  const auto deadline = DeadlineFrom(options_.timeout_seconds);
  grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
        state == GRPC_CHANNEL_SHUTDOWN) {
      return true;  // the fail-fast call that follows reports why
    }
    if (stopped()) return false;
    const auto now = std::chrono::system_clock::now();
    if (now >= deadline) {
      throw CommandError(kExitUnreachable,
                         absl::StrCat("cannot reach factlogd at ", target_,
                                      ": no connection within ",
                                      options_.timeout_seconds, "s"));
    }
    channel_->WaitForStateChange(
        state, std::min(deadline, now + std::chrono::milliseconds(100)));
    state = channel_->GetState(/*try_to_connect=*/true);
  }
  return true;
}

bool Connection::IsConnected() {
  return channel_->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY;
}

bool Connection::IsUnreachable(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
      status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
    return false;
  }
  return channel_->GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY;
}

std::string Connection::UnreachableMessage(const grpc::Status& status) const {
  std::string reason = OneLine(status.error_message());
  if (reason.empty()) reason = StatusCodeName(status.error_code());
  return absl::StrCat("cannot reach factlogd at ", target_, ": ", reason);
}

void Connection::Check(const grpc::Status& status) {
  if (status.ok()) return;
  if (IsUnreachable(status)) {
    throw CommandError(kExitUnreachable, UnreachableMessage(status));
  }
  throw CommandError(kExitRefused,
                     absl::StrCat(StatusCodeName(status.error_code()), ": ",
                                  OneLine(status.error_message())),
                     StatusCodeName(status.error_code()));
}

}  // namespace factlog::cli
