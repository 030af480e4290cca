#ifndef FACTLOG_ETCD_CLIENT_H_
#define FACTLOG_ETCD_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "etcdserverpb/kv_subset.grpc.pb.h"

namespace factlog::etcd {

// How to reach an etcd 3.4 cluster (docs/ARCHITECTURE.md, "Replicated
// mode").
struct ClientOptions {
  // "host:port" of each member's client URL; at least one.
  std::vector<std::string> endpoints;
  // TLS: the CA certificate (PEM file) that signed the members'
  // certificates. Empty: plaintext. With `cert_file` and `key_file` the
  // client also authenticates itself (etcd's --client-cert-auth).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // Every unary call's deadline.
  absl::Duration call_timeout = absl::Seconds(5);
};

// One member's answer to Maintenance.Status.
struct MemberStatus {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  uint64_t leader = 0;  // the member id of the Raft leader; 0: none known
  uint64_t raft_term = 0;
  int64_t revision = 0;
  int64_t db_size = 0;  // bytes of the member's database file
  std::string version;  // etcd's, e.g. "3.4.23"
};

// The end of the key range with `prefix` as its prefix (etcd's range_end).
std::string PrefixEnd(absl::string_view prefix);

// Builders of Txn compares and operations.
etcdserverpb::Compare ModRevisionIs(absl::string_view key, int64_t revision);
etcdserverpb::Compare VersionIs(absl::string_view key, int64_t version);
etcdserverpb::Compare ValueIs(absl::string_view key, absl::string_view value);
etcdserverpb::RequestOp PutOp(absl::string_view key, absl::string_view value,
                              int64_t lease = 0);
etcdserverpb::RequestOp GetOp(absl::string_view key);

// A client of one etcd cluster over its v3 gRPC API: one channel per
// endpoint; calls go to the current endpoint and move to the next when it
// is unreachable (UNAVAILABLE or DEADLINE_EXCEEDED).
//
// Errors: UNAVAILABLE when no endpoint answered within the call timeout;
// etcd's own refusals with the code and message etcd gave (e.g.
// RESOURCE_EXHAUSTED "etcdserver: mvcc: database space exceeded",
// INVALID_ARGUMENT "etcdserver: request is too large"). A Txn or Put that
// fails with UNAVAILABLE or DEADLINE_EXCEEDED may still have been applied:
// those two are never retried on another endpoint (callers fence their
// writes with a compare and find out by reading).
//
// Thread-safe.
class Client {
 public:
  // Makes the channels; no call is made. INVALID_ARGUMENT for no endpoint
  // or an unreadable TLS file (naming it).
  static absl::StatusOr<std::unique_ptr<Client>> Connect(
      const ClientOptions& options);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The status of the member at the current endpoint.
  absl::StatusOr<MemberStatus> Status();
  // The status of the member at endpoint `index` (0 <= index <
  // endpoint_count()), with no failover.
  absl::StatusOr<MemberStatus> StatusOf(size_t index);
  size_t endpoint_count() const { return stubs_.size(); }
  const std::string& endpoint(size_t index) const;

  // Linearizable reads, writes and transactions.
  absl::StatusOr<etcdserverpb::RangeResponse> Range(
      const etcdserverpb::RangeRequest& request);
  // The value and metadata of `key`; NOT_FOUND when it is absent.
  absl::StatusOr<etcdserverpb::KeyValue> Get(absl::string_view key);
  absl::StatusOr<etcdserverpb::PutResponse> Put(absl::string_view key,
                                                absl::string_view value,
                                                int64_t lease = 0);
  absl::StatusOr<etcdserverpb::DeleteRangeResponse> DeleteRange(
      absl::string_view key, absl::string_view range_end = "");
  absl::StatusOr<etcdserverpb::TxnResponse> Txn(
      const etcdserverpb::TxnRequest& request);
  // Compacts the key-value history up to `revision`.
  absl::Status Compact(int64_t revision);

  // Leases: the granted id (with `ttl`), revoke, and one keep-alive round
  // trip returning the TTL left (0: the lease expired or never was).
  absl::StatusOr<int64_t> LeaseGrant(absl::Duration ttl);
  absl::Status LeaseRevoke(int64_t id);
  absl::StatusOr<int64_t> LeaseKeepAliveOnce(int64_t id);

  // One watch of [key, range_end) from `start_revision` on the current
  // endpoint; it ends (UNAVAILABLE) when that member loses its leader. Next()
  // blocks for the next response with events (or a cancellation); Cancel() from
  // any thread ends a blocked Next().
  class WatchStream {
   public:
    ~WatchStream();
    // The next response carrying events, in revision order. CANCELLED
    // after Cancel(); OUT_OF_RANGE when etcd compacted past the start
    // (the message names compact_revision); UNAVAILABLE when the stream
    // broke.
    absl::StatusOr<etcdserverpb::WatchResponse> Next();
    void Cancel();

   private:
    friend class Client;
    WatchStream() = default;
    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::WatchRequest,
                                             etcdserverpb::WatchResponse>>
        stream_;
  };
  // UNAVAILABLE when the watch could not be created.
  absl::StatusOr<std::unique_ptr<WatchStream>> Watch(
      absl::string_view key, absl::string_view range_end,
      int64_t start_revision);

 private:
  struct Stubs {
    std::string endpoint;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Watch::Stub> watch;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
    std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
  };
  explicit Client(ClientOptions options) : options_(std::move(options)) {}

  // Calls `call(stubs, context)` on the current endpoint, moving on to the
  // next on UNAVAILABLE/DEADLINE_EXCEEDED while `retry` and endpoints are
  // left.
  template <typename Call>
  absl::Status Invoke(bool retry, Call call);
  size_t Current();
  void MoveOn(size_t from);

  const ClientOptions options_;
  std::vector<Stubs> stubs_;
  absl::Mutex mu_;
  size_t current_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace factlog::etcd

#endif  // FACTLOG_ETCD_CLIENT_H_
