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
//   factlog-cluster-bench failover --servers H:P,... --pids PID,...
//       --etcd-endpoints H:P,... [--concurrency 8] [--seconds 20]
//     Writers on every node (each command retried with its request id,
//     moving to the next node on failure); after 3 s, kill -9 of the
//     factlogd that leads (its pid: the one in --pids at the leader's
//     position in --servers). Prints the seconds from the kill to the first
//     command acknowledged after it was sent after the kill, and the
//     longest gap between acknowledgements after the kill.
//   factlog-cluster-bench apply-lag --servers H:P,... [--rate 1000]
//       [--seconds 10]
//     Appends at a fixed rate (open loop) through the first server while a
//     subscriber on each other server measures, per event, the time from
//     its recorded_at (stamped by the leader before the etcd commit) to its
//     arrival: p50/p99 of that apply lag, and the rate reached.
// The first two print one line: ops/s, p50 and p99 latency in ms.

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "etcd/client.h"
#include "factlog/replication/records.pb.h"
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

factlog::v1::RecordClaimRequest BenchClaim(const std::string& id) {
  factlog::v1::RecordClaimRequest request;
  request.set_claim_id(id);
  request.set_request_id(id);
  request.set_text("A claim recorded by the cluster benchmark.");
  request.set_claimant("Bench Claimant");
  request.set_subject("bench");
  request.set_kind(factlog::v1::CLAIM_KIND_FACT);
  request.mutable_reported_by()->set_name("bench");
  return request;
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
    factlog::v1::CommandResponse response;
    return stubs[t]
        ->RecordClaim(&context,
                      BenchClaim(absl::StrCat("b", run, "-", t, "-", k)),
                      &response)
        .ok();
  });
  return 0;
}

int RunFailover(const std::string& servers, const std::string& pid_list,
                const std::string& endpoints, int concurrency, int seconds) {
  const std::vector<std::string> addresses = Split(servers);
  const std::vector<std::string> pids = Split(pid_list);
  if (pids.size() != addresses.size()) {
    std::fprintf(stderr, "--pids: one per --servers entry\n");
    return 2;
  }
  factlog::etcd::ClientOptions options;
  options.endpoints = Split(endpoints);
  auto etcd = factlog::etcd::Client::Connect(options);
  if (!etcd.ok()) return 1;
  std::vector<std::unique_ptr<factlog::v1::ClaimService::Stub>> stubs;
  for (const std::string& address : addresses) {
    stubs.push_back(factlog::v1::ClaimService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials())));
  }
  absl::Mutex mu;
  std::vector<absl::Time> acks;  // when each command was acknowledged
  std::vector<absl::Time> sent;  // when it was first sent
  absl::Time killed = absl::InfiniteFuture();
  const std::string run =
      absl::StrCat(absl::ToUnixNanos(absl::Now()) % 1000000);
  const absl::Time end = absl::Now() + absl::Seconds(seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      size_t node = t % stubs.size();
      for (uint64_t k = 0; absl::Now() < end; ++k) {
        const std::string id = absl::StrCat("f", run, "-", t, "-", k);
        const absl::Time first = absl::Now();
        while (absl::Now() < end) {
          grpc::ClientContext context;
          context.set_deadline(
              absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
          factlog::v1::CommandResponse response;
          if (stubs[node]
                  ->RecordClaim(&context, BenchClaim(id), &response)
                  .ok()) {
            absl::MutexLock lock(&mu);
            acks.push_back(absl::Now());
            sent.push_back(first);
            break;
          }
          node = (node + 1) % stubs.size();
          absl::SleepFor(absl::Milliseconds(20));
        }
      }
    });
  }
  absl::SleepFor(absl::Seconds(3));
  auto kv = (*etcd)->Get("/factlog/leader");
  factlog::replication::NodeInfo leader;
  int victim = -1;
  if (kv.ok() && leader.ParseFromString(kv->value())) {
    for (size_t i = 0; i < addresses.size(); ++i) {
      if (addresses[i] == leader.address()) victim = static_cast<int>(i);
    }
  }
  int pid = 0;
  if (victim < 0 || !absl::SimpleAtoi(pids[victim], &pid)) {
    std::fprintf(stderr, "no leader among --servers\n");
  } else {
    absl::MutexLock lock(&mu);
    killed = absl::Now();
    kill(pid, SIGKILL);
  }
  for (std::thread& t : threads) t.join();
  if (killed == absl::InfiniteFuture()) return 1;
  std::vector<absl::Time> after;
  absl::Time first_new = absl::InfiniteFuture();
  for (size_t i = 0; i < acks.size(); ++i) {
    if (acks[i] > killed) after.push_back(acks[i]);
    if (sent[i] > killed) first_new = std::min(first_new, acks[i]);
  }
  std::sort(after.begin(), after.end());
  absl::Duration longest = absl::ZeroDuration();
  absl::Time previous = killed;
  for (absl::Time t : after) {
    longest = std::max(longest, t - previous);
    previous = t;
  }
  std::printf(
      "failover (kill -9 of leader %s): first command sent after the kill "
      "acknowledged after %.2f s; longest gap without acknowledgements %.2f "
      "s; %zu acknowledged after the kill\n",
      leader.name().c_str(), absl::ToDoubleSeconds(first_new - killed),
      absl::ToDoubleSeconds(longest), after.size());
  return 0;
}

