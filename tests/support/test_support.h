#ifndef FACTLOG_TESTS_SUPPORT_TEST_SUPPORT_H_
#define FACTLOG_TESTS_SUPPORT_TEST_SUPPORT_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/writer.h"
#include "factlog/v1/service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "server/factlog_server.h"
#include "storage/event_store.h"
#include "tests/support/temp_dir.h"

namespace factlog::testing {

// A clock tests move by hand. Thread-safe.
class FakeClock {
 public:
  explicit FakeClock(absl::Time start) : nanos_(absl::ToUnixNanos(start)) {}
  absl::Time Now() const { return absl::FromUnixNanos(nanos_.load()); }
  void Advance(absl::Duration d) { nanos_ += absl::ToInt64Nanoseconds(d); }

 private:
  std::atomic<int64_t> nanos_;
};

// Submits one command to `writer` and waits for its result.
absl::StatusOr<v1::CommandResponse> ApplySync(
    core::Writer& writer, v1::Command command,
    const std::string& actor = "test");

// A real factlogd in-process on 127.0.0.1 port 0 over RocksDB in a temp dir,
// with stubs on an insecure channel. Restart() stops it and starts a new
// server over the same data dir.
class TestServer {
 public:
  explicit TestServer(server::ServerOptions options = {});
  ~TestServer();

  void Restart();
  void Stop();
  server::FactlogServer& server() { return *server_; }
  v1::ClaimService::Stub& claims() { return *claims_; }
  v1::EventService::Stub& events() { return *events_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  // The RocksDB directory the server runs on.
  const std::string& data_dir() const { return options_.data_dir; }

 private:
  void Start();

  TempDir dir_;
  server::ServerOptions options_;
  std::unique_ptr<server::FactlogServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ClaimService::Stub> claims_;
  std::unique_ptr<v1::EventService::Stub> events_;
};

// Opens the RocksDB database in `dir` directly (no factlog code, the store
// must be closed) and calls `fn` with it and its column families by name:
// how tests play an attacker or an older version editing the files.
void WithRawRocksDb(
    const std::string& dir,
    const std::function<void(
        rocksdb::DB* db,
        std::map<std::string, rocksdb::ColumnFamilyHandle*> families)>& fn);

// Inside WithRawRocksDb: stamps the store as one written by schema
// `version`, as an older (or newer) factlogd would have left it.
void SetSchemaVersion(
    rocksdb::DB* db,
    const std::map<std::string, rocksdb::ColumnFamilyHandle*>& families,
    uint64_t version);

// The schema version recorded in the closed store in `dir`; 0 when none.
uint64_t StoredSchemaVersion(const std::string& dir);

// Every event in `store`'s log, in position order.
std::vector<v1::Event> StoredEvents(const storage::EventStore& store);

// Success when `store`'s Verify runs and finds nothing; otherwise why not,
// every mismatch listed. For ASSERT_TRUE / EXPECT_TRUE.
::testing::AssertionResult VerifiesClean(const storage::EventStore& store);

// The claim id of each event in `store`'s log, in position order; expects
// the positions to be 1, 2, ... with no gap.
std::vector<std::string> LoggedClaimIds(const storage::EventStore& store);

// A RecordClaimRequest with valid defaults for `claim_id`.
v1::RecordClaimRequest NewClaim(const std::string& claim_id,
                                const std::string& text = "A claim.");
// An AddEvidenceRequest from source `name` with `stance`.
v1::AddEvidenceRequest NewEvidence(const std::string& claim_id,
                                   v1::Stance stance, const std::string& name);

// A command for a Writer: RecordClaim of NewClaim(claim_id, text), with
// `request_id` (none when empty).
v1::Command RecordCommand(const std::string& claim_id,
                          const std::string& request_id = "",
                          const std::string& text = "A claim.");
// A command for a Writer: AddEvidence of NewEvidence(claim_id, stance,
// source).
v1::Command EvidenceCommand(const std::string& claim_id, v1::Stance stance,
                            const std::string& source);

// The deadline every test call gets unless it needs another: no call, and
// above all no stream, can keep a test waiting past it.
inline constexpr absl::Duration kCallDeadline = absl::Seconds(60);
// Sets `ctx`'s deadline `timeout` from now.
void SetDeadline(grpc::ClientContext* ctx,
                 absl::Duration timeout = kCallDeadline);

// ClaimService.RecordClaim over `claims`, with kCallDeadline. `resp` may be
// null.
grpc::Status RecordClaim(v1::ClaimService::Stub& claims,
                         const v1::RecordClaimRequest& req,
                         v1::CommandResponse* resp = nullptr);

// The store in `dir`, opened with `options`. A store that does not open
// ends the test program with the reason (it never returns null).
std::unique_ptr<storage::EventStore> OpenStoreOrDie(
    const std::string& dir, const storage::StoreOptions& options = {});

// A time given in UTC, as the tests' scenarios write them.
absl::Time Utc(int year, int month, int day, int hour = 0, int minute = 0,
               int second = 0);

// One HTTP/1.0 request to 127.0.0.1:`port` over a plain socket (the
// metrics listener). status is 0 when it could not connect (a test failure
// is recorded).
struct HttpResponse {
  int status = 0;
  std::string headers;  // the status line and headers
  std::string body;
};
HttpResponse HttpRequest(int port, const std::string& method,
                         const std::string& path);
// The same with request headers ("Name: value" lines without CRLF) and a
// body (sent with its Content-Length when not empty).
HttpResponse HttpRequest(int port, const std::string& method,
                         const std::string& path,
                         const std::vector<std::string>& headers,
                         const std::string& body);
// Sends `raw` as it is (a request, well formed or not) and reads the
// response until the server closes the connection.
HttpResponse HttpRaw(int port, const std::string& raw);

// The samples of a Prometheus text exposition by series, "name{labels}"
// exactly as written; records a test failure for a malformed line or a
// series seen twice.
std::map<std::string, double> ParseExposition(const std::string& text);

}  // namespace factlog::testing

#endif  // FACTLOG_TESTS_SUPPORT_TEST_SUPPORT_H_
