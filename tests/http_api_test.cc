// The web view's HTTP edge (README, "Web view"): the JSON API answers what
// the gRPC services answer, commands go through the same writer, bad HTTP
// input gets a JSON error and changes nothing, tokens and roles apply as
// for gRPC, the listen rule is gRPC's, the event stream resumes with
// Last-Event-ID across a restart with no gap and no repeat, and requests
// share a kept-alive connection until a response says close. Each test
// starts a real server (in-process) on loopback port 0 over a temp dir.
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/access.h"
#include "domain/time_util.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using testing::HttpRequest;
using testing::HttpResponse;
using testing::TestServer;

constexpr char kJsonType[] = "Content-Type: application/json";

server::ServerOptions WebOptions() {
  server::ServerOptions options;
  options.http_listen = "127.0.0.1:0";
  options.http_threads = 8;
  return options;
}

template <typename Message>
Message FromJson(const std::string& json) {
  Message message;
  auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << ": " << json;
  return message;
}

std::string ErrorCode(const HttpResponse& response) {
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_object() || !body.contains("code")) return "(no JSON error)";
  return body["code"].get<std::string>();
}

MATCHER_P(EqualsProto, expected, "") {
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(expected, arg)) return true;
  *result_listener << diff;
  return false;
}

TEST(HttpApiTest, QueriesAnswerWhatGrpcAnswers) {
  TestServer server(WebOptions());
  const int port = server.server().http_port();
  ASSERT_NE(port, 0);
  ASSERT_TRUE(
      testing::RecordClaim(server.claims(), testing::NewClaim("c-1")).ok());
  v1::RecordClaimRequest promise = testing::NewClaim("p-1", "We will.");
  promise.set_kind(v1::CLAIM_KIND_PROMISE);
  *promise.mutable_due_at() = domain::ToProto(testing::Utc(2015, 1, 1));
  ASSERT_TRUE(testing::RecordClaim(server.claims(), promise).ok());
  {
    grpc::ClientContext ctx;
    testing::SetDeadline(&ctx);
    v1::CommandResponse added;
    ASSERT_TRUE(server.claims()
                    .AddEvidence(
                        &ctx,
                        testing::NewEvidence("c-1", v1::STANCE_REFUTES, "NATO"),
                        &added)
                    .ok());
  }

  // One claim, now and as of position 1.
  for (std::string query : {"", "?asOfPosition=1"}) {
    HttpResponse got = HttpRequest(port, "GET", "/api/v1/claims/c-1" + query);
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_TRUE(absl::StrContains(got.headers, "application/json"));
    v1::GetClaimRequest req;
    req.set_claim_id("c-1");
    if (!query.empty()) req.set_as_of_position(1);
    grpc::ClientContext ctx;
    testing::SetDeadline(&ctx);
    v1::ClaimView want;
    ASSERT_TRUE(server.claims().GetClaim(&ctx, req, &want).ok());
    EXPECT_THAT(FromJson<v1::ClaimView>(got.body), EqualsProto(want));
  }
  // The list with a filter and a page size, the history, the claimant, the
  // subjects, the overdue promises.
  {
    HttpResponse got = HttpRequest(
        port, "GET",
        "/api/v1/claims?status=CLAIM_STATUS_CONTRADICTED&pageSize=10");
    ASSERT_EQ(got.status, 200) << got.body;
    auto list = FromJson<v1::ListClaimsResponse>(got.body);
    ASSERT_EQ(list.claims_size(), 1);
    EXPECT_EQ(list.claims(0).claim_id(), "c-1");
  }
  {
    HttpResponse got = HttpRequest(port, "GET", "/api/v1/claims/c-1/history");
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(FromJson<v1::GetClaimHistoryResponse>(got.body).events_size(), 2);
  }
  {
    HttpResponse got =
        HttpRequest(port, "GET", "/api/v1/claimants/Vladimir%20Putin");
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(FromJson<v1::ClaimantView>(got.body).claimant(),
              "Vladimir Putin");
  }
  {
    HttpResponse got = HttpRequest(port, "GET", "/api/v1/subjects");
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(FromJson<v1::ListSubjectsResponse>(got.body).subjects_size(), 1);
  }
  {
    HttpResponse got = HttpRequest(port, "GET", "/api/v1/promises/overdue");
    ASSERT_EQ(got.status, 200) << got.body;
    auto list = FromJson<v1::ListClaimsResponse>(got.body);
    ASSERT_EQ(list.claims_size(), 1);
    EXPECT_EQ(list.claims(0).claim_id(), "p-1");
  }
  // The log head and a proof, the same as over gRPC.
  {
    HttpResponse head = HttpRequest(port, "GET", "/api/v1/log/head");
    ASSERT_EQ(head.status, 200) << head.body;
    EXPECT_EQ(FromJson<v1::LogHead>(head.body).tree_size(), 3u);
    HttpResponse proof =
        HttpRequest(port, "GET", "/api/v1/log/inclusion/2?headPosition=3");
    ASSERT_EQ(proof.status, 200) << proof.body;
    v1::GetInclusionProofRequest req;
    req.set_position(2);
    req.set_head_position(3);
    grpc::ClientContext ctx;
    testing::SetDeadline(&ctx);
    v1::InclusionProof want;
    ASSERT_TRUE(server.events().GetInclusionProof(&ctx, req, &want).ok());
    v1::InclusionProof got = FromJson<v1::InclusionProof>(proof.body);
    // The head's time is when each call made it.
    got.mutable_head()->clear_time();
    want.mutable_head()->clear_time();
    EXPECT_THAT(got, EqualsProto(want));
  }
  // A search, once the index caught up (min_position waits for it).
  {
    HttpResponse got =
        HttpRequest(port, "GET", "/api/v1/search?query=claim&minPosition=3");
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(FromJson<v1::SearchClaimsResponse>(got.body).hits_size(), 1);
  }
  // Errors: the gRPC code's name and the HTTP status of the one table.
  {
    HttpResponse missing = HttpRequest(port, "GET", "/api/v1/claims/nope");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(ErrorCode(missing), "NOT_FOUND");
    HttpResponse beyond =
        HttpRequest(port, "GET", "/api/v1/claims/c-1?asOfPosition=99");
    EXPECT_EQ(beyond.status, 400);
    EXPECT_EQ(ErrorCode(beyond), "OUT_OF_RANGE");
  }
}

