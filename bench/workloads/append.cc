// append, import, stall and the PostgreSQL peer's rows.
#include <sys/resource.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/commands.h"
#include "bench/stream_call.h"
#include "bench/workloads/tracker.h"
#include "bench/workloads/workloads.h"
#include "core/server_metrics.h"
#include "factlog/bench/baseline.grpc.pb.h"
#include "factlog/v1/service.grpc.pb.h"
#include "search/search_index.h"
#include "server/factlog_server.h"

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

// The append mix from `clients` closed-loop clients on `server` for the
// configured window.
UnaryLoadResult AppendLoad(Harness& h, InProcessServer& server, int clients) {
  auto channels = Connect(server.server().address(), clients);
  return RunClosedLoop(
      h.pool(), channels, clients, h.config().window,
      [](int client, uint64_t seq) { return AppendRequest("a", client, seq); });
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
    const Row& floor = h.DurableEcho(clients);
    auto server = InProcessServer::Start(h.NewDataDir("append"));
    if (!server.ok()) return server.status();
    UnaryLoadResult r = AppendLoad(h, **server, clients);
    Row row = UnaryRow("append", clients, "commands", r);
    row.baseline = absl::StrCat("echo@", clients);
    row.baseline_ops_per_sec = echo.ops_per_sec;
    row.Extra("durable_echo_ratio",
              floor.ops_per_sec > 0 ? row.ops_per_sec / floor.ops_per_sec : 0);
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

namespace {

// CPU time this process has used (user and system, every thread).
absl::Duration ProcessCpu() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) +
         absl::DurationFromTimeval(usage.ru_stime);
}

}  // namespace

absl::Status RunAppendSources(Harness& h) {
  constexpr int kSources = 10000;
  constexpr int kRounds = 4;
  for (int clients : h.config().append_clients) {
    // A and B in turns on fresh stores: plain append, and append with
    // kSources registered (the mix's evidence sources among them), in the
    // order ABBA ABBA, so that neither arm always runs right after the
    // other (and in the disk writeback it left). Each arm starts from a
    // store at rest: RocksDB done with the preload, the search index caught
    // up with it. Throughput moves with whatever else the machine runs; CPU
    // per command (this process: server and clients) much less.
    std::vector<double> plain, with, plain_cpu, with_cpu;
    for (int round = 0; round < kRounds; ++round) {
      const bool registry_first = round % 2 == 1;
      for (bool registry : {registry_first, !registry_first}) {
        const std::string dir =
            h.NewDataDir(registry ? "append-sources" : "append-plain");
        if (registry) {
          if (auto p = PreloadSources(dir, kSources); !p.ok()) {
            return p.status();
          }
        }
        auto server = InProcessServer::Start(dir);
        if (!server.ok()) return server.status();
        server::FactlogServer& s = (*server)->server();
        if (!s.search_index().WaitForPosition(s.store().LastPosition(),
                                              absl::Now() + absl::Minutes(3))) {
          return absl::DeadlineExceededError(
              "append-sources: the search index did not catch up with the "
              "preloaded sources in 3 minutes");
        }
        const absl::Duration cpu_before = ProcessCpu();
        UnaryLoadResult r = AppendLoad(h, **server, clients);
        const absl::Duration cpu = ProcessCpu() - cpu_before;
        if (!r.first_error.ok()) {
          return absl::InternalError(
              absl::StrCat("append-sources: ", r.first_error.error_message()));
        }
        const Row load = UnaryRow("append", clients, "commands", r);
        (registry ? with : plain).push_back(load.ops_per_sec);
        // The loop runs warmup + window; its commands, at the window's rate.
        const double seconds = absl::ToDoubleSeconds(
            h.config().window.warmup + h.config().window.duration);
        (registry ? with_cpu : plain_cpu)
            .push_back(absl::ToDoubleMicroseconds(cpu) /
                       std::max(1.0, load.ops_per_sec * seconds));
      }
    }
    auto mean = [](const std::vector<double>& v) {
      double sum = 0;
      for (double x : v) sum += x;
      return v.empty() ? 0 : sum / v.size();
    };
    Row row;
    row.workload = "append-sources";
    row.clients = clients;
    row.unit = "commands";
    row.ops_per_sec = mean(with);
    row.baseline = absl::StrCat("append@", clients, " (same run, in turns)");
    row.baseline_ops_per_sec = mean(plain);
    for (int i = 0; i < kRounds; ++i) {
      row.Extra(absl::StrCat("plain_", i + 1), plain[i]);
      row.Extra(absl::StrCat("with_sources_", i + 1), with[i]);
    }
    row.Extra("cpu_us_per_command_plain", mean(plain_cpu));
    row.Extra("cpu_us_per_command_with_sources", mean(with_cpu));
    row.targets.push_back({"ops/s / append@N", row.ratio(), 0.95, true});
    h.Add(row);
  }
  return absl::OkStatus();
}

