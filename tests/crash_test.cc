// Crash harness: the real factlogd binary under concurrent writes and one
// live subscriber is SIGKILLed at a random moment, restarted (on a new
// port) over the same data dir, and checked after every restart:
//   - every acknowledged command's event is in the log at the acknowledged
//     position with the acknowledged claim, version and request_id, and no
//     event already checked has changed;
//   - positions are 1..N and each claim's versions 1..n, without gaps;
//   - every command whose RPC failed, retried with its request_id after the
//     restart, is applied exactly once (one event carries that request_id);
//   - the subscriber, resuming from the last position it saw, has received
//     exactly the log's events in order: no gap, no duplicate, nothing that
//     did not survive the crash.
// After the last cycle factlogd is stopped cleanly and `factlogd --verify`
// must pass.
//
// FACTLOG_CRASH_CYCLES (default 20) and FACTLOG_CRASH_SEED (default: random,
// printed; fixed under CI=true) override the number of kill/restart cycles and
// the seed of the kill schedule and the workload. Per-cycle numbers go to
// stdout and the totals to the test's properties; nothing is asserted about
// time.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "factlog/v1/service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using testing::FactlogdProcess;
using ::testing::HasSubstr;
using testing::RunToCompletion;
using testing::TempDir;

constexpr int kWriters = 4;
constexpr absl::Duration kRpcDeadline = absl::Seconds(10);

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  uint64_t n = 0;
  if (value == nullptr || !absl::SimpleAtoi(value, &n)) return fallback;
  return n;
}

// A channel with its own connection and a short reconnect backoff, so that
// a restarted server is reached quickly.
std::shared_ptr<grpc::Channel> Connect(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   args);
}

const std::string& RequestIdOf(const v1::Command& c) {
  return c.has_record_claim() ? c.record_claim().request_id()
                              : c.add_evidence().request_id();
}

// Sends a RecordClaim or AddEvidence command.
grpc::Status Send(v1::ClaimService::Stub& stub, const v1::Command& command,
                  v1::CommandResponse* response) {
  grpc::ClientContext ctx;
  testing::SetDeadline(&ctx, kRpcDeadline);
  if (command.has_record_claim()) {
    return stub.RecordClaim(&ctx, command.record_claim(), response);
  }
  return stub.AddEvidence(&ctx, command.add_evidence(), response);
}

// An acknowledged command: what the server promised is durable.
struct Ack {
  std::string request_id;
  std::string claim_id;
  uint64_t version = 0;
  uint64_t first_position = 0;
  uint64_t last_position = 0;
};