int RunApplyLag(const std::string& servers, int rate, int seconds) {
  const std::vector<std::string> addresses = Split(servers);
  if (addresses.size() < 2) {
    std::fprintf(stderr, "--servers: the writer's node, then followers\n");
    return 2;
  }
  std::atomic<bool> stop{false};
  absl::Mutex mu;
  std::vector<double> lags_ms;
  std::vector<std::thread> subscribers;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  for (size_t i = 1; i < addresses.size(); ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
  }
  for (size_t i = 1; i < addresses.size(); ++i) {
    subscribers.emplace_back([&, i] {
      auto stub = factlog::v1::EventService::NewStub(grpc::CreateChannel(
          addresses[i], grpc::InsecureChannelCredentials()));
      factlog::v1::SubscribeRequest request;
      request.set_from_end(true);
      auto reader = stub->Subscribe(contexts[i - 1].get(), request);
      factlog::v1::SubscribeResponse response;
      while (reader->Read(&response)) {
        if (!response.has_event()) continue;
        const absl::Time recorded =
            absl::FromUnixSeconds(response.event().recorded_at().seconds()) +
            absl::Nanoseconds(response.event().recorded_at().nanos());
        absl::MutexLock lock(&mu);
        lags_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - recorded));
      }
      reader->Finish();
    });
  }
  absl::SleepFor(absl::Milliseconds(500));
  constexpr int kSenders = 32;
  std::atomic<uint64_t> done{0}, failed{0};
  const std::string run =
      absl::StrCat(absl::ToUnixNanos(absl::Now()) % 1000000);
  const absl::Time start = absl::Now();
  const absl::Duration interval = absl::Seconds(1) * kSenders / rate;
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&, t] {
      auto stub = factlog::v1::ClaimService::NewStub(grpc::CreateChannel(
          addresses[0], grpc::InsecureChannelCredentials()));
      absl::Time next = start + interval * t / kSenders;
      // Behind schedule (the cluster carries less than `rate`), it sends
      // as fast as it can until the time is up.
      const absl::Time end = start + absl::Seconds(seconds);
      for (uint64_t k = 0; next < end && absl::Now() < end; ++k) {
        absl::SleepFor(next - absl::Now());
        next += interval;
        grpc::ClientContext context;
        context.set_deadline(
            absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
        factlog::v1::CommandResponse response;
        if (stub->RecordClaim(
                    &context,
                    BenchClaim(absl::StrCat("l", run, "-", t, "-", k)),
                    &response)
                .ok()) {
          ++done;
        } else {
          ++failed;
        }
      }
    });
  }
  for (std::thread& t : senders) t.join();
  const absl::Duration elapsed = absl::Now() - start;
  absl::SleepFor(absl::Seconds(1));
  for (auto& context : contexts) context->TryCancel();
  for (std::thread& t : subscribers) t.join();
  std::sort(lags_ms.begin(), lags_ms.end());
  auto at = [&](double q) {
    return lags_ms.empty()
               ? 0.0
               : lags_ms[static_cast<size_t>(q * (lags_ms.size() - 1))];
  };
  std::printf(
      "apply-lag@%d/s: %.0f appends/s reached (%llu failed); followers' lag "
      "from recorded_at to a subscriber: p50 %.1f ms  p99 %.1f ms  max %.1f "
      "ms (%zu events)\n",
      rate, done.load() / absl::ToDoubleSeconds(elapsed),
      static_cast<unsigned long long>(failed.load()), at(0.5), at(0.99),
      lags_ms.empty() ? 0.0 : lags_ms.back(), lags_ms.size());
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
  std::string pids;
  int rate = 1000;
  CLI::App* failover =
      app.add_subcommand("failover", "seconds without acks after kill -9");
  failover->add_option("--servers", servers)->required();
  failover->add_option("--pids", pids)->required();
  failover->add_option("--etcd-endpoints", endpoints)->required();
  CLI::App* lag = app.add_subcommand("apply-lag", "followers' apply lag");
  lag->add_option("--servers", servers)->required();
  lag->add_option("--rate", rate);
  lag->add_option("--seconds", seconds);
  for (CLI::App* sub : {txn, append, failover}) {
    sub->add_option("--concurrency", concurrency);
    sub->add_option("--seconds", seconds);
  }
  CLI11_PARSE(app, argc, argv);
  if (txn->parsed()) {
    return RunEtcdTxn(endpoints, concurrency, record_bytes, seconds);
  }
  if (failover->parsed()) {
    return RunFailover(servers, pids, endpoints, concurrency, seconds);
  }
  if (lag->parsed()) return RunApplyLag(servers, rate, seconds);
  return RunAppend(servers, concurrency, seconds);
}
