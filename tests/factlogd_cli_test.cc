// factlogd's own command line: --verify, --rebuild, bad data dirs, a locked
// data dir, usage errors. Data is written in-process through the Writer; the
// real factlogd binary is then run over it.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "factlog/v1/service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "storage/event_store.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using testing::ApplySync;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunToCompletion;
using testing::TempDir;

class FactlogdCliTest : public ::testing::Test {
 protected:
  // Writes two events for claim "kept" into data_dir_.
  void SetUp() override {
    auto store = storage::EventStore::Open(data_dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto writer = core::Writer::Start(store->get(), {});
    v1::Command record;
    *record.mutable_record_claim() = testing::NewClaim("kept");
    ASSERT_TRUE(ApplySync(*writer, record).ok());
    v1::Command refute;
    *refute.mutable_add_evidence() =
        testing::NewEvidence("kept", v1::STANCE_REFUTES, "NATO");
    ASSERT_TRUE(ApplySync(*writer, refute).ok());
  }

  // Overwrites the projection of "kept" with a status its log contradicts.
  void Tamper() {
    auto store = storage::EventStore::Open(data_dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto view = (*store)->GetClaim("kept");
    ASSERT_TRUE(view.ok() && view->has_value());
    storage::CommitBatch tamper;
    v1::ClaimView tampered = **view;
    tampered.set_status(v1::CLAIM_STATUS_SUPPORTED);
    const storage::ClaimIndexInputs before(**view);
    tamper.claims.push_back({&before, &tampered});
    ASSERT_TRUE((*store)->Commit(tamper).ok());
  }

  TempDir dir_;
  const std::string data_dir_ = dir_.path() + "/data";
};

TEST_F(FactlogdCliTest, VerifyPassesOnCleanDataAndFailsOnTamperedProjection) {
  testing::RunResult clean =
      RunToCompletion({FACTLOGD_PATH, "--verify", "--data-dir", data_dir_});
  EXPECT_EQ(clean.exit_code, 0) << clean.output;
  EXPECT_THAT(clean.output, HasSubstr("2 events replayed"));
  EXPECT_THAT(clean.output, HasSubstr("0 mismatches"));

  Tamper();
  testing::RunResult dirty =
      RunToCompletion({FACTLOGD_PATH, "--verify", "--data-dir", data_dir_});
  EXPECT_EQ(dirty.exit_code, 1) << dirty.output;
  EXPECT_THAT(dirty.output, HasSubstr("MISMATCH claims: \"kept\""));
  EXPECT_THAT(dirty.output, HasSubstr("MISMATCH by_status"));
}

TEST_F(FactlogdCliTest, RebuildRepairsWhatVerifyFound) {
  Tamper();
  testing::RunResult rebuild =
      RunToCompletion({FACTLOGD_PATH, "--rebuild", "--data-dir", data_dir_});
  EXPECT_EQ(rebuild.exit_code, 0) << rebuild.output;
  EXPECT_THAT(rebuild.output, HasSubstr("2 events replayed into 1 claims"));
  // The process's own peak, as getrusage counts it: more than nothing, and
  // far less than a gigabyte for two events.
  long peak_mib = -1;
  const size_t at = rebuild.output.find("rebuild: peak memory ");
  ASSERT_NE(at, std::string::npos) << rebuild.output;
  ASSERT_EQ(std::sscanf(rebuild.output.c_str() + at,
                        "rebuild: peak memory %ld MiB", &peak_mib),
            1);
  EXPECT_GT(peak_mib, 0);
  EXPECT_LT(peak_mib, 1024);
  testing::RunResult verify =
      RunToCompletion({FACTLOGD_PATH, "--verify", "--data-dir", data_dir_});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;

  auto store = storage::EventStore::Open(data_dir_);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*(*store)->GetClaim("kept"))->status(),
            v1::CLAIM_STATUS_CONTRADICTED);
}

TEST_F(FactlogdCliTest, LockedDataDirIsRefusedWithOneClearLine) {
  auto holder = storage::EventStore::Open(data_dir_);
  ASSERT_TRUE(holder.ok());
  testing::RunResult r = RunToCompletion(
      {FACTLOGD_PATH, "--listen", "127.0.0.1:0", "--data-dir", data_dir_});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("is locked: is another factlogd using it?"));
  // Only our line: RocksDB's own WARN about the lock is routine (debug).
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr("rocksdb")));
}

