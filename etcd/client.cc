#include "etcd/client.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/grpcpp.h"

namespace factlog::etcd {
namespace {

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(
      static_cast<absl::StatusCode>(status.error_code()),
      absl::StrCat("etcd ", what, ": ", status.error_message()));
}

bool Unreachable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     absl::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: cannot read %s", flag, path));
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const ClientOptions& options) {
  if (options.ca_file.empty()) {
    if (!options.cert_file.empty() || !options.key_file.empty()) {
      return absl::InvalidArgumentError(
          "etcd TLS: a client certificate needs the CA file too");
    }
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> ca = ReadFile(options.ca_file, "etcd CA file");
  if (!ca.ok()) return ca.status();
  ssl.pem_root_certs = *std::move(ca);
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "etcd TLS: the client certificate and key go together");
  }
  if (!options.cert_file.empty()) {
    absl::StatusOr<std::string> cert =
        ReadFile(options.cert_file, "etcd client certificate");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key =
        ReadFile(options.key_file, "etcd client key");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace

std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

etcdserverpb::Compare ModRevisionIs(absl::string_view key, int64_t revision) {
  etcdserverpb::Compare compare;
  compare.set_key(std::string(key));
  compare.set_target(etcdserverpb::Compare::MOD);
  compare.set_result(etcdserverpb::Compare::EQUAL);
  compare.set_mod_revision(revision);
  return compare;
}

etcdserverpb::Compare VersionIs(absl::string_view key, int64_t version) {
  etcdserverpb::Compare compare;
  compare.set_key(std::string(key));
  compare.set_target(etcdserverpb::Compare::VERSION);
  compare.set_result(etcdserverpb::Compare::EQUAL);
  compare.set_version(version);
  return compare;
}

etcdserverpb::Compare ValueIs(absl::string_view key, absl::string_view value) {
  etcdserverpb::Compare compare;
  compare.set_key(std::string(key));
  compare.set_target(etcdserverpb::Compare::VALUE);
  compare.set_result(etcdserverpb::Compare::EQUAL);
  compare.set_value(std::string(value));
  return compare;
}

etcdserverpb::RequestOp PutOp(absl::string_view key, absl::string_view value,
                              int64_t lease) {
  etcdserverpb::RequestOp op;
  etcdserverpb::PutRequest* put = op.mutable_request_put();
  put->set_key(std::string(key));
  put->set_value(std::string(value));
  put->set_lease(lease);
  return op;
}

etcdserverpb::RequestOp GetOp(absl::string_view key) {
  etcdserverpb::RequestOp op;
  op.mutable_request_range()->set_key(std::string(key));
  return op;
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(
    const ClientOptions& options) {
  if (options.endpoints.empty()) {
    return absl::InvalidArgumentError("etcd endpoints: none given");
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      Credentials(options);
  if (!credentials.ok()) return credentials.status();
  std::unique_ptr<Client> client(new Client(options));
  for (const std::string& endpoint : options.endpoints) {
    if (endpoint.empty()) {
      return absl::InvalidArgumentError("etcd endpoints: an empty endpoint");
    }
    grpc::ChannelArguments args;
    // etcd's request limit is 1.5 MiB; its responses (ranges of records)
    // may be larger than gRPC's default 4 MiB.
    args.SetMaxReceiveMessageSize(64 << 20);
    // Reconnect soon after a member comes back (gRPC's backoff would wait
    // up to two minutes), on this client's own connections.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(endpoint, *credentials, args);
    Stubs stubs;
    stubs.endpoint = endpoint;
    stubs.kv = etcdserverpb::KV::NewStub(channel);
    stubs.watch = etcdserverpb::Watch::NewStub(channel);
    stubs.lease = etcdserverpb::Lease::NewStub(channel);
    stubs.maintenance = etcdserverpb::Maintenance::NewStub(channel);
    client->stubs_.push_back(std::move(stubs));
  }
  return client;
}

const std::string& Client::endpoint(size_t index) const {
  return stubs_[index].endpoint;
}

size_t Client::Current() {
  absl::MutexLock lock(&mu_);
  return current_;
}

void Client::MoveOn(size_t from) {
  absl::MutexLock lock(&mu_);
  if (current_ == from) current_ = (current_ + 1) % stubs_.size();
}

template <typename Call>
absl::Status Client::Invoke(bool retry, Call call) {
  absl::Status status;
  for (size_t tries = 0; tries < stubs_.size(); ++tries) {
    const size_t at = Current();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoNanoseconds(options_.call_timeout));
    status = call(stubs_[at], &context);
    if (!Unreachable(status)) return status;
    MoveOn(at);
    if (!retry) break;
  }
  return status;
}

absl::StatusOr<MemberStatus> Client::StatusOf(size_t index) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoNanoseconds(options_.call_timeout));
  etcdserverpb::StatusResponse response;
  absl::Status status =
      FromGrpc(stubs_[index].maintenance->Status(
                   &context, etcdserverpb::StatusRequest(), &response),
               absl::StrCat("Status of ", stubs_[index].endpoint));
  if (!status.ok()) return status;
  MemberStatus out;
  out.cluster_id = response.header().cluster_id();
  out.member_id = response.header().member_id();
  out.revision = response.header().revision();
  out.raft_term = response.raftterm();
  out.leader = response.leader();
  out.db_size = response.dbsize();
  out.version = response.version();
  return out;
}

