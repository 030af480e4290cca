#include "server/factlog_server.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/logging.h"
#include "core/claim_queries.h"
#include "core/claim_search.h"
#include "core/position_waiters.h"
#include "core/search_indexer.h"
#include "core/server_metrics.h"
#include "core/writer.h"
#include "domain/time_util.h"
#include "etcd/client.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/server_interceptor.h"
#include "http/api_services.h"
#include "http/http_server.h"
#include "http/web_handler.h"
#include "replication/membership.h"
#include "replication/replicated_log.h"
#include "rpc/admin_service.h"
#include "rpc/auth.h"
#include "rpc/claim_service.h"
#include "rpc/command_forwarder.h"
#include "rpc/event_service.h"
#include "rpc/rpc_observer.h"
#include "search/search_index.h"
#include "server/listen_check.h"
#include "server/metrics_http.h"
#include "storage/backup_path.h"

namespace factlog::server {

FactlogServer::FactlogServer() = default;

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  if (!in || !(buffer << in.rdbuf())) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": cannot read ", path));
  }
  return buffer.str();
}

// The web view's TLS: the PEM files of --tls-cert and --tls-key, as
// Credentials reads them for gRPC, into `web`.
absl::Status ReadWebTls(const ServerOptions& options,
                        http::HttpServerOptions* web) {
  absl::StatusOr<std::string> cert =
      ReadFile(options.tls_cert_file, "--tls-cert");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(options.tls_key_file, "--tls-key");
  if (!key.ok()) return key.status();
  web->tls_cert_chain_pem = *std::move(cert);
  web->tls_private_key_pem = *std::move(key);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(
    const ServerOptions& options) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key must be given together");
  }
  if (options.tls_cert_file.empty()) {
    if (!options.tls_client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls-client-ca needs --tls-cert and --tls-key");
    }
    return grpc::InsecureServerCredentials();
  }
  absl::StatusOr<std::string> cert =
      ReadFile(options.tls_cert_file, "--tls-cert");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(options.tls_key_file, "--tls-key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!options.tls_client_ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        ReadFile(options.tls_client_ca_file, "--tls-client-ca");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

// Server reflection is gRPC's own service, so it cannot call Authorize. With
// tokens configured, this interceptor cancels reflection calls that do not
// carry a valid token (gRPC server interceptors can cancel, not fail with a
// code of their choosing, so the client sees CANCELLED).
class ReflectionGuard final : public grpc::experimental::Interceptor {
 public:
  ReflectionGuard(grpc::experimental::ServerRpcInfo* info,
                  const rpc::Authorizer* authorizer)
      : info_(info), authorizer_(authorizer) {}
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                POST_RECV_INITIAL_METADATA) &&
        !authorizer_
             ->Authorize(*info_->server_context(), rpc::kReflectionRole,
                         "reflection")
             .ok()) {
      info_->server_context()->TryCancel();
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* const info_;
  const rpc::Authorizer* const authorizer_;
};

class ReflectionGuardFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ReflectionGuardFactory(const rpc::Authorizer* authorizer)
      : authorizer_(authorizer) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    // Other calls go without (gRPC skips interception for a call that has
    // no interceptor at all).
    if (!absl::StartsWith(info->method(), "/grpc.reflection.")) return nullptr;
    return new ReflectionGuard(info, authorizer_);
  }

 private:
  const rpc::Authorizer* const authorizer_;
};

