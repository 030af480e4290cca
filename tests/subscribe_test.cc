// EventService.Subscribe over a real in-process server: catch-up, live,
// resume, filters, checkpoints, slow subscribers, limits, shutdown.
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "domain/event_filter.h"
#include "domain/time_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using ::testing::HasSubstr;
using testing::NewClaim;
using testing::NewEvidence;
using testing::TestServer;
using testing::Utc;

server::ServerOptions FastCheckpoints(size_t window_events = 100000) {
  server::ServerOptions options;
  options.hub.checkpoint_interval = absl::Milliseconds(20);
  options.hub.window_events = window_events;
  return options;
}

// Appends one claim and `evidence` refutations of it; returns the last
// position.
uint64_t AppendClaim(v1::ClaimService::Stub& stub, const std::string& id,
                     int evidence, const std::string& subject = "") {
  v1::RecordClaimRequest record = NewClaim(id);
  if (!subject.empty()) record.set_subject(subject);
  grpc::ClientContext ctx;
  v1::CommandResponse resp;
  grpc::Status s = stub.RecordClaim(&ctx, record, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  for (int i = 0; i < evidence; ++i) {
    grpc::ClientContext ectx;
    s = stub.AddEvidence(
        &ectx, NewEvidence(id, v1::STANCE_REFUTES, absl::StrCat("S", i)),
        &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  return resp.last_position();
}

// Bulk-appends `claims` claims through Import; returns the last position.
uint64_t ImportClaims(v1::ClaimService::Stub& stub, const std::string& prefix,
                      int claims) {
  grpc::ClientContext ctx;
  v1::ImportResponse resp;
  auto writer = stub.Import(&ctx, &resp);
  for (int i = 0; i < claims; ++i) {
    v1::Command c;
    *c.mutable_record_claim() = NewClaim(absl::StrCat(prefix, i));
    c.mutable_record_claim()->set_subject(i % 2 ? "odd" : "even");
    if (!writer->Write(c)) break;
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.last_position();
}

// A Subscribe stream read one event per message whatever the batching the
// test asked the server for; checks that batches keep to the asked size.
class EventReader {
 public:
  EventReader(std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader,
              uint32_t events_per_message)
      : reader_(std::move(reader)), limit_(events_per_message) {}

  bool Read(v1::SubscribeResponse* m) {
    while (pending_.empty()) {
      v1::SubscribeResponse next;
      if (!reader_->Read(&next)) return false;
      if (!next.has_events()) {
        EXPECT_FALSE(limit_ > 1 && next.has_event())
            << "a single event while batches were asked for";
        pending_.push_back(std::move(next));
        continue;
      }
      EXPECT_GT(limit_, 1u) << "a batch nobody asked for";
      EXPECT_GE(next.events().events_size(), 1);
      EXPECT_LE(static_cast<uint32_t>(next.events().events_size()), limit_);
      for (v1::SubscribedEvent& e : *next.mutable_events()->mutable_events()) {
        v1::SubscribeResponse single;
        single.mutable_event()->Swap(e.mutable_event());
        single.set_status_after(e.status_after());
        pending_.push_back(std::move(single));
      }
    }
    *m = std::move(pending_.front());
    pending_.pop_front();
    return true;
  }

  grpc::Status Finish() { return reader_->Finish(); }

 private:
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader_;
  const uint32_t limit_;
  std::deque<v1::SubscribeResponse> pending_;
};

// A subscriber reading on its own channel into `received`.
struct Received {
  std::vector<v1::Event> events;
  std::vector<v1::SubscribeResponse> control;  // checkpoints etc., in order
  grpc::Status status;
};

// Reads until a message covers `until` (event, checkpoint or caught_up with
// that position) or the stream ends.
Received ReadUntil(EventReader& reader, uint64_t until) {
  Received out;
  v1::SubscribeResponse m;
  while (reader.Read(&m)) {
    uint64_t covered = 0;
    if (m.has_event()) {
      out.events.push_back(m.event());
      covered = m.event().position();
    } else {
      out.control.push_back(m);
      covered = m.has_checkpoint()  ? m.checkpoint().position()
                : m.has_caught_up() ? m.caught_up().position()
                                    : 0;
    }
    if (covered >= until) return out;
  }
  out.status = reader.Finish();
  return out;
}

std::vector<v1::Event> AllEvents(TestServer& server,
                                 const v1::EventFilter& filter = {}) {
  std::vector<v1::Event> events;
  EXPECT_TRUE(server.server()
                  .store()
                  .ReadEvents(1,
                              [&](const v1::Event& e) {
                                if (domain::Matches(filter, e)) {
                                  events.push_back(e);
                                }
                                return true;
                              })
                  .ok());
  return events;
}

std::vector<uint64_t> Positions(const std::vector<v1::Event>& events) {
  std::vector<uint64_t> p;
  for (const auto& e : events) p.push_back(e.position());
  return p;
}

// Every test runs with one event per message (0) and with batches of up to
// 7 and 1024 events.
class SubscribeTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  std::unique_ptr<EventReader> Open(v1::EventService::Stub& stub,
                                    grpc::ClientContext* ctx,
                                    v1::SubscribeRequest req) {
    req.set_max_events_per_message(GetParam());
    testing::SetDeadline(ctx);  // a message that never comes fails the test
    return std::make_unique<EventReader>(stub.Subscribe(ctx, req), GetParam());
  }
};

INSTANTIATE_TEST_SUITE_P(EventsPerMessage, SubscribeTest,
                         ::testing::Values(0u, 7u, 1024u));

TEST_P(SubscribeTest, CatchesUpThenDeliversLiveEventsWithStatus) {
  TestServer server(FastCheckpoints());
  const uint64_t before = AppendClaim(server.claims(), "early", 4);

  grpc::ClientContext ctx;
  v1::SubscribeRequest req;
  req.set_from_position(0);
  auto reader = Open(server.events(), &ctx, req);
  Received caught = ReadUntil(*reader, before);
  EXPECT_EQ(Positions(caught.events), Positions(AllEvents(server)));
  // Next comes caught_up at the log's end.
  v1::SubscribeResponse m;
  ASSERT_TRUE(reader->Read(&m));
  ASSERT_TRUE(m.has_caught_up()) << m.DebugString();
  EXPECT_EQ(m.caught_up().position(), before);

  // Live: an evidence arrives with the claim's status after it.
  grpc::ClientContext ectx;
  v1::CommandResponse resp;
  ASSERT_TRUE(
      server.claims()
          .AddEvidence(&ectx,
                       NewEvidence("early", v1::STANCE_SUPPORTS, "Kremlin"),
                       &resp)
          .ok());
  do {
    ASSERT_TRUE(reader->Read(&m));
  } while (!m.has_event());
  EXPECT_EQ(m.event().position(), before + 1);
  EXPECT_EQ(m.status_after(), v1::CLAIM_STATUS_DISPUTED);
  ctx.TryCancel();
}

TEST_P(SubscribeTest,
       ResumingFromLastPositionGivesEveryEventOnceWhileWritersRun) {
  TestServer server(FastCheckpoints(/*window_events=*/64));
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    auto stub = v1::ClaimService::NewStub(server.channel());
    for (int i = 0; i < 60; ++i) AppendClaim(*stub, absl::StrCat("w", i), 4);
    writing = false;
  });

  std::vector<v1::Event> seen;
  uint64_t resume = 0;
  // Rounds are bounded by time, not by count: a round may get nothing when
  // the server has not yet reaped the streams cancelled before it (the
  // per-connection subscription limit answers RESOURCE_EXHAUSTED), and how
  // many such rounds fit while the writer runs depends on the machine.
  const absl::Time give_up = absl::Now() + absl::Seconds(120);
  for (int round = 0;; ++round) {
    ASSERT_LT(absl::Now(), give_up)
        << "no progress after " << round << " rounds, resume at " << resume;
    const bool writer_done = !writing;  // before subscribing
    grpc::ClientContext ctx;
    v1::SubscribeRequest req;
    req.set_from_position(resume);
    auto reader = Open(server.events(), &ctx, req);
    v1::SubscribeResponse m;
    bool caught_up = false;
    // Read a few events, then disconnect abruptly.
    for (int n = 0; n < 37 && reader->Read(&m);) {
      if (m.has_caught_up()) {
        caught_up = true;
        break;
      }
      if (!m.has_event()) continue;
      seen.push_back(m.event());
      resume = m.event().position();
      ++n;
    }
    ctx.TryCancel();
    const grpc::Status finished = reader->Finish();
    if (writer_done && caught_up) break;
    // Refused: let the server reap the cancelled streams first.
    if (finished.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  writer.join();

  std::vector<v1::Event> all = AllEvents(server);
  ASSERT_EQ(all.size(), 300u);
  EXPECT_EQ(Positions(seen), Positions(all));
}

TEST_P(SubscribeTest,
       ManySubscribersWithMixedFiltersEachSeeExactlyTheirEvents) {
  TestServer server(FastCheckpoints(/*window_events=*/512));
  constexpr int kSubscribers = 200;
  constexpr int kWriters = 8;
  constexpr int kClaimsPerWriter = 12;

  std::vector<v1::EventFilter> filters(kSubscribers);
  for (int i = 0; i < kSubscribers; ++i) {
    switch (i % 5) {
      case 0:
        break;  // everything
      case 1:
        filters[i].set_subject(absl::StrCat("subject-", i % 3));
        break;
      case 2:
        filters[i].add_types(v1::EVENT_TYPE_CLAIM_RECORDED);
        break;
      case 3:
        filters[i].set_claim_id(absl::StrCat("w", i % kWriters, "-c", i % 7));
        break;
      case 4:
        filters[i].set_claim_id("never-written");  // only checkpoints
        break;
    }
  }
  // Subscribers start at the beginning, before and while writers run.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < 4; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("factlog-test-channel", c);  // distinct connections
    channels.push_back(grpc::CreateCustomChannel(
        server.server().address(), grpc::InsecureChannelCredentials(), args));
  }
  std::vector<Received> results(kSubscribers);
  std::vector<std::thread> readers;
  std::atomic<uint64_t> final_position{UINT64_MAX};
  std::atomic<int> started{0};
  for (int i = 0; i < kSubscribers; ++i) {
    readers.emplace_back([&, i] {
      auto stub = v1::EventService::NewStub(channels[i % channels.size()]);
      grpc::ClientContext ctx;
      // Fifty streams open on each connection at once while the machine is
      // busy: a connection attempt that fails once is retried rather than
      // failing every stream on it (what the server sends is under test,
      // not the client's connecting).
      ctx.set_wait_for_ready(true);
      v1::SubscribeRequest req;
      req.set_from_position(0);
      *req.mutable_filter() = filters[i];
      auto reader = Open(*stub, &ctx, req);
      ++started;
      v1::SubscribeResponse m;
      bool reached_end = false;
      while (!reached_end && reader->Read(&m)) {
        uint64_t covered = 0;
        if (m.has_event()) {
          results[i].events.push_back(m.event());
          covered = m.event().position();
        } else if (m.has_checkpoint()) {
          covered = m.checkpoint().position();
        } else if (m.has_caught_up()) {
          covered = m.caught_up().position();
        }
        reached_end = covered >= final_position.load();
      }
      ctx.TryCancel();
      const grpc::Status status = reader->Finish();
      // A stream that ended before the end of the log says why.
      if (!reached_end) results[i].status = status;
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto stub = v1::ClaimService::NewStub(server.channel());
      for (int c = 0; c < kClaimsPerWriter; ++c) {
        AppendClaim(*stub, absl::StrCat("w", w, "-c", c), 2,
                    absl::StrCat("subject-", c % 3));
      }
    });
  }
  for (auto& t : writers) t.join();
  // One more event after the readers know where the end is: a reader may
  // have seen everything up to the old end before final_position was set,
  // and is only released by a message covering a later position — this
  // event, or the checkpoint that steps over it.
  final_position = server.server().store().LastPosition() + 1;
  EXPECT_EQ(AppendClaim(server.claims(), "sentinel", 0, "sentinel"),
            final_position.load());
  for (auto& t : readers) t.join();

  ASSERT_EQ(final_position.load(),
            static_cast<uint64_t>(kWriters * kClaimsPerWriter * 3 + 1));
  for (int i = 0; i < kSubscribers; ++i) {
    SCOPED_TRACE(absl::StrCat("subscriber ", i, " filter ",
                              filters[i].ShortDebugString()));
    EXPECT_TRUE(results[i].status.ok())
        << "the stream ended early: " << results[i].status.error_code() << " "
        << results[i].status.error_message();
    EXPECT_EQ(Positions(results[i].events),
              Positions(AllEvents(server, filters[i])));
  }
}

TEST_P(SubscribeTest,
       SubscriberThatNeverReadsKeepsHubMemoryBoundedAndMissesNothing) {
  server::ServerOptions options = FastCheckpoints(/*window_events=*/200);
  options.hub.window_bytes = 128 << 10;
  TestServer server(options);
  grpc::ClientContext ctx;
  v1::SubscribeRequest req;
  req.set_from_position(0);
  auto reader = Open(server.events(), &ctx, req);  // never read (yet)

  // Far more event bytes than the window holds.
  size_t peak = 0;
  uint64_t last = 0;
  for (int round = 0; round < 10; ++round) {
    last = ImportClaims(server.claims(), absl::StrCat("r", round, "-"), 500);
    peak = std::max(peak, server.server().hub().AccountedBytes());
  }
  const size_t written = AllEvents(server).size() * 150;  // ~150 B an event
  EXPECT_EQ(last, 5000u);
  // The setup's own check: far more than the window was written. Against
  // the window, not the peak seen: with 1,024 events a message, the peak
  // may hold a whole message's buffer beside the window (271 KiB seen
  // under TSan), which the next bound allows.
  EXPECT_GT(written, 5 * options.hub.window_bytes);
  EXPECT_LT(peak, (128u << 10) + (256u << 10)) << "window + one buffer";

  // Now it reads: everything, in order, with the fell-behind story told.
  Received all = ReadUntil(*reader, last);
  EXPECT_EQ(Positions(all.events), Positions(AllEvents(server)));
  bool fell_behind = false;
  for (const auto& c : all.control)
    fell_behind = fell_behind || c.has_fell_behind();
  EXPECT_TRUE(fell_behind) << "the window was far smaller than the backlog";
  ctx.TryCancel();
}

TEST_P(SubscribeTest, CatchUpOfOneHundredThousandEventsStaysBounded) {
  TestServer server(FastCheckpoints(/*window_events=*/1000));
  uint64_t last = 0;
  for (int round = 0; round < 20; ++round) {
    last = ImportClaims(server.claims(), absl::StrCat("big", round, "-"), 5000);
  }
  ASSERT_EQ(last, 100000u);
  grpc::ClientContext ctx;
  v1::SubscribeRequest req;
  req.set_from_position(0);
  req.mutable_filter()->set_subject("odd");
  auto reader = Open(server.events(), &ctx, req);
  uint64_t expected = 2;  // odd-numbered claims: positions 2, 4, ...
  size_t peak = 0;
  v1::SubscribeResponse m;
  while (reader->Read(&m)) {
    if (m.has_caught_up()) break;
    if (!m.has_event()) continue;
    ASSERT_EQ(m.event().position(), expected);
    expected += 2;
    if (expected % 5000 == 0) {
      peak = std::max(peak, server.server().hub().AccountedBytes());
    }
  }
  EXPECT_EQ(expected, 100002u);
  EXPECT_LT(peak, 4u << 20);
  ctx.TryCancel();
}

TEST_P(SubscribeTest, CheckpointsAdvanceWhenTheFilterMatchesNothing) {
  TestServer server(FastCheckpoints());
  grpc::ClientContext ctx;
  v1::SubscribeRequest req;
  req.set_from_end(true);
  req.mutable_filter()->set_claim_id("nothing-matches");
  auto reader = Open(server.events(), &ctx, req);
  v1::SubscribeResponse m;
  ASSERT_TRUE(reader->Read(&m));
  EXPECT_TRUE(m.has_caught_up());
  const uint64_t last = AppendClaim(server.claims(), "other", 3);
  Received r = ReadUntil(*reader, last);
  EXPECT_TRUE(r.events.empty());
  ASSERT_FALSE(r.control.empty());
  EXPECT_TRUE(r.control.back().has_checkpoint());
  EXPECT_EQ(r.control.back().checkpoint().position(), last);
  ctx.TryCancel();
}

TEST_P(SubscribeTest, StartBeyondTheLogIsOutOfRangeAndBadFilterInvalid) {
  TestServer server;
  AppendClaim(server.claims(), "one", 0);
  {
    grpc::ClientContext ctx;
    v1::SubscribeRequest req;
    req.set_from_position(5);
    auto reader = Open(server.events(), &ctx, req);
    v1::SubscribeResponse m;
    EXPECT_FALSE(reader->Read(&m));
    grpc::Status s = reader->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
    EXPECT_THAT(s.error_message(), HasSubstr("last committed position 1"));
  }
  {
    grpc::ClientContext ctx;
    v1::SubscribeRequest req;
    req.mutable_filter()->set_subject("Not A Slug");
    auto reader = Open(server.events(), &ctx, req);
    v1::SubscribeResponse m;
    EXPECT_FALSE(reader->Read(&m));
    EXPECT_EQ(reader->Finish().error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_P(SubscribeTest, PerConnectionLimitIsResourceExhaustedAndStatsShowLag) {
  server::ServerOptions options;
  options.hub.max_subscribers_per_peer = 2;
  TestServer server(options);
  AppendClaim(server.claims(), "lagging", 9);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>>>
      readers;
  for (int i = 0; i < 2; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    testing::SetDeadline(contexts.back().get());
    v1::SubscribeRequest req;
    req.set_from_end(true);
    readers.push_back(server.events().Subscribe(contexts.back().get(), req));
    v1::SubscribeResponse m;
    ASSERT_TRUE(readers.back()->Read(&m));  // caught_up: registered
  }
  grpc::ClientContext third;
  testing::SetDeadline(&third);
  auto refused = server.events().Subscribe(&third, v1::SubscribeRequest());
  v1::SubscribeResponse m;
  EXPECT_FALSE(refused->Read(&m));
  grpc::Status s = refused->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("max_subscribers_per_connection"));

  auto admin = v1::AdminService::NewStub(server.channel());
  grpc::ClientContext sctx;
  v1::GetStatsResponse stats;
  ASSERT_TRUE(admin->GetStats(&sctx, v1::GetStatsRequest(), &stats).ok());
  EXPECT_EQ(stats.last_position(), 10u);
  EXPECT_EQ(stats.subscribers(), 2u);
  ASSERT_EQ(stats.subscriber_size(), 2);
  EXPECT_EQ(stats.subscriber(0).lag(), 0u);
  EXPECT_TRUE(stats.subscriber(0).live());
  EXPECT_GT(stats.disk_bytes(), 0u);
  for (auto& c : contexts) c->TryCancel();
}

TEST_P(SubscribeTest, ShutdownEndsStreamsWithUnavailable) {
  auto server = std::make_unique<TestServer>();
  AppendClaim(server->claims(), "x", 0);
  grpc::ClientContext ctx;
  v1::SubscribeRequest req;
  auto reader = Open(server->events(), &ctx, req);
  Received before = ReadUntil(*reader, 1);
  ASSERT_EQ(before.events.size(), 1u);
  std::thread stopper([&] { server->Stop(); });
  v1::SubscribeResponse m;
  while (reader->Read(&m)) {
  }
  grpc::Status s = reader->Finish();
  stopper.join();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

// ---- Overdue notices
// ----------------------------------------------------------
//
// The server's clock is pinned and moved by hand; sweeps run every 10 ms of
// real time. Tests never wait for time to pass: they read until a message
// (a notice, or a checkpoint whose overdue cursor reached a time) shows the
// server got there, with a deadline on the stream so a missing message fails
// instead of hanging.

struct OverdueServer {
  // `clock_fn` replaces `clock` as the server's clock when given.
  explicit OverdueServer(std::function<void()> before_commit = nullptr,
                         std::function<absl::Time()> clock_fn = nullptr)
      : clock(std::make_shared<testing::FakeClock>(Utc(2014, 5, 19))) {
    server::ServerOptions options = FastCheckpoints();
    options.hub.overdue_sweep_interval = absl::Milliseconds(10);
    options.clock =
        clock_fn ? std::move(clock_fn) : [c = clock] { return c->Now(); };
    options.writer_before_commit = std::move(before_commit);
    server = std::make_unique<TestServer>(options);
  }
  v1::ClaimService::Stub& claims() { return server->claims(); }

  std::shared_ptr<testing::FakeClock> clock;
  std::unique_ptr<TestServer> server;
};

void RecordPromise(v1::ClaimService::Stub& stub, const std::string& id,
                   absl::Time due, v1::ClaimKind kind = v1::CLAIM_KIND_PROMISE,
                   const std::string& subject = "") {
  v1::RecordClaimRequest req = NewClaim(id, "The troops will be back.");
  req.set_kind(kind);
  if (due != absl::InfinitePast()) *req.mutable_due_at() = domain::ToProto(due);
  if (!subject.empty()) req.set_subject(subject);
  grpc::ClientContext ctx;
  v1::CommandResponse resp;
  grpc::Status s = stub.RecordClaim(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << id << ": " << s.error_message();
}

void AddSupport(v1::ClaimService::Stub& stub, const std::string& id,
                const std::string& evidence_id) {
  v1::AddEvidenceRequest req = NewEvidence(id, v1::STANCE_SUPPORTS, "TASS");
  req.set_evidence_id(evidence_id);
  grpc::ClientContext ctx;
  v1::CommandResponse resp;
  ASSERT_TRUE(stub.AddEvidence(&ctx, req, &resp).ok());
}

// One Subscribe stream with a deadline, so that a missing message fails the
// test instead of hanging it.
struct Stream {
  // `events_per_message`: SubscribeRequest.max_events_per_message.
  Stream(TestServer& server, v1::SubscribeRequest request,
         uint32_t events_per_message) {
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(60));
    request.set_max_events_per_message(events_per_message);
    reader = std::make_unique<EventReader>(
        server.events().Subscribe(&ctx, request), events_per_message);
  }
  ~Stream() {
    ctx.TryCancel();
    Finish();
  }
  // Idempotent.
  grpc::Status Finish() {
    if (!finished) {
      finished = true;
      status = reader->Finish();
    }
    return status;
  }
  grpc::ClientContext ctx;
  bool finished = false;
  grpc::Status status;
  std::unique_ptr<EventReader> reader;
};

v1::SubscribeRequest OverdueRequest(
    std::optional<v1::OverdueCursor> after = std::nullopt, bool only = false) {
  v1::SubscribeRequest req;
  req.set_from_end(true);
  req.mutable_overdue()->set_notify(true);
  req.mutable_overdue()->set_only(only);
  if (after) *req.mutable_overdue()->mutable_after() = *after;
  return req;
}

struct Seen {
  std::vector<v1::ClaimOverdue> notices;
  std::vector<v1::Event> events;
  std::vector<v1::SubscribeResponse> all;
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& n : notices) out.push_back(n.claim_id());
    return out;
  }
};

// Reads until `done` holds for a message (included in what is returned);
// records a failure when the stream ends first.
Seen ReadUntilMessage(
    Stream& stream,
    const std::function<bool(const v1::SubscribeResponse&)>& done) {
  Seen seen;
  v1::SubscribeResponse m;
  while (stream.reader->Read(&m)) {
    seen.all.push_back(m);
    if (m.has_overdue()) seen.notices.push_back(m.overdue());
    if (m.has_event()) seen.events.push_back(m.event());
    if (done(m)) return seen;
  }
  ADD_FAILURE() << "stream ended: " << stream.Finish().error_message();
  return seen;
}

// A checkpoint saying every notice up to `t` has been sent.
auto CursorReached(absl::Time t) {
  return [t](const v1::SubscribeResponse& m) {
    return m.has_checkpoint() && m.checkpoint().has_overdue_cursor() &&
           m.checkpoint().overdue_cursor().has_at() &&
           domain::FromProto(m.checkpoint().overdue_cursor().at()) >= t;
  };
}

auto NoticeFor(const std::string& claim_id) {
  return [claim_id](const v1::SubscribeResponse& m) {
    return m.has_overdue() && m.overdue().claim_id() == claim_id;
  };
}

// Every test runs with one event per message and with batches of up to 7:
// notices keep their place between batches.
class SubscribeOverdueTest : public ::testing::TestWithParam<uint32_t> {};

INSTANTIATE_TEST_SUITE_P(EventsPerMessage, SubscribeOverdueTest,
                         ::testing::Values(0u, 7u));

TEST_P(SubscribeOverdueTest,
       ClockPassingDueDatesGivesOneNoticePerClaimInOrder) {
  OverdueServer s;
  Stream stream(*s.server, OverdueRequest(), GetParam());
  ReadUntilMessage(stream,
                   CursorReached(Utc(2014, 5, 19)));  // live and swept once
  RecordPromise(s.claims(), "a", Utc(2014, 5, 22));
  RecordPromise(s.claims(), "b", Utc(2014, 5, 20));
  RecordPromise(s.claims(), "c", Utc(2014, 5, 21));
  RecordPromise(s.claims(), "f", Utc(2014, 5, 21), v1::CLAIM_KIND_PREDICTION);
  RecordPromise(s.claims(), "fact", absl::InfinitePast(), v1::CLAIM_KIND_FACT);
  RecordPromise(s.claims(), "no-due", absl::InfinitePast());
  RecordPromise(s.claims(), "later", Utc(2014, 5, 30));

  s.clock->Advance(Utc(2014, 5, 23) - Utc(2014, 5, 19));
  Seen seen = ReadUntilMessage(stream, CursorReached(Utc(2014, 5, 23)));
  EXPECT_THAT(seen.ids(), ::testing::ElementsAre("b", "c", "f", "a"));
  for (const v1::ClaimOverdue& n : seen.notices) {
    SCOPED_TRACE(n.ShortDebugString());
    // Recorded before it was due: the episode begins at the due date.
    EXPECT_EQ(domain::FromProto(n.overdue_at()), domain::FromProto(n.due_at()));
    EXPECT_EQ(domain::FromProto(n.cursor().at()),
              domain::FromProto(n.overdue_at()));
    EXPECT_EQ(n.cursor().claim_id(), n.claim_id());
    EXPECT_EQ(n.claimant(), "Vladimir Putin");
    EXPECT_EQ(n.text(), "The troops will be back.");
    EXPECT_GE(n.position(), 7u);
  }
  EXPECT_EQ(seen.notices[2].kind(), v1::CLAIM_KIND_PREDICTION);
  // Events still flow beside the notices, and nothing comes twice.
  EXPECT_EQ(seen.events.size(), 7u);
  s.clock->Advance(absl::Hours(24));
  seen = ReadUntilMessage(stream, CursorReached(Utc(2014, 5, 24)));
  EXPECT_TRUE(seen.notices.empty()) << seen.ids().size();
}

TEST_P(SubscribeOverdueTest, ResumingAfterACursorGivesExactlyTheLaterNotices) {
  OverdueServer s;
  RecordPromise(s.claims(), "a", Utc(2014, 5, 21));
  RecordPromise(s.claims(), "b", Utc(2014, 5, 20));
  v1::OverdueCursor last;
  v1::OverdueCursor first;
  {
    Stream stream(*s.server, OverdueRequest(), GetParam());
    ReadUntilMessage(stream, CursorReached(Utc(2014, 5, 19)));
    s.clock->Advance(Utc(2014, 5, 22) - Utc(2014, 5, 19));
    Seen seen = ReadUntilMessage(stream, NoticeFor("a"));
    ASSERT_THAT(seen.ids(), ::testing::ElementsAre("b", "a"));
    first = seen.notices.front().cursor();
    last = seen.notices.back().cursor();
  }                                                  // disconnected
  RecordPromise(s.claims(), "c", Utc(2014, 5, 23));  // due while nobody listens
  s.clock->Advance(Utc(2014, 5, 24) - Utc(2014, 5, 22));

  {  // with the last cursor: only what came after it
    Stream stream(*s.server, OverdueRequest(last), GetParam());
    Seen seen = ReadUntilMessage(stream, CursorReached(Utc(2014, 5, 24)));
    EXPECT_THAT(seen.ids(), ::testing::ElementsAre("c"));
  }
  {  // with an older cursor: exactly the ones after it
    Stream stream(*s.server, OverdueRequest(first), GetParam());
    Seen seen = ReadUntilMessage(stream, CursorReached(Utc(2014, 5, 24)));
    EXPECT_THAT(seen.ids(), ::testing::ElementsAre("a", "c"));
  }
  {  // from the epoch: every claim overdue now
    v1::OverdueCursor epoch;
    epoch.mutable_at();
    Stream stream(*s.server, OverdueRequest(epoch), GetParam());
    Seen seen = ReadUntilMessage(stream, CursorReached(Utc(2014, 5, 24)));
    EXPECT_THAT(seen.ids(), ::testing::ElementsAre("b", "a", "c"));
  }
  {  // without a cursor: only from now on
    Stream stream(*s.server, OverdueRequest(), GetParam());
    Seen seen = ReadUntilMessage(stream, CursorReached(Utc(2014, 5, 24)));
    EXPECT_TRUE(seen.notices.empty());
  }
}

TEST_P(SubscribeOverdueTest, CheckpointCursorResumesWithoutRepeats) {
  OverdueServer s;
  RecordPromise(s.claims(), "a", Utc(2014, 5, 20));
  v1::OverdueCursor checkpoint;
  {
    Stream stream(*s.server, OverdueRequest(), GetParam());
    ReadUntilMessage(stream,
                     CursorReached(Utc(2014, 5, 19)));  // started at May 19
    s.clock->Advance(Utc(2014, 5, 21) - Utc(2014, 5, 19));
    Seen seen = ReadUntilMessage(stream, CursorReached(Utc(2014, 5, 21)));
    ASSERT_THAT(seen.ids(), ::testing::ElementsAre("a"));
    checkpoint = seen.all.back().checkpoint().overdue_cursor();
    EXPECT_TRUE(checkpoint.claim_id().empty());
  }
  RecordPromise(s.claims(), "b",
                Utc(2014, 5, 20) + absl::Hours(1));  // already due
  Stream stream(*s.server, OverdueRequest(checkpoint), GetParam());
  Seen seen = ReadUntilMessage(stream, NoticeFor("b"));
  EXPECT_THAT(seen.ids(), ::testing::ElementsAre("b"));
}

TEST_P(SubscribeOverdueTest, ClaimRecordedPastItsDueDateGetsANotice) {
  OverdueServer s;
  Stream stream(*s.server, OverdueRequest(), GetParam());
  ReadUntilMessage(stream, CursorReached(Utc(2014, 5, 19)));
  // The clock does not move: the episode begins when the claim is recorded.
  RecordPromise(s.claims(), "late", Utc(2014, 5, 1));
  Seen seen = ReadUntilMessage(stream, NoticeFor("late"));
  ASSERT_EQ(seen.notices.size(), 1u);
  EXPECT_EQ(domain::FromProto(seen.notices[0].due_at()), Utc(2014, 5, 1));
  EXPECT_GE(domain::FromProto(seen.notices[0].overdue_at()), Utc(2014, 5, 19));
}

TEST_P(SubscribeOverdueTest, WithdrawnSupportAfterTheDeadlineIsANewNotice) {
  OverdueServer s;
  Stream stream(*s.server, OverdueRequest(), GetParam());
  ReadUntilMessage(stream,
                   CursorReached(Utc(2014, 5, 19)));  // started at May 19
  RecordPromise(s.claims(), "p", Utc(2014, 5, 20));
  s.clock->Advance(Utc(2014, 5, 21) - Utc(2014, 5, 19));
  Seen first = ReadUntilMessage(stream, NoticeFor("p"));
  AddSupport(s.claims(), "p", "tass");
  s.clock->Advance(absl::Hours(24));  // May 22
  {
    grpc::ClientContext ctx;
    v1::WithdrawEvidenceRequest req;
    req.set_claim_id("p");
    req.set_evidence_id("tass");
    req.set_reason("misattributed");
    v1::CommandResponse resp;
    ASSERT_TRUE(s.claims().WithdrawEvidence(&ctx, req, &resp).ok());
  }
  Seen second = ReadUntilMessage(stream, NoticeFor("p"));
  ASSERT_EQ(second.notices.size(), 1u);
  EXPECT_EQ(domain::FromProto(first.notices.back().overdue_at()),
            Utc(2014, 5, 20));
  // The withdrawal's recorded_at: the pinned clock, or a nanosecond after a
  // safe time a sweep took at that same instant (stamps never repeat one).
  EXPECT_GE(domain::FromProto(second.notices[0].overdue_at()),
            Utc(2014, 5, 22));
  EXPECT_LT(domain::FromProto(second.notices[0].overdue_at()),
            Utc(2014, 5, 22) + absl::Microseconds(1));
}

TEST_P(SubscribeOverdueTest, VerdictBeforeAnySweepSawItMeansNoNotice) {
  // The verdict is held between its stamp (before the due date) and its
  // write while the clock moves past the due date: SafeTime keeps every
  // sweep below the verdict's stamp until it is written, so no sweep sees
  // the claim overdue.
  std::atomic<bool> hold{false};
  absl::Notification held, release;
  OverdueServer s([&] {
    if (!hold.exchange(false)) return;
    held.Notify();
    release.WaitForNotification();
  });
  Stream stream(*s.server, OverdueRequest(), GetParam());
  ReadUntilMessage(stream,
                   CursorReached(Utc(2014, 5, 19)));  // started at May 19
  RecordPromise(s.claims(), "rated", Utc(2014, 5, 20));
  RecordPromise(s.claims(), "control", Utc(2014, 5, 20));
  hold = true;
  std::thread verdict([&] {
    grpc::ClientContext ctx;
    v1::IssueVerdictRequest req;
    req.set_claim_id("rated");
    req.set_rating(v1::RATING_KEPT);
    req.set_summary("kept early");
    req.set_reviewer("Desk");
    v1::CommandResponse resp;
    EXPECT_TRUE(s.claims().IssueVerdict(&ctx, req, &resp).ok());
  });
  held.WaitForNotification();
  s.clock->Advance(Utc(2014, 5, 21) - Utc(2014, 5, 19));
  release.Notify();
  verdict.join();
  Seen seen = ReadUntilMessage(stream, CursorReached(Utc(2014, 5, 21)));
  EXPECT_THAT(seen.ids(), ::testing::ElementsAre("control"));
}

TEST_P(SubscribeOverdueTest, CommitRacingASweepIsNotSkipped) {
  // The writer's clock jumps an hour at the moment it stamps "racing", and
  // the batch is then held before it is written. Sweeps run meanwhile (the
  // witness, due half an hour in, is notified during the hold): with safe
  // times up to the clock they would move the cursor over "racing" before
  // it exists in the index, and it would never be notified.
  std::atomic<bool> hold{false}, jump{false};
  std::atomic<std::thread::id> writer_thread{};
  absl::Notification held, release;
  auto clock = std::make_shared<testing::FakeClock>(Utc(2014, 5, 19));
  OverdueServer s(
      [&] {
        writer_thread = std::this_thread::get_id();
        if (!hold.exchange(false)) return;
        held.Notify();
        release.WaitForNotification();
      },
      [&, clock] {
        // Only the writer's own read, when it stamps the next batch.
        if (std::this_thread::get_id() == writer_thread.load() &&
            jump.exchange(false)) {
          clock->Advance(absl::Hours(1));
        }
        return clock->Now();
      });
  Stream stream(*s.server, OverdueRequest(), GetParam());
  ReadUntilMessage(stream, CursorReached(Utc(2014, 5, 19)));
  RecordPromise(s.claims(), "witness", Utc(2014, 5, 19) + absl::Minutes(30));
  jump = true;
  hold = true;
  std::thread racing(
      [&] { RecordPromise(s.claims(), "racing", Utc(2014, 5, 1)); });
  held.WaitForNotification();
  Seen during = ReadUntilMessage(stream, NoticeFor("witness"));
  EXPECT_THAT(during.ids(), ::testing::ElementsAre("witness"));
  release.Notify();
  racing.join();
  clock->Advance(absl::Seconds(1));
  Seen after = ReadUntilMessage(
      stream,
      CursorReached(Utc(2014, 5, 19) + absl::Hours(1) + absl::Seconds(1)));
  EXPECT_THAT(after.ids(), ::testing::ElementsAre("racing"));
}

TEST_P(SubscribeOverdueTest, OnlyMeansNoEventsAndTheFilterAppliesToNotices) {
  OverdueServer s;
  RecordPromise(s.claims(), "ours", Utc(2014, 5, 20), v1::CLAIM_KIND_PROMISE,
                "ours");
  RecordPromise(s.claims(), "theirs", Utc(2014, 5, 20), v1::CLAIM_KIND_PROMISE,
                "theirs");
  v1::SubscribeRequest req = OverdueRequest(std::nullopt, /*only=*/true);
  req.set_from_position(0);  // the whole log, but no events in it
  req.mutable_filter()->set_subject("ours");
  Stream stream(*s.server, req, GetParam());
  // Caught up, and started at May 19 (in either order).
  bool caught_up = false, started = false;
  Seen start = ReadUntilMessage(stream, [&](const v1::SubscribeResponse& m) {
    caught_up = caught_up || m.has_caught_up();
    started = started || CursorReached(Utc(2014, 5, 19))(m);
    return caught_up && started;
  });
  EXPECT_TRUE(start.events.empty());
  s.clock->Advance(Utc(2014, 5, 21) - Utc(2014, 5, 19));
  RecordPromise(s.claims(), "ours-2", Utc(2014, 5, 1),
                v1::CLAIM_KIND_PREDICTION, "ours");
  // "ours-2" is stamped at the pinned clock, or a nanosecond after a safe
  // time a sweep took at that instant; then its notice comes after a
  // checkpoint at May 21. A second later, every notice has been sent.
  s.clock->Advance(absl::Seconds(1));
  Seen seen = ReadUntilMessage(stream, [](const v1::SubscribeResponse& m) {
    return CursorReached(Utc(2014, 5, 21) + absl::Seconds(1))(m) &&
           m.checkpoint().position() == 3;
  });
  EXPECT_TRUE(seen.events.empty());
  EXPECT_THAT(seen.ids(), ::testing::ElementsAre("ours", "ours-2"));
}

TEST_P(SubscribeOverdueTest, MalformedOverdueOptionsAreInvalid) {
  OverdueServer s;
  std::vector<v1::SubscribeRequest> bad(3);
  bad[0].mutable_overdue()->set_only(true);  // only, without notify
  bad[1].mutable_overdue()->set_notify(true);
  bad[1].mutable_overdue()->mutable_after()->set_claim_id("Not A Slug");
  bad[2].mutable_overdue()->set_notify(true);
  bad[2].mutable_overdue()->mutable_after()->mutable_at()->set_nanos(-1);
  for (const auto& req : bad) {
    Stream stream(*s.server, req, GetParam());
    v1::SubscribeResponse m;
    EXPECT_FALSE(stream.reader->Read(&m));
    grpc::Status status = stream.Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << req.ShortDebugString();
    EXPECT_THAT(status.error_message(), HasSubstr("overdue."));
  }
}

}  // namespace
}  // namespace factlog