absl::StatusOr<MemberStatus> Client::Status() {
  absl::StatusOr<MemberStatus> result = absl::UnavailableError("no endpoint");
  for (size_t tries = 0; tries < stubs_.size(); ++tries) {
    const size_t at = Current();
    result = StatusOf(at);
    if (result.ok() || !Unreachable(result.status())) return result;
    MoveOn(at);
  }
  return result;
}

absl::StatusOr<etcdserverpb::RangeResponse> Client::Range(
    const etcdserverpb::RangeRequest& request) {
  etcdserverpb::RangeResponse response;
  absl::Status status = Invoke(true, [&](Stubs& s, grpc::ClientContext* c) {
    return FromGrpc(s.kv->Range(c, request, &response), "Range");
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<etcdserverpb::KeyValue> Client::Get(absl::string_view key) {
  etcdserverpb::RangeRequest request;
  request.set_key(std::string(key));
  absl::StatusOr<etcdserverpb::RangeResponse> response = Range(request);
  if (!response.ok()) return response.status();
  if (response->kvs_size() == 0) {
    return absl::NotFoundError(absl::StrCat("etcd: no key ", key));
  }
  return response->kvs(0);
}

absl::StatusOr<etcdserverpb::PutResponse> Client::Put(absl::string_view key,
                                                      absl::string_view value,
                                                      int64_t lease) {
  etcdserverpb::PutRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  request.set_lease(lease);
  etcdserverpb::PutResponse response;
  absl::Status status = Invoke(false, [&](Stubs& s, grpc::ClientContext* c) {
    return FromGrpc(s.kv->Put(c, request, &response), "Put");
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<etcdserverpb::DeleteRangeResponse> Client::DeleteRange(
    absl::string_view key, absl::string_view range_end) {
  etcdserverpb::DeleteRangeRequest request;
  request.set_key(std::string(key));
  request.set_range_end(std::string(range_end));
  etcdserverpb::DeleteRangeResponse response;
  absl::Status status = Invoke(false, [&](Stubs& s, grpc::ClientContext* c) {
    return FromGrpc(s.kv->DeleteRange(c, request, &response), "DeleteRange");
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<etcdserverpb::TxnResponse> Client::Txn(
    const etcdserverpb::TxnRequest& request) {
  etcdserverpb::TxnResponse response;
  absl::Status status = Invoke(false, [&](Stubs& s, grpc::ClientContext* c) {
    return FromGrpc(s.kv->Txn(c, request, &response), "Txn");
  });
  if (!status.ok()) return status;
  return response;
}

absl::Status Client::Compact(int64_t revision) {
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  etcdserverpb::CompactionResponse response;
  return Invoke(true, [&](Stubs& s, grpc::ClientContext* c) {
    return FromGrpc(s.kv->Compact(c, request, &response), "Compact");
  });
}

absl::StatusOr<int64_t> Client::LeaseGrant(absl::Duration ttl) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(std::max<int64_t>(1, absl::ToInt64Seconds(ttl)));
  etcdserverpb::LeaseGrantResponse response;
  absl::Status status = Invoke(true, [&](Stubs& s, grpc::ClientContext* c) {
    return FromGrpc(s.lease->LeaseGrant(c, request, &response), "LeaseGrant");
  });
  if (!status.ok()) return status;
  if (!response.error().empty()) {
    return absl::UnavailableError(
        absl::StrCat("etcd LeaseGrant: ", response.error()));
  }
  return response.id();
}

absl::Status Client::LeaseRevoke(int64_t id) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(id);
  etcdserverpb::LeaseRevokeResponse response;
  return Invoke(true, [&](Stubs& s, grpc::ClientContext* c) {
    return FromGrpc(s.lease->LeaseRevoke(c, request, &response), "LeaseRevoke");
  });
}

absl::StatusOr<int64_t> Client::LeaseKeepAliveOnce(int64_t id) {
  etcdserverpb::LeaseKeepAliveResponse response;
  absl::Status status = Invoke(true, [&](Stubs& s, grpc::ClientContext* c) {
    auto stream = s.lease->LeaseKeepAlive(c);
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(id);
    if (!stream->Write(request) || !stream->Read(&response)) {
      stream->WritesDone();
      grpc::Status finished = stream->Finish();
      return finished.ok() ? absl::UnavailableError(
                                 "etcd LeaseKeepAlive: the stream closed")
                           : FromGrpc(finished, "LeaseKeepAlive");
    }
    stream->WritesDone();
    c->TryCancel();
    stream->Finish();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response.ttl();
}

absl::StatusOr<std::unique_ptr<Client::WatchStream>> Client::Watch(
    absl::string_view key, absl::string_view range_end,
    int64_t start_revision) {
  const size_t at = Current();
  std::unique_ptr<WatchStream> watch(new WatchStream());
  // A member cut off from its cluster's leader ends the watch instead of
  // keeping it open with nothing coming (etcd's "require leader").
  watch->context_.AddMetadata("hasleader", "true");
  watch->stream_ = stubs_[at].watch->Watch(&watch->context_);
  etcdserverpb::WatchRequest request;
  etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
  create->set_key(std::string(key));
  create->set_range_end(std::string(range_end));
  create->set_start_revision(start_revision);
  if (!watch->stream_->Write(request)) {
    watch->context_.TryCancel();
    absl::Status status = FromGrpc(watch->stream_->Finish(), "Watch");
    MoveOn(at);
    return status.ok() ? absl::UnavailableError("etcd Watch: stream closed")
                       : status;
  }
  return watch;
}

Client::WatchStream::~WatchStream() {
  if (stream_ != nullptr) {
    context_.TryCancel();
    etcdserverpb::WatchResponse ignored;
    while (stream_->Read(&ignored)) {
    }
    stream_->Finish().error_code();
  }
}

void Client::WatchStream::Cancel() { context_.TryCancel(); }

absl::StatusOr<etcdserverpb::WatchResponse> Client::WatchStream::Next() {
  etcdserverpb::WatchResponse response;
  while (stream_->Read(&response)) {
    if (response.compact_revision() > 0) {
      return absl::OutOfRangeError(
          absl::StrFormat("etcd Watch: history compacted up to revision %d",
                          response.compact_revision()));
    }
    if (response.canceled()) {
      return absl::UnavailableError(absl::StrCat(
          "etcd Watch: canceled by etcd: ", response.cancel_reason()));
    }
    if (response.events_size() > 0) return response;
  }
  grpc::Status status = stream_->Finish();
  stream_.reset();
  if (status.error_code() == grpc::StatusCode::CANCELLED) {
    return absl::CancelledError("etcd Watch: cancelled");
  }
  return absl::UnavailableError(
      absl::StrCat("etcd Watch: stream broke: ", status.error_message()));
}

}  // namespace factlog::etcd