// The waiters of read-your-writes and of the search index: their callbacks
// (queries, searches, finishing calls) run on a pool of one thread per core,
// 2 to 8, off the thread that wakes them (core/position_waiters.h).
core::PositionWaitersOptions WaitersOptions(uint64_t position,
                                            std::string source,
                                            std::string thread_name) {
  core::PositionWaitersOptions options;
  options.position = position;
  options.source = std::move(source);
  options.callback_threads =
      std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 2, 8);
  options.callback_thread_name = std::move(thread_name);
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FactlogServer>> FactlogServer::Start(
    ServerOptions options) {
  const bool tls = !options.tls_cert_file.empty();
  const bool auth = !options.auth_tokens_file.empty();
  if (absl::Status s =
          CheckExposure(options.listen, tls, auth, options.insecure);
      !s.ok()) {
    return s;
  }
  if (!options.http_listen.empty()) {
    // The web view serves TLS with --tls-cert and --tls-key as gRPC does,
    // under the same rule.
    if (absl::Status s =
            CheckExposure(options.http_listen, tls, auth, options.insecure);
        !s.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("--http-listen: ", s.message()));
    }
  }
  if (!options.metrics_listen.empty() && !IsLoopback(options.metrics_listen) &&
      !options.metrics_allow_remote) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "refusing to serve metrics on %s: the endpoint has no TLS or "
        "authentication; give --metrics-allow-remote if this network may "
        "see factlogd's activity",
        options.metrics_listen));
  }
  // Before the data dir is opened (and created): an address in use must
  // leave nothing behind.
  if (absl::Status s = CheckListenAddress(options.listen); !s.ok()) return s;
  if (!options.http_listen.empty()) {
    if (absl::Status s = CheckListenAddress(options.http_listen); !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      Credentials(options);
  if (!credentials.ok()) return credentials.status();
  // The web view's TLS loads the same files, read once here: a key that
  // is not the certificate's is refused before the data dir is touched.
  http::HttpServerOptions web;
  if (!options.http_listen.empty() && tls) {
    if (absl::Status s = ReadWebTls(options, &web); !s.ok()) return s;
    if (absl::Status s = http::CheckTlsMaterial(web.tls_cert_chain_pem,
                                                web.tls_private_key_pem);
        !s.ok()) {
      return s;
    }
  }
  std::unique_ptr<merkle::HeadSigner> signer;
  if (!options.signing_key_file.empty()) {
    absl::StatusOr<std::string> pem =
        ReadFile(options.signing_key_file, "--signing-key");
    if (!pem.ok()) return pem.status();
    absl::StatusOr<std::unique_ptr<merkle::HeadSigner>> loaded =
        merkle::HeadSigner::FromPem(*pem);
    if (!loaded.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--signing-key ", options.signing_key_file, ": ",
                       loaded.status().message()));
    }
    signer = *std::move(loaded);
  }

  std::unique_ptr<FactlogServer> server(new FactlogServer());
  server->options_ = options;
  if (auth) {
    absl::StatusOr<std::unique_ptr<core::TokenStore>> tokens =
        core::TokenStore::Load(options.auth_tokens_file);
    if (!tokens.ok()) return tokens.status();
    server->tokens_ = *std::move(tokens);
  }
  server->authorizer_ =
      std::make_unique<rpc::Authorizer>(server->tokens_.get());
  storage::StoreOptions store_options = options.store;
  if (!store_options.rocksdb_log) {
    store_options.rocksdb_log = [](absl::string_view message) {
      log::Warn("rocksdb", {{"error", message}});
    };
  }
  if (!store_options.rocksdb_routine_log) {
    store_options.rocksdb_routine_log = [](absl::string_view message) {
      log::Debug("rocksdb", {{"detail", message}});
    };
  }
  if (!options.etcd_endpoints.empty()) {
    // Replicated: a record is durable once etcd committed it (a quorum's
    // fsynced WAL); each node's store is a copy that re-applies from etcd
    // whatever a power cut took from its unsynced tail (RocksDB recovers a
    // consistent prefix, the applied record's number with it). One fsync
    // per commit instead of two (docs/ARCHITECTURE.md, "Replicated mode").
    store_options.sync = false;
  }
  absl::StatusOr<std::unique_ptr<storage::EventStore>> store =
      storage::EventStore::Open(options.data_dir, store_options);
  if (!store.ok()) return store.status();
  server->store_ = *std::move(store);
  absl::StatusOr<std::unique_ptr<search::SearchIndex>> search_index =
      search::SearchIndex::Open(
          absl::StrCat(options.data_dir, "/", search::kIndexFileName));
  if (!search_index.ok()) return search_index.status();
  server->search_index_ = *std::move(search_index);

  server->hub_ =
      std::make_unique<core::Hub>(server->store_->LastPosition(), options.hub);
  server->metrics_ = std::make_unique<core::ServerMetrics>(server->store_.get(),
                                                           server->hub_.get());
  server->observer_ =
      std::make_unique<rpc::RpcObserver>(server->metrics_.get());
  core::WriterOptions writer_options;
  writer_options.metrics = server->metrics_.get();
  server->waiters_ = std::make_unique<core::PositionWaiters>(
      WaitersOptions(server->store_->LastPosition(),
                     "this node has applied the log", "factlog-appl-cb"));
  writer_options.on_commit =
      [hub = server->hub_.get(),
       waiters = server->waiters_.get()](core::CommittedEvents committed) {
        const uint64_t last = committed.events.back().position();
        hub->Publish(std::move(committed.events), committed.statuses,
                     std::move(committed.serialized));
        waiters->Advance(last);
      };
  if (!options.etcd_endpoints.empty()) {
    absl::Status replicated = server->OpenReplicatedLog(&writer_options);
    if (!replicated.ok()) return replicated;
  }
  writer_options.limits = options.limits;
  writer_options.max_batch = options.max_batch;
  if (server->replicated_log_ != nullptr) {
    writer_options.max_batch =
        std::min(writer_options.max_batch, replication::kMaxCommandsPerRecord);
  }
  writer_options.clock = options.clock;
  writer_options.before_commit = options.writer_before_commit;
  server->writer_ = core::Writer::Start(server->store_.get(), writer_options);
  server->queries_ = std::make_unique<core::ClaimQueries>(
      server->store_.get(), options.limits, options.clock);
  // Before the indexer starts: no position of the index goes unseen.
  server->search_waiters_ = std::make_unique<core::PositionWaiters>(
      WaitersOptions(server->search_index_->Position(),
                     "the search index reflects the log", "factlog-srch-cb"));
  server->search_index_->SetPositionListener(
      [waiters = server->search_waiters_.get()](uint64_t position) {
        waiters->Advance(position);
      });
  if (options.search_indexer) {
    server->indexer_ = core::SearchIndexer::Start(
        server->store_.get(), server->hub_.get(), server->search_index_.get());
  }
  server->metrics_->WatchSearch(server->search_index_.get(),
                                server->search_waiters_.get());
  server->search_ = std::make_unique<core::ClaimSearch>(
      server->search_index_.get(), server->store_.get(),
      server->search_waiters_.get(), options.clock,
      options.similarity_threshold);
  const rpc::RpcGate gate(server->authorizer_.get(), server->observer_.get());
  if (server->replicated_log_ != nullptr) server->StartForwarder();
  server->claim_service_ = std::make_unique<rpc::ClaimServiceImpl>(
      server->writer_.get(), server->queries_.get(), server->search_.get(),
      gate, server->forwarder_.get(), server->waiters_.get());
  server->log_heads_ = std::make_unique<core::LogHeads>(
      server->store_.get(), std::move(signer), options.clock);
  server->event_service_ = std::make_unique<rpc::EventServiceImpl>(
      server->store_.get(), server->hub_.get(), server->log_heads_.get(), gate,
      options.limits, options.hub.checkpoint_interval,
      [writer = server->writer_.get()] { return writer->SafeTime(); },
      server->waiters_.get());
  server->admin_service_ = std::make_unique<rpc::AdminServiceImpl>(
      server->store_.get(), server->hub_.get(), gate,
      options.backup_dir.empty() ? storage::DefaultBackupRoot(options.data_dir)
                                 : std::filesystem::absolute(options.backup_dir)
                                       .lexically_normal()
                                       .string(),
      server->metrics_.get(),
      server->replicated_log_ == nullptr
          ? std::function<absl::StatusOr<v1::ClusterStatus>()>()
          : [s = server.get()] { return s->ClusterStatusNow(); });
  if (!options.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> http =
        MetricsHttpServer::Start(
            options.metrics_listen,
            [metrics = server->metrics_.get()] { return metrics->Render(); });
    if (!http.ok()) {
      server->writer_->Stop();
      return http.status();
    }
    server->metrics_http_ = *std::move(http);
    server->metrics_port_ = server->metrics_http_->port();
  }
  if (!options.http_listen.empty()) {
    if (absl::Status s = server->StartWeb(std::move(web)); !s.ok()) {
      server->writer_->Stop();
      return s;
    }
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, *credentials, &server->port_);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_concurrent_streams);
  {
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    // First, so that it times and logs whatever the others do.
    interceptors.push_back(server->observer_->NewInterceptorFactory());
    if (auth) {
      interceptors.push_back(
          std::make_unique<ReflectionGuardFactory>(server->authorizer_.get()));
    }
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  // gRPC enables SO_REUSEPORT by default, which would let a second factlogd
  // silently share the port; an address in use must be an error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(server->claim_service_.get());
  builder.RegisterService(server->event_service_.get());
  builder.RegisterService(server->admin_service_.get());
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr || server->port_ == 0) {
    server->grpc_server_.reset();
    server->writer_->Stop();
    return absl::UnavailableError(absl::StrFormat(
        "cannot listen on %s (address in use or not resolvable?)",
        options.listen));
  }
  grpc::HealthCheckServiceInterface* health =
      server->grpc_server_->GetHealthCheckService();
  // The whole server (""), and each of factlog's services by name, so a
  // probe may ask about one (`factlog health --service NAME`).
  for (const char* service : {v1::ClaimService::service_full_name(),
                              v1::EventService::service_full_name(),
                              v1::AdminService::service_full_name()}) {
    health->SetServingStatus(service, true);
  }
  health->SetServingStatus(true);
  if (server->replicated_log_ != nullptr) server->StartMembership();
  return server;
}

