#include "bench/harness.h"

#include <unistd.h>

#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/process.h"
#include "bench/stream_call.h"
#include "factlog/bench/baseline.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace factlog::bench {

absl::StatusOr<std::unique_ptr<InProcessServer>> InProcessServer::Start(
    const std::string& data_dir) {
  return Start(data_dir, server::ServerOptions());  // the defaults: sync=true
}

absl::StatusOr<std::unique_ptr<InProcessServer>> InProcessServer::Start(
    const std::string& data_dir, server::ServerOptions options) {
  options.listen = "127.0.0.1:0";
  options.data_dir = data_dir;
  auto server = server::FactlogServer::Start(options);
  if (!server.ok()) return server.status();
  std::unique_ptr<InProcessServer> s(new InProcessServer());
  s->data_dir_ = data_dir;
  s->server_ = *std::move(server);
  return s;
}

InProcessServer::~InProcessServer() {
  server_->Shutdown();
  server_.reset();
  std::error_code ec;
  std::filesystem::remove_all(data_dir_, ec);
}

double InProcessServer::DiskBytesPerEvent() {
  const uint64_t events = server_->store().LastPosition();
  return events ? static_cast<double>(DirectoryBytes(data_dir_)) / events : 0;
}

std::vector<std::shared_ptr<grpc::Channel>> Connect(const std::string& address,
                                                    int n) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    // Distinct arguments: a connection of its own, as separate clients.
    args.SetInt("factlog-bench-connection", i);
    args.SetMaxReceiveMessageSize(64 << 20);
    channels.push_back(grpc::CreateCustomChannel(
        address, grpc::InsecureChannelCredentials(), args));
  }
  for (auto& c : channels) {
    c->WaitForConnected(std::chrono::system_clock::now() +
                        std::chrono::seconds(10));
  }
  return channels;
}

absl::StatusOr<std::unique_ptr<Harness>> Harness::Create(Config config) {
  std::unique_ptr<Harness> h(new Harness(std::move(config)));
  h->pool_ = std::make_unique<CqPool>(h->config_.client_threads);
  auto baseline = BaselineServer::Start();
  if (!baseline.ok()) return baseline.status();
  h->baseline_ = *std::move(baseline);
  return h;
}

Harness::~Harness() {
  std::error_code ec;
  for (const std::string& d : dirs_) std::filesystem::remove_all(d, ec);
}

std::string Harness::NewDataDir(absl::string_view name) {
  std::string dir = absl::StrCat(config_.dir, "/factlog-bench-", getpid(), "-",
                                 name, "-", dirs_.size());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  dirs_.push_back(dir);
  return dir;
}

void Harness::Add(Row row) {
  if (row.rss_of.empty()) {
    row.rss_mib = ProcessRssBytes() / double{1 << 20};
    row.rss_of = "bench process (server and client)";
  }
  rows_.push_back(std::move(row));
}

namespace {

// Closed-loop calls of `method` with Echo's payload.
ClosedLoop PayloadLoad(
    const std::string* method,
    const std::vector<std::shared_ptr<grpc::Channel>>& channels) {
  // About the size of a RecordClaim request.
  Payload payload;
  payload.set_data(std::string(160, 'x'));
  ClosedLoop load;
  load.channels = &channels;
  load.clients = static_cast<int>(channels.size());
  load.make = [method, bytes = Serialize(payload)](int, uint64_t) {
    return UnaryRequest{method, bytes};
  };
  return load;
}

}  // namespace

ClosedLoop Harness::EchoLoad(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels) {
  static const std::string kEcho = "/factlog.bench.Baseline/Echo";
  return PayloadLoad(&kEcho, channels);
}

Row UnaryRow(std::string workload, int clients, std::string unit,
             const UnaryLoadResult& r) {
  Row row;
  row.workload = std::move(workload);
  row.clients = clients;
  row.unit = std::move(unit);
  row.ops = r.ops;
  row.errors = r.errors;
  row.ops_per_sec = r.ops_per_sec();
  row.SetLatency(r.latency);
  return row;
}

Row Harness::AddEcho(int clients, const UnaryLoadResult& r,
                     absl::string_view how) {
  Row row = UnaryRow("echo", clients, "calls", r);
  row.note = "transport ceiling: trivial unary echo, same gRPC stack";
  if (!how.empty()) absl::StrAppend(&row.note, "; ", how);
  Add(row);
  return row;
}

