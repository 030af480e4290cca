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
//       [--seconds 10] [--command record|evidence]
//     `concurrency` clients, spread over the servers, each recording one
//     distinct claim after another (with request ids), or (evidence, shown
//     as cluster-evidence) adding evidence to a claim of its own recorded
//     first, which has no similar-claims search: commands per second.
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
//       [--senders 256] [--write-all] [--command record|evidence]
//     Appends at a fixed rate (open loop, `senders` threads) through the
//     first server (the leader; every server with --write-all), recording
//     claims or (evidence) adding evidence to one claim per sender, while a
//     subscriber on every server notes when each position arrives: a follower's
//     apply lag is its arrival minus the first server's (p50/p99/max), also
//     from the event's recorded_at (stamped before the etcd commit); and the
//     rate reached.
// The first two print one line: ops/s, p50 and p99 latency in ms.

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <unordered_map>
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

// Distinct claims, as real ones are: a text of 10-17 words drawn
// uniformly, by a hash of the id, from 4,096 made-up words (16 x 16 x 16
// syllables: a rich vocabulary, so that a claim's words are shared by few
// others), one of 50 claimants, one of 20 subjects. Identical texts would
// make RecordClaim's similar-claims search score every earlier claim
// (README, "Search").
factlog::v1::RecordClaimRequest BenchClaim(const std::string& id) {
  static constexpr const char* kSyllables[] = {
      "ka",  "lo",  "mi",  "ne",  "ru",  "sa",  "te",  "vo",
      "bri", "dan", "fel", "gor", "hut", "jis", "pom", "zek"};
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a of the id
  for (unsigned char c : id) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  auto next = [&hash] {
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdULL;
    hash ^= hash >> 33;
    return hash;
  };
  std::string text = "The";
  const int words = 10 + static_cast<int>(next() % 8);
  for (int w = 0; w < words; ++w) {
    const uint64_t word = next();
    absl::StrAppend(&text, " ", kSyllables[word % 16],
                    kSyllables[(word >> 4) % 16], kSyllables[(word >> 8) % 16]);
  }
  text += ".";
  factlog::v1::RecordClaimRequest request;
  request.set_claim_id(id);
  request.set_request_id(id);
  request.set_text(text);
  request.set_claimant(absl::StrCat("Bench Claimant ", next() % 50));
  request.set_subject(absl::StrCat("bench-", next() % 20));
  request.set_kind(factlog::v1::CLAIM_KIND_FACT);
  request.mutable_reported_by()->set_name("bench");
  return request;
}

// An AddEvidence of the bench: to `claim_id`, about the size of a claim.
factlog::v1::AddEvidenceRequest BenchEvidence(const std::string& claim_id,
                                              const std::string& request_id,
                                              uint64_t k) {
  factlog::v1::AddEvidenceRequest request;
  request.set_claim_id(claim_id);
  request.set_request_id(request_id);
  request.set_stance(k % 2 == 0 ? factlog::v1::STANCE_SUPPORTS
                                : factlog::v1::STANCE_REFUTES);
  request.mutable_source()->set_name(absl::StrCat("Source ", k));
  request.mutable_source()->set_outlet("bench");
  request.set_note(
      "A note of about the size of a claim's text, kept by the bench.");
  return request;
}

// Records the claims "e<run>-0" ... "e<run>-<count - 1>" that the evidence
// workloads add to, through `address`. False (saying why) on a failure.
bool RecordEvidenceClaims(const std::string& address, const std::string& run,
                          int count) {
  auto stub = factlog::v1::ClaimService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  for (int t = 0; t < count; ++t) {
    grpc::ClientContext context;
    factlog::v1::CommandResponse response;
    grpc::Status status = stub->RecordClaim(
        &context, BenchClaim(absl::StrCat("e", run, "-", t)), &response);
    if (!status.ok()) {
      std::fprintf(stderr, "could not record the claims for evidence: %s\n",
                   status.error_message().c_str());
      return false;
    }
  }
  return true;
}