void FactlogServer::StartForwarder() {
  if (!options_.tls_client_ca_file.empty() &&
      options_.auth_tokens_file.empty()) {
    // The actor is the client certificate's subject, which a forwarded
    // call cannot carry: every node decides its own commands (fenced).
    log::Warn(
        "mTLS without --auth-tokens: commands are not forwarded to "
        "the leader; each node commits its own (README, \"Replicated "
        "mode\")");
    return;
  }
  rpc::ForwarderOptions forward;
  forward.node_name = options_.node_name;
  forward.waiters = waiters_.get();
  forward.forward_timeout = options_.lease_ttl;
  if (options_.tls_cert_file.empty()) {
    forward.credentials = grpc::InsecureChannelCredentials();
  } else {
    // Peers are trusted when their certificate is signed by the CA that
    // --tls-client-ca names, else when it is signed by (or is) this node's
    // own --tls-cert chain (one certificate, or one CA, for all nodes);
    // it must name the host of their --advertise-address. With mTLS this
    // node presents its own certificate.
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs =
        options_.tls_client_ca_file.empty()
            ? ReadFile(options_.tls_cert_file, "--tls-cert").value_or("")
            : ReadFile(options_.tls_client_ca_file, "--tls-client-ca")
                  .value_or("");
    if (!options_.tls_client_ca_file.empty()) {
      ssl.pem_cert_chain =
          ReadFile(options_.tls_cert_file, "--tls-cert").value_or("");
      ssl.pem_private_key =
          ReadFile(options_.tls_key_file, "--tls-key").value_or("");
    }
    forward.credentials = grpc::SslCredentials(ssl);
  }
  forward.leader_address = [this]() -> std::optional<std::string> {
    replication::Membership* membership = membership_.load();
    if (membership == nullptr) return std::nullopt;
    std::optional<replication::Membership::Leader> leader =
        membership->leader();
    if (!leader.has_value() || leader->self || leader->address.empty()) {
      return std::nullopt;
    }
    return leader->address;
  };
  forwarder_ = std::make_unique<rpc::CommandForwarder>(std::move(forward));
}

