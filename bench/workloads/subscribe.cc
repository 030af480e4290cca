// fanout, fanout-burst and idle-sub.
#include <signal.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
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

// fanout's claims that take evidence, recorded before the stream opens.
constexpr int kFanoutTargets = 100;
std::string FanoutTarget(uint64_t n) { return absl::StrCat("ft-", n); }

// Command `seq` of fanout: the append mix's share of new claims and
// evidence, but the evidence goes to claims recorded before the run. The
// calls start open loop, so the mix's own evidence would often reach the
// server before the claim it is for and fail (NOT_FOUND): then far fewer
// events than the rate were appended, and the streams carried less than
// the rate says.
UnaryRequest FanoutRequest(uint64_t seq) {
  if (seq % 4 == 0) return MixRequest("f", seq);
  const uint64_t target = seq % kFanoutTargets;
  return {&kAddEvidence,
          Serialize(EvidenceRequest(FanoutTarget(target), target, seq))};
}

// Creates one not yet started stream on `channel` whose messages read as
// SubscribeResponse: factlog's Subscribe or the broadcast ceiling's Listen.
using PrepareStream =
    std::function<std::unique_ptr<grpc::ClientAsyncReader<grpc::ByteBuffer>>(
        grpc::Channel*, grpc::ClientContext*, grpc::CompletionQueue*)>;

PrepareStream SubscribeWith(const v1::SubscribeRequest& request) {
  return [request](grpc::Channel* channel, grpc::ClientContext* ctx,
                   grpc::CompletionQueue* cq) {
    return PrepareRawSubscribe(channel, ctx, request, cq);
  };
}

