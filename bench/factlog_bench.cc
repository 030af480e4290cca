// factlog-bench: load against an in-process factlogd (real gRPC over
// loopback, real RocksDB with fsync) beside baselines measured in the same
// run on the same machine:
//   append  RecordClaim/AddEvidence mix, durable     vs  health-check echo
//   (transport ceiling) get     GetClaim on random ids of a preloaded store vs
//   the same echo disk    4 KiB write + fdatasync loop in the data dir (the
//   fsync ceiling)
// Prints a table, or with --json one object per workload.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "factlog/v1/service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/rpc_method.h"
#include "server/factlog_server.h"

namespace {

using factlog::v1::ClaimService;

struct Result {
  std::string workload;
  double ops_per_sec = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0;
  uint64_t errors = 0;
};

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i =
      std::min(sorted.size() - 1, static_cast<size_t>(p * (sorted.size() - 1)));
  return sorted[i];
}

// Runs `op(thread, i)` from `clients` threads for `duration` after `warmup`;
// op returns false on error. Latencies of the measured part only.
Result Drive(const std::string& name, int clients, absl::Duration warmup,
             absl::Duration duration,
             const std::function<bool(int, uint64_t)>& op) {
  std::vector<std::vector<double>> latencies(clients);
  std::atomic<uint64_t> errors{0};
  const absl::Time start = absl::Now();
  const absl::Time measure_from = start + warmup;
  const absl::Time end = measure_from + duration;
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0;; ++i) {
        const absl::Time before = absl::Now();
        if (before >= end) return;
        const bool ok = op(t, i);
        const absl::Time after = absl::Now();
        if (before < measure_from) continue;
        if (!ok) ++errors;
        latencies[t].push_back(absl::ToDoubleMilliseconds(after - before));
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Result r;
  r.workload = name;
  r.ops_per_sec = all.size() / absl::ToDoubleSeconds(duration);
  r.p50_ms = Percentile(all, 0.5);
  r.p99_ms = Percentile(all, 0.99);
  r.p999_ms = Percentile(all, 0.999);
  r.errors = errors;
  return r;
}

factlog::v1::RecordClaimRequest Claim(const std::string& id) {
  factlog::v1::RecordClaimRequest req;
  req.set_claim_id(id);
  req.set_text("Putin ordered the troops back to their bases.");
  req.set_claimant("Vladimir Putin");
  req.set_subject("russia-troops-ukraine-border");
  req.set_kind(factlog::v1::CLAIM_KIND_PROMISE);
  return req;
}

// One trivial unary over the same gRPC stack: grpc.health.v1.Health/Check
// with an empty request (the transport ceiling).
bool Echo(grpc::Channel* channel) {
  static const grpc::internal::RpcMethod kCheck(
      "/grpc.health.v1.Health/Check", grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::ClientContext ctx;
  grpc::ByteBuffer request, response;
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
             channel, kCheck, &ctx, request, &response)
      .ok();
}