// An address in use is found before the data directory is touched, and
// said in one line of ours (no gRPC dump).
TEST_F(FactlogdCliTest, AnAddressInUseIsRefusedBeforeTheDataDirIsCreated) {
  auto first = testing::StartFactlogd(FACTLOGD_PATH, data_dir_);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string fresh = dir_.path() + "/never-created";
  testing::RunResult r = RunToCompletion(
      {FACTLOGD_PATH, "--listen", first->address, "--data-dir", fresh});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output,
              HasSubstr("cannot listen on " + first->address +
                        ": the address is in use (is another factlogd "
                        "running? give another --listen port)"));
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_FALSE(std::filesystem::exists(fresh));
}

// A backup is routine: RocksDB's "File Deletions Disabled" WARNs stay out
// of the log at the default level, and show at debug.
TEST_F(FactlogdCliTest, BackupsLogNoRocksDbWarnings) {
  for (const bool debug : {false, true}) {
    auto server = testing::Subprocess::Start(
        {FACTLOGD_PATH, "--listen", "127.0.0.1:0", "--data-dir", data_dir_,
         "--log-level", debug ? "debug" : "info"});
    ASSERT_TRUE(server.ok()) << server.status();
    absl::StatusOr<std::string> line =
        (*server)->WaitForLine("listening on ", absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    // "factlogd listening on 127.0.0.1:PORT (data dir ...)"
    const size_t start = line->find("listening on ") + 13;
    const std::string address =
        line->substr(start, line->find(' ', start) - start);
    {  // the channel is closed before factlogd is stopped
      auto channel =
          grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
      auto admin = v1::AdminService::NewStub(channel);
      grpc::ClientContext ctx;
      v1::BackupRequest req;
      // Under factlogd's --backup-dir (by default `backups` beside the
      // data dir).
      req.set_dir(debug ? "backup-debug" : "backup");
      v1::BackupResponse resp;
      ASSERT_TRUE(admin->Backup(&ctx, req, &resp).ok());
    }
    (*server)->Signal(SIGTERM);
    absl::StatusOr<std::string> output =
        (*server)->ReadToEnd(absl::Seconds(30));
    ASSERT_TRUE(output.ok()) << output.status();
    EXPECT_EQ((*server)->Wait(), 0);
    if (debug) {
      EXPECT_THAT(*output, HasSubstr("DEBUG rocksdb detail="));
    } else {
      EXPECT_THAT(*output, Not(HasSubstr("rocksdb"))) << *output;
      EXPECT_THAT(*output, Not(HasSubstr("WARN"))) << *output;
    }
  }
}

TEST_F(FactlogdCliTest, UnusableDataDirNamesThePath) {
  const std::string file = dir_.path() + "/plain-file";
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  testing::RunResult r = RunToCompletion(
      {FACTLOGD_PATH, "--listen", "127.0.0.1:0", "--data-dir", file});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("plain-file"));
}

TEST_F(FactlogdCliTest, BackupOverRpcRestoresWithTheBinary) {
  // Without --backup-dir, backups go to `backups` next to the data dir.
  const std::string backup = dir_.path() + "/backups/backup";
  {
    auto server = testing::StartFactlogd(FACTLOGD_PATH, data_dir_);
    ASSERT_TRUE(server.ok()) << server.status();
    auto channel = grpc::CreateChannel(server->address,
                                       grpc::InsecureChannelCredentials());
    auto admin = v1::AdminService::NewStub(channel);
    grpc::ClientContext ctx;
    v1::BackupRequest req;
    req.set_dir("backup");
    v1::BackupResponse resp;
    grpc::Status s = admin->Backup(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.dir(), backup);
    EXPECT_EQ(resp.last_position(), 2u);
    grpc::ClientContext again;
    EXPECT_EQ(admin->Backup(&again, req, &resp).error_code(),
              grpc::StatusCode::ALREADY_EXISTS);
  }
  const std::string restored = dir_.path() + "/restored";
  testing::RunResult r = RunToCompletion(
      {FACTLOGD_PATH, "--restore-from", backup, "--data-dir", restored});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("2 events"));
  auto store = storage::EventStore::Open(restored);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*(*store)->GetClaim("kept"))->status(),
            v1::CLAIM_STATUS_CONTRADICTED);
  store->reset();
  testing::RunResult twice = RunToCompletion(
      {FACTLOGD_PATH, "--restore-from", backup, "--data-dir", restored});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_THAT(twice.output, HasSubstr("not empty"));
}