TEST(HttpApiTest, CommandsGoThroughTheWriter) {
  TestServer server(WebOptions());
  const int port = server.server().http_port();
  v1::RecordClaimRequest record = testing::NewClaim("c-1");
  record.set_request_id("r-1");
  std::string body;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(record, &body).ok());
  HttpResponse created =
      HttpRequest(port, "POST", "/api/v1/claims", {kJsonType}, body);
  ASSERT_EQ(created.status, 200) << created.body;
  auto response = FromJson<v1::CommandResponse>(created.body);
  EXPECT_EQ(response.claim().claim_id(), "c-1");
  EXPECT_EQ(response.version(), 1u);
  // The same request id again: the original answer, nothing appended.
  HttpResponse again =
      HttpRequest(port, "POST", "/api/v1/claims", {kJsonType}, body);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_TRUE(FromJson<v1::CommandResponse>(again.body).deduplicated());
  EXPECT_EQ(server.server().store().LastPosition(), 1u);

  // Evidence at the version the page showed, then a stale form.
  const std::string evidence =
      R"({"evidenceId":"e-1","source":{"name":"NATO"},)"
      R"("stance":"STANCE_REFUTES","expectedVersion":"1","requestId":"r-2"})";
  HttpResponse added = HttpRequest(port, "POST", "/api/v1/claims/c-1/evidence",
                                   {kJsonType}, evidence);
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(FromJson<v1::CommandResponse>(added.body).claim().status(),
            v1::CLAIM_STATUS_CONTRADICTED);
  const std::string stale =
      R"({"evidenceId":"e-2","source":{"name":"OSCE"},)"
      R"("stance":"STANCE_SUPPORTS","expectedVersion":"1","requestId":"r-3"})";
  HttpResponse conflict = HttpRequest(
      port, "POST", "/api/v1/claims/c-1/evidence", {kJsonType}, stale);
  EXPECT_EQ(conflict.status, 409) << conflict.body;
  EXPECT_EQ(ErrorCode(conflict), "ABORTED");
  // The path and the body disagree on the claim.
  HttpResponse disagree =
      HttpRequest(port, "POST", "/api/v1/claims/c-2/evidence", {kJsonType},
                  R"({"claimId":"c-1","source":{"name":"X"}})");
  EXPECT_EQ(disagree.status, 400) << disagree.body;
  EXPECT_TRUE(absl::StrContains(disagree.body, "claimId")) << disagree.body;
  EXPECT_EQ(server.server().store().LastPosition(), 2u);
}