namespace {

struct StreamedLoad {
  uint64_t stored = 0;  // in the measured window
  double per_sec = 0;
  int failed = 0;  // streams that did not end OK
  std::string first_error;
};

// `streams` client streams, one thread each, write messages as `factlog
// import` does (gRPC may hold each until its write buffer fills or
// WritesDone) until the window ends. `open(s, ctx)` starts stream `s`,
// `write(s, writer, i)` writes its message `i`, and `stored()` says how
// many messages the server has made durable, read as the window opens and
// closes.
template <typename Writer>
StreamedLoad RunStreams(
    const LoadWindow& window, int streams,
    const std::function<std::unique_ptr<Writer>(int, grpc::ClientContext*)>&
        open,
    const std::function<bool(int, Writer&, uint64_t)>& write,
    const std::function<uint64_t()>& stored) {
  const absl::Time start = absl::Now();
  const absl::Time measure_from = start + window.warmup;
  const absl::Time end = measure_from + window.duration;
  StreamedLoad load;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s) {
    threads.emplace_back([&, s] {
      grpc::ClientContext ctx;
      std::unique_ptr<Writer> writer = open(s, &ctx);
      for (uint64_t i = 0; absl::Now() < end; ++i) {
        if (!write(s, *writer, i)) break;
      }
      writer->WritesDone();
      grpc::Status status = writer->Finish();
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (load.failed++ == 0) load.first_error = status.error_message();
      }
    });
  }
  absl::SleepFor(measure_from - absl::Now());
  const uint64_t first = stored();
  absl::SleepFor(end - absl::Now());
  load.stored = stored() - first;
  for (auto& t : threads) t.join();
  load.per_sec = load.stored / absl::ToDoubleSeconds(window.duration);
  return load;
}

// A row of `load`: `workload` over `streams` streams, counting `unit`.
Row StreamedRow(std::string workload, int streams, std::string unit,
                const StreamedLoad& load) {
  Row row;
  row.workload = std::move(workload);
  row.clients = streams;
  row.unit = std::move(unit);
  row.ops = load.stored;
  row.errors = load.failed;
  row.ops_per_sec = load.per_sec;
  return row;
}

// Each stream's prefix of its commands' ids: `letter` and the stream.
std::vector<std::string> StreamPrefixes(absl::string_view letter, int streams) {
  std::vector<std::string> prefixes;
  for (int s = 0; s < streams; ++s) prefixes.push_back(absl::StrCat(letter, s));
  return prefixes;
}

// The durable-import floor at `streams` streams: import's messages, each
// wrapped in a Payload, through Baseline.DurableIngest.
Row DurableIngestFloor(Harness& h, int streams) {
  const Harness::FloorLog log = h.OpenFloorLog("durable-ingest");
  auto channels = Connect(h.baseline().address(), streams);
  auto stubs = NewStubs<Baseline>(channels);
  std::vector<IngestResult> results(streams);
  using Writer = grpc::ClientWriter<Payload>;
  StreamedLoad load = RunStreams<Writer>(
      h.config().window, streams,
      [&](int s, grpc::ClientContext* ctx) {
        return stubs[s]->DurableIngest(ctx, &results[s]);
      },
      [prefixes = StreamPrefixes("f", streams)](int s, Writer& writer,
                                                uint64_t i) {
        Payload payload;
        MixCommand(prefixes[s], i).SerializeToString(payload.mutable_data());
        return writer.Write(payload, grpc::WriteOptions().set_buffer_hint());
      },
      [&] { return h.baseline().DurableRecords(); });
  Row row = StreamedRow("durable-ingest", streams, "messages", load);
  row.note =
      "durable-import floor: import's messages stored in a RocksDB log, 256 "
      "per synced write per stream, and nothing else";
  if (!log.status().ok()) {
    row.note += absl::StrCat("; no log: ", log.status().message());
  } else if (!load.first_error.empty()) {
    row.note += absl::StrCat("; first error: ", load.first_error);
  }
  h.Add(row);
  return row;
}

}  // namespace

absl::Status RunImport(Harness& h) {
  const Row& disk = h.Disk();
  const int streams = h.config().import_streams;
  const Row floor = DurableIngestFloor(h, streams);
  auto server = InProcessServer::Start(h.NewDataDir("import"));
  if (!server.ok()) return server.status();
  auto channels = Connect((*server)->server().address(), streams);
  auto stubs = NewStubs<v1::ClaimService>(channels);
  std::vector<v1::ImportResponse> responses(streams);
  const storage::EventStore& store = (*server)->server().store();
  using Writer = grpc::ClientWriter<v1::Command>;
  StreamedLoad load = RunStreams<Writer>(
      h.config().window, streams,
      [&](int s, grpc::ClientContext* ctx) {
        return stubs[s]->Import(ctx, &responses[s]);
      },
      [prefixes = StreamPrefixes("i", streams)](int s, Writer& writer,
                                                uint64_t i) {
        return writer.Write(MixCommand(prefixes[s], i),
                            grpc::WriteOptions().set_buffer_hint());
      },
      [&] { return store.LastPosition(); });
  Row row = StreamedRow("import", streams, "events", load);
  row.baseline = absl::StrCat("durable-ingest@", streams);
  row.baseline_ops_per_sec = floor.ops_per_sec;
  row.disk_bytes_per_event = (*server)->DiskBytesPerEvent();
  row.Extra("events_per_fsync",
            disk.ops_per_sec > 0 ? row.ops_per_sec / disk.ops_per_sec : 0);
  row.note = "ratio = durable events per message of the durable-import floor";
  if (!load.first_error.empty()) {
    row.note += absl::StrCat("; first error: ", load.first_error);
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
