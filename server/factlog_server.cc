#include "server/factlog_server.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "server/admin_service.h"
#include "server/claim_service.h"
#include "server/event_service.h"
#include "server/queries.h"
#include "server/writer.h"

namespace factlog::server {

FactlogServer::FactlogServer() = default;

absl::StatusOr<std::unique_ptr<FactlogServer>> FactlogServer::Start(
    ServerOptions options) {
  std::unique_ptr<FactlogServer> server(new FactlogServer());
  server->options_ = options;
  absl::StatusOr<std::unique_ptr<storage::EventStore>> store =
      storage::EventStore::Open(options.data_dir, options.store);
  if (!store.ok()) return store.status();
  server->store_ = *std::move(store);

  server->hub_ =
      std::make_unique<Hub>(server->store_->LastPosition(), options.hub);
  WriterOptions writer_options;
  writer_options.on_commit = [hub = server->hub_.get()](
                                 const std::vector<v1::Event>& events,
                                 const std::vector<v1::ClaimStatus>& statuses) {
    hub->Publish(events, statuses);
  };
  writer_options.limits = options.limits;
  writer_options.max_batch = options.max_batch;
  writer_options.clock = options.clock;
  server->writer_ = Writer::Start(server->store_.get(), writer_options);
  server->queries_ = std::make_unique<ClaimQueries>(
      server->store_.get(), options.limits, options.clock);
  server->claim_service_ = std::make_unique<ClaimServiceImpl>(
      server->writer_.get(), server->queries_.get());
  server->event_service_ = std::make_unique<EventServiceImpl>(
      server->store_.get(), server->hub_.get(), options.limits,
      options.hub.checkpoint_interval);
  server->admin_service_ = std::make_unique<AdminServiceImpl>(
      server->store_.get(), server->hub_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(),
                           &server->port_);
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
  server->grpc_server_->GetHealthCheckService()->SetServingStatus(true);
  return server;
}

FactlogServer::~FactlogServer() { Shutdown(); }

std::string FactlogServer::address() const {
  const std::string& listen = options_.listen;
  const size_t colon = listen.rfind(':');
  return absl::StrCat(listen.substr(0, colon), ":", port_);
}

void FactlogServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (hub_) hub_->Shutdown();
  if (grpc_server_) {
    grpc_server_->GetHealthCheckService()->SetServingStatus(false);
    grpc_server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    grpc_server_->Wait();
  }
  if (writer_) writer_->Stop();
  hub_.reset();
  store_.reset();
}

}  // namespace factlog::server