absl::StatusOr<v1::ClusterStatus> FactlogServer::ClusterStatusNow() const {
  replication::Membership* membership = membership_.load();
  if (membership == nullptr) {
    return absl::UnavailableError("this node is still starting");
  }
  const replication::Membership::View view = membership->view();
  const replication::ReplicaStatus self = replicated_log_->status();
  v1::ClusterStatus out;
  out.set_cluster_id(self.cluster_id);
  out.set_node(options_.node_name);
  out.set_leader(view.leader);
  out.set_head_position(view.head.last_position());
  out.set_head_commit(view.head.commit());
  out.set_applied_position(self.applied_position);
  out.set_stopped(self.stopped);
  if (view.as_of != absl::InfinitePast()) {
    *out.mutable_as_of() = domain::ToProto(view.as_of);
  }
  for (const replication::NodeInfo& node : view.nodes) {
    v1::ClusterNode* n = out.add_nodes();
    n->set_name(node.name());
    n->set_address(node.address());
    n->set_applied_position(node.applied_position());
    n->set_applied_commit(node.applied_commit());
    n->set_lag_positions(view.head.last_position() > node.applied_position()
                             ? view.head.last_position() -
                                   node.applied_position()
                             : 0);
    n->set_leader(node.name() == view.leader);
    *n->mutable_reported_at() =
        domain::ToProto(absl::FromUnixMillis(node.updated_unix_millis()));
  }
  return out;
}

