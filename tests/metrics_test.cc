// Metrics and logs: the registry's text rendering, the log line formats, and
// a real server scraped over HTTP after a known workload.
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "common/metrics_registry.h"
#include "core/access.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/factlog_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using factlog::metrics::Histogram;
using factlog::metrics::Registry;
using factlog::metrics::Sample;
using factlog::metrics::Type;
using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;
using testing::HttpRequest;
using testing::HttpResponse;
using ::testing::MatchesRegex;
using ::testing::Not;
using testing::ParseExposition;
using ::testing::StartsWith;
namespace log = factlog::log;

// ---- Registry --------------------------------------------------------------

TEST(MetricsRegistry, RendersHelpTypeAndEscapedLabelValues) {
  Registry registry;
  auto* requests = registry.AddCounter(
      "test_requests_total", "Requests.\nSecond line with \\ backslash.",
      {"path", "code"});
  requests->Get({"a\"b\\c\nd", "OK"})->Increment(3);
  requests->Get({"plain", "OK"})->Increment();
  registry.AddCounter("test_plain_total", "No labels.")->Get()->Increment(7);

  EXPECT_EQ(registry.Render(),
            "# HELP test_plain_total No labels.\n"
            "# TYPE test_plain_total counter\n"
            "test_plain_total 7\n"
            "# HELP test_requests_total Requests.\\nSecond line with \\\\ "
            "backslash.\n"
            "# TYPE test_requests_total counter\n"
            "test_requests_total{path=\"a\\\"b\\\\c\\nd\",code=\"OK\"} 3\n"
            "test_requests_total{path=\"plain\",code=\"OK\"} 1\n");
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeAndEndInInf) {
  Registry registry;
  Histogram* h =
      registry.AddHistogram("test_seconds", "Latency.", {"op"}, {0.5, 1, 2.5})
          ->Get({"read"});
  for (double v : {0.25, 0.5, 0.75, 1.0, 2.0, 3.0, 100.0}) h->Observe(v);

  EXPECT_EQ(registry.Render(),
            "# HELP test_seconds Latency.\n"
            "# TYPE test_seconds histogram\n"
            "test_seconds_bucket{op=\"read\",le=\"0.5\"} 2\n"
            "test_seconds_bucket{op=\"read\",le=\"1\"} 4\n"
            "test_seconds_bucket{op=\"read\",le=\"2.5\"} 5\n"
            "test_seconds_bucket{op=\"read\",le=\"+Inf\"} 7\n"
            "test_seconds_sum{op=\"read\"} 107.5\n"
            "test_seconds_count{op=\"read\"} 7\n");
}

TEST(MetricsRegistry, HistogramWithoutLabelsHasOnlyLe) {
  Registry registry;
  registry.AddHistogram("test_size", "Sizes.", {}, {0.0005, 1})
      ->Get()
      ->Observe(0.0001);
  EXPECT_THAT(registry.Render(),
              AllOf(HasSubstr("test_size_bucket{le=\"0.0005\"} 1\n"),
                    HasSubstr("test_size_bucket{le=\"+Inf\"} 1\n"),
                    HasSubstr("test_size_sum 0.0001\n"),
                    HasSubstr("test_size_count 1\n")));
}

TEST(MetricsRegistry, QuantileInterpolatesWithinTheBucket) {
  Histogram h({1, 2, 4});
  EXPECT_EQ(Histogram::Quantile(h.Read(), 0.5), 0);  // nothing observed
  for (int i = 0; i < 50; ++i) h.Observe(0.5);
  for (int i = 0; i < 50; ++i) h.Observe(3);
  const Histogram::Snapshot s = h.Read();
  EXPECT_DOUBLE_EQ(Histogram::Quantile(s, 0.5), 1);
  EXPECT_DOUBLE_EQ(Histogram::Quantile(s, 0.75), 3);  // halfway in (2, 4]
  h.Observe(1000);                                    // beyond the last bound
  EXPECT_DOUBLE_EQ(Histogram::Quantile(h.Read(), 0.999), 4);
}