// Everything the clients were told, shared by the writer threads.
class Ledger {
 public:
  void Acknowledge(const v1::Command& command,
                   const v1::CommandResponse& response) {
    absl::MutexLock lock(&mu_);
    acks_.push_back({RequestIdOf(command), response.claim_id(),
                     response.version(), response.first_position(),
                     response.last_position()});
    if (command.has_record_claim()) claims_.push_back(response.claim_id());
    ++acked_this_cycle_;
  }
  // A command whose outcome is unknown: retried after the restart.
  void Unacknowledged(v1::Command command) {
    absl::MutexLock lock(&mu_);
    pending_.push_back(std::move(command));
  }
  // A claim acknowledged as recorded, or "" when there is none yet.
  std::string RandomClaim(std::mt19937_64& rng) {
    absl::MutexLock lock(&mu_);
    if (claims_.empty()) return "";
    return claims_[std::uniform_int_distribution<size_t>(
        0, claims_.size() - 1)(rng)];
  }
  uint64_t AckedThisCycle() {
    absl::MutexLock lock(&mu_);
    return acked_this_cycle_;
  }
  // Starts a cycle: returns the commands left unacknowledged by the last one
  // (RecordClaims first, so that retried evidence finds its claim).
  std::vector<v1::Command> TakePending() {
    absl::MutexLock lock(&mu_);
    acked_this_cycle_ = 0;
    std::vector<v1::Command> out = std::move(pending_);
    pending_.clear();
    std::stable_partition(out.begin(), out.end(), [](const v1::Command& c) {
      return c.has_record_claim();
    });
    return out;
  }
  std::vector<Ack> acks() {
    absl::MutexLock lock(&mu_);
    return acks_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Ack> acks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> claims_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::Command> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t acked_this_cycle_ ABSL_GUARDED_BY(mu_) = 0;
};

// One client thread for one cycle: sends commands until an RPC fails (the
// server was killed) or `stop`.
void Write(const std::string& address, int cycle, int writer, uint64_t seed,
           const std::atomic<bool>& stop, const std::atomic<bool>& killed,
           Ledger& ledger) {
  static const char* const kSources[] = {"NATO", "TASS", "Reuters", "OSCE",
                                         "Kyiv Independent"};
  std::mt19937_64 rng(seed);
  std::unique_ptr<v1::ClaimService::Stub> stub =
      v1::ClaimService::NewStub(Connect(address));
  for (int n = 0; !stop.load(); ++n) {
    const std::string suffix = absl::StrCat(cycle, "-", writer, "-", n);
    v1::Command command;
    const std::string claim = ledger.RandomClaim(rng);
    if (claim.empty() || rng() % 10 < 3) {
      v1::RecordClaimRequest& r = *command.mutable_record_claim();
      r.set_claim_id(absl::StrCat("c", suffix));
      r.set_text(absl::StrCat("Claim ", suffix, " was made."));
      r.set_claimant(absl::StrCat("Claimant ", rng() % 7));
      r.set_subject(absl::StrCat("subject-", rng() % 5));
      r.set_kind(v1::CLAIM_KIND_FACT);
      r.set_request_id(absl::StrCat("r", suffix));
    } else {
      v1::AddEvidenceRequest& e = *command.mutable_add_evidence();
      e.set_claim_id(claim);
      if (rng() % 2 == 0) e.set_evidence_id(absl::StrCat("e", suffix));
      e.set_stance(static_cast<v1::Stance>(1 + rng() % 3));
      e.mutable_source()->set_name(kSources[rng() % 5]);
      e.set_note(absl::StrCat("Observation ", suffix));
      e.set_request_id(absl::StrCat("r", suffix));
    }
    v1::CommandResponse response;
    const grpc::Status status = Send(*stub, command, &response);
    if (status.ok()) {
      ledger.Acknowledge(command, response);
      continue;
    }
    // Before the kill every command must succeed; after it, the outcome is
    // unknown and the command is retried once the server is back.
    EXPECT_TRUE(killed.load())
        << "cycle " << cycle << ": " << RequestIdOf(command) << " failed with "
        << status.error_code() << " " << status.error_message()
        << " while the server was up";
    ledger.Unacknowledged(std::move(command));
    return;
  }
}

// One Subscribe stream at a time from the last position received, resumed
// after every failure, until Stop().
class Subscriber {
 public:
  explicit Subscriber(std::string address)
      : address_(std::move(address)), thread_([this] { Run(); }) {}