void FactlogServer::StartMembership() {
  replication::MembershipOptions options;
  options.etcd = etcd_.get();
  options.prefix = options_.etcd_prefix;
  options.node_name = options_.node_name;
  options.lease_ttl = options_.lease_ttl;
  options.advertise_address = options_.advertise_address;
  if (options.advertise_address.empty()) {
    const std::string bound = address();
    if (!absl::StartsWith(bound, "0.0.0.0:") &&
        !absl::StartsWith(bound, "[::]:")) {
      options.advertise_address = bound;
    } else {
      log::Warn(
          "no --advertise-address and a wildcard --listen: this node "
          "never leads (the others cannot reach it)");
    }
  }
  // What this node reports as applied decides what the cluster may trim
  // from etcd, and its store commits without fsync: so it reports only
  // what is durable here, read before a WAL sync (a node that a power cut
  // set back must find the rest still in etcd). On a failed sync, what it
  // last reported.
  options.applied = [replica = replicated_log_.get(), store = store_.get(),
                     durable = std::pair<uint64_t, uint64_t>()]() mutable {
    const replication::ReplicaStatus status = replica->status();
    if (absl::Status synced = store->SyncWal(); !synced.ok()) {
      log::Warn("replication", {{"error", synced.message()}});
      return durable;
    }
    durable = {status.applied_commit, status.applied_position};
    return durable;
  };
  membership_owner_ = replication::Membership::Start(std::move(options));
  membership_owner_->set_while_leading(
      [log = replicated_log_.get(), retain = options_.etcd_retain_records](
          const replication::Membership::View& view) {
        if (view.nodes.empty()) return;
        uint64_t applied_by_all = UINT64_MAX;
        for (const replication::NodeInfo& node : view.nodes) {
          applied_by_all = std::min(applied_by_all, node.applied_commit());
        }
        absl::StatusOr<uint64_t> trimmed =
            log->Trim(applied_by_all, view.head.commit(), retain,
                      std::max<uint64_t>(1, retain / 4));
        if (!trimmed.ok()) {
          log::Warn("could not trim the cluster's log",
                    {{"error", trimmed.status().message()}});
        }
      });
  membership_.store(membership_owner_.get());
  metrics_->registry().AddCallback(
      metrics::Type::kCounter, "factlog_replication_leader_changes_total",
      "How often the cluster's leader this node sees changed.", {}, [this] {
        replication::Membership* m = membership_.load();
        return std::vector<metrics::Sample>{
            {{},
             m == nullptr ? 0.0 : static_cast<double>(m->leader_changes())}};
      });
  metrics_->registry().AddCallback(
      metrics::Type::kGauge, "factlog_replication_leader",
      "1 while this node leads the cluster (sequences the writes), else 0.", {},
      [this] {
        replication::Membership* m = membership_.load();
        std::optional<replication::Membership::Leader> leader;
        if (m != nullptr) leader = m->leader();
        return std::vector<metrics::Sample>{
            {{}, leader.has_value() && leader->self ? 1.0 : 0.0}};
      });
  metrics_->registry().AddCallback(
      metrics::Type::kGauge, "factlog_replication_applied_position",
      "The last log position this node has applied.", {},
      [waiters = waiters_.get()] {
        return std::vector<metrics::Sample>{
            {{}, static_cast<double>(waiters->position())}};
      });
}

