// The client's link to factlogd: global options, the gRPC channel and stubs,
// deadlines, and the mapping from an RPC's outcome to the CLI's exit codes.
//
// Exit codes (the contract scripts rely on):
//   0 success
//   1 the server refused the request ("error: CODE_NAME: message")
//   2 usage error (bad flag, value, time, enum, unreadable file)
//   3 the server could not be reached ("error: cannot reach factlogd at ...")
//   4 verify: the log or a proof does not check out
#ifndef FACTLOG_CLIENT_CONNECTION_H_
#define FACTLOG_CLIENT_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "factlog/v1/service.grpc.pb.h"

namespace factlog::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitRefused = 1,
  kExitUsage = 2,
  kExitUnreachable = 3,
};

// Options shared by every subcommand. A plain value; set by the parser.
struct GlobalOptions {
  std::string server = "localhost:50051";  // "https://" prefix: use TLS
  // "table", "json" (one JSON document) or "jsonl" (JSON Lines).
  std::string output = "table";
  double timeout_seconds = 10;

  // Transport security (see "Security" in `factlog --help`). TLS is used
  // when tls_ca_file is set or `server` starts with "https://".
  std::string tls_ca_file;    // PEM roots to trust instead of the system's
  std::string tls_cert_file;  // PEM client certificate chain (mTLS)
  std::string tls_key_file;   // PEM private key for tls_cert_file
  // A file holding a bearer token. When empty, the FACTLOG_TOKEN
  // environment variable, if set, holds the token itself.
  std::string token_file;

  // What tables and lines must fit (format.h's OutputWidth; set by main()).
  size_t screen_width = 80;

  // JSON of either kind.
  bool json() const { return output == "json" || output == "jsonl"; }
  bool json_lines() const { return output == "jsonl"; }
};

// Ends the command with `exit_code`; main() prints "error: <what>" on stderr
// (or, with -o json/jsonl, a JSON object with `code` and the message).
// `code` is the gRPC status name ("NOT_FOUND") when the server refused;
// `message` then starts with "CODE: " (which the JSON form leaves out).
class CommandError : public std::runtime_error {
 public:
  CommandError(int exit_code, const std::string& message, std::string code = "")
      : std::runtime_error(message),
        exit_code_(exit_code),
        code_(std::move(code)) {}
  int exit_code() const { return exit_code_; }
  const std::string& code() const { return code_; }

 private:
  int exit_code_;
  std::string code_;
};

// "NOT_FOUND" for grpc::StatusCode::NOT_FOUND.
std::string StatusCodeName(grpc::StatusCode code);

// `text` on one line: line breaks and tabs become single spaces.
std::string OneLine(const std::string& text);

// The port factlogd listens on by default, and --server's when it has none.
inline constexpr int kDefaultPort = 50051;

// The gRPC target --server names: "HOST:PORT" from HOST, HOST:PORT,
// [IPv6]:PORT or a bare IPv6 address, each optionally after "https://"
// (sets `*https`: use TLS) or "http://" and before a "/"; the port defaults
// to kDefaultPort. "unix:PATH" passes as it is. Throws CommandError
// (kExitUsage) saying what is wrong and what is expected for anything
// else: another scheme, a path, an empty or malformed host, a port that is
// not 1-65535.
std::string ServerTarget(const std::string& server, bool* https);

// The bearer token in a token file's `content`: surrounding whitespace and
// line breaks removed. Throws CommandError (kExitUsage) naming `source`, but
// never quoting the content, when there is no token or it holds characters
// a header cannot carry.
std::string TokenFromText(const std::string& content,
                          const std::string& source);

// How long a connection is meant to live.
enum class ConnectionKind {
  // One command: gRPC's default reconnect backoff (1 s growing to 120 s).
  kOneShot,
  // A stream watched for hours (`factlog watch`): the channel retries a lost
  // server every 100 ms growing to 5 s, so a restarted server is noticed
  // within seconds, and sends keepalive pings so that a connection that
  // silently died is detected instead of waited on forever.
  kLongLived,
};