TEST(HttpApiTest, BadHttpInputGetsJsonErrorsAndChangesNothing) {
  server::ServerOptions options = WebOptions();
  options.max_message_bytes = 1 << 16;
  TestServer server(options);
  const int port = server.server().http_port();
  ASSERT_TRUE(
      testing::RecordClaim(server.claims(), testing::NewClaim("c-1")).ok());
  struct Case {
    std::string what;
    HttpResponse response;
    int status;
    std::string code;
  };
  const std::string big_header(40000, 'x');
  std::vector<Case> cases = {
      {"unknown API path", HttpRequest(port, "GET", "/api/v1/nothing"), 404,
       "NOT_FOUND"},
      {"unknown page", HttpRequest(port, "GET", "/etc/passwd"), 404,
       "NOT_FOUND"},
      {"wrong method", HttpRequest(port, "DELETE", "/api/v1/claims/c-1"), 405,
       "UNIMPLEMENTED"},
      {"GET-only path posted",
       HttpRequest(port, "POST", "/api/v1/log/head", {kJsonType}, "{}"), 405,
       "UNIMPLEMENTED"},
      {"malformed JSON",
       HttpRequest(port, "POST", "/api/v1/claims", {kJsonType}, "{\"text\":"),
       400, "INVALID_ARGUMENT"},
      {"unknown JSON field",
       HttpRequest(port, "POST", "/api/v1/claims", {kJsonType},
                   R"({"claimId":"c-2","colour":"red"})"),
       400, "INVALID_ARGUMENT"},
      {"not JSON",
       HttpRequest(port, "POST", "/api/v1/claims",
                   {"Content-Type: application/x-www-form-urlencoded"},
                   "claimId=c-2"),
       400, "INVALID_ARGUMENT"},
      {"invalid claim",
       HttpRequest(port, "POST", "/api/v1/claims", {kJsonType},
                   R"({"claimId":"c-2"})"),
       400, "INVALID_ARGUMENT"},
      {"body declared too large",
       HttpRequest(port, "POST", "/api/v1/claims",
                   {kJsonType, "Content-Length: 10000000"}, ""),
       413, "RESOURCE_EXHAUSTED"},
      {"headers too large",
       HttpRequest(port, "GET", "/api/v1/claims", {"X-Big: " + big_header}, ""),
       431, "RESOURCE_EXHAUSTED"},
      {"unknown query parameter",
       HttpRequest(port, "GET", "/api/v1/claims?colour=red"), 400,
       "INVALID_ARGUMENT"},
      {"bad enum in query",
       HttpRequest(port, "GET", "/api/v1/claims?status=MAYBE"), 400,
       "INVALID_ARGUMENT"},
      {"bad percent-encoding", HttpRequest(port, "GET", "/api/v1/claims/c%zz"),
       400, "INVALID_ARGUMENT"},
      {"bad Last-Event-ID",
       HttpRequest(port, "GET", "/api/v1/events", {"Last-Event-ID: soon"}, ""),
       400, "INVALID_ARGUMENT"},
      {"malformed request line", testing::HttpRaw(port, "NONSENSE\r\n\r\n"),
       400, "INVALID_ARGUMENT"},
      {"request line too long",
       HttpRequest(port, "GET", "/api/v1/claims/" + std::string(9000, 'c')),
       414, "RESOURCE_EXHAUSTED"},
      {"too many headers",
       HttpRequest(port, "GET", "/api/v1/claims",
                   std::vector<std::string>(101, "X-Many: 1"), ""),
       431, "RESOURCE_EXHAUSTED"},
      {"HTTP/2.0 request line",
       testing::HttpRaw(port, "GET /api/v1/claims HTTP/2.0\r\n\r\n"), 505,
       "UNIMPLEMENTED"},
      {"chunked body",
       testing::HttpRaw(port,
                        "POST /api/v1/claims HTTP/1.1\r\nContent-Type: "
                        "application/json\r\nTransfer-Encoding: "
                        "chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
       501, "UNIMPLEMENTED"},
      {"Content-Length with Transfer-Encoding",
       testing::HttpRaw(port,
                        "POST /api/v1/claims HTTP/1.1\r\nContent-Length: "
                        "2\r\nTransfer-Encoding: chunked\r\n\r\n{}"),
       400, "INVALID_ARGUMENT"},
      {"two Content-Lengths that disagree",
       testing::HttpRaw(port,
                        "POST /api/v1/claims HTTP/1.1\r\nContent-Length: "
                        "2\r\nContent-Length: 3\r\n\r\n{}"),
       400, "INVALID_ARGUMENT"},
      {"line ending with LF alone",
       testing::HttpRaw(port, "GET /api/v1/claims HTTP/1.1\nHost: x\n\n"), 400,
       "INVALID_ARGUMENT"},
      {"folded header",
       testing::HttpRaw(port,
                        "GET /api/v1/claims HTTP/1.1\r\nX-A: 1\r\n "
                        "more\r\n\r\n"),
       400, "INVALID_ARGUMENT"},
      {"target not a path",
       testing::HttpRaw(port, "GET http://x/api/v1/claims HTTP/1.1\r\n\r\n"),
       400, "INVALID_ARGUMENT"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.response.status, c.status)
        << c.what << ": " << c.response.headers << "\n"
        << c.response.body;
    EXPECT_EQ(ErrorCode(c.response), c.code)
        << c.what << ": " << c.response.body;
    EXPECT_TRUE(absl::StrContains(c.response.headers, "application/json"))
        << c.what;
  }
  EXPECT_EQ(server.server().store().LastPosition(), 1u);
}

// A tokens file with one principal per role; the tokens by role name.
std::map<std::string, std::string> WriteTokens(const std::string& path) {
  std::map<std::string, std::string> tokens;
  std::ofstream out(path);
  for (const char* role : {"reader", "reporter", "editor"}) {
    tokens[role] = core::NewToken();
    out << role << "-bot " << role << " " << core::Sha256Hex(tokens[role])
        << "\n";
  }
  return tokens;
}

TEST(HttpApiTest, TokensAndRolesAsForGrpc) {
  testing::TempDir dir;
  server::ServerOptions options = WebOptions();
  options.auth_tokens_file = dir.path() + "/tokens";
  std::map<std::string, std::string> tokens =
      WriteTokens(options.auth_tokens_file);
  TestServer server(options);
  const int port = server.server().http_port();
  auto bearer = [&](const std::string& role) {
    return "Authorization: Bearer " + tokens[role];
  };
  HttpResponse session = HttpRequest(port, "GET", "/api/v1/session");
  EXPECT_EQ(session.status, 200);
  EXPECT_TRUE(absl::StrContains(session.body, "\"authRequired\":true"));
  HttpResponse anonymous = HttpRequest(port, "GET", "/api/v1/claims");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(ErrorCode(anonymous), "UNAUTHENTICATED");
  HttpResponse wrong = HttpRequest(port, "GET", "/api/v1/claims",
                                   {"Authorization: Bearer nope"}, "");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(
      HttpRequest(port, "GET", "/api/v1/claims", {bearer("reader")}, "").status,
      200);
  // The page shell needs no token (it asks for one).
  EXPECT_EQ(HttpRequest(port, "GET", "/").status, 200);

  std::string body;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(
                  testing::NewClaim("c-1"), &body)
                  .ok());
  HttpResponse reader = HttpRequest(port, "POST", "/api/v1/claims",
                                    {kJsonType, bearer("reader")}, body);
  EXPECT_EQ(reader.status, 403);
  EXPECT_EQ(ErrorCode(reader), "PERMISSION_DENIED");
  EXPECT_TRUE(absl::StrContains(reader.body, "needs reporter")) << reader.body;
  EXPECT_EQ(server.server().store().LastPosition(), 0u);
  HttpResponse reporter = HttpRequest(port, "POST", "/api/v1/claims",
                                      {kJsonType, bearer("reporter")}, body);
  EXPECT_EQ(reporter.status, 200) << reporter.body;
  // A verdict is an editor's.
  const std::string verdict =
      R"({"rating":"RATING_FALSE","summary":"No.","reviewer":"Desk"})";
  EXPECT_EQ(HttpRequest(port, "POST", "/api/v1/claims/c-1/verdict",
                        {kJsonType, bearer("reporter")}, verdict)
                .status,
            403);
  HttpResponse editor = HttpRequest(port, "POST", "/api/v1/claims/c-1/verdict",
                                    {kJsonType, bearer("editor")}, verdict);
  EXPECT_EQ(editor.status, 200) << editor.body;
}

