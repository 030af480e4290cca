#ifndef FACTLOG_SERVER_FACTLOG_SERVER_H_
#define FACTLOG_SERVER_FACTLOG_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/hub.h"
#include "core/writer.h"
#include "domain/limits.h"
#include "factlog/v1/service.pb.h"
#include "storage/event_store.h"

namespace grpc {
class Server;
}

namespace factlog::search {
class SearchIndex;
}  // namespace factlog::search

namespace factlog::core {
class ClaimQueries;
class ClaimSearch;
class PositionWaiters;
class SearchIndexer;
class Hub;
class LogHeads;
class ServerMetrics;
class TokenStore;
class Writer;
}  // namespace factlog::core

namespace factlog::etcd {
class Client;
}  // namespace factlog::etcd

namespace factlog::replication {
class Membership;
class ReplicatedLog;
}  // namespace factlog::replication

namespace factlog::rpc {
class AdminServiceImpl;
class Authorizer;
class ClaimServiceImpl;
class CommandForwarder;
class EventServiceImpl;
class RpcObserver;
}  // namespace factlog::rpc

namespace factlog::http {
class HttpServer;
struct HttpServerOptions;
class WebHandler;
struct ApiServices;
}  // namespace factlog::http

namespace factlog::server {

class MetricsHttpServer;

struct ServerOptions {
  std::string listen = "localhost:50051";  // host:port; port 0 picks one
  std::string data_dir = "./data";
  storage::StoreOptions store;
  domain::Limits limits;
  size_t max_batch = 1024;
  int max_message_bytes = 4 << 20;
  int max_concurrent_streams = 1000;  // per connection
  core::HubOptions hub;

  // TLS: PEM files. With tls_client_ca, clients must present a certificate
  // signed by it (mTLS) and the certificate subject becomes the actor when
  // no tokens are configured.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // Bearer tokens (rpc/auth.h). Empty: no authentication.
  std::string auth_tokens_file;
  // Allow a non-loopback address without TLS and authentication.
  bool insecure = false;
  // HOST:PORT to serve Prometheus metrics on over plain HTTP (GET
  // /metrics); empty: off. Port 0 picks one (metrics_port()).
  std::string metrics_listen;
  // Allow a non-loopback metrics_listen (refused otherwise: the endpoint
  // has no TLS or authentication; it shows activity, not data).
  bool metrics_allow_remote = false;
  // HOST:PORT to serve the web view and its JSON API on (tokens as for
  // gRPC); empty: off. Port 0 picks one (http_port()). HTTPS with
  // tls_cert_file and tls_key_file, as gRPC (no client certificates asked
  // for). The rule of `listen` (server/listen_check.h): a non-loopback
  // address needs TLS and tokens, or `insecure`.
  std::string http_listen;
  // The HTTP listener's worker threads, running handlers: the most API
  // calls answered at once (event streams hold none).
  int http_threads = 8;
  // The HTTP listener's event loop threads (all socket reads and writes).
  int http_io_threads = 2;
  // RecordClaim answers with alike claims sharing at least this share of
  // the new text's content words (SimilarClaim.similarity).
  double similarity_threshold = 0.25;
  // Keep the search index in step with the log. Only benchmarks (bench
  // search-import's A/B) and tests turn it off; the index then stays where
  // it was.
  bool search_indexer = true;
  // PEM Ed25519 private key that signs log heads (`factlogd key new`).
  // Empty: heads are unsigned.
  std::string signing_key_file;
  // The one directory AdminService.Backup writes into (a request's dir is
  // taken relative to it; storage/backup_path.h). Empty: `backups` next to
  // data_dir (storage::DefaultBackupRoot).
  std::string backup_dir;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Tests only: WriterOptions::before_commit.
  std::function<void()> writer_before_commit;

  // Replicated mode (docs/ARCHITECTURE.md, "Replicated mode"): the etcd
  // cluster's client endpoints ("host:port"); empty: single-node.
  std::vector<std::string> etcd_endpoints;
  // TLS to etcd: CA (PEM), and optionally a client certificate and key.
  std::string etcd_ca_file;
  std::string etcd_cert_file;
  std::string etcd_key_file;
  // Every etcd key of this factlog cluster starts with it.
  std::string etcd_prefix = "/factlog/";
  // This node's name in the records it commits; required with etcd.
  std::string node_name;
  // "host:port" where the other nodes reach this one to forward commands
  // to it while it leads. Empty: the bound listen address, unless that is a
  // wildcard (0.0.0.0, [::]); a node without one never leads.
  std::string advertise_address;
  // The TTL of the node's etcd lease (the leader key's): a dead leader is
  // replaced within about this long.
  absl::Duration lease_ttl = absl::Seconds(5);
  // The leader keeps at least this many of the newest commit records in
  // etcd and trims older ones once every live node has applied them.
  uint64_t etcd_retain_records = 10000;
  // Polled while Start waits for etcd; true ends Start with CANCELLED.
  std::function<bool()> stop_requested;
};

// A running factlogd: the store, the writer, the subscription hub, the
// search index and its indexer (data_dir/search.sqlite), the gRPC
// services (plus grpc.health.v1 and server reflection) on one port, every
// RPC timed and logged (rpc/rpc_observer.h), and optionally Prometheus
// metrics on a second, HTTP port (core/server_metrics.h).
//
// Start fails with FAILED_PRECONDITION when the data dir is unusable or
// locked, or when a non-loopback address is asked for without TLS and
// tokens (and without `insecure`), or a non-loopback metrics address
// without `metrics_allow_remote`; INVALID_ARGUMENT for unreadable TLS or
// token files or a malformed metrics address; UNAVAILABLE when an address
// cannot be bound. Shutdown stops the metrics listener first, then ends
// every subscription with UNAVAILABLE (event streams too), stops the web
// view's listener, stops accepting RPCs, lets in-flight
// ones finish (commands already queued are committed), stops the writer and
// closes the store. Start and Shutdown
// are called from one thread; port(), address() and store() from any.
class FactlogServer {
 public:
  static absl::StatusOr<std::unique_ptr<FactlogServer>> Start(
      ServerOptions options);
  FactlogServer(const FactlogServer&) = delete;
  FactlogServer& operator=(const FactlogServer&) = delete;
  ~FactlogServer();  // Shutdown()s