TEST(MetricsRegistry, CallbacksAreReadAtEveryRenderSortedByLabels) {
  Registry registry;
  double value = 1;
  registry.AddCallback(
      Type::kGauge, "test_things", "Things.", {"kind"}, [&value] {
        return std::vector<Sample>{{{"b"}, value}, {{"a"}, 0.5}};
      });
  EXPECT_THAT(registry.Render(), HasSubstr("# TYPE test_things gauge\n"
                                           "test_things{kind=\"a\"} 0.5\n"
                                           "test_things{kind=\"b\"} 1\n"));
  value = 2e6;
  EXPECT_THAT(registry.Render(),
              HasSubstr("test_things{kind=\"b\"} 2000000\n"));
}

TEST(MetricsRegistry, FormatsSpecialValues) {
  EXPECT_EQ(factlog::metrics::FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(factlog::metrics::FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(factlog::metrics::FormatValue(0.0 / 0.0), "NaN");
  EXPECT_EQ(factlog::metrics::FormatValue(0.1), "0.1");
  EXPECT_EQ(factlog::metrics::FormatValue(12345678), "12345678");
}

TEST(MetricsRegistryDeathTest, RefusesBadAndDuplicateNames) {
  Registry registry;
  registry.AddCounter("test_total", "x");
  EXPECT_DEATH(registry.AddCounter("test_total", "x"), "twice");
  EXPECT_DEATH(registry.AddCounter("1bad", "x"), "bad metric name");
  EXPECT_DEATH(registry.AddCounter("test_other_total", "x", {"bad-label"}),
               "bad label name");
  EXPECT_DEATH(registry.AddHistogram("test_h", "x", {"le"}, {1}),
               "bad label name");
}

// ---- Log lines -------------------------------------------------------------

google::protobuf::Struct ParseJsonLine(const std::string& line) {
  google::protobuf::Struct parsed;
  const auto status =
      google::protobuf::util::JsonStringToMessage(line, &parsed);
  EXPECT_TRUE(status.ok()) << status << ": " << line;
  return parsed;
}

const absl::Time kTime = absl::FromUnixMicros(1795626392123456);

TEST(LogFormat, JsonIsOneObjectWithTsLevelMsgAndTypedFields) {
  const std::string line =
      log::FormatLine(log::Format::kJson, kTime, log::Level::kWarn,
                      "odd \"message\"\nsecond line",
                      {{"principal", "alice"},
                       {"count", 42},
                       {"ms", 1.5},
                       {"ok", true},
                       {"bad_utf8",
                        "a\xff"
                        "b\x01"}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const google::protobuf::Struct s = ParseJsonLine(line);
  const auto& f = s.fields();
  EXPECT_EQ(f.at("ts").string_value(), "2026-11-25T17:06:32.123456Z");
  EXPECT_EQ(f.at("level").string_value(), "warn");
  EXPECT_EQ(f.at("msg").string_value(), "odd \"message\"\nsecond line");
  EXPECT_EQ(f.at("principal").string_value(), "alice");
  EXPECT_EQ(f.at("count").number_value(), 42);
  EXPECT_EQ(f.at("ms").number_value(), 1.5);
  EXPECT_TRUE(f.at("ok").bool_value());
  EXPECT_EQ(f.at("bad_utf8").string_value(),
            "a\xef\xbf\xbd"
            "b\x01");
  EXPECT_THAT(line, StartsWith("{\"ts\":"));
}

// FormatTimestamp computes the civil date itself; absl::FormatTime (with
// absl's own calendar) is the reference, over leap days, the epoch, both
// ends of the four-digit years, and times drawn across ten centuries.
TEST(LogFormat, TimestampsMatchAbslFormatTime) {
  auto reference = [](absl::Time t) {
    return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", t, absl::UTCTimeZone());
  };
  std::vector<absl::Time> times = {
      absl::UnixEpoch(),
      absl::UnixEpoch() - absl::Nanoseconds(1),
      absl::UnixEpoch() - absl::Microseconds(1),
      testing::Utc(2000, 2, 29, 12, 0, 0),
      testing::Utc(1900, 2, 28, 23, 59, 59) + absl::Nanoseconds(999999999),
      testing::Utc(1900, 3, 1, 0, 0, 0),
      testing::Utc(2100, 3, 1, 0, 0, 0) - absl::Nanoseconds(1),
      testing::Utc(1600, 2, 29, 6, 30, 0),
      testing::Utc(0, 1, 1, 0, 0, 0),  // absl writes year 0 as "0"
      testing::Utc(1000, 1, 1, 0, 0, 0),
      testing::Utc(9999, 12, 31, 23, 59, 59) + absl::Microseconds(999999),
      testing::Utc(10000, 1, 1, 0, 0,
                   0),  // beyond four digits: absl's own format
      testing::Utc(-1, 12, 31, 23, 59, 59),
      absl::InfiniteFuture(),
      absl::InfinitePast(),
  };
  // Microseconds, as int64 nanoseconds end in 1677 and 2262, plus a
  // sub-microsecond part that the format truncates.
  std::mt19937_64 random(7);
  const int64_t from = absl::ToUnixMicros(testing::Utc(1600, 1, 1, 0, 0, 0));
  const int64_t to = absl::ToUnixMicros(testing::Utc(2600, 1, 1, 0, 0, 0));
  for (int i = 0; i < 20000; ++i) {
    const int64_t micros =
        from +
        static_cast<int64_t>(random() % static_cast<uint64_t>(to - from));
    times.push_back(absl::FromUnixMicros(micros) +
                    absl::Nanoseconds(random() % 1000));
  }
  for (absl::Time t : times) {
    ASSERT_EQ(factlog::log::FormatTimestamp(t), reference(t))
        << absl::ToUnixNanos(t);
  }
  EXPECT_EQ(factlog::log::FormatTimestamp(testing::Utc(2014, 5, 19, 10, 0, 0)),
            "2014-05-19T10:00:00.000000Z");
}

TEST(LogFormat, TextQuotesOnlyValuesThatNeedIt) {
  EXPECT_EQ(log::FormatLine(log::Format::kText, kTime, log::Level::kInfo,
                            "rpc done\nnext",
                            {{"method", "factlog.v1.ClaimService/GetClaim"},
                             {"principal", "desk bot"},
                             {"empty", ""},
                             {"error", "claim \"x\" not found"},
                             {"duration_ms", 0.25}}),
            "2026-11-25T17:06:32.123456Z INFO rpc done\\nnext "
            "method=factlog.v1.ClaimService/GetClaim principal=\"desk bot\" "
            "empty=\"\" error=\"claim \\\"x\\\" not found\" duration_ms=0.25");
}

// Captures log lines for a test; restores stderr and the defaults after.
class CapturedLog {
 public:
  CapturedLog(log::Format format, log::Level level) {
    log::SetFormat(format);
    log::SetLevel(level);
    log::SetSinkForTesting([this](absl::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    });
  }
  ~CapturedLog() {
    log::SetSinkForTesting(nullptr);
    log::SetFormat(log::Format::kText);
    log::SetLevel(log::Level::kInfo);
  }
  std::vector<std::string> lines() {
    absl::MutexLock lock(&mu_);
    return lines_;
  }
  // Lines holding `needle`.
  std::vector<std::string> With(absl::string_view needle) {
    std::vector<std::string> out;
    for (const std::string& line : lines()) {
      if (absl::StrContains(line, needle)) out.push_back(line);
    }
    return out;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

TEST(LogFormat, LevelsBelowTheMinimumAreDropped) {
  CapturedLog captured(log::Format::kText, log::Level::kWarn);
  log::Info("hidden");
  log::Debug("hidden");
  log::Warn("shown");
  log::Error("shown too");
  const std::vector<std::string> lines = captured.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr(" WARN shown"));
  EXPECT_THAT(lines[1], HasSubstr(" ERROR shown too"));
}

// ---- A real server ---------------------------------------------------------

class MetricsServerTest : public ::testing::Test {
 protected:
  MetricsServerTest() {
    server::ServerOptions options;
    options.metrics_listen = "127.0.0.1:0";
    server_ = std::make_unique<testing::TestServer>(options);
  }

  int metrics_port() { return server_->server().metrics_port(); }

  grpc::Status Evidence(const std::string& id, const std::string& source) {
    grpc::ClientContext ctx;
    v1::CommandResponse r;
    return server_->claims().AddEvidence(
        &ctx, testing::NewEvidence(id, v1::STANCE_REFUTES, source), &r);
  }

  std::unique_ptr<testing::TestServer> server_;
};

TEST_F(MetricsServerTest, ScrapeShowsTheWorkloadJustRun) {
  ASSERT_GT(metrics_port(), 0);
  // A subscriber, live before the workload.
  grpc::ClientContext sub_ctx;
  testing::SetDeadline(&sub_ctx);
  v1::SubscribeRequest sub_req;
  sub_req.set_from_position(0);
  auto subscription = server_->events().Subscribe(&sub_ctx, sub_req);
  v1::SubscribeResponse message;
  ASSERT_TRUE(subscription->Read(&message));
  ASSERT_TRUE(message.has_caught_up()) << message.DebugString();

  // 3 claims, 5 pieces of evidence, 2 refused commands with known codes.
  for (const char* id : {"m-one", "m-two", "m-three"}) {
    ASSERT_TRUE(
        testing::RecordClaim(server_->claims(), testing::NewClaim(id)).ok());
  }
  const std::pair<const char*, const char*> evidence[] = {
      {"m-one", "NATO"},
      {"m-one", "White House"},
      {"m-two", "NATO"},
      {"m-three", "Reuters"},
      {"m-three", "AP"}};
  for (const auto& [id, source] : evidence) {
    ASSERT_TRUE(Evidence(id, source).ok());
  }
  EXPECT_EQ(testing::RecordClaim(server_->claims(), testing::NewClaim("m-one"))
                .error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Evidence("m-missing", "NATO").error_code(),
            grpc::StatusCode::NOT_FOUND);
  // The subscriber has seen all 8 events, so its lag is 0 when scraped.
  for (int seen = 0; seen < 8;) {
    ASSERT_TRUE(subscription->Read(&message));
    if (message.has_event()) ++seen;
  }

  const HttpResponse response = HttpRequest(metrics_port(), "GET", "/metrics");
  ASSERT_EQ(response.status, 200) << response.headers;
  EXPECT_THAT(response.headers,
              HasSubstr("Content-Type: text/plain; version=0.0.4"));
  const std::map<std::string, double> m = ParseExposition(response.body);
  auto at = [&m](const std::string& series) {
    auto it = m.find(series);
    EXPECT_NE(it, m.end()) << "no series " << series;
    return it == m.end() ? -1 : it->second;
  };

  EXPECT_EQ(at("factlog_appends_total"), 8);
  EXPECT_EQ(at("factlog_commands_deduplicated_total"), 0);
  EXPECT_EQ(at("factlog_events_appended_total{type=\"CLAIM_RECORDED\"}"), 3);
  EXPECT_EQ(at("factlog_events_appended_total{type=\"EVIDENCE_ADDED\"}"), 5);
  EXPECT_EQ(at("factlog_events_appended_total{type=\"VERDICT_ISSUED\"}"), 0);
  EXPECT_EQ(at("factlog_command_rejections_total{code=\"ALREADY_EXISTS\"}"), 1);
  EXPECT_EQ(at("factlog_command_rejections_total{code=\"NOT_FOUND\"}"), 1);
  EXPECT_EQ(at("factlog_command_rejections_total{code=\"INVALID_ARGUMENT\"}"),
            0);
  // One RPC at a time: every command is its own batch, every applied one
  // its own commit.
  EXPECT_EQ(at("factlog_write_batch_commands_count"), 10);
  EXPECT_EQ(at("factlog_write_batch_commands_sum"), 10);
  EXPECT_EQ(at("factlog_write_batch_commands_bucket{le=\"1\"}"), 10);
  EXPECT_EQ(at("factlog_commit_duration_seconds_count"), 8);
  EXPECT_GT(at("factlog_commit_duration_seconds_sum"), 0);
  EXPECT_EQ(at("factlog_commit_failures_total"), 0);

  const std::string claims = "service=\"factlog.v1.ClaimService\"";
  EXPECT_EQ(at(absl::StrCat("factlog_rpc_duration_seconds_count{", claims,
                            ",method=\"RecordClaim\",code=\"OK\"}")),
            3);
  EXPECT_EQ(
      at(absl::StrCat("factlog_rpc_duration_seconds_count{", claims,
                      ",method=\"RecordClaim\",code=\"ALREADY_EXISTS\"}")),
      1);
  EXPECT_EQ(at(absl::StrCat("factlog_rpc_duration_seconds_count{", claims,
                            ",method=\"AddEvidence\",code=\"OK\"}")),
            5);
  EXPECT_EQ(at(absl::StrCat("factlog_rpc_duration_seconds_count{", claims,
                            ",method=\"AddEvidence\",code=\"NOT_FOUND\"}")),
            1);

  EXPECT_EQ(at("factlog_log_last_position"), 8);
  EXPECT_EQ(at("factlog_subscribers{state=\"live\"}"), 1);
  EXPECT_EQ(at("factlog_subscribers{state=\"catching_up\"}"), 0);
  EXPECT_EQ(at("factlog_subscriber_lag_max_events"), 0);
  EXPECT_EQ(at("factlog_hub_window_events"), 8);
  EXPECT_GT(at("factlog_hub_bytes"), 0);
  EXPECT_GT(at("factlog_disk_bytes"), 0);
  EXPECT_GE(at("factlog_rocksdb_pending_compaction_bytes"), 0);
  EXPECT_EQ(at("factlog_rocksdb_write_stopped"), 0);
  EXPECT_EQ(at("factlog_rocksdb_write_stops_total"), 0);
  EXPECT_GE(at("factlog_rocksdb_write_stall_seconds_total"), 0);
  EXPECT_GT(at("process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(at("process_open_fds"), 0);
  // The writer's lookups went through the claim cache: the evidence's
  // claims were there (put by the commits before), the new ids were not.
  EXPECT_GT(at("factlog_claim_cache_bytes"), 0);
  EXPECT_GE(at("factlog_claim_cache_capacity_bytes"),
            at("factlog_claim_cache_bytes"));
  EXPECT_GE(at("factlog_claim_cache_hits_total"), 6);
  EXPECT_GE(at("factlog_claim_cache_misses_total"), 4);
  {
    // One GetClaim is one hit and no miss.
    grpc::ClientContext ctx;
    v1::GetClaimRequest request;
    request.set_claim_id("m-two");
    v1::ClaimView view;
    ASSERT_TRUE(server_->claims().GetClaim(&ctx, request, &view).ok());
    const std::map<std::string, double> after =
        ParseExposition(HttpRequest(metrics_port(), "GET", "/metrics").body);
    EXPECT_EQ(after.at("factlog_claim_cache_hits_total"),
              at("factlog_claim_cache_hits_total") + 1);
    EXPECT_EQ(after.at("factlog_claim_cache_misses_total"),
              at("factlog_claim_cache_misses_total"));
  }

  // Every histogram: buckets never decrease and +Inf equals _count.
  for (const auto& [series, value] : m) {
    const size_t inf = series.find("le=\"+Inf\"");
    if (inf == std::string::npos) continue;
    std::string count = series;
    count.replace(count.find("_bucket"), 7, "_count");
    count = absl::StrReplaceAll(count,
                                {{",le=\"+Inf\"", ""}, {"{le=\"+Inf\"}", ""}});
    EXPECT_EQ(value, at(count)) << series;
  }
  std::map<std::string, double> last_bucket;
  for (absl::string_view line :
       absl::StrSplit(response.body, '\n', absl::SkipEmpty())) {
    const size_t le = line.find("le=\"");
    if (line[0] == '#' || le == absl::string_view::npos) continue;
    const std::string key(line.substr(0, le));
    double v = 0;
    ASSERT_TRUE(absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v));
    if (last_bucket.count(key)) {
      EXPECT_GE(v, last_bucket[key]) << line;
    }
    last_bucket[key] = v;
  }

  // factlog admin stats shows the same numbers.
  auto admin = v1::AdminService::NewStub(server_->channel());
  grpc::ClientContext stats_ctx;
  v1::GetStatsResponse stats;
  ASSERT_TRUE(admin->GetStats(&stats_ctx, v1::GetStatsRequest(), &stats).ok());
  EXPECT_EQ(stats.commands_applied(), 8u);
  EXPECT_EQ(stats.events_appended(), 8u);
  EXPECT_EQ(stats.events_by_type().at("CLAIM_RECORDED"), 3u);
  EXPECT_EQ(stats.events_by_type().at("EVIDENCE_ADDED"), 5u);
  EXPECT_EQ(stats.events_by_type().size(), 2u);
  EXPECT_EQ(stats.rejections_by_code().at("ALREADY_EXISTS"), 1u);
  EXPECT_EQ(stats.rejections_by_code().at("NOT_FOUND"), 1u);
  EXPECT_EQ(stats.rejections_by_code().size(), 2u);
  EXPECT_EQ(stats.commits(), 8u);
  EXPECT_GT(stats.commit_p99_seconds(), 0);
  EXPECT_GE(stats.commit_p99_seconds(), stats.commit_p50_seconds());
  EXPECT_GT(stats.resident_memory_bytes(), 1u << 20);
  EXPECT_TRUE(stats.has_started_at());

  sub_ctx.TryCancel();
  subscription->Finish();
}

// Unary calls of factlog.v1 services are observed by their handlers, every
// other call by the interceptor: each call must be counted by exactly one
// of them, whichever method it is.
TEST_F(MetricsServerTest, EveryMethodIsCountedOnce) {
  grpc::GenericStub generic(server_->channel());
  std::vector<std::string> unary;
  for (const char* service :
       {"factlog.v1.ClaimService", "factlog.v1.EventService",
        "factlog.v1.AdminService", "grpc.health.v1.Health"}) {
    const google::protobuf::ServiceDescriptor* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            service);
    if (descriptor == nullptr) {
      // gRPC's health service has no generated descriptor here.
      unary.push_back(absl::StrCat("/", service, "/Check"));
      continue;
    }
    for (int i = 0; i < descriptor->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = descriptor->method(i);
      if (method->client_streaming() || method->server_streaming()) continue;
      unary.push_back(absl::StrCat("/", service, "/", method->name()));
    }
  }
  ASSERT_GE(unary.size(), 18u);  // 17 of factlog.v1 and health's Check
  for (const std::string& method : unary) {
    // An empty request: most are refused, which is counted all the same.
    grpc::ClientContext ctx;
    grpc::Slice empty;
    const grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    absl::Notification done;
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                      [&done](const grpc::Status&) { done.Notify(); });
    done.WaitForNotification();
  }
  {  // A stream, which the interceptor observes.
    grpc::ClientContext ctx;
    testing::SetDeadline(&ctx);
    v1::ReadEventsRequest req;
    auto stream = server_->events().ReadEvents(&ctx, req);
    v1::Event event;
    while (stream->Read(&event)) {
    }
    ASSERT_TRUE(stream->Finish().ok());
  }

  const std::map<std::string, double> m =
      ParseExposition(HttpRequest(metrics_port(), "GET", "/metrics").body);
  std::map<std::string, double> calls;  // by service/method, all codes
  for (const auto& [series, value] : m) {
    if (!absl::StartsWith(series, "factlog_rpc_duration_seconds_count{")) {
      continue;
    }
    const size_t service = series.find("service=\"") + 9;
    const size_t method = series.find("method=\"") + 8;
    calls[absl::StrCat(
        "/", series.substr(service, series.find('"', service) - service), "/",
        series.substr(method, series.find('"', method) - method))] += value;
  }
  for (const std::string& method : unary) {
    EXPECT_EQ(calls[method], 1) << method;
  }
  EXPECT_EQ(calls["/factlog.v1.EventService/ReadEvents"], 1);
  double total = 0;
  for (const auto& [method, count] : calls) total += count;
  EXPECT_EQ(total, unary.size() + 1);
}

TEST_F(MetricsServerTest, DeduplicatedRetriesAppendNothing) {
  v1::RecordClaimRequest req = testing::NewClaim("m-dedup");
  req.set_request_id("retry-1");
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    v1::CommandResponse r;
    ASSERT_TRUE(server_->claims().RecordClaim(&ctx, req, &r).ok());
  }
  const std::map<std::string, double> m =
      ParseExposition(HttpRequest(metrics_port(), "GET", "/metrics").body);
  EXPECT_EQ(m.at("factlog_appends_total"), 1);
  EXPECT_EQ(m.at("factlog_commands_deduplicated_total"), 2);
  EXPECT_EQ(m.at("factlog_events_appended_total{type=\"CLAIM_RECORDED\"}"), 1);
}

TEST_F(MetricsServerTest, OnlyGetMetricsIsServed) {
  EXPECT_EQ(HttpRequest(metrics_port(), "GET", "/").status, 404);
  EXPECT_EQ(HttpRequest(metrics_port(), "GET", "/metricsx").status, 404);
  EXPECT_EQ(HttpRequest(metrics_port(), "GET", "/etc/passwd").status, 404);
  EXPECT_EQ(HttpRequest(metrics_port(), "POST", "/metrics").status, 405);
  const HttpResponse head = HttpRequest(metrics_port(), "HEAD", "/metrics");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
}

TEST(MetricsListen, NonLoopbackIsRefusedUnlessAllowed) {
  testing::TempDir dir;
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = dir.path() + "/data";
  options.metrics_listen = "0.0.0.0:0";
  auto refused = server::FactlogServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      std::string(refused.status().message()),
      AllOf(HasSubstr("0.0.0.0:0"), HasSubstr("--metrics-allow-remote")));

  options.metrics_allow_remote = true;
  auto allowed = server::FactlogServer::Start(options);
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_GT((*allowed)->metrics_port(), 0);
  (*allowed)->Shutdown();
}

TEST(MetricsListen, MalformedOrBusyAddressesAreErrors) {
  testing::TempDir dir;
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = dir.path() + "/data";
  for (const char* bad : {"127.0.0.1", "127.0.0.1:80s",
                          "127.0.0.1:1,127.0.0.1:2", "127.0.0.1:99999"}) {
    options.metrics_listen = bad;
    auto started = server::FactlogServer::Start(options);
    ASSERT_FALSE(started.ok()) << bad;
    EXPECT_EQ(started.status().code(), absl::StatusCode::kInvalidArgument)
        << bad << ": " << started.status();
  }
  // Off by default: no port.
  options.metrics_listen = "";
  auto off = server::FactlogServer::Start(options);
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ((*off)->metrics_port(), 0);
  // A port in use.
  options.metrics_listen = "127.0.0.1:0";
  testing::TempDir other;
  server::ServerOptions first = options;
  first.data_dir = other.path() + "/data";
  auto running = server::FactlogServer::Start(first);
  ASSERT_TRUE(running.ok()) << running.status();
  (*off)->Shutdown();
  off->reset();
  options.metrics_listen =
      absl::StrCat("127.0.0.1:", (*running)->metrics_port());
  auto busy = server::FactlogServer::Start(options);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kUnavailable)
      << busy.status();
}

// ---- Request log lines -----------------------------------------------------

TEST(RequestLog, CarriesRequestIdAndPrincipalButNeverTheToken) {
  CapturedLog captured(log::Format::kJson, log::Level::kDebug);
  testing::TempDir dir;
  const std::string token = core::NewToken();
  const std::string tokens_file = dir.path() + "/tokens";
  std::ofstream(tokens_file)
      << "alice editor " << core::Sha256Hex(token) << "\n";
  server::ServerOptions options;
  options.auth_tokens_file = tokens_file;
  {
    testing::TestServer server(options);
    const std::string claim_text =
        "A long and distinctive claim text that must never reach the log.";
    {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + token);
      v1::RecordClaimRequest req = testing::NewClaim("logged", claim_text);
      req.set_request_id("req-logged-1");
      v1::CommandResponse r;
      ASSERT_TRUE(server.claims().RecordClaim(&ctx, req, &r).ok());
    }
    {
      grpc::ClientContext ctx;  // a read with the caller's own request id
      ctx.AddMetadata("authorization", "Bearer " + token);
      ctx.AddMetadata("x-request-id", "trace-77");
      v1::GetClaimRequest req;
      req.set_claim_id("logged");
      v1::ClaimView view;
      ASSERT_TRUE(server.claims().GetClaim(&ctx, req, &view).ok());
    }
    {
      grpc::ClientContext ctx;  // a wrong token
      ctx.AddMetadata("authorization", "Bearer not-" + token);
      v1::CommandResponse r;
      EXPECT_EQ(server.claims()
                    .RecordClaim(&ctx, testing::NewClaim("nope"), &r)
                    .error_code(),
                grpc::StatusCode::UNAUTHENTICATED);
    }
    server.Stop();
    for (const std::string& line : captured.lines()) {
      EXPECT_THAT(line, AllOf(Not(HasSubstr(token)),
                              Not(HasSubstr("distinctive claim"))));
      ParseJsonLine(line);  // every line is one JSON object
    }
  }

  std::vector<std::string> lines = captured.With("req-logged-1");
  ASSERT_EQ(lines.size(), 1u);
  auto f = ParseJsonLine(lines[0]).fields();
  EXPECT_EQ(f["level"].string_value(), "info");
  EXPECT_EQ(f["msg"].string_value(), "rpc");
  EXPECT_EQ(f["method"].string_value(), "factlog.v1.ClaimService/RecordClaim");
  EXPECT_EQ(f["principal"].string_value(), "alice");
  EXPECT_EQ(f["code"].string_value(), "OK");
  EXPECT_GT(f["duration_ms"].number_value(), 0);
  EXPECT_THAT(f["peer"].string_value(), HasSubstr("127.0.0.1"));
  EXPECT_EQ(f.count("error"), 0u);  // only a failed call's line has one

  lines = captured.With("trace-77");
  ASSERT_EQ(lines.size(), 1u);
  f = ParseJsonLine(lines[0]).fields();
  EXPECT_EQ(f["level"].string_value(), "debug");
  EXPECT_EQ(f["method"].string_value(), "factlog.v1.ClaimService/GetClaim");
  EXPECT_EQ(f["principal"].string_value(), "alice");

  lines = captured.With("UNAUTHENTICATED");
  ASSERT_EQ(lines.size(), 1u);
  f = ParseJsonLine(lines[0]).fields();
  EXPECT_EQ(f["level"].string_value(), "info");
  EXPECT_EQ(f["principal"].string_value(), "-");
  EXPECT_THAT(f["request_id"].string_value(), MatchesRegex("srv-[0-9a-f]{16}"));
  EXPECT_EQ(f["error"].string_value(), "authorization: unknown token");
}

TEST(RequestLog, ReadsAreNotLoggedAtInfo) {
  CapturedLog captured(log::Format::kText, log::Level::kInfo);
  {
    testing::TestServer server;
    grpc::ClientContext ctx;
    v1::GetClaimRequest req;
    req.set_claim_id("absent");
    v1::ClaimView view;
    EXPECT_EQ(server.claims().GetClaim(&ctx, req, &view).error_code(),
              grpc::StatusCode::NOT_FOUND);
    grpc::ClientContext ctx2;
    v1::CommandResponse r;
    ASSERT_TRUE(
        server.claims().RecordClaim(&ctx2, testing::NewClaim("c"), &r).ok());
  }
  EXPECT_TRUE(captured.With("GetClaim").empty());
  const std::vector<std::string> lines = captured.With("RecordClaim");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0],
              AllOf(HasSubstr(" INFO rpc "), HasSubstr(" principal=anonymous "),
                    HasSubstr(" code=OK ")));
}

}  // namespace
}  // namespace factlog