// A self-signed certificate for localhost and 127.0.0.1 (EC P-256), made
// with OpenSSL: `cert` and `key` PEM files in `dir`.
void WriteSelfSignedCert(const std::string& cert, const std::string& key) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  ASSERT_NE(pkey, nullptr);
  X509* x509 = X509_new();
  X509_set_version(x509, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x509), 1);
  X509_gmtime_adj(X509_getm_notBefore(x509), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x509), 3600 * 24);
  X509_set_pubkey(x509, pkey);
  X509_NAME* name = X509_get_subject_name(x509);
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x509, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x509, x509, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name,
                                            "DNS:localhost,IP:127.0.0.1");
  X509_add_ext(x509, san, -1);
  X509_EXTENSION_free(san);
  ASSERT_GT(X509_sign(x509, pkey, EVP_sha256()), 0);
  FILE* out = std::fopen(cert.c_str(), "w");
  PEM_write_X509(out, x509);
  std::fclose(out);
  out = std::fopen(key.c_str(), "w");
  PEM_write_PrivateKey(out, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(out);
  X509_free(x509);
  EVP_PKEY_free(pkey);
}

TEST(HttpApiTest, ListenRuleIsGrpcs) {
  testing::TempDir dir;
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = dir.path() + "/data";
  options.http_listen = "0.0.0.0:0";
  auto refused = server::FactlogServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "0.0.0.0:0"))
      << refused.status();
  // Tokens without TLS, or TLS without tokens, are not enough.
  options.auth_tokens_file = dir.path() + "/tokens";
  WriteTokens(options.auth_tokens_file);
  auto with_tokens = server::FactlogServer::Start(options);
  ASSERT_FALSE(with_tokens.ok());
  EXPECT_EQ(with_tokens.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(with_tokens.status().message(), "--tls-cert"))
      << with_tokens.status();
  options.tls_cert_file = dir.path() + "/cert.pem";
  options.tls_key_file = dir.path() + "/key.pem";
  WriteSelfSignedCert(options.tls_cert_file, options.tls_key_file);
  options.listen = "127.0.0.1:0";
  {
    server::ServerOptions no_tokens = options;
    no_tokens.auth_tokens_file.clear();
    auto refused_tls = server::FactlogServer::Start(no_tokens);
    ASSERT_FALSE(refused_tls.ok());
    EXPECT_EQ(refused_tls.status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  // TLS and tokens: served.
  {
    auto allowed = server::FactlogServer::Start(options);
    ASSERT_TRUE(allowed.ok()) << allowed.status();
    EXPECT_NE((*allowed)->http_port(), 0);
  }
  // A key that is not the certificate's: refused at the start, naming it.
  {
    server::ServerOptions mismatched = options;
    mismatched.tls_key_file = dir.path() + "/other.pem";
    WriteSelfSignedCert(dir.path() + "/other-cert.pem",
                        mismatched.tls_key_file);
    mismatched.listen = "127.0.0.1:0";
    mismatched.http_listen = "127.0.0.1:0";
    auto bad = server::FactlogServer::Start(mismatched);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(bad.status().message(), "--tls-key"))
        << bad.status();
  }
  // --insecure: plain HTTP anywhere.
  options.tls_cert_file.clear();
  options.tls_key_file.clear();
  options.auth_tokens_file.clear();
  options.insecure = true;
  auto allowed = server::FactlogServer::Start(options);
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_NE((*allowed)->http_port(), 0);
}