const Row& Harness::Echo(int clients) {
  auto it = echo_.find(clients);
  if (it != echo_.end()) return it->second;
  auto channels = Connect(baseline_->address(), clients);
  const ClosedLoop echo = EchoLoad(channels);
  UnaryLoadResult r =
      RunClosedLoop(*pool_, channels, clients, config_.window, echo.make);
  return echo_.emplace(clients, AddEcho(clients, r, "")).first->second;
}

Harness::FloorLog::FloorLog(BaselineServer* server, std::string dir)
    : server_(server), dir_(std::move(dir)) {
  status_ = server_->OpenDurableLog(dir_);
}

Harness::FloorLog::~FloorLog() {
  if (status_.ok()) server_->CloseDurableLog();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

Harness::FloorLog Harness::OpenFloorLog(absl::string_view name) {
  return FloorLog(baseline_.get(), NewDataDir(name));
}

const Row& Harness::DurableEcho(int clients) {
  auto it = durable_echo_.find(clients);
  if (it != durable_echo_.end()) return it->second;
  static const std::string kDurableEcho = "/factlog.bench.Baseline/DurableEcho";
  const Row& echo = Echo(clients);
  const FloorLog log = OpenFloorLog("durable-echo");
  auto channels = Connect(baseline_->address(), clients);
  const ClosedLoop load = PayloadLoad(&kDurableEcho, channels);
  UnaryLoadResult r =
      RunClosedLoop(*pool_, channels, clients, config_.window, load.make);
  Row row = UnaryRow("durable-echo", clients, "calls", r);
  row.baseline = absl::StrCat("echo@", clients);
  row.baseline_ops_per_sec = echo.ops_per_sec;
  row.note =
      "durable-append floor: echo answered once its payload is in a RocksDB "
      "log, synced by group commit, and nothing else";
  if (!log.status().ok()) {
    absl::StrAppend(&row.note, "; no log: ", log.status().message());
  } else if (!r.first_error.ok()) {
    absl::StrAppend(&row.note,
                    "; first error: ", r.first_error.error_message());
  }
  Add(row);
  return durable_echo_.emplace(clients, row).first->second;
}

const Row& Harness::Stream(int streams, uint64_t messages, size_t bytes) {
  const auto key = std::make_pair(streams, bytes);
  auto it = stream_.find(key);
  if (it != stream_.end()) return it->second;
  auto channels = Connect(baseline_->address(), streams);
  auto stubs = NewStubs<Baseline>(channels);
  StreamRequest request;
  request.set_count(messages);
  request.set_bytes(static_cast<uint32_t>(bytes));
  std::atomic<uint64_t> received{0};
  std::vector<std::unique_ptr<StreamCall<Payload>>> calls;
  for (int i = 0; i < streams; ++i) {
    calls.push_back(std::make_unique<StreamCall<Payload>>(
        [stub = stubs[i].get(), &request](grpc::ClientContext* ctx,
                                          grpc::CompletionQueue* cq) {
          return stub->PrepareAsyncStream(ctx, request, cq);
        },
        [&received](const Payload&) {
          received.fetch_add(1, std::memory_order_relaxed);
          return true;
        }));
  }
  const int64_t start = NowNanos();
  for (int i = 0; i < streams; ++i) calls[i]->Start(pool_->cq(i));
  // Bounded: a stream that stops moving is cancelled, not waited for.
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  for (auto& c : calls) {
    while (!c->done()) {
      if (absl::Now() > deadline) c->Cancel();
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  const double seconds = (NowNanos() - start) / 1e9;
  Row row;
  row.workload = "stream";
  row.clients = streams;
  row.unit = "messages";
  row.ops = received;
  row.ops_per_sec = received / seconds;
  row.Extra("message_bytes", bytes);
  row.note = "server-stream ceiling: trivial stream, one write in flight";
  Add(row);
  return stream_.emplace(key, row).first->second;
}

const Row& Harness::Disk() {
  if (disk_) return *disk_;
  DiskCeilingResult r = DiskCeiling(config_.dir, config_.window.duration);
  Row row;
  row.workload = "disk-fdatasync";
  row.clients = 1;
  row.unit = "fsyncs";
  row.ops_per_sec = r.syncs_per_sec;
  row.ops = r.latency.count();
  row.SetLatency(r.latency);
  row.note = "fsync ceiling: 4 KiB write + fdatasync loop in the data dir";
  Add(row);
  disk_ = std::make_unique<Row>(row);
  return *disk_;
}

}  // namespace factlog::bench
