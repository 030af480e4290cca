// The client's link to factlogd: global options, the gRPC channel and stubs,
// deadlines, and the mapping from an RPC's outcome to the CLI's exit codes.
//
// Exit codes (the contract scripts rely on):
//   0 success
//   1 the server refused the request ("error: CODE_NAME: message")
//   2 usage error (bad flag, value, time, enum, unreadable file)
//   3 the server could not be reached ("error: cannot reach factlogd at ...")
#ifndef FACTLOG_CLIENT_CONNECTION_H_
#define FACTLOG_CLIENT_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

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
  std::string server = "localhost:50051";
  std::string output = "table";  // "table" or "json"
  double timeout_seconds = 10;

  bool json() const { return output == "json"; }
};

// Ends the command with `exit_code`; main() prints "error: <what>" on stderr.
class CommandError : public std::runtime_error {
 public:
  CommandError(int exit_code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// "NOT_FOUND" for grpc::StatusCode::NOT_FOUND.
std::string StatusCodeName(grpc::StatusCode code);

// `text` on one line: line breaks and tabs become single spaces.
std::string OneLine(const std::string& text);

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
class Connection {
 public:
  explicit Connection(const GlobalOptions& options,
                      ConnectionKind kind = ConnectionKind::kOneShot);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  factlog::v1::ClaimService::Stub& claims() { return *claims_; }
  factlog::v1::EventService::Stub& events() { return *events_; }
  factlog::v1::AdminService::Stub& admin() { return *admin_; }

  // Gives a unary call the --timeout deadline.
  void SetDeadline(grpc::ClientContext* context) const;

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

  // "cannot reach factlogd at HOST:PORT: <reason>".
  std::string UnreachableMessage(const grpc::Status& status) const;

  // Returns when `status` is OK; otherwise throws CommandError: exit 3 with
  // UnreachableMessage() when the server was not reached, else exit 1 with
  // "CODE_NAME: message".
  void Check(const grpc::Status& status);

 private:
  GlobalOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<factlog::v1::ClaimService::Stub> claims_;
  std::unique_ptr<factlog::v1::EventService::Stub> events_;
  std::unique_ptr<factlog::v1::AdminService::Stub> admin_;
};

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_CONNECTION_H_
