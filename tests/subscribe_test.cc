// EventService.Subscribe over a real in-process server: catch-up, live,
// resume, filters, checkpoints, slow subscribers, limits, shutdown.
#include <atomic>
#include <deque>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "domain/event_filter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace factlog {
namespace {

using ::testing::HasSubstr;
using testing::NewClaim;
using testing::NewEvidence;
using testing::TestServer;

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
  for (int round = 0;; ++round) {
    ASSERT_LT(round, 10000) << "no progress";
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
    reader->Finish();
    if (writer_done && caught_up) break;
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
      v1::SubscribeRequest req;
      req.set_from_position(0);
      *req.mutable_filter() = filters[i];
      auto reader = Open(*stub, &ctx, req);
      ++started;
      v1::SubscribeResponse m;
      while (reader->Read(&m)) {
        uint64_t covered = 0;
        if (m.has_event()) {
          results[i].events.push_back(m.event());
          covered = m.event().position();
        } else if (m.has_checkpoint()) {
          covered = m.checkpoint().position();
        } else if (m.has_caught_up()) {
          covered = m.caught_up().position();
        }
        if (covered >= final_position.load()) break;
      }
      ctx.TryCancel();
      reader->Finish();
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
  EXPECT_GT(written, 5 * peak) << "peak " << peak;
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
    v1::SubscribeRequest req;
    req.set_from_end(true);
    readers.push_back(server.events().Subscribe(contexts.back().get(), req));
    v1::SubscribeResponse m;
    ASSERT_TRUE(readers.back()->Read(&m));  // caught_up: registered
  }
  grpc::ClientContext third;
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

}  // namespace
}  // namespace factlog
