// fanout, fanout-burst and idle-sub.
#include <signal.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/commands.h"
#include "bench/process.h"
#include "bench/stream_call.h"
#include "bench/workloads/tracker.h"
#include "bench/workloads/workloads.h"
#include "factlog/v1/service.grpc.pb.h"

namespace factlog::bench {
namespace {

using SubscribeCall = StreamCall<grpc::ByteBuffer>;

// factlogd allows 100 subscriptions per connection; use half.
constexpr int kSubscribersPerConnection = 50;

const std::string kRecordClaim = "/factlog.v1.ClaimService/RecordClaim";
const std::string kAddEvidence = "/factlog.v1.ClaimService/AddEvidence";

UnaryRequest MixRequest(absl::string_view prefix, uint64_t seq) {
  v1::Command c = MixCommand(prefix, seq);
  if (c.has_record_claim()) return {&kRecordClaim, Serialize(c.record_claim())};
  return {&kAddEvidence, Serialize(c.add_evidence())};
}

// Subscribers over connections of kSubscribersPerConnection each.
class Subscribers {
 public:
  Subscribers(CqPool& pool, const std::string& address, int count,
              int per_connection, const v1::SubscribeRequest& request,
              uint64_t start_position)
      : trackers_(count) {
    channels_ = Connect(address, (count + per_connection - 1) / per_connection);
    for (int i = 0; i < count; ++i) {
      trackers_[i].last_position = start_position;
      grpc::Channel* channel = channels_[i / per_connection].get();
      calls_.push_back(std::make_unique<SubscribeCall>(
          [channel, request](grpc::ClientContext* ctx,
                             grpc::CompletionQueue* cq) {
            return PrepareRawSubscribe(channel, ctx, request, cq);
          },
          [t = &trackers_[i]](const grpc::ByteBuffer& m) {
            return t->OnMessage(m);
          }));
    }
    for (int i = 0; i < count; ++i) calls_[i]->Start(pool.cq(i));
  }

  ~Subscribers() { CancelAndWait(); }

  // Waits until every stream satisfies `pred` (or ended); false on timeout.
  template <typename Pred>
  bool WaitAll(absl::Duration timeout, Pred pred) {
    const absl::Time deadline = absl::Now() + timeout;
    for (size_t i = 0; i < calls_.size(); ++i) {
      while (!pred(trackers_[i]) && !calls_[i]->done()) {
        if (absl::Now() >= deadline) return false;
        absl::SleepFor(absl::Milliseconds(2));
      }
    }
    return true;
  }

  void CancelAndWait() {
    for (auto& c : calls_) c->Cancel();
    for (auto& c : calls_) {
      while (!c->done()) absl::SleepFor(absl::Milliseconds(1));
    }
  }

  std::vector<Tracker>& trackers() { return trackers_; }
  // The first stream that ended with an error, if any.
  grpc::Status FirstError() const {
    for (auto& c : calls_) {
      if (c->done() && !c->status().ok() &&
          c->status().error_code() != grpc::StatusCode::CANCELLED) {
        return c->status();
      }
    }
    return grpc::Status::OK;
  }