Result DiskCeiling(const std::string& dir, absl::Duration duration) {
  const std::string path = dir + "/fsync-probe";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const std::string block(4096, 'x');
  Result r = Drive("disk-fdatasync-4k", 1, absl::ZeroDuration(), duration,
                   [&](int, uint64_t) {
                     return write(fd, block.data(), block.size()) ==
                                static_cast<ssize_t>(block.size()) &&
                            fdatasync(fd) == 0;
                   });
  close(fd);
  unlink(path.c_str());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int clients = 16;
  double seconds = 3, warmup_seconds = 0.5;
  int preload = 20000;
  bool json = false;
  std::string dir;
  CLI::App app("factlog-bench: factlogd workloads beside same-run baselines",
               "factlog-bench");
  app.add_option("--clients", clients, "concurrent client threads")
      ->capture_default_str();
  app.add_option("--seconds", seconds, "measured seconds per workload")
      ->capture_default_str();
  app.add_option("--warmup", warmup_seconds, "unmeasured seconds first")
      ->capture_default_str();
  app.add_option("--preload", preload, "claims loaded before `get`")
      ->capture_default_str();
  app.add_option("--dir", dir,
                 "where the throwaway data dir goes (default: $TMPDIR)");
  app.add_flag("--json", json, "one JSON object per workload");
  CLI11_PARSE(app, argc, argv);

  const std::string base =
      dir.empty() ? std::filesystem::temp_directory_path().string() : dir;
  const std::string data_dir = absl::StrCat(base, "/factlog-bench-", getpid());
  factlog::server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = data_dir;
  auto server = factlog::server::FactlogServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "factlog-bench: %s\n",
                 std::string(server.status().message()).c_str());
    return 1;
  }
  // One channel per client thread, as separate clients would have.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<ClaimService::Stub>> stubs;
  for (int i = 0; i < clients; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("factlog-bench-client", i);
    channels.push_back(grpc::CreateCustomChannel(
        (*server)->address(), grpc::InsecureChannelCredentials(), args));
    stubs.push_back(ClaimService::NewStub(channels.back()));
  }
  const absl::Duration warmup = absl::Seconds(warmup_seconds);
  const absl::Duration duration = absl::Seconds(seconds);

  std::vector<std::pair<Result, Result>> rows;  // workload, its baseline
  Result echo = Drive("echo", clients, warmup, duration,
                      [&](int t, uint64_t) { return Echo(channels[t].get()); });

  // append: a new claim every fourth command, evidence on it otherwise.
  Result append =
      Drive("append", clients, warmup, duration, [&](int t, uint64_t i) {
        grpc::ClientContext ctx;
        factlog::v1::CommandResponse resp;
        const std::string id = absl::StrCat("a", t, "-", i / 4);
        if (i % 4 == 0) {
          return stubs[t]->RecordClaim(&ctx, Claim(id), &resp).ok();
        }
        factlog::v1::AddEvidenceRequest req;
        req.set_claim_id(id);
        req.set_stance(factlog::v1::STANCE_REFUTES);
        req.mutable_source()->set_name(absl::StrCat("Source ", i % 4));
        grpc::Status s = stubs[t]->AddEvidence(&ctx, req, &resp);
        // A warm-up cut can separate a claim from its evidence.
        return s.ok() || s.error_code() == grpc::StatusCode::NOT_FOUND;
      });
  rows.push_back({append, echo});

  // get: preload through Import, then random GetClaim.
  {
    grpc::ClientContext ctx;
    factlog::v1::ImportResponse imported;
    auto writer = stubs[0]->Import(&ctx, &imported);
    for (int i = 0; i < preload; ++i) {
      factlog::v1::Command c;
      *c.mutable_record_claim() = Claim(absl::StrCat("g", i));
      writer->Write(c);
    }
    writer->WritesDone();
    if (!writer->Finish().ok()) return 1;
  }
  std::vector<std::mt19937> rngs;
  for (int i = 0; i < clients; ++i) rngs.emplace_back(42 + i);  // fixed seed
  Result get = Drive("get", clients, warmup, duration, [&](int t, uint64_t) {
    grpc::ClientContext ctx;
    factlog::v1::GetClaimRequest req;
    req.set_claim_id(absl::StrCat(
        "g", std::uniform_int_distribution<int>(0, preload - 1)(rngs[t])));
    factlog::v1::ClaimView view;
    return stubs[t]->GetClaim(&ctx, req, &view).ok();
  });
  rows.push_back({get, echo});

  Result disk = DiskCeiling(data_dir, duration);
  const uint64_t events = (*server)->store().LastPosition();
  const uint64_t disk_bytes = (*server)->store().ApproximateDiskBytes();
  (*server)->Shutdown();
  std::filesystem::remove_all(data_dir);

  if (json) {
    for (const auto& [r, b] : rows) {
      std::printf(
          "{\"workload\":\"%s\",\"clients\":%d,\"ops_per_sec\":%.1f,"
          "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"errors\":%llu,"
          "\"baseline\":\"%s\",\"baseline_ops_per_sec\":%.1f,\"ratio\":%.3f}"
          "\n",
          r.workload.c_str(), clients, r.ops_per_sec, r.p50_ms, r.p99_ms,
          r.p999_ms, static_cast<unsigned long long>(r.errors),
          b.workload.c_str(), b.ops_per_sec,
          b.ops_per_sec > 0 ? r.ops_per_sec / b.ops_per_sec : 0);
    }
    std::printf(
        "{\"workload\":\"disk-fdatasync-4k\",\"ops_per_sec\":%.1f,"
        "\"p99_ms\":%.3f,\"baseline\":\"\",\"baseline_ops_per_sec\":0,"
        "\"ratio\":0}\n",
        disk.ops_per_sec, disk.p99_ms);
    return 0;
  }
  std::printf("%-8s %8s %10s %8s %8s %9s %-18s %12s %6s\n", "workload",
              "clients", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "baseline",
              "baseline/s", "ratio");
  for (const auto& [r, b] : rows) {
    std::printf("%-8s %8d %10.0f %8.3f %8.3f %9.3f %-18s %12.0f %6.2f\n",
                r.workload.c_str(), clients, r.ops_per_sec, r.p50_ms, r.p99_ms,
                r.p999_ms, b.workload.c_str(), b.ops_per_sec,
                b.ops_per_sec > 0 ? r.ops_per_sec / b.ops_per_sec : 0);
  }
  std::printf(
      "disk ceiling: %.0f fdatasyncs/s of 4 KiB (p99 %.3f ms); "
      "%llu events, %.0f bytes on disk per event\n",
      disk.ops_per_sec, disk.p99_ms, static_cast<unsigned long long>(events),
      events ? static_cast<double>(disk_bytes) / events : 0);
  return 0;
}
