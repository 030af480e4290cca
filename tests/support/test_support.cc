#include "tests/support/test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "domain/time_util.h"
#include "gtest/gtest.h"
#include "storage/keys.h"

namespace factlog::testing {

absl::StatusOr<v1::CommandResponse> ApplySync(core::Writer& writer,
                                              v1::Command command,
                                              const std::string& actor) {
  absl::Notification done;
  absl::StatusOr<v1::CommandResponse> result;
  writer.Submit(std::move(command), actor,
                [&](absl::StatusOr<v1::CommandResponse> r) {
                  result = std::move(r);
                  done.Notify();
                });
  done.WaitForNotification();
  return result;
}

TestServer::TestServer(server::ServerOptions options)
    : options_(std::move(options)) {
  options_.listen = "127.0.0.1:0";
  options_.data_dir = dir_.path() + "/data";
  Start();
}

TestServer::~TestServer() { Stop(); }

void TestServer::Start() {
  absl::StatusOr<std::unique_ptr<server::FactlogServer>> started =
      server::FactlogServer::Start(options_);
  ASSERT_TRUE(started.ok()) << started.status();
  server_ = *std::move(started);
  channel_ = grpc::CreateChannel(server_->address(),
                                 grpc::InsecureChannelCredentials());
  claims_ = v1::ClaimService::NewStub(channel_);
  events_ = v1::EventService::NewStub(channel_);
}

void TestServer::Stop() {
  claims_.reset();
  events_.reset();
  channel_.reset();
  if (server_) server_->Shutdown();
  server_.reset();
}

void TestServer::Restart() {
  Stop();
  Start();
}

::testing::AssertionResult VerifiesClean(const storage::EventStore& store) {
  absl::StatusOr<storage::VerifyReport> report = store.Verify();
  if (!report.ok()) {
    return ::testing::AssertionFailure()
           << "verify did not run: " << report.status();
  }
  if (!report->ok()) {
    return ::testing::AssertionFailure()
           << "verify found: " << ::testing::PrintToString(report->mismatches);
  }
  return ::testing::AssertionSuccess();
}

std::vector<v1::Event> StoredEvents(const storage::EventStore& store) {
  std::vector<v1::Event> events;
  EXPECT_TRUE(store
                  .ReadEvents(1,
                              [&](const v1::Event& e) {
                                events.push_back(e);
                                return true;
                              })
                  .ok());
  return events;
}

std::vector<std::string> LoggedClaimIds(const storage::EventStore& store) {
  std::vector<std::string> ids;
  for (const v1::Event& e : StoredEvents(store)) {
    EXPECT_EQ(e.position(), ids.size() + 1);
    ids.push_back(e.claim_id());
  }
  return ids;
}

v1::RecordClaimRequest NewClaim(const std::string& claim_id,
                                const std::string& text) {
  v1::RecordClaimRequest req;
  req.set_claim_id(claim_id);
  req.set_text(text);
  req.set_claimant("Vladimir Putin");
  req.mutable_reported_by()->set_name("Dmitry Peskov");
  req.mutable_reported_by()->set_outlet("CNN");
  req.set_subject("russia-troops-ukraine-border");
  req.set_kind(v1::CLAIM_KIND_FACT);
  *req.mutable_asserted_at() = domain::ToProto(Utc(2014, 5, 19));
  return req;
}

v1::Command RecordCommand(const std::string& claim_id,
                          const std::string& request_id,
                          const std::string& text) {
  v1::Command c;
  *c.mutable_record_claim() = NewClaim(claim_id, text);
  c.mutable_record_claim()->set_request_id(request_id);
  return c;
}

v1::Command EvidenceCommand(const std::string& claim_id, v1::Stance stance,
                            const std::string& source) {
  v1::Command c;
  *c.mutable_add_evidence() = NewEvidence(claim_id, stance, source);
  return c;
}

void SetDeadline(grpc::ClientContext* ctx, absl::Duration timeout) {
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

grpc::Status RecordClaim(v1::ClaimService::Stub& claims,
                         const v1::RecordClaimRequest& req,
                         v1::CommandResponse* resp) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  v1::CommandResponse ignored;
  return claims.RecordClaim(&ctx, req, resp != nullptr ? resp : &ignored);
}

std::unique_ptr<storage::EventStore> OpenStoreOrDie(
    const std::string& dir, const storage::StoreOptions& options) {
  absl::StatusOr<std::unique_ptr<storage::EventStore>> store =
      storage::EventStore::Open(dir, options);
  if (!store.ok()) {
    std::fprintf(stderr, "OpenStoreOrDie(%s): %s\n", dir.c_str(),
                 store.status().ToString().c_str());
    std::abort();
  }
  return *std::move(store);
}

absl::Time Utc(int year, int month, int day, int hour, int minute, int second) {
  return absl::FromCivil(
      absl::CivilSecond(year, month, day, hour, minute, second),
      absl::UTCTimeZone());
}

v1::AddEvidenceRequest NewEvidence(const std::string& claim_id,
                                   v1::Stance stance, const std::string& name) {
  v1::AddEvidenceRequest req;
  req.set_claim_id(claim_id);
  req.set_stance(stance);
  req.mutable_source()->set_name(name);
  req.set_note("observed");
  return req;
}

void WithRawRocksDb(
    const std::string& dir,
    const std::function<void(
        rocksdb::DB* db,
        std::map<std::string, rocksdb::ColumnFamilyHandle*> families)>& fn) {
  std::vector<std::string> names;
  ASSERT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& n : names) {
    descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(
      rocksdb::DB::Open(rocksdb::Options(), dir, descriptors, &handles, &raw)
          .ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::map<std::string, rocksdb::ColumnFamilyHandle*> families;
  for (size_t i = 0; i < names.size(); ++i) families[names[i]] = handles[i];
  fn(db.get(), families);
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    db->DestroyColumnFamilyHandle(h);
  }
}

void SetSchemaVersion(
    rocksdb::DB* db,
    const std::map<std::string, rocksdb::ColumnFamilyHandle*>& families,
    uint64_t version) {
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), families.at("meta"),
                      storage::keys::kSchemaVersion,
                      storage::keys::EncodeU64(version))
                  .ok());
}