absl::Status FactlogServer::OpenReplicatedLog(
    core::WriterOptions* writer_options) {
  if (options_.node_name.empty()) {
    return absl::InvalidArgumentError(
        "--node-name: required with --etcd-endpoints (each node's own name)");
  }
  etcd::ClientOptions etcd_options;
  etcd_options.endpoints = options_.etcd_endpoints;
  etcd_options.ca_file = options_.etcd_ca_file;
  etcd_options.cert_file = options_.etcd_cert_file;
  etcd_options.key_file = options_.etcd_key_file;
  absl::StatusOr<std::unique_ptr<etcd::Client>> client =
      etcd::Client::Connect(etcd_options);
  if (!client.ok()) return client.status();
  etcd_ = *std::move(client);
  replication::ReplicatedLogOptions log_options;
  log_options.etcd = etcd_.get();
  log_options.prefix = options_.etcd_prefix;
  log_options.node_name = options_.node_name;
  log_options.stop_requested = options_.stop_requested;
  log_options.on_stop = [waiters = waiters_.get()](const std::string& why) {
    waiters->Stop(why);
  };
  log_options.metrics = &metrics_->registry();
  // Every node publishes what it applies, its own commits included, in log
  // order; the writer publishes nothing itself.
  log_options.on_apply = std::move(writer_options->on_commit);
  writer_options->on_commit = nullptr;
  absl::StatusOr<std::unique_ptr<replication::ReplicatedLog>> log =
      replication::ReplicatedLog::Open(store_.get(), std::move(log_options));
  if (!log.ok()) return log.status();
  replicated_log_ = *std::move(log);
  writer_options->commit_log = replicated_log_.get();
  return absl::OkStatus();
}

absl::Status FactlogServer::StartWeb(http::HttpServerOptions http_options) {
  auto services = std::make_unique<http::ApiServices>();
  services->writer = writer_.get();
  services->queries = queries_.get();
  services->search = search_.get();
  services->heads = log_heads_.get();
  services->store = store_.get();
  services->hub = hub_.get();
  services->tokens = tokens_.get();
  services->limits = options_.limits;
  services->checkpoint_interval = options_.hub.checkpoint_interval;
  services->safe_time = [writer = writer_.get()] { return writer->SafeTime(); };
  services->max_body_bytes = static_cast<size_t>(options_.max_message_bytes);
  web_services_ = std::move(services);
  web_handler_ = std::make_unique<http::WebHandler>(*web_services_);
  http_options.listen = options_.http_listen;
  http_options.flag = "--http-listen";
  http_options.threads = options_.http_threads;
  http_options.io_threads = options_.http_io_threads;
  http_options.max_body_bytes = static_cast<size_t>(options_.max_message_bytes);
  // Pages and API calls reuse their connection (README, "Web view").
  http_options.keep_alive = true;
  absl::StatusOr<std::unique_ptr<http::HttpServer>> http =
      http::HttpServer::Start(
          http_options,
          [handler = web_handler_.get()](http::HttpExchange& exchange) {
            handler->Handle(exchange);
          },
          &http::WebHandler::ErrorPage);
  if (!http.ok()) return http.status();
  web_http_ = *std::move(http);
  http_port_ = web_http_->port();
  return absl::OkStatus();
}

FactlogServer::~FactlogServer() { Shutdown(); }

absl::Status FactlogServer::ReloadTokens() {
  if (tokens_ == nullptr) {
    return absl::FailedPreconditionError("no --auth-tokens file to reload");
  }
  return tokens_->Reload();
}

std::string FactlogServer::address() const {
  const std::string& listen = options_.listen;
  const size_t colon = listen.rfind(':');
  return absl::StrCat(listen.substr(0, colon), ":", port_);
}

void FactlogServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  metrics_http_.reset();  // its scrapes read the hub and the store
  if (hub_) hub_->Shutdown();
  web_http_.reset();  // its event streams have ended with the hub
  // Searches waiting for the index are answered (UNAVAILABLE) rather than
  // held until their deadlines while gRPC waits for them.
  if (search_waiters_) search_waiters_->Stop("shutting down");
  if (grpc_server_) {
    grpc_server_->GetHealthCheckService()->SetServingStatus(false);
    grpc_server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    grpc_server_->Wait();
  }
  if (writer_) writer_->Stop();
  if (indexer_) indexer_->Stop();
  // Hands leadership over at once (revokes the lease).
  membership_.store(nullptr);
  membership_owner_.reset();
  replicated_log_.reset();  // its applier publishes to the hub
  // Each returns once every callback it handed over has (the indexer, the
  // applier and the writer, which advance them, have stopped).
  search_waiters_.reset();
  waiters_.reset();
  hub_.reset();
  store_.reset();
}

}  // namespace factlog::server