  // Where the next stream connects: a restarted server listens on a new
  // port.
  void SetAddress(std::string address) {
    absl::MutexLock lock(&mu_);
    address_ = std::move(address);
  }
  ~Subscriber() { Stop(); }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      if (ctx_ != nullptr) ctx_->TryCancel();
    }
    if (thread_.joinable()) thread_.join();
  }

  // The event id received for each position, in the order received.
  std::vector<std::pair<uint64_t, std::string>> Received() {
    absl::MutexLock lock(&mu_);
    return received_;
  }
  uint64_t LastPosition() {
    absl::MutexLock lock(&mu_);
    return received_.empty() ? 0 : received_.back().first;
  }
  uint64_t Reconnects() {
    absl::MutexLock lock(&mu_);
    return reconnects_;
  }
  // Waits until position `n` was received or `timeout` passed.
  bool WaitFor(uint64_t n, absl::Duration timeout) {
    auto reached = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return !received_.empty() && received_.back().first >= n;
    };
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }

 private:
  void Run() {
    for (;;) {
      grpc::ClientContext ctx;
      v1::SubscribeRequest req;
      std::string address;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        address = address_;
        ctx_ = &ctx;
        req.set_from_position(received_.empty() ? 0 : received_.back().first);
        ++reconnects_;
      }
      std::unique_ptr<v1::EventService::Stub> stub =
          v1::EventService::NewStub(Connect(address));
      std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
          stub->Subscribe(&ctx, req);
      v1::SubscribeResponse message;
      while (reader->Read(&message)) {
        if (!message.has_event()) continue;
        const v1::Event& e = message.event();
        absl::MutexLock lock(&mu_);
        const uint64_t last = received_.empty() ? 0 : received_.back().first;
        EXPECT_EQ(e.position(), last + 1)
            << "subscriber: " << (e.position() <= last ? "duplicate" : "gap")
            << " after position " << last;
        received_.emplace_back(e.position(), e.event_id());
      }
      const grpc::Status status = reader->Finish();
      // OUT_OF_RANGE would mean the subscriber was sent an event the
      // restarted server does not have: one that was not durable.
      EXPECT_NE(status.error_code(), grpc::StatusCode::OUT_OF_RANGE)
          << status.error_message();
      absl::MutexLock lock(&mu_);
      ctx_ = nullptr;
      if (stopping_) return;
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(20));
    }
  }

  absl::Mutex mu_;
  std::string address_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* ctx_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::vector<std::pair<uint64_t, std::string>> received_ ABSL_GUARDED_BY(mu_);
  uint64_t reconnects_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;  // last: starts after the members it uses
};

std::vector<v1::Event> ReadLog(const std::string& address) {
  std::unique_ptr<v1::EventService::Stub> stub =
      v1::EventService::NewStub(Connect(address));
  grpc::ClientContext ctx;
  testing::SetDeadline(&ctx, kRpcDeadline);
  v1::ReadEventsRequest req;
  std::unique_ptr<grpc::ClientReader<v1::Event>> reader =
      stub->ReadEvents(&ctx, req);
  std::vector<v1::Event> events;
  v1::Event e;
  while (reader->Read(&e)) events.push_back(e);
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << "ReadEvents: " << status.error_message();
  return events;
}

class CrashTest : public ::testing::Test {
 protected:
  // Starts factlogd over data_dir_ on a port it picks (address_). Each
  // restart takes a new port: binding the old one again could race with
  // any other process on the machine that took it meanwhile.
  void StartServer() {
    absl::StatusOr<FactlogdProcess> started =
        testing::StartFactlogd(FACTLOGD_PATH, data_dir_);
    ASSERT_TRUE(started.ok()) << "factlogd did not start: " << started.status();
    server_ = *std::move(started);
    address_ = server_.address;
  }