 private:
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<Tracker> trackers_;
  std::vector<std::unique_ptr<SubscribeCall>> calls_;
};

}  // namespace

absl::Status RunFanout(Harness& h) {
  auto server = InProcessServer::Start(h.NewDataDir("fanout"));
  if (!server.ok()) return server.status();
  const std::string address = (*server)->server().address();
  const storage::EventStore& store = (*server)->server().store();
  const int count = h.config().fanout_subscribers;
  v1::SubscribeRequest request;
  request.set_max_events_per_message(kEventsPerMessage);
  request.set_from_end(true);
  const uint64_t start = store.LastPosition();
  Subscribers subs(h.pool(), address, count, kSubscribersPerConnection, request,
                   start);
  if (!subs.WaitAll(absl::Seconds(60), [](const Tracker& t) {
        return t.caught_up.load(std::memory_order_acquire);
      })) {
    return absl::DeadlineExceededError("fanout: subscribers not live in 60 s");
  }
  const absl::Time measure_from = absl::Now() + h.config().window.warmup;
  for (Tracker& t : subs.trackers()) {
    t.lag_from = absl::ToUnixNanos(measure_from);
  }

  auto append_channel = Connect(address, 1);
  const int64_t appends_start = NowNanos();
  UnaryLoadResult appends = RunPaced(
      h.pool(), append_channel, h.config().fanout_rate, h.config().window,
      [](int, uint64_t seq) { return MixRequest("f", seq); });
  const uint64_t last = store.LastPosition();
  const bool drained =
      subs.WaitAll(absl::Seconds(10), [last](const Tracker& t) {
        return t.last_position.load(std::memory_order_acquire) >= last;
      });
  // From the first append until the last subscriber had everything (or the
  // drain timed out).
  const double seconds = (NowNanos() - appends_start) / 1e9;
  const grpc::Status stream_error = subs.FirstError();
  subs.CancelAndWait();

  Histogram lag;
  uint64_t received = 0, gaps = 0, repeats = 0, fell_behind = 0, malformed = 0;
  for (Tracker& t : subs.trackers()) {
    lag.Merge(t.lag);
    received += t.received;
    gaps += t.gaps;
    repeats += t.repeats;
    fell_behind += t.fell_behind;
    malformed += t.malformed;
  }
  const double expected = static_cast<double>(count) * (last - start);
  Row row;
  row.workload = "fanout";
  row.clients = count;
  row.unit = "deliveries";
  row.ops = received;
  row.ops_per_sec = received / seconds;
  row.SetLatency(lag);
  row.baseline = "offered";
  row.baseline_ops_per_sec = count * appends.ops_per_sec();
  row.Extra("append_rate", appends.ops_per_sec());
  row.Extra("append_p99_ms", appends.latency.QuantileMs(0.99));
  row.Extra("delivered_fraction", expected > 0 ? received / expected : 0);
  row.Extra("lag_samples", lag.count());
  row.Extra("gaps", gaps);
  row.Extra("repeats", repeats);
  row.Extra("fell_behind", fell_behind);
  if (malformed > 0) row.Extra("malformed_messages", malformed);
  row.note =
      "rate: all deliveries from the first append until every subscriber "
      "had every event; latency columns: lag recorded_at -> received of "
      "events recorded after the warm-up; ratio = rate / (subscribers x "
      "appends/s)";
  if (!drained)
    row.note +=
        "; not every subscriber got every event within 10 s of the last append";
  if (!stream_error.ok()) {
    row.note += absl::StrCat("; stream error: ", stream_error.error_message());
  }
  row.targets.push_back({"fraction of events delivered",
                         expected > 0 ? received / expected : 0, 1, true});
  // No lag measured (nothing recorded after the warm-up arrived) is a
  // miss, not a 0.
  row.targets.push_back(
      {"lag p99 ms", lag.count() > 0 ? row.p99_ms : 1e9, 50, false});
  h.Add(row);
  return absl::OkStatus();
}

absl::Status RunFanoutBurst(Harness& h) {
  auto server = InProcessServer::Start(h.NewDataDir("burst"));
  if (!server.ok()) return server.status();
  const std::string address = (*server)->server().address();
  const storage::EventStore& store = (*server)->server().store();
  const uint64_t events = h.config().burst_events;
  {
    // The events go through the writer, so they are in the hub's window.
    constexpr int kStreams = 4;
    auto channels = Connect(address, kStreams);
    std::vector<std::thread> threads;
    for (int s = 0; s < kStreams; ++s) {
      threads.emplace_back([&, s] {
        auto stub = v1::ClaimService::NewStub(channels[s]);
        grpc::ClientContext ctx;
        v1::ImportResponse response;
        auto writer = stub->Import(&ctx, &response);
        const std::string prefix = absl::StrCat("b", s);
        for (uint64_t i = s; i < events; i += kStreams) {
          writer->Write(MixCommand(prefix, i / kStreams));
        }
        writer->WritesDone();
        writer->Finish();
      });
    }
    for (auto& t : threads) t.join();
  }
  const uint64_t last = store.LastPosition();
  if (last < events) {
    return absl::InternalError(
        absl::StrCat("fanout-burst: import stored ", last, " of ", events));
  }
  // Bytes per message as the subscribers receive them.
  uint64_t bytes = 0, counted = 0;
  (void)store.ReadEvents(1, [&](const v1::Event& e) {
    v1::SubscribeResponse m;
    *m.mutable_event() = e;
    m.set_status_after(v1::CLAIM_STATUS_DISPUTED);
    bytes += m.ByteSizeLong();
    return ++counted < 1000;
  });
  const size_t message_bytes = counted ? bytes / counted : 300;
  const int count = h.config().burst_subscribers;
  const size_t payload = message_bytes > 3 ? message_bytes - 3 : 1;
  const Row& ceiling = h.Stream(count, last, payload);

  v1::SubscribeRequest request;
  request.set_max_events_per_message(kEventsPerMessage);
  request.set_from_position(0);
  const int64_t begin = NowNanos();
  Subscribers subs(h.pool(), address, count, 1, request, 0);
  const bool done = subs.WaitAll(absl::Seconds(120), [](const Tracker& t) {
    return t.caught_up.load(std::memory_order_acquire);
  });
  const double seconds = (NowNanos() - begin) / 1e9;
  const grpc::Status stream_error = subs.FirstError();
  subs.CancelAndWait();
  uint64_t received = 0, gaps = 0, fell_behind = 0, malformed = 0;
  for (Tracker& t : subs.trackers()) {
    received += t.received;
    gaps += t.gaps;
    fell_behind += t.fell_behind;
    malformed += t.malformed;
  }
  Row row;
  row.workload = "fanout-burst";
  row.clients = count;
  row.unit = "deliveries";
  row.ops = received;
  row.ops_per_sec = received / seconds;
  row.baseline = absl::StrCat("stream@", count);
  row.baseline_ops_per_sec = ceiling.ops_per_sec;
  row.Extra("events", last);
  row.Extra("message_bytes", message_bytes);
  row.Extra("gaps", gaps);
  row.Extra("fell_behind", fell_behind);
  if (malformed > 0) row.Extra("malformed_messages", malformed);
  row.note = "every subscriber reads all events from the hub's window";
  if (!done) row.note += "; not all caught up within 120 s";
  if (!stream_error.ok()) {
    row.note += absl::StrCat("; stream error: ", stream_error.error_message());
  }
  row.targets.push_back(
      {"deliveries/s / stream ceiling@16", row.ratio(), 0.75, true});
  h.Add(row);
  return absl::OkStatus();
}

absl::Status RunIdleSubscribers(Harness& h) {
  if (h.config().factlogd.empty()) {
    return absl::FailedPreconditionError("idle-sub: no --factlogd binary");
  }
  const std::string dir = h.NewDataDir("idle");
  auto child = ChildProcess::Start(
      {h.config().factlogd, "--listen", "127.0.0.1:0", "--data-dir", dir});
  if (!child.ok()) return child.status();
  auto line = (*child)->WaitForLine("listening on", absl::Seconds(30));
  if (!line.ok()) return line.status();
  // "factlogd listening on 127.0.0.1:PORT (data dir ...)"
  const size_t at = line->find("listening on ") + 13;
  const std::string address = line->substr(at, line->find(' ', at) - at);

  const int count = h.config().idle_subscribers;
  const int connections =
      (count + kSubscribersPerConnection - 1) / kSubscribersPerConnection;
  auto channels = Connect(address, connections);
  auto stats = [&]() {
    auto stub = v1::AdminService::NewStub(channels[0]);
    grpc::ClientContext ctx;
    v1::GetStatsResponse response;
    stub->GetStats(&ctx, v1::GetStatsRequest(), &response);
    return response;
  };
  // Warm every connection (and the server's per-connection state) first,
  // so the difference is the subscriptions alone.
  for (auto& c : channels) {
    auto stub = v1::AdminService::NewStub(c);
    grpc::ClientContext ctx;
    v1::GetStatsResponse response;
    stub->GetStats(&ctx, v1::GetStatsRequest(), &response);
  }
  absl::SleepFor(absl::Milliseconds(300));
  const uint64_t rss_before = ProcessRssBytes((*child)->pid());
  const uint64_t hub_before = stats().hub_bytes();

  v1::SubscribeRequest request;
  request.set_max_events_per_message(kEventsPerMessage);
  request.set_from_end(true);
  uint64_t rss_after = 0, hub_after = 0, registered = 0;
  {
    Subscribers subs(h.pool(), address, count, kSubscribersPerConnection,
                     request, 0);
    if (!subs.WaitAll(absl::Seconds(60), [](const Tracker& t) {
          return t.caught_up.load(std::memory_order_acquire);
        })) {
      return absl::DeadlineExceededError("idle-sub: not all live in 60 s");
    }
    absl::SleepFor(absl::Milliseconds(500));
    rss_after = ProcessRssBytes((*child)->pid());
    v1::GetStatsResponse s = stats();
    hub_after = s.hub_bytes();
    registered = s.subscribers();
  }
  (*child)->Signal(SIGTERM);
  (*child)->Wait();

  const double per_rss =
      rss_after > rss_before ? double(rss_after - rss_before) / count : 0;
  const double per_hub =
      hub_after > hub_before ? double(hub_after - hub_before) / count : 0;
  Row row;
  row.workload = "idle-sub";
  row.clients = count;
  row.unit = "B/sub (RSS)";
  row.ops_per_sec = per_rss;
  row.rss_mib = rss_after / double{1 << 20};
  row.rss_of = "factlogd (separate process)";
  row.Extra("rss_before_mib", rss_before / double{1 << 20});
  row.Extra("rss_bytes_per_subscriber", per_rss);
  row.Extra("hub_bytes_per_subscriber", per_hub);
  row.Extra("subscribers_registered", registered);
  row.note =
      "rate column: factlogd RSS growth per idle subscription (connections "
      "opened and warmed before)";
  row.targets.push_back(
      {"server bytes per idle subscriber", per_rss, 20 * 1024, false});
  h.Add(row);
  return absl::OkStatus();
}

}  // namespace factlog::bench
