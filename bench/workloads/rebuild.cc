// rebuild and catchup over one large preloaded store.
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/commands.h"
#include "bench/process.h"
#include "bench/stream_call.h"
#include "bench/workloads/tracker.h"
#include "bench/workloads/workloads.h"
#include "factlog/v1/service.grpc.pb.h"

namespace factlog::bench {
namespace {

// The duration in factlogd's "rebuild: N events replayed into M claims in
// 2.5s" line; negative if absent.
double ReportedSeconds(const std::string& output) {
  const size_t at = output.find("rebuild: ");
  if (at == std::string::npos) return -1;
  const std::string line = output.substr(at, output.find('\n', at) - at);
  const size_t in = line.rfind(" in ");
  absl::Duration d;
  if (in == std::string::npos ||
      !absl::ParseDuration(line.substr(in + 4), &d)) {
    return -1;
  }
  return absl::ToDoubleSeconds(d);
}

// The duration after `label` in factlogd's "rebuild: clearing 1ms,
// replaying the log 2.1s, ..." line; negative if absent.
double PhaseSeconds(const std::string& output, const std::string& label) {
  const size_t at = output.find(absl::StrCat(label, " "));
  if (at == std::string::npos) return -1;
  const size_t from = at + label.size() + 1;
  const size_t end = output.find_first_of(",\n", from);
  absl::Duration d;
  if (!absl::ParseDuration(output.substr(from, end - from), &d)) return -1;
  return absl::ToDoubleSeconds(d);
}

absl::Status Catchup(Harness& h, const std::string& dir, uint64_t events) {
  auto server = InProcessServer::Start(dir);
  if (!server.ok()) return server.status();
  // One message as the subscriber receives it, for the ceiling's size.
  uint64_t bytes = 0, counted = 0;
  (void)(*server)->server().store().ReadEvents(1, [&](const v1::Event& e) {
    v1::SubscribeResponse m;
    *m.mutable_event() = e;
    bytes += m.ByteSizeLong();
    return ++counted < 1000;
  });
  const size_t message_bytes = counted ? bytes / counted : 300;
  const Row& ceiling = h.Stream(1, std::min<uint64_t>(events, 500000),
                                message_bytes > 3 ? message_bytes - 3 : 1);

  auto channel = Connect((*server)->server().address(), 1);
  v1::SubscribeRequest request;
  request.set_max_events_per_message(kEventsPerMessage);
  request.set_from_position(0);
  Tracker tracker;
  StreamCall<grpc::ByteBuffer> call(
      [&](grpc::ClientContext* ctx, grpc::CompletionQueue* cq) {
        return PrepareRawSubscribe(channel[0].get(), ctx, request, cq);
      },
      [&](const grpc::ByteBuffer& m) { return tracker.OnMessage(m); });
  // Long enough for 1,000,000 events at 20,000/s.
  const absl::Duration limit =
      std::max(absl::Seconds(60), h.config().window.duration * 3);
  const int64_t start = NowNanos();
  call.Start(h.pool().cq(0));
  const absl::Time deadline = absl::Now() + limit;
  while (!tracker.caught_up.load(std::memory_order_acquire) && !call.done() &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  const double seconds = (NowNanos() - start) / 1e9;
  const bool complete = tracker.caught_up.load();
  call.Cancel();
  while (!call.done()) absl::SleepFor(absl::Milliseconds(1));

  Row row;
  row.workload = "catchup";
  row.clients = 1;
  row.unit = "events";
  row.ops = tracker.received;
  row.ops_per_sec = tracker.received / seconds;
  row.baseline = "stream@1";
  row.baseline_ops_per_sec = ceiling.ops_per_sec;
  row.disk_bytes_per_event = (*server)->DiskBytesPerEvent();
  row.Extra("events", events);
  row.Extra("gaps", tracker.gaps);
  row.note = "one subscriber from position 0 until caught_up, read from disk";
  if (!complete) {
    row.note += absl::StrCat("; stopped after ", seconds, " s, not caught up");
  }
  if (call.status().error_code() != grpc::StatusCode::CANCELLED &&
      !call.status().ok()) {
    row.note += absl::StrCat("; stream error: ", call.status().error_message());
  }
  row.targets.push_back({"events/s", row.ops_per_sec, 200000, true});
  h.Add(row);
  return absl::OkStatus();
}

}  // namespace

absl::Status RunRebuildAndCatchup(Harness& h, bool rebuild, bool catchup) {
  const std::string dir = h.NewDataDir("big");
  PreloadSpec spec;
  spec.prefix = "r";
  spec.claims = h.config().rebuild_events * 2 / 5;
  while (spec.events() < h.config().rebuild_events) spec.claims += 4;
  const absl::Time preload_start = absl::Now();
  absl::StatusOr<uint64_t> events = PreloadStore(dir, spec);
  if (!events.ok()) return events.status();
  const double preload_seconds =
      absl::ToDoubleSeconds(absl::Now() - preload_start);

  if (rebuild) {
    if (h.config().factlogd.empty()) {
      return absl::FailedPreconditionError("rebuild: no --factlogd binary");
    }
    const int64_t start = NowNanos();
    auto child = ChildProcess::Start(
        {h.config().factlogd, "--rebuild", "--data-dir", dir});
    if (!child.ok()) return child.status();
    uint64_t peak_rss = 0;
    const int code = (*child)->Wait(&peak_rss);
    const double seconds = (NowNanos() - start) / 1e9;
    if (code != 0) {
      return absl::InternalError(absl::StrCat("factlogd --rebuild exited ",
                                              code, ": ", (*child)->output()));
    }
    Row row;
    row.workload = "rebuild";
    row.clients = 1;
    row.unit = "events";
    row.ops = *events;
    row.ops_per_sec = *events / seconds;
    row.rss_mib = peak_rss / double{1 << 20};
    row.rss_of = "factlogd --rebuild (peak)";
    row.disk_bytes_per_event = double(DirectoryBytes(dir)) / *events;
    row.Extra("claims", spec.claims);
    row.Extra("wall_seconds", seconds);
    row.Extra("reported_seconds", ReportedSeconds((*child)->output()));
    for (const char* phase :
         {"replaying the log", "writing projection files", "ingesting them"}) {
      row.Extra(absl::StrCat(absl::StrReplaceAll(phase, {{" ", "_"}}), "_s"),
                PhaseSeconds((*child)->output(), phase));
    }
    row.Extra("preload_seconds", preload_seconds);
    row.note =
        "wall time of `factlogd --rebuild` (open + replay + write); store "
        "preloaded through core::Writer with sync off";
    row.targets.push_back({"events/s", row.ops_per_sec, 500000, true});
    h.Add(row);
  }
  if (catchup) return Catchup(h, dir, *events);
  return absl::OkStatus();
}

}  // namespace factlog::bench