// One command of sender `t` (its `k`th): RecordClaim, or with `evidence`
// an AddEvidence to the sender's claim.
grpc::Status SendBenchCommand(factlog::v1::ClaimService::Stub& stub,
                              bool evidence, const std::string& run,
                              const std::string& prefix, int t, uint64_t k,
                              factlog::v1::CommandResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  const std::string id = absl::StrCat(prefix, run, "-", t, "-", k);
  if (evidence) {
    return stub.AddEvidence(
        &context, BenchEvidence(absl::StrCat("e", run, "-", t), id, k),
        response);
  }
  return stub.RecordClaim(&context, BenchClaim(id), response);
}

int RunAppend(const std::string& servers, int concurrency, int seconds,
              const std::string& command) {
  std::vector<std::unique_ptr<factlog::v1::ClaimService::Stub>> stubs;
  const std::vector<std::string> addresses = Split(servers);
  for (int t = 0; t < concurrency; ++t) {
    stubs.push_back(factlog::v1::ClaimService::NewStub(grpc::CreateChannel(
        addresses[t % addresses.size()], grpc::InsecureChannelCredentials())));
  }
  const std::string run =
      absl::StrCat(absl::ToUnixNanos(absl::Now()) % 1000000);
  const bool evidence = command == "evidence";
  if (evidence && !RecordEvidenceClaims(addresses[0], run, concurrency)) {
    return 1;
  }
  RunThreads(evidence ? "cluster-evidence" : "cluster-append", concurrency,
             seconds, [&](int t, uint64_t k) {
               factlog::v1::CommandResponse response;
               return SendBenchCommand(*stubs[t], evidence, run, "b", t, k,
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

int RunApplyLag(const std::string& servers, int rate, int seconds, int senders,
                bool write_all, const std::string& command) {
  const std::vector<std::string> addresses = Split(servers);
  if (addresses.size() < 2) {
    std::fprintf(stderr, "--servers: the writer's node, then followers\n");
    return 2;
  }
  const bool evidence = command == "evidence";
  const std::string run =
      absl::StrCat(absl::ToUnixNanos(absl::Now()) % 1000000);
  if (evidence && !RecordEvidenceClaims(addresses[0], run, senders)) return 1;
  // One subscriber per node, the writer's first: when each position
  // arrived there (this process's clock), and each event's recorded_at.
  struct Arrivals {
    absl::Mutex mu;
    std::unordered_map<uint64_t, absl::Time> at ABSL_GUARDED_BY(mu);
    std::unordered_map<uint64_t, absl::Time> recorded ABSL_GUARDED_BY(mu);
  };
  std::vector<Arrivals> arrivals(addresses.size());
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  for (size_t i = 0; i < addresses.size(); ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
  }
  std::atomic<int> subscribed{0};
  std::vector<std::thread> subscribers;
  for (size_t i = 0; i < addresses.size(); ++i) {
    subscribers.emplace_back([&, i] {
      auto stub = factlog::v1::EventService::NewStub(grpc::CreateChannel(
          addresses[i], grpc::InsecureChannelCredentials()));
      factlog::v1::SubscribeRequest request;
      request.set_from_end(true);
      auto reader = stub->Subscribe(contexts[i].get(), request);
      ++subscribed;
      factlog::v1::SubscribeResponse response;
      while (reader->Read(&response)) {
        if (!response.has_event()) continue;
        const absl::Time now = absl::Now();
        const auto& stamp = response.event().recorded_at();
        absl::MutexLock lock(&arrivals[i].mu);
        arrivals[i].at.emplace(response.event().position(), now);
        arrivals[i].recorded.emplace(response.event().position(),
                                     absl::FromUnixSeconds(stamp.seconds()) +
                                         absl::Nanoseconds(stamp.nanos()));
      }
      reader->Finish();
    });
  }
  while (subscribed.load() < static_cast<int>(addresses.size())) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::SleepFor(absl::Milliseconds(500));
  std::atomic<uint64_t> done{0}, failed{0};
  absl::Mutex mu;
  std::vector<double> ack_ms;  // each acknowledged command's latency
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(seconds);
  const absl::Duration interval = absl::Seconds(1) * senders / rate;
  std::vector<std::thread> threads;
  for (int t = 0; t < senders; ++t) {
    threads.emplace_back([&, t] {
      auto stub = factlog::v1::ClaimService::NewStub(
          grpc::CreateChannel(addresses[write_all ? t % addresses.size() : 0],
                              grpc::InsecureChannelCredentials()));
      // Open loop: each sender's commands are due every `interval`; one
      // behind schedule (the cluster carries less than `rate`) sends the
      // next at once.
      absl::Time next = start + interval * t / senders;
      for (uint64_t k = 0; next < end && absl::Now() < end; ++k) {
        absl::SleepFor(next - absl::Now());
        next += interval;
        factlog::v1::CommandResponse response;
        const absl::Time sent = absl::Now();
        const grpc::Status status =
            SendBenchCommand(*stub, evidence, run, "l", t, k, &response);
        if (status.ok()) {
          ++done;
          absl::MutexLock lock(&mu);
          ack_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - sent));
        } else {
          ++failed;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const absl::Duration elapsed = absl::Now() - start;
  absl::SleepFor(absl::Seconds(2));
  for (auto& context : contexts) context->TryCancel();
  for (std::thread& t : subscribers) t.join();

  // A follower's apply lag: when a position reached its subscriber minus
  // when it reached the writer's node's subscriber (the same clock, the
  // same delivery path), clamped at 0; and from the event's recorded_at
  // (stamped by the leader before its etcd transaction, so it includes
  // the commit). Positions a follower never delivered count as missing.
  std::vector<double> behind_ms, recorded_ms;
  size_t missing = 0;
  {
    absl::MutexLock lead_lock(&arrivals[0].mu);
    for (size_t i = 1; i < arrivals.size(); ++i) {
      absl::MutexLock lock(&arrivals[i].mu);
      for (const auto& [position, leader_at] : arrivals[0].at) {
        auto it = arrivals[i].at.find(position);
        if (it == arrivals[i].at.end()) {
          ++missing;
          continue;
        }
        behind_ms.push_back(
            std::max(0.0, absl::ToDoubleMilliseconds(it->second - leader_at)));
        recorded_ms.push_back(absl::ToDoubleMilliseconds(
            it->second - arrivals[i].recorded[position]));
      }
    }
  }
  std::vector<double> leader_ms;  // the first server's, from recorded_at
  {
    absl::MutexLock lock(&arrivals[0].mu);
    for (const auto& [position, leader_at] : arrivals[0].at) {
      leader_ms.push_back(absl::ToDoubleMilliseconds(
          leader_at - arrivals[0].recorded[position]));
    }
  }
  auto at = [](std::vector<double>& v, double q) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[static_cast<size_t>(q * (v.size() - 1))];
  };
  const double behind_p50 = at(behind_ms, 0.5),
               behind_p99 = at(behind_ms, 0.99);
  const double behind_max = behind_ms.empty() ? 0.0 : behind_ms.back();
  std::printf(
      "apply-lag@%d/s: %.0f appends/s reached (%llu failed, %d senders%s); "
      "acknowledged in p50 %.1f ms p99 %.1f ms; followers behind the first "
      "server: p50 %.1f ms  p99 %.1f ms  max %.1f ms; from recorded_at: "
      "followers p50 %.1f ms  p99 %.1f ms, the first server p50 %.1f ms  "
      "p99 %.1f ms (%zu follower events, %zu missing)\n",
      rate, done.load() / absl::ToDoubleSeconds(elapsed),
      static_cast<unsigned long long>(failed.load()), senders,
      write_all ? " over every server" : "", at(ack_ms, 0.5), at(ack_ms, 0.99),
      behind_p50, behind_p99, behind_max, at(recorded_ms, 0.5),
      at(recorded_ms, 0.99), at(leader_ms, 0.5), at(leader_ms, 0.99),
      behind_ms.size(), missing);
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
  int senders = 256;
  lag->add_option("--senders", senders,
                  "threads sending, each one command at a time");
  std::string command = "record";
  for (CLI::App* sub : {append, lag}) {
    sub->add_option("--command", command,
                    "record: RecordClaim (with its similar-claims search); "
                    "evidence: AddEvidence to one claim per client")
        ->check(CLI::IsMember({"record", "evidence"}));
  }
  bool write_all = false;
  lag->add_flag("--write-all", write_all,
                "senders spread over every server (default: the first)");
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
  if (lag->parsed())
    return RunApplyLag(servers, rate, seconds, senders, write_all, command);
  return RunAppend(servers, concurrency, seconds, command);
}