// One channel to one server for the life of the command. Calls are
// fail-fast: an unreachable server fails them at once instead of waiting for
// the deadline. Not thread-safe; the CLI uses it from one thread (a
// ClientContext it created may still be cancelled from any thread).
//
// Every ClientContext must go through PrepareUnary() or PrepareStream()
// before its call starts: that is where the bearer token is attached.
class Connection {
 public:
  // Reads the TLS and token files named by `options` (and FACTLOG_TOKEN);
  // throws CommandError with kExitUsage, naming the file, when one cannot
  // be read or makes no sense.
  explicit Connection(const GlobalOptions& options,
                      ConnectionKind kind = ConnectionKind::kOneShot);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  factlog::v1::ClaimService::Stub& claims() { return *claims_; }
  factlog::v1::EventService::Stub& events() { return *events_; }
  factlog::v1::AdminService::Stub& admin() { return *admin_; }
  // For stubs of services that are not factlog's (grpc.health.v1); their
  // contexts go through PrepareUnary()/PrepareStream() all the same.
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // For a unary call: the --timeout deadline and the credentials.
  void PrepareUnary(grpc::ClientContext* context) const;
  // For a streaming call, which carries no overall deadline: the
  // credentials only.
  void PrepareStream(grpc::ClientContext* context) const;

  // For streaming calls, which carry no overall deadline: waits until the
  // channel is connected, at most --timeout. Throws CommandError with
  // kExitUnreachable when the time runs out; returns early (unconnected)
  // when a connection attempt failed, so that the fail-fast call that follows
  // reports gRPC's reason and Check() maps it to kExitUnreachable.
  void AwaitConnected();

  // As AwaitConnected(), but gives up early, returning false, as soon as
  // `stopped` returns true (it is polled every 100 ms). Returns true
  // otherwise, whether or not the channel ended up connected.
  bool AwaitConnected(const std::function<bool()>& stopped);

  // True when the channel is connected right now.
  bool IsConnected();

  // True when `status` means the server was never reached: UNAVAILABLE or
  // DEADLINE_EXCEEDED while the channel is not connected.
  bool IsUnreachable(const grpc::Status& status);

  // "cannot reach factlogd at HOST:PORT: <reason>" (the target dialled).
  std::string UnreachableMessage(const grpc::Status& status) const;

  // Returns when `status` is OK; otherwise throws CommandError: exit 3 with
  // UnreachableMessage() when the server was not reached, else exit 1 with
  // "CODE_NAME: message".
  void Check(const grpc::Status& status);

  // One unary call: `method` of `stub` (claims(), events(), admin(), or a
  // stub made on channel()), e.g. &v1::ClaimService::Stub::GetClaim, with
  // PrepareUnary()'s deadline and credentials. Returns the response; throws
  // CommandError as Check() does.
  template <typename Stub, typename Request, typename Response>
  Response Call(Stub& stub,
                grpc::Status (Stub::*method)(grpc::ClientContext*,
                                             const Request&, Response*),
                const Request& request) {
    grpc::ClientContext context;
    PrepareUnary(&context);
    Response response;
    Check((stub.*method)(&context, request, &response));
    return response;
  }

  // Reads a server stream to its end: waits for the server as
  // AwaitConnected() does, starts `method` of `stub` with PrepareStream()'s
  // credentials, calls `each(const Response&)` on every message as it
  // arrives, then throws CommandError as Check() does when the stream ended
  // in an error.
  template <typename Stub, typename Request, typename Response, typename Each>
  void ReadStream(Stub& stub,
                  std::unique_ptr<grpc::ClientReader<Response>> (Stub::*method)(
                      grpc::ClientContext*, const Request&),
                  const Request& request, Each each) {
    AwaitConnected();
    grpc::ClientContext context;
    PrepareStream(&context);
    std::unique_ptr<grpc::ClientReader<Response>> reader =
        (stub.*method)(&context, request);
    Response message;
    while (reader->Read(&message)) each(message);
    Check(reader->Finish());
  }

 private:
  GlobalOptions options_;
  std::string target_;         // ServerTarget(options_.server)
  std::string authorization_;  // "Bearer <token>", or empty for none
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<factlog::v1::ClaimService::Stub> claims_;
  std::unique_ptr<factlog::v1::EventService::Stub> events_;
  std::unique_ptr<factlog::v1::AdminService::Stub> admin_;
};

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_CONNECTION_H_
