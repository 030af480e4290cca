// append, import, stall and the PostgreSQL peer's rows.
#include <atomic>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/commands.h"
#include "bench/stream_call.h"
#include "bench/workloads/tracker.h"
#include "bench/workloads/workloads.h"
#include "factlog/v1/service.grpc.pb.h"
#include "server/server_metrics.h"

namespace factlog::bench {
namespace {

const std::string kRecordClaim = "/factlog.v1.ClaimService/RecordClaim";
const std::string kAddEvidence = "/factlog.v1.ClaimService/AddEvidence";

// Call `seq` of client `client` in the append mix, with a request id as the
// CLI would send.
UnaryRequest AppendRequest(absl::string_view prefix, int client, uint64_t seq) {
  const std::string p = absl::StrCat(prefix, client);
  v1::Command c = MixCommand(p, seq);
  const std::string request_id = absl::StrCat("req-", p, "-", seq);
  if (c.has_record_claim()) {
    c.mutable_record_claim()->set_request_id(request_id);
    return {&kRecordClaim, Serialize(c.record_claim())};
  }
  c.mutable_add_evidence()->set_request_id(request_id);
  return {&kAddEvidence, Serialize(c.add_evidence())};
}

const PeerResult* FindPeer(const Harness& h, int clients) {
  for (const PeerResult& p : h.config().pg) {
    if (p.clients == clients) return &p;
  }
  return nullptr;
}

}  // namespace

absl::Status RunAppend(Harness& h) {
  for (int clients : h.config().append_clients) {
    const Row& echo = h.Echo(clients);
    auto server = InProcessServer::Start(h.NewDataDir("append"));
    if (!server.ok()) return server.status();
    auto channels = Connect((*server)->server().address(), clients);
    UnaryLoadResult r =
        RunClosedLoop(h.pool(), channels, clients, h.config().window,
                      [](int client, uint64_t seq) {
                        return AppendRequest("a", client, seq);
                      });
    Row row;
    row.workload = "append";
    row.clients = clients;
    row.unit = "commands";
    row.ops = r.ops;
    row.errors = r.errors;
    row.ops_per_sec = r.ops_per_sec();
    row.SetLatency(r.latency);
    row.baseline = absl::StrCat("echo@", clients);
    row.baseline_ops_per_sec = echo.ops_per_sec;
    row.disk_bytes_per_event = (*server)->DiskBytesPerEvent();
    if (!r.first_error.ok()) {
      row.note = absl::StrCat("first error: ", r.first_error.error_message());
    }
    {
      // How the writer grouped the load: commands per fsync and its latency.
      v1::GetStatsResponse stats;
      (*server)->server().metrics().FillStats(&stats);
      row.Extra(
          "commands_per_commit",
          stats.commits() > 0
              ? static_cast<double>(stats.commands_applied()) / stats.commits()
              : 0);
      row.Extra("commit_p50_ms", stats.commit_p50_seconds() * 1000);
      row.Extra("commit_p99_ms", stats.commit_p99_seconds() * 1000);
    }
    const PeerResult* pg = FindPeer(h, clients);
    if (pg != nullptr) {
      row.Extra("pg_tps", pg->tps);
      row.Extra("pg_ratio", pg->tps > 0 ? row.ops_per_sec / pg->tps : 0);
    }
    if (clients == 64) {
      row.targets.push_back({"ops/s / echo@64", row.ratio(), 0.75, true});
      if (pg != nullptr) {
        row.targets.push_back(
            {"ops/s / PostgreSQL tps@64", row.ops_per_sec / pg->tps, 2, true});
      }
    }
    h.Add(row);
  }
  return absl::OkStatus();
}

absl::Status RunImport(Harness& h) {
  const Row& disk = h.Disk();
  auto server = InProcessServer::Start(h.NewDataDir("import"));
  if (!server.ok()) return server.status();
  const int streams = h.config().import_streams;
  auto channels = Connect((*server)->server().address(), streams);
  const storage::EventStore& store = (*server)->server().store();
  const absl::Time start = absl::Now();
  const absl::Time measure_from = start + h.config().window.warmup;
  const absl::Time end = measure_from + h.config().window.duration;
  std::atomic<int> failed{0};
  std::string first_error;
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s) {
    threads.emplace_back([&, s] {
      auto stub = v1::ClaimService::NewStub(channels[s]);
      grpc::ClientContext ctx;
      v1::ImportResponse response;
      auto writer = stub->Import(&ctx, &response);
      const std::string prefix = absl::StrCat("i", s);
      for (uint64_t i = 0; absl::Now() < end; ++i) {
        // As `factlog import` writes: gRPC may hold each message until
        // its write buffer fills or WritesDone.
        if (!writer->Write(MixCommand(prefix, i),
                           grpc::WriteOptions().set_buffer_hint())) {
          break;
        }
      }
      writer->WritesDone();
      grpc::Status status = writer->Finish();
      if (!status.ok() && failed++ == 0) {
        first_error = status.error_message();
      }
    });
  }
  absl::SleepFor(measure_from - absl::Now());
  const uint64_t first = store.LastPosition();
  absl::SleepFor(end - absl::Now());
  const uint64_t last = store.LastPosition();
  for (auto& t : threads) t.join();
  Row row;
  row.workload = "import";
  row.clients = streams;
  row.unit = "events";
  row.ops = last - first;
  row.errors = failed;
  row.ops_per_sec = row.ops / absl::ToDoubleSeconds(h.config().window.duration);
  row.baseline = "disk-fdatasync";
  row.baseline_ops_per_sec = disk.ops_per_sec;
  row.disk_bytes_per_event = (*server)->DiskBytesPerEvent();
  row.note = "ratio = durable events per fsync of the disk ceiling";
  if (!first_error.empty()) {
    row.note += absl::StrCat("; first error: ", first_error);
  }
  row.targets.push_back({"durable events/s", row.ops_per_sec, 150000, true});
  h.Add(row);
  return absl::OkStatus();
}