// A TCP connection to 127.0.0.1:port (a test failure if refused).
int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

// An event stream read over a plain socket, with a deadline on every read.
class SseClient {
 public:
  SseClient(int port, const std::string& path,
            const std::string& last_event_id) {
    fd_ = ConnectLoopback(port);
    std::string request =
        absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if (!last_event_id.empty()) {
      absl::StrAppend(&request, "Last-Event-ID: ", last_event_id, "\r\n");
    }
    request += "\r\n";
    EXPECT_EQ(send(fd_, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
  }
  ~SseClient() { close(fd_); }

  struct Message {
    uint64_t id = 0;
    std::string event;
    std::string data;
  };
  // The next message (comments and retry lines skipped), or nullopt when
  // the deadline passes or the stream ends.
  std::optional<Message> Next(absl::Time deadline) {
    for (;;) {
      if (!headers_done_) {
        const size_t end = buffer_.find("\r\n\r\n");
        if (end != std::string::npos) {
          EXPECT_TRUE(absl::StartsWith(buffer_, "HTTP/1.1 200")) << buffer_;
          buffer_.erase(0, end + 4);
          headers_done_ = true;
        }
      }
      const size_t end =
          headers_done_ ? buffer_.find("\n\n") : std::string::npos;
      if (end != std::string::npos) {
        std::string block = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        Message m;
        for (absl::string_view line : absl::StrSplit(block, '\n')) {
          if (absl::ConsumePrefix(&line, "id: ")) {
            EXPECT_TRUE(absl::SimpleAtoi(line, &m.id)) << line;
          } else if (absl::ConsumePrefix(&line, "event: ")) {
            m.event = std::string(line);
          } else if (absl::ConsumePrefix(&line, "data: ")) {
            m.data = std::string(line);
          }
        }
        if (m.event.empty()) continue;
        return m;
      }
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <=
          0) {
        continue;
      }
      char chunk[8192];
      const ssize_t n = read(fd_, chunk, sizeof(chunk));
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }
  // The positions of the next `count` events (other messages skipped).
  std::vector<uint64_t> Events(size_t count) {
    std::vector<uint64_t> ids;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (ids.size() < count) {
      std::optional<Message> m = Next(deadline);
      if (!m) break;
      if (m->event != "event") continue;
      auto item = FromJson<v1::SubscribedEvent>(m->data);
      EXPECT_EQ(item.event().position(), m->id);
      ids.push_back(m->id);
    }
    return ids;
  }

 private:
  int fd_ = -1;
  std::string buffer_;
  bool headers_done_ = false;
};

TEST(HttpApiTest, EventStreamResumesAcrossARestartWithoutGapOrRepeat) {
  TestServer server(WebOptions());
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(testing::RecordClaim(server.claims(),
                                     testing::NewClaim(absl::StrCat("c-", i)))
                    .ok());
  }
  std::vector<uint64_t> seen;
  {
    SseClient stream(server.server().http_port(),
                     "/api/v1/events?fromPosition=0", "");
    seen = stream.Events(3);
    ASSERT_EQ(seen, (std::vector<uint64_t>{1, 2, 3}));
    // Live: one more while the stream is open, with its status.
    ASSERT_TRUE(
        testing::RecordClaim(server.claims(), testing::NewClaim("c-4")).ok());
    std::vector<uint64_t> live = stream.Events(1);
    ASSERT_EQ(live, (std::vector<uint64_t>{4}));
    seen.push_back(4);
    // A filter as Subscribe's: only c-2's events.
    SseClient filtered(server.server().http_port(),
                       "/api/v1/events?fromPosition=0&filter.claimId=c-2", "");
    EXPECT_EQ(filtered.Events(1), (std::vector<uint64_t>{2}));
  }
  server.Restart();
  for (int i = 5; i <= 6; ++i) {
    ASSERT_TRUE(testing::RecordClaim(server.claims(),
                                     testing::NewClaim(absl::StrCat("c-", i)))
                    .ok());
  }
  // The browser reconnects with the last id it saw (and the query it had).
  SseClient resumed(server.server().http_port(), "/api/v1/events?fromEnd=true",
                    "4");
  std::vector<uint64_t> after = resumed.Events(2);
  EXPECT_EQ(after, (std::vector<uint64_t>{5, 6}));
  // Nothing more: no repeat. The next message is caught_up at 6.
  std::optional<SseClient::Message> next =
      resumed.Next(absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->event, "caught_up");
  EXPECT_EQ(next->id, 6u);
}

// One client connection, read with a deadline: what a browser's kept-alive
// connection sees.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(ConnectLoopback(port)) {}
  ~RawConnection() { close(fd_); }