// Subscribers over connections of `per_connection` streams each.
class Subscribers {
 public:
  Subscribers(CqPool& pool, const std::string& address, int count,
              int per_connection, const PrepareStream& prepare,
              uint64_t start_position)
      : trackers_(count) {
    channels_ = Connect(address, (count + per_connection - 1) / per_connection);
    for (int i = 0; i < count; ++i) {
      trackers_[i].last_position = start_position;
      grpc::Channel* channel = channels_[i / per_connection].get();
      calls_.push_back(std::make_unique<SubscribeCall>(
          [channel, prepare](grpc::ClientContext* ctx,
                             grpc::CompletionQueue* cq) {
            return prepare(channel, ctx, cq);
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

// What `count` live subscribers received while events were published at
// a fixed rate.
struct LiveRun {
  UnaryLoadResult publishes;
  Histogram lag;
  uint64_t received = 0, gaps = 0, repeats = 0, fell_behind = 0, malformed = 0;
  double expected = 0;  // subscribers x events published
  double seconds = 0;   // first publish until the last one had everything
  bool drained = false;
  grpc::Status stream_error;

  double delivered_fraction() const {
    return expected > 0 ? received / expected : 0;
  }
};

// The row of a live run: deliveries, their lag, and what was offered.
Row DeliveryRow(absl::string_view workload, int count, const LiveRun& run) {
  Row row;
  row.workload = std::string(workload);
  row.clients = count;
  row.unit = "deliveries";
  row.ops = run.received;
  row.ops_per_sec = run.received / run.seconds;
  row.SetLatency(run.lag);
  row.baseline = "offered";
  row.baseline_ops_per_sec = count * run.publishes.ops_per_sec();
  return row;
}

// Opens `count` streams to `address` with `prepare`, waits until all are
// live, then publishes with `publish` at config.fanout_rate for warm-up +
// duration and waits (at most 10 s) until every stream has received up to
// `last_position()`. Events recorded after the warm-up count for the lag.
absl::StatusOr<LiveRun> RunLive(
    Harness& h, const std::string& address, int count,
    const PrepareStream& prepare, uint64_t start, const MakeUnary& publish,
    const std::function<uint64_t()>& last_position) {
  Subscribers subs(h.pool(), address, count, kSubscribersPerConnection, prepare,
                   start);
  if (!subs.WaitAll(absl::Seconds(60), [](const Tracker& t) {
        return t.caught_up.load(std::memory_order_acquire);
      })) {
    return absl::DeadlineExceededError("subscribers not live in 60 s");
  }
  const absl::Time measure_from = absl::Now() + h.config().window.warmup;
  for (Tracker& t : subs.trackers()) {
    t.lag_from = absl::ToUnixNanos(measure_from);
  }
  LiveRun run;
  auto channel = Connect(address, 1);
  const int64_t publishes_start = NowNanos();
  run.publishes = RunPaced(h.pool(), channel, h.config().fanout_rate,
                           h.config().window, publish);
  const uint64_t last = last_position();
  run.drained = subs.WaitAll(absl::Seconds(10), [last](const Tracker& t) {
    return t.last_position.load(std::memory_order_acquire) >= last;
  });
  run.seconds = (NowNanos() - publishes_start) / 1e9;
  run.stream_error = subs.FirstError();
  subs.CancelAndWait();
  for (Tracker& t : subs.trackers()) {
    run.lag.Merge(t.lag);
    run.received += t.received;
    run.gaps += t.gaps;
    run.repeats += t.repeats;
    run.fell_behind += t.fell_behind;
    run.malformed += t.malformed;
  }
  run.expected = static_cast<double>(count) * (last - start);
  return run;
}

// The broadcast ceiling (Baseline.Publish / Listen) with the subscribers,
// rate and event sizes of fanout: up to 1,000 of fanout's events, without
// their position and recorded_at, published round-robin.
absl::StatusOr<LiveRun> RunBroadcast(Harness& h, int count,
                                     const storage::EventStore& fanout_store,
                                     uint64_t fanout_start) {
  auto events = std::make_shared<std::vector<std::string>>();
  absl::Status read =
      fanout_store.ReadEvents(fanout_start + 1, [&](const v1::Event& e) {
        v1::Event unstamped = e;
        unstamped.clear_position();
        unstamped.clear_recorded_at();
        events->push_back(unstamped.SerializeAsString());
        return events->size() < 1000;
      });
  if (!read.ok()) return read;
  if (events->empty()) return absl::InternalError("fanout stored no events");
  static const std::string kPublish = "/factlog.bench.Baseline/Publish";
  const BaselineServer& baseline = h.baseline();
  ListenRequest request;
  request.set_max_events_per_message(kEventsPerMessage);
  return RunLive(
      h, baseline.address(), count,
      [request](grpc::Channel* channel, grpc::ClientContext* ctx,
                grpc::CompletionQueue* cq) {
        return PrepareRawListen(channel, ctx, request, cq);
      },
      baseline.BroadcastEvents(),
      [events](int, uint64_t seq) {
        Payload payload;
        payload.set_data((*events)[seq % events->size()]);
        return UnaryRequest{&kPublish, Serialize(payload)};
      },
      [&baseline] { return baseline.BroadcastEvents(); });
}

absl::Status RunFanout(Harness& h) {
  auto server = InProcessServer::Start(h.NewDataDir("fanout"));
  if (!server.ok()) return server.status();
  const std::string address = (*server)->server().address();
  const storage::EventStore& store = (*server)->server().store();
  const int count = h.config().fanout_subscribers;
  v1::SubscribeRequest request;
  request.set_max_events_per_message(kEventsPerMessage);
  request.set_from_end(true);
  {
    auto stub = v1::ClaimService::NewStub(Connect(address, 1)[0]);
    for (int n = 0; n < kFanoutTargets; ++n) {
      grpc::ClientContext ctx;
      v1::CommandResponse response;
      const grpc::Status status =
          stub->RecordClaim(&ctx, ClaimRequest(FanoutTarget(n), n), &response);
      if (!status.ok()) {
        return absl::InternalError(absl::StrCat("fanout: recording ",
                                                FanoutTarget(n), ": ",
                                                status.error_message()));
      }
    }
  }
  const uint64_t start = store.LastPosition();
  absl::StatusOr<LiveRun> fanout = RunLive(
      h, address, count, SubscribeWith(request), start,
      [](int, uint64_t seq) { return FanoutRequest(seq); },
      [&store] { return store.LastPosition(); });
  if (!fanout.ok()) {
    return absl::Status(fanout.status().code(),
                        absl::StrCat("fanout: ", fanout.status().message()));
  }
  absl::StatusOr<LiveRun> ceiling = RunBroadcast(h, count, store, start);
  // A ceiling that loses events measures nothing: the workload fails, after
  // reporting fanout's own row.
  absl::Status ceiling_error;
  if (!ceiling.ok()) {
    ceiling_error =
        absl::Status(ceiling.status().code(),
                     absl::StrCat("broadcast: ", ceiling.status().message()));
  } else if (!ceiling->drained || ceiling->gaps > 0 || ceiling->repeats > 0 ||
             ceiling->malformed > 0 || ceiling->received != ceiling->expected ||
             !ceiling->stream_error.ok()) {
    ceiling_error = absl::InternalError(
        absl::StrCat("broadcast: delivered ", ceiling->received, " of ",
                     ceiling->expected, " (gaps ", ceiling->gaps, ", repeats ",
                     ceiling->repeats, ", malformed ", ceiling->malformed, ") ",
                     ceiling->stream_error.error_message()));
  }
  Row row = DeliveryRow("fanout", count, *fanout);
  row.Extra("append_rate", fanout->publishes.ops_per_sec());
  row.Extra("append_errors", fanout->publishes.errors);
  row.Extra("append_p99_ms", fanout->publishes.latency.QuantileMs(0.99));
  row.Extra("delivered_fraction", fanout->delivered_fraction());
  row.Extra("lag_samples", fanout->lag.count());
  row.Extra("gaps", fanout->gaps);
  row.Extra("repeats", fanout->repeats);
  row.Extra("fell_behind", fanout->fell_behind);
  if (fanout->malformed > 0) row.Extra("malformed_messages", fanout->malformed);
  if (ceiling_error.ok()) {
    row.Extra("broadcast_lag_p50_ms", ceiling->lag.QuantileMs(0.5));
    row.Extra("broadcast_lag_p99_ms", ceiling->lag.QuantileMs(0.99));
  }
  row.note =
      "rate: all deliveries from the first append until every subscriber "
      "had every event; latency columns: lag recorded_at -> received of "
      "events recorded after the warm-up; ratio = rate / (subscribers x "
      "appends/s); broadcast_lag: the same lag of the broadcast ceiling";
  if (!fanout->drained)
    row.note +=
        "; not every subscriber got every event within 10 s of the last append";
  if (!fanout->stream_error.ok()) {
    row.note +=
        absl::StrCat("; stream error: ", fanout->stream_error.error_message());
  }
  row.targets.push_back(
      {"fraction of events delivered", fanout->delivered_fraction(), 1, true});
  // No lag measured (nothing recorded after the warm-up arrived) is a
  // miss, not a 0.
  row.targets.push_back(
      {"lag p99 ms", fanout->lag.count() > 0 ? row.p99_ms : 1e9, 50, false});
  if (!ceiling_error.ok()) {
    h.Add(row);
    return ceiling_error;
  }

  Row broadcast = DeliveryRow("broadcast", count, *ceiling);
  broadcast.Extra("delivered_fraction", ceiling->delivered_fraction());
  broadcast.Extra("gaps", ceiling->gaps);
  broadcast.Extra("repeats", ceiling->repeats);
  broadcast.note =
      "fanout's ceiling: the same subscribers, rate and events through a "
      "trivial in-memory broadcaster on the same gRPC stack (no store, no "
      "fsync); latency columns: lag publish -> received";
  h.Add(broadcast);
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
  Subscribers subs(h.pool(), address, count, 1, SubscribeWith(request), 0);
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
                     SubscribeWith(request), 0);
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