  // The port actually bound (resolves port 0).
  int port() const { return port_; }
  // "host:port" with the bound port.
  std::string address() const;
  storage::EventStore& store() { return *store_; }
  // Re-reads the tokens file; on error the old tokens stay in force.
  absl::Status ReloadTokens();
  core::Hub& hub() { return *hub_; }
  // The full-text search index (search/search_index.h).
  search::SearchIndex& search_index() { return *search_index_; }
  // The metrics port actually bound; 0 without ServerOptions::metrics_listen.
  int metrics_port() const { return metrics_port_; }
  // The web view's port actually bound; 0 without
  // ServerOptions::http_listen.
  int http_port() const { return http_port_; }
  core::ServerMetrics& metrics() { return *metrics_; }
  // The replicated mode's log; null in the single-node mode.
  replication::ReplicatedLog* replicated_log() { return replicated_log_.get(); }
  // The replicated mode's lease, node key and leader; null in the
  // single-node mode (and until Start returns).
  replication::Membership* membership() { return membership_.load(); }

  // Idempotent. In-flight RPCs get up to `grace` to finish before they are
  // cancelled.
  void Shutdown(absl::Duration grace = absl::Seconds(10));

 private:
  FactlogServer();
  // With ServerOptions::etcd_endpoints: joins the cluster and makes
  // `writer_options` commit through the replicated log.
  absl::Status OpenReplicatedLog(core::WriterOptions* writer_options);
  // With ServerOptions::http_listen: serves the web view, with
  // `http_options`' TLS material when it holds any (read by Start).
  absl::Status StartWeb(http::HttpServerOptions http_options);
  // The replicated mode's forwarding of commands to the leader.
  void StartForwarder();
  // Once the port is bound: registers the node and campaigns for leader.
  void StartMembership();
  // GetClusterStatus's answer, from memory (Membership::view()).
  absl::StatusOr<v1::ClusterStatus> ClusterStatusNow() const;

  ServerOptions options_;
  std::unique_ptr<storage::EventStore> store_;
  std::unique_ptr<core::TokenStore> tokens_;
  std::unique_ptr<rpc::Authorizer> authorizer_;
  std::unique_ptr<core::Hub> hub_;
  std::unique_ptr<etcd::Client> etcd_;
  std::unique_ptr<replication::ReplicatedLog> replicated_log_;
  std::unique_ptr<core::PositionWaiters> waiters_;
  std::unique_ptr<replication::Membership> membership_owner_;
  std::atomic<replication::Membership*> membership_{nullptr};
  std::unique_ptr<rpc::CommandForwarder> forwarder_;
  std::unique_ptr<core::Writer> writer_;
  std::unique_ptr<core::ClaimQueries> queries_;
  std::unique_ptr<search::SearchIndex> search_index_;
  std::unique_ptr<core::SearchIndexer> indexer_;
  std::unique_ptr<core::PositionWaiters> search_waiters_;
  std::unique_ptr<core::ClaimSearch> search_;
  std::unique_ptr<rpc::ClaimServiceImpl> claim_service_;
  std::unique_ptr<core::LogHeads> log_heads_;
  std::unique_ptr<rpc::EventServiceImpl> event_service_;
  std::unique_ptr<rpc::AdminServiceImpl> admin_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<core::ServerMetrics> metrics_;
  std::unique_ptr<rpc::RpcObserver> observer_;
  std::unique_ptr<MetricsHttpServer> metrics_http_;
  std::unique_ptr<http::ApiServices> web_services_;
  std::unique_ptr<http::WebHandler> web_handler_;
  std::unique_ptr<http::HttpServer> web_http_;
  int port_ = 0;
  int metrics_port_ = 0;
  int http_port_ = 0;
  bool shut_down_ = false;
};

}  // namespace factlog::server

#endif  // FACTLOG_SERVER_FACTLOG_SERVER_H_