  // Checks the log against everything acknowledged so far; returns N.
  uint64_t CheckLog(int cycle, const std::vector<Ack>& acks) {
    SCOPED_TRACE(absl::StrCat("after cycle ", cycle));
    const std::vector<v1::Event> log = ReadLog(address_);
    std::map<std::string, uint64_t> versions;
    std::map<std::string, int> by_request;
    for (size_t i = 0; i < log.size(); ++i) {
      const v1::Event& e = log[i];
      EXPECT_EQ(e.position(), i + 1) << "positions are not 1..N";
      uint64_t& version = versions[e.claim_id()];
      EXPECT_EQ(e.version(), version + 1)
          << "claim " << e.claim_id() << " at position " << e.position();
      version = e.version();
      EXPECT_FALSE(e.request_id().empty()) << "position " << e.position();
      ++by_request[e.request_id()];
      if (i < seen_event_ids_.size()) {
        EXPECT_EQ(e.event_id(), seen_event_ids_[i])
            << "position " << e.position() << " changed since it was checked";
      }
    }
    for (const auto& [request_id, count] : by_request) {
      EXPECT_EQ(count, 1) << "request_id " << request_id << " applied " << count
                          << " times";
    }
    for (const Ack& ack : acks) {
      EXPECT_EQ(ack.first_position, ack.last_position) << ack.request_id;
      if (ack.first_position == 0 || ack.first_position > log.size()) {
        ADD_FAILURE() << "acknowledged " << ack.request_id << " at position "
                      << ack.first_position << " is lost (log has "
                      << log.size() << " events)";
        continue;
      }
      const v1::Event& e = log[ack.first_position - 1];
      EXPECT_EQ(e.request_id(), ack.request_id)
          << "position " << ack.first_position;
      EXPECT_EQ(e.claim_id(), ack.claim_id) << ack.request_id;
      EXPECT_EQ(e.version(), ack.version) << ack.request_id;
    }
    // Every event is a command some client was (eventually) told about.
    EXPECT_EQ(by_request.size(), acks.size());
    seen_event_ids_.clear();
    for (const v1::Event& e : log) seen_event_ids_.push_back(e.event_id());
    return log.size();
  }

  // What the subscriber received must be the log's events, in order.
  void CheckSubscriber(Subscriber& subscriber) {
    const auto received = subscriber.Received();
    for (size_t i = 0; i < received.size(); ++i) {
      ASSERT_EQ(received[i].first, i + 1) << "subscriber gap or duplicate";
      if (i < seen_event_ids_.size()) {
        ASSERT_EQ(received[i].second, seen_event_ids_[i])
            << "subscriber got an event at position " << i + 1
            << " that is not in the log after the crash";
      }
    }
  }

  TempDir dir_;
  const std::string data_dir_ = dir_.path() + "/data";
  std::string address_;
  FactlogdProcess server_;
  std::vector<std::string> seen_event_ids_;  // by position - 1
};