TEST_F(FactlogdCliTest, UsageErrorsExitTwoAndHelpExitsZero) {
  EXPECT_EQ(RunToCompletion({FACTLOGD_PATH, "--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(RunToCompletion({FACTLOGD_PATH, "--verify", "--rebuild"}).exit_code,
            2);
  EXPECT_EQ(
      RunToCompletion({FACTLOGD_PATH, "--claim-cache-mb", "-1"}).exit_code, 2);
  testing::RunResult help = RunToCompletion({FACTLOGD_PATH, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.output, HasSubstr("--data-dir"));
  EXPECT_THAT(help.output, HasSubstr("--claim-cache-mb"));
}

TEST_F(FactlogdCliTest, ServesExistingDataAndStopsCleanlyOnSigint) {
  auto server = testing::StartFactlogd(FACTLOGD_PATH, data_dir_);
  ASSERT_TRUE(server.ok()) << server.status();
  server->process->Signal(SIGINT);
  auto stopped =
      server->process->WaitForLine("stopped cleanly", absl::Seconds(30));
  EXPECT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(server->process->Wait(), 0);
}

TEST_F(FactlogdCliTest, ServesMetricsAndWritesJsonLogs) {
  auto child = testing::Subprocess::Start(
      {FACTLOGD_PATH, "--listen", "127.0.0.1:0", "--data-dir", data_dir_,
       "--metrics-listen", "127.0.0.1:0", "--log-format", "json"});
  ASSERT_TRUE(child.ok()) << child.status();
  testing::Subprocess& process = **child;
  auto listening = process.WaitForLine("listening on ", absl::Seconds(30));
  ASSERT_TRUE(listening.ok()) << listening.status();
  EXPECT_THAT(*listening, ::testing::StartsWith("factlogd listening on "));
  const size_t start = listening->find("listening on ") + 13;
  const std::string address =
      listening->substr(start, listening->find(' ', start) - start);
  auto metrics = process.WaitForLine("metrics on http://", absl::Seconds(5));
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  // "factlogd metrics on http://127.0.0.1:PORT/metrics"
  int metrics_port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      metrics->substr(metrics->rfind(':') + 1,
                      metrics->rfind("/metrics") - metrics->rfind(':') - 1),
      &metrics_port))
      << *metrics;

  {
    auto channel =
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    auto claims = v1::ClaimService::NewStub(channel);
    grpc::ClientContext ctx;
    v1::RecordClaimRequest req = testing::NewClaim("scraped");
    req.set_request_id("cli-metrics-1");
    v1::CommandResponse response;
    ASSERT_TRUE(claims->RecordClaim(&ctx, req, &response).ok());
  }

  const testing::HttpResponse scrape =
      testing::HttpRequest(metrics_port, "GET", "/metrics");
  ASSERT_EQ(scrape.status, 200) << scrape.headers;
  const std::map<std::string, double> samples =
      testing::ParseExposition(scrape.body);
  EXPECT_EQ(samples.at("factlog_appends_total"), 1);
  EXPECT_EQ(
      samples.at("factlog_events_appended_total{type=\"CLAIM_RECORDED\"}"), 1);
  EXPECT_EQ(samples.at("factlog_log_last_position"), 3);  // 2 from SetUp

  process.Signal(SIGTERM);
  auto rest = process.ReadToEnd(absl::Seconds(30));
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(process.Wait(), 0) << *rest;
  // Everything after the two stdout lines is the log: one JSON object per
  // line, with the RecordClaim request line among them.
  std::vector<std::string> messages;
  bool logged_request = false;
  for (absl::string_view line :
       absl::StrSplit(*rest, '\n', absl::SkipEmpty())) {
    google::protobuf::Struct parsed;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(std::string(line), &parsed)
            .ok())
        << line;
    const auto& f = parsed.fields();
    messages.push_back(f.at("msg").string_value());
    if (f.at("msg").string_value() == "rpc" &&
        f.at("request_id").string_value() == "cli-metrics-1") {
      logged_request = true;
      EXPECT_EQ(f.at("method").string_value(),
                "factlog.v1.ClaimService/RecordClaim");
      EXPECT_EQ(f.at("principal").string_value(), "anonymous");
      EXPECT_EQ(f.at("level").string_value(), "info");
    }
  }
  EXPECT_TRUE(logged_request) << *rest;
  EXPECT_THAT(messages,
              ::testing::IsSupersetOf({"factlogd started", "shutting down",
                                       "factlogd stopped cleanly"}));
}

TEST_F(FactlogdCliTest, BadLogAndMetricsFlagsAreUsageErrors) {
  EXPECT_EQ(RunToCompletion({FACTLOGD_PATH, "--log-level", "loud"}).exit_code,
            2);
  EXPECT_EQ(RunToCompletion({FACTLOGD_PATH, "--log-format", "xml"}).exit_code,
            2);
  // A non-loopback metrics address is refused at start, saying why.
  testing::RunResult refused =
      RunToCompletion({FACTLOGD_PATH, "--listen", "127.0.0.1:0", "--data-dir",
                       data_dir_, "--metrics-listen", "0.0.0.0:0"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.output, HasSubstr("--metrics-allow-remote"));
}

}  // namespace
}  // namespace factlog