  void Send(const std::string& request) {
    EXPECT_EQ(send(fd_, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
  }
  // The next response, ended by its Content-Length; nullopt when the
  // connection ends first or 10 s pass.
  std::optional<HttpResponse> Next() {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    for (;;) {
      const size_t end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        const std::string head = absl::AsciiStrToLower(buffer_.substr(0, end));
        const size_t at = head.find("\r\ncontent-length: ");
        size_t length = 0;
        EXPECT_NE(at, std::string::npos) << head;
        if (at != std::string::npos &&
            absl::SimpleAtoi(
                head.substr(at + 18, head.find('\r', at + 2) - at - 18),
                &length) &&
            buffer_.size() >= end + 4 + length) {
          HttpResponse response;
          response.headers = buffer_.substr(0, end);
          response.body = buffer_.substr(end + 4, length);
          (void)absl::SimpleAtoi(response.headers.substr(9, 3),
                                 &response.status);
          buffer_.erase(0, end + 4 + length);
          return response;
        }
      }
      if (!Read(deadline)) return std::nullopt;
    }
  }
  // True when the server closes the connection (nothing more arrives)
  // within 10 s.
  bool Closed() {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (Read(deadline)) {
    }
    return closed_;
  }
  // What arrived and was not taken by Next.
  const std::string& received() const { return buffer_; }

 private:
  // Appends what arrives before `deadline`; false at its end or the
  // connection's.
  bool Read(absl::Time deadline) {
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    pollfd p{fd_, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char chunk[8192];
    const ssize_t n = read(fd_, chunk, sizeof(chunk));
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
  bool closed_ = false;
};

TEST(HttpApiTest, ConnectionsAreKeptAliveBetweenResponses) {
  TestServer server(WebOptions());
  const int port = server.server().http_port();
  ASSERT_TRUE(
      testing::RecordClaim(server.claims(), testing::NewClaim("c-1")).ok());
  const std::string get =
      "GET /api/v1/claims/c-1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  {
    // Requests one after another, then two at once, all on one
    // connection; an error does not end it either.
    RawConnection connection(port);
    for (int i = 0; i < 2; ++i) {
      connection.Send(get);
      std::optional<HttpResponse> response = connection.Next();
      ASSERT_TRUE(response.has_value()) << "request " << i;
      EXPECT_EQ(response->status, 200) << response->headers;
      EXPECT_TRUE(
          absl::StrContains(response->headers, "Connection: keep-alive"))
          << response->headers;
      EXPECT_EQ(FromJson<v1::ClaimView>(response->body).claim_id(), "c-1");
    }
    connection.Send(
        get + "GET /api/v1/claims/none HTTP/1.1\r\nHost: x\r\n\r\n" + get);
    for (int want : {200, 404, 200}) {
      std::optional<HttpResponse> response = connection.Next();
      ASSERT_TRUE(response.has_value()) << want;
      EXPECT_EQ(response->status, want) << response->headers;
    }
    // A command's body read, the connection goes on.
    connection.Send(
        "POST /api/v1/claims HTTP/1.1\r\nHost: x\r\nContent-Type: "
        "application/json\r\nContent-Length: 2\r\n\r\n{}" +
        get);
    std::optional<HttpResponse> refused = connection.Next();
    ASSERT_TRUE(refused.has_value());
    EXPECT_EQ(refused->status, 400) << refused->body;
    std::optional<HttpResponse> after = connection.Next();
    ASSERT_TRUE(after.has_value());
    EXPECT_EQ(after->status, 200);
  }
  // Responses after which the connection ends: each says "Connection:
  // close", and the server closes it (a body too large is not read).
  struct Closing {
    std::string what;
    std::string request;
    int status;
  };
  const std::vector<Closing> closing = {
      {"the client asks to close",
       "GET /api/v1/claims/c-1 HTTP/1.1\r\nHost: x\r\nConnection: "
       "close\r\n\r\n",
       200},
      {"a body too large to read",
       "POST /api/v1/claims HTTP/1.1\r\nHost: x\r\nContent-Type: "
       "application/json\r\nContent-Length: 100000000\r\n\r\n{}",
       413},
      {"a request that does not parse", "NONSENSE\r\n\r\n", 400},
  };
  for (const Closing& c : closing) {
    RawConnection connection(port);
    connection.Send(c.request);
    std::optional<HttpResponse> response = connection.Next();
    ASSERT_TRUE(response.has_value()) << c.what;
    EXPECT_EQ(response->status, c.status) << c.what;
    EXPECT_TRUE(absl::StrContains(response->headers, "Connection: close"))
        << c.what << ": " << response->headers;
    EXPECT_TRUE(connection.Closed()) << c.what;
  }
}

// An HTTPS client connection (OpenSSL, blocking) that trusts `ca_file` and
// checks the server's name is localhost, as a browser would.
class TlsClient {
 public:
  TlsClient(int port, const std::string& ca_file) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    EXPECT_EQ(SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr), 1);
    fd_ = ConnectLoopback(port);
    timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    SSL_set1_host(ssl_, "localhost");
    handshake_ok_ = SSL_connect(ssl_) == 1;
  }
  ~TlsClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    close(fd_);
  }
  bool handshake_ok() const { return handshake_ok_; }
  const std::string& received() const { return buffer_; }
  std::string version() const { return SSL_get_version(ssl_); }

  void Send(const std::string& data) {
    EXPECT_EQ(SSL_write(ssl_, data.data(), static_cast<int>(data.size())),
              static_cast<int>(data.size()));
  }
  // Reads until `text` arrived (true) or the connection or 10 s end.
  bool ReadUntil(const std::string& text) {
    while (!absl::StrContains(buffer_, text)) {
      if (!ReadMore()) return false;
    }
    return true;
  }
  // The next response with a Content-Length body.
  std::optional<HttpResponse> Next() {
    if (!ReadUntil("\r\n\r\n")) return std::nullopt;
    const size_t end = buffer_.find("\r\n\r\n");
    HttpResponse response;
    response.headers = buffer_.substr(0, end);
    const std::string lower = absl::AsciiStrToLower(response.headers);
    const size_t at = lower.find("content-length: ");
    size_t length = 0;
    if (at == std::string::npos ||
        !absl::SimpleAtoi(lower.substr(at + 16, lower.find('\r', at) - at - 16),
                          &length)) {
      return std::nullopt;
    }
    while (buffer_.size() < end + 4 + length && ReadMore()) {
    }
    if (buffer_.size() < end + 4 + length) return std::nullopt;
    response.body = buffer_.substr(end + 4, length);
    (void)absl::SimpleAtoi(response.headers.substr(9, 3), &response.status);
    buffer_.erase(0, end + 4 + length);
    return response;
  }

 private:
  // Appends what arrives next; false at the connection's end or after 10 s.
  bool ReadMore() {
    char chunk[8192];
    const int n = SSL_read(ssl_, chunk, sizeof(chunk));
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool handshake_ok_ = false;
  std::string buffer_;
};

