#ifndef FACTLOG_RPC_COMMAND_FORWARDER_H_
#define FACTLOG_RPC_COMMAND_FORWARDER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/position_waiters.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"

namespace factlog::rpc {

// The metadata key a forwarded command carries (the forwarding node's
// name); a node never forwards a call that has it.
inline constexpr char kForwardedByHeader[] = "x-factlog-forwarded-by";

struct ForwarderOptions {
  // This node's name (sent in kForwardedByHeader).
  std::string node_name;
  // The address of the node to forward commands to now, or nullopt to
  // handle them here (this node leads, or no leader is known).
  std::function<std::optional<std::string>()> leader_address;
  // How the channels to peers authenticate (insecure or TLS).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // This node's applied position, which a forwarded command's answer waits
  // for; must outlive the forwarder.
  core::PositionWaiters* waiters = nullptr;
  // The longest the leader may take to answer a forwarded command (a
  // leader that froze or was cut off answers nothing): about the lease's
  // TTL, after which another node leads. Then the wait to apply the answer
  // here, bounded by the client's deadline (or `timeout` without one).
  absl::Duration forward_timeout = absl::Seconds(5);
  absl::Duration timeout = absl::Seconds(30);
};

// Sends commands this node accepted to the cluster's leader, as the same
// gRPC method with the caller's own `authorization` metadata, so that the
// leader authenticates and authorizes the caller exactly as if it had
// called the leader itself (docs/ARCHITECTURE.md, "Replicated mode"). The
// answer is held until this node has applied the command's last position,
// so that the client reads its write here at once.
//
// Thread-safe; nothing blocks a gRPC thread.
class CommandForwarder {
 public:
  explicit CommandForwarder(ForwarderOptions options);

  // The leader's address when a call with `ctx` is to be forwarded: a
  // leader other than this node is known and the call was not itself
  // forwarded. nullopt: handle it here.
  std::optional<std::string> Target(const grpc::ServerContextBase& ctx) const;

  // Forwards the encoded request of `method_path` (a CommandResponse
  // method) to `target`. `done` gets the leader's encoded CommandResponse
  // once this node applied its last position, or: the leader's error as it
  // answered; UNAVAILABLE when the leader could not be reached or did not
  // answer within forward_timeout (the command may or may not have been
  // applied: a retry with the same request_id is safe); DEADLINE_EXCEEDED
  // when this node did not apply the position in time. `done` runs on a gRPC
  // thread or the waiters' callback pool (core/position_waiters.h).
  void Forward(const grpc::ServerContextBase& ctx, const std::string& target,
               const std::string& method_path, const grpc::ByteBuffer& request,
               std::function<void(absl::StatusOr<grpc::ByteBuffer>)> done);

 private:
  grpc::GenericStub* StubFor(const std::string& target);

  const ForwarderOptions options_;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<grpc::GenericStub>> stubs_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_COMMAND_FORWARDER_H_