TEST_F(CrashTest, AcknowledgedWritesSurviveSigkillAndRetriesApplyOnce) {
  const int cycles = static_cast<int>(EnvNumber("FACTLOG_CRASH_CYCLES", 20));
  // CI runs one fixed schedule; elsewhere each run tries a new one.
  const char* ci = std::getenv("CI");
  const bool under_ci = ci != nullptr && std::string(ci) == "true";
  const uint64_t seed = EnvNumber("FACTLOG_CRASH_SEED",
                                  under_ci ? 20261207 : std::random_device()());
  std::printf("crash_test: %d cycles, FACTLOG_CRASH_SEED=%llu\n", cycles,
              static_cast<unsigned long long>(seed));
  RecordProperty("cycles", cycles);
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  const absl::Time test_start = absl::Now();

  ASSERT_NO_FATAL_FAILURE(StartServer());
  Ledger ledger;
  Subscriber subscriber(address_);
  uint64_t total_unacked = 0, total_applied_before_crash = 0;
  uint64_t log_size = 0;

  for (int cycle = 1; cycle <= cycles; ++cycle) {
    // Drive writers until the kill moment: a number of acknowledged
    // commands, or a short delay.
    const bool by_count = rng() % 2 == 0;
    const uint64_t kill_after_acks = rng() % 300;
    const absl::Duration kill_after = absl::Milliseconds(rng() % 300);
    std::atomic<bool> stop{false}, killed{false};
    std::vector<std::thread> writers;
    const absl::Time cycle_start = absl::Now();
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back(Write, address_, cycle, w, rng(), std::cref(stop),
                           std::cref(killed), std::ref(ledger));
    }
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (absl::Now() < give_up &&
           (by_count ? ledger.AckedThisCycle() < kill_after_acks
                     : absl::Now() - cycle_start < kill_after)) {
      absl::SleepFor(absl::Microseconds(200));
    }
    killed = true;
    server_.process->Signal(SIGKILL);
    EXPECT_EQ(server_.process->Wait(), 128 + SIGKILL);
    stop = true;
    for (std::thread& t : writers) t.join();
    const uint64_t acked_before_kill = ledger.AckedThisCycle();

    const absl::Time restart_start = absl::Now();
    ASSERT_NO_FATAL_FAILURE(StartServer());
    const absl::Duration restart_took = absl::Now() - restart_start;
    subscriber.SetAddress(address_);

    // Retry every command whose RPC failed, with its request_id.
    const std::vector<v1::Command> pending = ledger.TakePending();
    std::unique_ptr<v1::ClaimService::Stub> stub =
        v1::ClaimService::NewStub(Connect(address_));
    int applied_before_crash = 0;
    for (const v1::Command& command : pending) {
      v1::CommandResponse response;
      grpc::Status status;
      for (int attempt = 0; attempt < 50; ++attempt) {
        status = Send(*stub, command, &response);
        if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
        absl::SleepFor(absl::Milliseconds(100));
      }
      ASSERT_TRUE(status.ok()) << "retry of " << RequestIdOf(command) << ": "
                               << status.error_message();
      if (response.deduplicated()) ++applied_before_crash;
      ledger.Acknowledge(command, response);
    }
    total_unacked += pending.size();
    total_applied_before_crash += applied_before_crash;

    log_size = CheckLog(cycle, ledger.acks());
    ASSERT_NO_FATAL_FAILURE(CheckSubscriber(subscriber));
    std::printf(
        "cycle %3d: kill after %-14s %5llu acked, %d unacked (%d had been "
        "applied), log %6llu events, restart %5.0f ms, subscriber at %llu\n",
        cycle,
        (by_count ? absl::StrCat(kill_after_acks, " acks")
                  : absl::StrCat(absl::ToInt64Milliseconds(kill_after), " ms"))
            .c_str(),
        static_cast<unsigned long long>(acked_before_kill),
        static_cast<int>(pending.size()), applied_before_crash,
        static_cast<unsigned long long>(log_size),
        absl::ToDoubleMilliseconds(restart_took),
        static_cast<unsigned long long>(subscriber.LastPosition()));
    std::fflush(stdout);
    if (HasFatalFailure() || ::testing::Test::HasFailure()) break;
  }

  // The subscriber ends with exactly 1..N.
  EXPECT_TRUE(subscriber.WaitFor(log_size, absl::Seconds(30)))
      << "subscriber stuck at " << subscriber.LastPosition() << " of "
      << log_size;
  subscriber.Stop();
  ASSERT_NO_FATAL_FAILURE(CheckSubscriber(subscriber));
  EXPECT_EQ(subscriber.Received().size(), log_size);

  // A clean stop, then the projections must match the log.
  server_.process->Signal(SIGTERM);
  EXPECT_EQ(server_.process->Wait(), 0);
  const testing::RunResult verify =
      RunToCompletion({FACTLOGD_PATH, "--verify", "--data-dir", data_dir_});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_THAT(verify.output, HasSubstr(absl::StrCat(log_size, " events")));

  const double seconds = absl::ToDoubleSeconds(absl::Now() - test_start);
  std::printf(
      "crash_test: %d cycles, %llu events, %llu unacknowledged commands "
      "retried (%llu had been applied), subscriber reconnects %llu, %.1f s\n",
      cycles, static_cast<unsigned long long>(log_size),
      static_cast<unsigned long long>(total_unacked),
      static_cast<unsigned long long>(total_applied_before_crash),
      static_cast<unsigned long long>(subscriber.Reconnects()), seconds);
  RecordProperty("events", std::to_string(log_size));
  RecordProperty("unacknowledged_retried", std::to_string(total_unacked));
  RecordProperty("applied_before_crash",
                 std::to_string(total_applied_before_crash));
  RecordProperty("seconds", absl::StrFormat("%.1f", seconds));
}

}  // namespace
}  // namespace factlog
