// factlog-cluster-bench: the replicated mode's throughput against its floor
// (bench/README.md, "Replicated mode").
//
//   factlog-cluster-bench etcd-txn --etcd-endpoints H:P,... [--concurrency 64]
//       [--record-bytes 400] [--seconds 10]
//     The floor: each of `concurrency` threads runs etcd transactions of the
//     replicated log's shape (compare a head key's mod_revision, put the
//     head and a record of `record-bytes`), each on its own head, so none
//     is refused: what etcd itself carries on this machine.
//   factlog-cluster-bench append --servers H:P,... [--concurrency 64]
//       [--seconds 10]
//     `concurrency` clients, spread over the servers, each recording one
//     claim after another (with request ids): commands per second.
// Both print one line: ops/s, p50 and p99 latency in ms.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "etcd/client.h"
#include "factlog/v1/service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace {

struct Result {
  std::vector<double> latencies_ms;
  uint64_t errors = 0;
};

void Report(const std::string& name, int concurrency,
            std::vector<Result>& results, absl::Duration elapsed) {
  std::vector<double> all;
  uint64_t errors = 0;
  for (Result& r : results) {
    all.insert(all.end(), r.latencies_ms.begin(), r.latencies_ms.end());
    errors += r.errors;
  }
  std::sort(all.begin(), all.end());
  auto at = [&](double q) {
    return all.empty() ? 0.0 : all[static_cast<size_t>(q * (all.size() - 1))];
  };
  std::printf(
      "%s@%d: %.0f ops/s  p50 %.2f ms  p99 %.2f ms  (%zu ops, %llu errors, "
      "%.1f s)\n",
      name.c_str(), concurrency, all.size() / absl::ToDoubleSeconds(elapsed),
      at(0.5), at(0.99), all.size(), static_cast<unsigned long long>(errors),
      absl::ToDoubleSeconds(elapsed));
}

template <typename Op>
void RunThreads(const std::string& name, int concurrency, int seconds, Op op) {
  std::vector<Result> results(concurrency);
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(seconds);
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t k = 0; absl::Now() < end; ++k) {
        const absl::Time begin = absl::Now();
        if (op(t, k)) {
          results[t].latencies_ms.push_back(
              absl::ToDoubleMilliseconds(absl::Now() - begin));
        } else {
          ++results[t].errors;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  Report(name, concurrency, results, absl::Now() - start);
}

std::vector<std::string> Split(const std::string& list) {
  std::vector<std::string> out;
  for (absl::string_view s : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    out.emplace_back(s);
  }
  return out;
}

int RunEtcdTxn(const std::string& endpoints, int concurrency, int record_bytes,
               int seconds) {
  factlog::etcd::ClientOptions options;
  options.endpoints = Split(endpoints);
  auto client = factlog::etcd::Client::Connect(options);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 1;
  }
  const std::string prefix =
      absl::StrCat("/factlog-bench/", absl::ToUnixNanos(absl::Now()), "/");
  const std::string record(record_bytes, 'r');
  std::vector<int64_t> head_revision(concurrency, 0);
  RunThreads("etcd-txn", concurrency, seconds, [&](int t, uint64_t k) {
    const std::string head = absl::StrCat(prefix, t, "/head");
    etcdserverpb::TxnRequest txn;
    *txn.add_compare() =
        head_revision[t] == 0
            ? factlog::etcd::VersionIs(head, 0)
            : factlog::etcd::ModRevisionIs(head, head_revision[t]);
    *txn.add_success() = factlog::etcd::PutOp(head, absl::StrCat(k));
    *txn.add_success() =
        factlog::etcd::PutOp(absl::StrCat(prefix, t, "/log/", k), record);
    auto response = (*client)->Txn(txn);
    if (!response.ok() || !response->succeeded()) return false;
    head_revision[t] = response->header().revision();
    return true;
  });
  (*client)
      ->DeleteRange(prefix, factlog::etcd::PrefixEnd(prefix))
      .IgnoreError();
  return 0;
}

int RunAppend(const std::string& servers, int concurrency, int seconds) {
  std::vector<std::unique_ptr<factlog::v1::ClaimService::Stub>> stubs;
  const std::vector<std::string> addresses = Split(servers);
  for (int t = 0; t < concurrency; ++t) {
    stubs.push_back(factlog::v1::ClaimService::NewStub(grpc::CreateChannel(
        addresses[t % addresses.size()], grpc::InsecureChannelCredentials())));
  }
  const std::string run =
      absl::StrCat(absl::ToUnixNanos(absl::Now()) % 1000000);
  RunThreads("cluster-append", concurrency, seconds, [&](int t, uint64_t k) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    factlog::v1::RecordClaimRequest request;
    const std::string id = absl::StrCat("b", run, "-", t, "-", k);
    request.set_claim_id(id);
    request.set_request_id(id);
    request.set_text("A claim recorded by the cluster benchmark.");
    request.set_claimant("Bench Claimant");
    request.set_subject("bench");
    request.set_kind(factlog::v1::CLAIM_KIND_FACT);
    request.mutable_reported_by()->set_name("bench");
    factlog::v1::CommandResponse response;
    return stubs[t]->RecordClaim(&context, request, &response).ok();
  });
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"factlog-cluster-bench: the replicated mode against etcd"};
  app.require_subcommand(1);
  int concurrency = 64, seconds = 10, record_bytes = 400;
  std::string endpoints, servers;
  CLI::App* txn = app.add_subcommand("etcd-txn", "the etcd transaction floor");
  txn->add_option("--etcd-endpoints", endpoints)->required();
  txn->add_option("--record-bytes", record_bytes);
  CLI::App* append = app.add_subcommand("append", "factlog commands/s");
  append->add_option("--servers", servers)->required();
  for (CLI::App* sub : {txn, append}) {
    sub->add_option("--concurrency", concurrency);
    sub->add_option("--seconds", seconds);
  }
  CLI11_PARSE(app, argc, argv);
  if (txn->parsed()) {
    return RunEtcdTxn(endpoints, concurrency, record_bytes, seconds);
  }
  return RunAppend(servers, concurrency, seconds);
}