uint64_t StoredSchemaVersion(const std::string& dir) {
  uint64_t version = 0;
  WithRawRocksDb(dir, [&](rocksdb::DB* db, auto families) {
    std::string value;
    if (db->Get(rocksdb::ReadOptions(), families.at("meta"),
                storage::keys::kSchemaVersion, &value)
            .ok()) {
      version = storage::keys::DecodeU64(value).value_or(0);
    }
  });
  return version;
}

HttpResponse HttpRequest(int port, const std::string& method,
                         const std::string& path) {
  return HttpRequest(port, method, path, {}, "");
}

HttpResponse HttpRequest(int port, const std::string& method,
                         const std::string& path,
                         const std::vector<std::string>& headers,
                         const std::string& body) {
  std::string request =
      absl::StrCat(method, " ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n");
  for (const std::string& header : headers) {
    absl::StrAppend(&request, header, "\r\n");
  }
  if (!body.empty()) {
    absl::StrAppend(&request, "Content-Length: ", body.size(), "\r\n");
  }
  absl::StrAppend(&request, "\r\n", body);
  return HttpRaw(port, request);
}

HttpResponse HttpRaw(int port, const std::string& raw_request) {
  HttpResponse response;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ADD_FAILURE() << "connect to HTTP port " << port << " failed";
    close(fd);
    return response;
  }
  // A server may answer (and close) before it read all of a request it
  // refuses: what it did not read is not an error here.
  (void)!send(fd, raw_request.data(), raw_request.size(), MSG_NOSIGNAL);
  // Until the server closes the connection, or the body its
  // Content-Length announced is complete (a server that refused a request
  // may wait for the rest of it before closing).
  std::string raw;
  char buffer[65536];
  for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) {
    raw.append(buffer, static_cast<size_t>(n));
    const size_t end = raw.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    const std::string head = absl::AsciiStrToLower(raw.substr(0, end));
    const size_t at = head.find("\r\ncontent-length: ");
    size_t length = 0;
    if (at != std::string::npos &&
        absl::SimpleAtoi(
            head.substr(at + 18, head.find('\r', at + 2) - at - 18), &length) &&
        raw.size() >= end + 4 + length) {
      break;
    }
  }
  close(fd);
  const size_t end = raw.find("\r\n\r\n");
  EXPECT_NE(end, std::string::npos) << raw;
  if (end == std::string::npos) return response;
  response.headers = raw.substr(0, end);
  response.body = raw.substr(end + 4);
  std::vector<std::string> status_line = absl::StrSplit(
      response.headers.substr(0, response.headers.find('\r')), ' ');
  if (status_line.size() >= 2) {
    EXPECT_TRUE(absl::SimpleAtoi(status_line[1], &response.status));
  }
  return response;
}

std::map<std::string, double> ParseExposition(const std::string& text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) continue;
    const size_t space = line.rfind(' ');
    EXPECT_NE(space, absl::string_view::npos) << line;
    double value = 0;
    const absl::string_view number = line.substr(space + 1);
    if (number == "+Inf") {
      value = 1.0 / 0.0;
    } else {
      EXPECT_TRUE(absl::SimpleAtod(number, &value)) << line;
    }
    const auto [it, added] =
        samples.emplace(std::string(line.substr(0, space)), value);
    EXPECT_TRUE(added) << "series twice: " << line;
  }
  return samples;
}

}  // namespace factlog::testing