absl::Status RunStall(Harness& h) {
  auto server = InProcessServer::Start(h.NewDataDir("stall"));
  if (!server.ok()) return server.status();
  const int clients = h.config().stall_clients;
  const std::string address = (*server)->server().address();
  auto channels = Connect(address, clients);
  auto subscriber_channel = Connect(address, 1);
  auto stub = v1::EventService::NewStub(subscriber_channel[0]);
  v1::SubscribeRequest request;
  request.set_max_events_per_message(kEventsPerMessage);
  request.set_from_end(true);

  // Phases alternate without / with the stalled subscriber, so drift in the
  // machine's load hits both alike; short and many (as RunInterleaved's
  // slices), so that a flush or compaction's pause, which dominates a p99,
  // falls on both sides alike rather than on whichever phase it hit.
  constexpr int kPhases = 20;
  LoadWindow phase;
  phase.duration = h.config().window.duration / (kPhases / 2);
  Histogram without, with;
  // The phases without, split alternately in two: how far two samples of
  // the same thing differ here, beside how far with differs from without.
  Histogram without_halves[2];
  double ops_without = 0, ops_with = 0;
  uint64_t sequence_base = 0;
  std::string error;
  for (int p = 0; p < kPhases; ++p) {
    phase.warmup = p == 0 ? h.config().window.warmup : kSliceWarmup;
    const bool stalled = p % 2 == 1;
    std::unique_ptr<StreamCall<v1::SubscribeResponse>> subscriber;
    if (stalled) {
      subscriber = std::make_unique<StreamCall<v1::SubscribeResponse>>(
          [&](grpc::ClientContext* ctx, grpc::CompletionQueue* cq) {
            return stub->PrepareAsyncSubscribe(ctx, request, cq);
          },
          nullptr, /*read=*/false);
      subscriber->Start(h.pool().cq(0));
    }
    // Each phase continues every client's command sequence.
    const uint64_t base = sequence_base;
    uint64_t max_seq = 0;
    std::mutex mu;
    UnaryLoadResult r = RunClosedLoop(
        h.pool(), channels, clients, phase, [&](int client, uint64_t seq) {
          {
            std::lock_guard<std::mutex> lock(mu);
            max_seq = std::max(max_seq, seq);
          }
          return AppendRequest("s", client, base + seq);
        });
    // Restart every sequence on a fresh claim after the longest one.
    sequence_base = base + (max_seq / 4 + 2) * 4;
    if (!r.first_error.ok() && error.empty()) {
      error = r.first_error.error_message();
    }
    (stalled ? with : without).Merge(r.latency);
    if (!stalled) without_halves[(p / 2) % 2].Merge(r.latency);
    (stalled ? ops_with : ops_without) += r.ops_per_sec() / (kPhases / 2);
    if (subscriber) {
      subscriber->Cancel();
      while (!subscriber->done()) absl::SleepFor(absl::Milliseconds(1));
    }
  }
  Row row;
  row.workload = "stall";
  row.clients = clients;
  row.unit = "commands";
  row.ops = with.count();
  row.ops_per_sec = ops_with;
  row.SetLatency(with);
  row.baseline = "append w/o subscriber";
  row.baseline_ops_per_sec = ops_without;
  row.Extra("p99_without_ms", without.QuantileMs(0.99));
  row.Extra("p99_with_ms", with.QuantileMs(0.99));
  row.note =
      "latency columns: with one subscriber that never reads; phases "
      "alternate without/with; p99_noise: how far the p99s of the two "
      "halves of the phases without differ";
  if (!error.empty()) row.note += absl::StrCat("; first error: ", error);
  const double p99_change =
      without.QuantileMs(0.99) > 0
          ? with.QuantileMs(0.99) / without.QuantileMs(0.99) - 1
          : 0;
  row.Extra("p99_change", p99_change);
  if (without.QuantileMs(0.5) > 0) {
    row.Extra("p50_change", with.QuantileMs(0.5) / without.QuantileMs(0.5) - 1);
  }
  const double half_p99[2] = {without_halves[0].QuantileMs(0.99),
                              without_halves[1].QuantileMs(0.99)};
  if (half_p99[0] > 0 && half_p99[1] > 0) {
    row.Extra("p99_noise", std::max(half_p99[0], half_p99[1]) /
                                   std::min(half_p99[0], half_p99[1]) -
                               1);
  }
  row.targets.push_back(
      {"append p99 change with a stalled subscriber", p99_change, 0.10, false});
  h.Add(row);
  return absl::OkStatus();
}

void AddPeerRows(Harness& h) {
  for (const PeerResult& p : h.config().pg) {
    Row row;
    row.workload = "pg-append";
    row.clients = p.clients;
    row.unit = "transactions";
    row.ops_per_sec = p.tps;
    row.p50_ms = p.p50_ms;
    row.p99_ms = p.p99_ms;
    row.p999_ms = p.p999_ms;
    row.rss_of = "postgres (not measured)";
    row.note =
        "PostgreSQL 15 peer via pgbench: events table with unique "
        "(claim_id, version), global position, projection row in the same "
        "transaction, synchronous_commit=on (bench/pg)";
    h.Add(row);
  }
}

}  // namespace factlog::bench