TEST(HttpApiTest, ServesHttpsWithTheGrpcCertificate) {
  testing::TempDir dir;
  server::ServerOptions options = WebOptions();
  options.tls_cert_file = dir.path() + "/cert.pem";
  options.tls_key_file = dir.path() + "/key.pem";
  WriteSelfSignedCert(options.tls_cert_file, options.tls_key_file);
  TestServer server(options);
  const int port = server.server().http_port();
  // gRPC's port serves TLS with the same certificate (TestServer's client
  // is plain), so commands go over the JSON API.
  auto record = [&](TlsClient& client, const std::string& claim_id) {
    std::string body;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(
                    testing::NewClaim(claim_id), &body)
                    .ok());
    client.Send(absl::StrCat(
        "POST /api/v1/claims HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
        "application/json\r\nContent-Length: ",
        body.size(), "\r\n\r\n", body));
    std::optional<HttpResponse> recorded = client.Next();
    EXPECT_TRUE(recorded.has_value());
    if (recorded.has_value()) {
      EXPECT_EQ(recorded->status, 200) << recorded->body;
    }
  };
  {
    TlsClient client(port, options.tls_cert_file);
    ASSERT_TRUE(client.handshake_ok());
    EXPECT_TRUE(client.version() == "TLSv1.3" || client.version() == "TLSv1.2")
        << client.version();
    // A command, then a query, then the page, on one kept-alive connection.
    record(client, "c-1");
    client.Send("GET /api/v1/claims/c-1 HTTP/1.1\r\nHost: localhost\r\n\r\n");
    std::optional<HttpResponse> claim = client.Next();
    ASSERT_TRUE(claim.has_value());
    EXPECT_EQ(claim->status, 200);
    EXPECT_EQ(FromJson<v1::ClaimView>(claim->body).claim_id(), "c-1");
    client.Send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    std::optional<HttpResponse> page = client.Next();
    ASSERT_TRUE(page.has_value());
    EXPECT_EQ(page->status, 200);
    EXPECT_TRUE(absl::StrContains(page->body, "<html")) << page->body;
  }
  // The event stream over TLS: the past event, then a live one.
  {
    TlsClient stream(port, options.tls_cert_file);
    ASSERT_TRUE(stream.handshake_ok());
    stream.Send(
        "GET /api/v1/events?fromPosition=0 HTTP/1.1\r\nHost: "
        "localhost\r\n\r\n");
    EXPECT_TRUE(stream.ReadUntil("id: 1\nevent: event\n"));
    TlsClient writer(port, options.tls_cert_file);
    record(writer, "c-2");
    EXPECT_TRUE(stream.ReadUntil("id: 2\nevent: event\n"));
  }
  // Many events at once over TLS: a stream from the start gets every one
  // once and in order, their frames gathered into records of up to 16 KiB.
  {
    constexpr int kEvents = 80;
    TlsClient writer(port, options.tls_cert_file);
    for (int i = 3; i <= kEvents; ++i) record(writer, absl::StrCat("c-", i));
    TlsClient stream(port, options.tls_cert_file);
    ASSERT_TRUE(stream.handshake_ok());
    stream.Send(
        "GET /api/v1/events?fromPosition=0&maxEventsPerMessage=64 "
        "HTTP/1.1\r\nHost: localhost\r\n\r\n");
    ASSERT_TRUE(
        stream.ReadUntil(absl::StrCat("id: ", kEvents, "\nevent: event\n")));
    std::vector<int> ids;
    for (absl::string_view block :
         absl::StrSplit(stream.received(), "\n\n", absl::SkipEmpty())) {
      int id = 0;
      if (absl::ConsumePrefix(&block, "id: ") &&
          absl::StrContains(block, "\nevent: event\n") &&
          absl::SimpleAtoi(block.substr(0, block.find('\n')), &id)) {
        ids.push_back(id);
      }
    }
    ASSERT_EQ(ids.size(), static_cast<size_t>(kEvents));
    for (int i = 0; i < kEvents; ++i) EXPECT_EQ(ids[i], i + 1);
  }
  // Plain HTTP to the TLS port gets no HTTP answer, only the end of the
  // connection; a client that does not trust the certificate does not
  // connect.
  {
    RawConnection plain(port);
    plain.Send("GET /api/v1/claims/c-1 HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(plain.Closed());
    EXPECT_FALSE(absl::StartsWith(plain.received(), "HTTP/"))
        << plain.received();
  }
  WriteSelfSignedCert(dir.path() + "/other-cert.pem",
                      dir.path() + "/other-key.pem");
  TlsClient untrusting(port, dir.path() + "/other-cert.pem");
  EXPECT_FALSE(untrusting.handshake_ok());
  ERR_clear_error();
}

TEST(HttpApiTest, PagesCarryAStrictContentSecurityPolicy) {
  TestServer server(WebOptions());
  const int port = server.server().http_port();
  for (std::string path : {"/", "/index.html", "/claims/c-1"}) {
    HttpResponse page = HttpRequest(port, "GET", path);
    EXPECT_EQ(page.status, 200) << path;
    EXPECT_TRUE(absl::StrContains(page.headers, "text/html")) << path;
    EXPECT_TRUE(absl::StrContains(page.headers,
                                  "Content-Security-Policy: default-src "
                                  "'none'; script-src 'self'"))
        << page.headers;
  }
}

}  // namespace
}  // namespace factlog
