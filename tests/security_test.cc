// Authentication and authorization on a real in-process server: the role x
// method matrix, actors taken from tokens, token reload, tokens-file errors,
// and the refusal to serve a network without TLS and tokens.
#include <fstream>
#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "core/access.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "rpc/methods.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using core::Role;
using ::testing::HasSubstr;
using testing::NewClaim;
using testing::NewEvidence;
using testing::TempDir;
using testing::TestServer;

struct Principal {
  std::string name;
  Role role;
  std::string token;
};

// Writes a tokens file for `principals` (digests only) and returns its path.
std::string WriteTokens(const std::string& dir,
                        const std::vector<Principal>& principals) {
  const std::string path = dir + "/tokens.txt";
  std::ofstream out(path);
  out << "# principal role sha256(token)\n";
  for (const Principal& p : principals) {
    out << p.name << " " << core::RoleName(p.role) << " "
        << core::Sha256Hex(p.token) << "\n";
  }
  return path;
}

class SecurityTest : public ::testing::Test {
 protected:
  SecurityTest() {
    principals_ = {{"rita", Role::kReader, core::NewToken()},
                   {"paul", Role::kReporter, core::NewToken()},
                   {"erin", Role::kEditor, core::NewToken()},
                   {"adam", Role::kAdmin, core::NewToken()}};
    server::ServerOptions options;
    options.auth_tokens_file = WriteTokens(dir_.path(), principals_);
    server_ = std::make_unique<TestServer>(options);
    // Seed data as the editor so every method has something to act on.
    Call(Token("erin"), [&](grpc::ClientContext* ctx) {
      v1::CommandResponse r;
      return server_->claims().RecordClaim(ctx, NewClaim("seed"), &r);
    });
    Call(Token("erin"), [&](grpc::ClientContext* ctx) {
      v1::CommandResponse r;
      v1::AddEvidenceRequest e = NewEvidence("seed", v1::STANCE_REFUTES, "N");
      e.set_evidence_id("e1");
      return server_->claims().AddEvidence(ctx, e, &r);
    });
  }

  std::string Token(const std::string& name) const {
    for (const Principal& p : principals_) {
      if (p.name == name) return p.token;
    }
    return "";
  }

  grpc::Status Call(
      const std::string& token,
      const std::function<grpc::Status(grpc::ClientContext*)>& fn) {
    grpc::ClientContext ctx;
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    return fn(&ctx);
  }

  TempDir dir_;
  std::vector<Principal> principals_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(SecurityTest, EveryMethodAllowsExactlyTheRolesThatMayCallIt) {
  int n = 0;
  auto unique = [&n] { return absl::StrCat("m", n++); };
  struct Method {
    std::string name;
    Role needed;
    std::function<grpc::Status(grpc::ClientContext*)> call;
  };
  auto& claims = server_->claims();
  auto& events = server_->events();
  auto admin = v1::AdminService::NewStub(server_->channel());
  std::vector<Method> methods = {
      {"RecordClaim", Role::kReporter,
       [&](grpc::ClientContext* c) {
         v1::CommandResponse r;
         return claims.RecordClaim(c, NewClaim(unique()), &r);
       }},
      {"AddEvidence", Role::kReporter,
       [&](grpc::ClientContext* c) {
         v1::CommandResponse r;
         return claims.AddEvidence(
             c, NewEvidence("seed", v1::STANCE_CONTEXT, unique()), &r);
       }},
      {"WithdrawEvidence", Role::kEditor,
       [&](grpc::ClientContext* c) {
         v1::WithdrawEvidenceRequest q;
         q.set_claim_id("seed");
         q.set_evidence_id("no-such");  // NOT_FOUND once authorized
         q.set_reason("r");
         v1::CommandResponse r;
         return claims.WithdrawEvidence(c, q, &r);
       }},
      {"IssueVerdict", Role::kEditor,
       [&](grpc::ClientContext* c) {
         v1::IssueVerdictRequest q;
         q.set_claim_id("seed");
         q.set_rating(v1::RATING_FALSE);
         q.set_summary("s");
         q.set_reviewer("r");
         v1::CommandResponse r;
         return claims.IssueVerdict(c, q, &r);
       }},
      {"CorrectClaim", Role::kEditor,
       [&](grpc::ClientContext* c) {
         v1::CorrectClaimRequest q;
         q.set_claim_id("seed");
         q.set_text(unique());
         q.set_reason("r");
         v1::CommandResponse r;
         return claims.CorrectClaim(c, q, &r);
       }},
      {"RetractClaim", Role::kEditor,
       [&](grpc::ClientContext* c) {
         v1::RetractClaimRequest q;
         q.set_claim_id("no-such");  // NOT_FOUND once authorized
         q.set_reason("r");
         v1::CommandResponse r;
         return claims.RetractClaim(c, q, &r);
       }},
      {"LinkClaims", Role::kEditor,
       [&](grpc::ClientContext* c) {
         v1::LinkClaimsRequest q;
         q.set_claim_id("seed");
         q.set_other_claim_id("no-such");
         q.set_relation(v1::LINK_RELATION_REPEATS);
         v1::CommandResponse r;
         return claims.LinkClaims(c, q, &r);
       }},
      {"GetClaim", Role::kReader,
       [&](grpc::ClientContext* c) {
         v1::GetClaimRequest q;
         q.set_claim_id("seed");
         v1::ClaimView r;
         return claims.GetClaim(c, q, &r);
       }},
      {"ListClaims", Role::kReader,
       [&](grpc::ClientContext* c) {
         v1::ListClaimsResponse r;
         return claims.ListClaims(c, v1::ListClaimsRequest(), &r);
       }},
      {"GetClaimHistory", Role::kReader,
       [&](grpc::ClientContext* c) {
         v1::GetClaimHistoryRequest q;
         q.set_claim_id("seed");
         v1::GetClaimHistoryResponse r;
         return claims.GetClaimHistory(c, q, &r);
       }},
      {"GetClaimant", Role::kReader,
       [&](grpc::ClientContext* c) {
         v1::GetClaimantRequest q;
         q.set_claimant("Vladimir Putin");
         v1::ClaimantView r;
         return claims.GetClaimant(c, q, &r);
       }},
      {"GetClaimTimeline", Role::kReader,
       [&](grpc::ClientContext* c) {
         v1::GetClaimTimelineRequest q;
         q.set_claim_id("seed");
         v1::ClaimTimeline r;
         return claims.GetClaimTimeline(c, q, &r);
       }},
      {"ListSubjects", Role::kReader,
       [&](grpc::ClientContext* c) {
         v1::ListSubjectsResponse r;
         return claims.ListSubjects(c, v1::ListSubjectsRequest(), &r);
       }},
      {"ReadEvents", Role::kReader,
       [&](grpc::ClientContext* c) {
         auto reader = events.ReadEvents(c, v1::ReadEventsRequest());
         v1::Event e;
         while (reader->Read(&e)) {
         }
         return reader->Finish();
       }},
      {"Subscribe", Role::kReader,
       [&](grpc::ClientContext* c) {
         v1::SubscribeRequest q;
         q.set_from_end(true);
         auto reader = events.Subscribe(c, q);
         v1::SubscribeResponse m;
         if (reader->Read(&m)) c->TryCancel();  // caught_up: it was let in
         grpc::Status s = reader->Finish();
         return s.error_code() == grpc::StatusCode::CANCELLED ? grpc::Status::OK
                                                              : s;
       }},
      {"Import", Role::kReporter,
       [&](grpc::ClientContext* c) {
         v1::ImportResponse r;
         auto writer = claims.Import(c, &r);
         v1::Command cmd;
         *cmd.mutable_record_claim() = NewClaim(unique());
         writer->Write(cmd);
         writer->WritesDone();
         return writer->Finish();
       }},
      {"GetStats", Role::kAdmin,
       [&](grpc::ClientContext* c) {
         v1::GetStatsResponse r;
         return admin->GetStats(c, v1::GetStatsRequest(), &r);
       }},
  };

  std::vector<std::pair<std::string, std::optional<Role>>> callers = {
      {"", std::nullopt}, {"not-a-token", std::nullopt}};
  for (const Principal& p : principals_) callers.emplace_back(p.token, p.role);

  for (const Method& m : methods) {
    for (const auto& [token, role] : callers) {
      SCOPED_TRACE(absl::StrCat(m.name, " as ",
                                role ? core::RoleName(*role) : "nobody",
                                token.empty() ? " (no token)" : ""));
      const grpc::Status s = Call(token, m.call);
      if (!role) {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
            << s.error_message();
      } else if (*role < m.needed) {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << s.error_message();
        EXPECT_THAT(s.error_message(), HasSubstr(m.name));
      } else {
        EXPECT_NE(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
            << s.error_message();
        EXPECT_NE(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << s.error_message();
      }
    }
  }
}

// One call of `path` as raw bytes, whatever its kind (unary, client or
// server stream): sends an empty request message, reads until the stream
// ends or `deadline` passes, and returns the status.
grpc::Status CallRaw(grpc::Channel* channel, const std::string& path,
                     const std::string& token, absl::Duration deadline) {
  grpc::GenericStub stub(std::shared_ptr<grpc::Channel>(
      channel, [](grpc::Channel*) {}));  // not owned
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&ctx, path, &cq);
  auto step = [&cq](void* tag) {
    void* got = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&got, &ok));
    EXPECT_EQ(got, tag);
    return ok;
  };
  int tag = 0;
  call->StartCall(&tag);
  bool ok = step(&tag);
  grpc::Slice none;
  grpc::ByteBuffer request(&none, 1);
  if (ok) {
    call->Write(request, &tag);
    ok = step(&tag);
  }
  if (ok) {
    call->WritesDone(&tag);
    ok = step(&tag);
  }
  for (grpc::ByteBuffer response; ok;) {
    call->Read(&response, &tag);
    ok = step(&tag);
  }
  grpc::Status status;
  call->Finish(&status, &tag);
  step(&tag);
  cq.Shutdown();
  void* got;
  while (cq.Next(&got, &ok)) {
  }
  return status;
}

// Walks every method of the services' descriptors, not a list kept here:
// callers without a valid token are UNAUTHENTICATED, roles below the
// method's rule (rpc/methods.cc) are PERMISSION_DENIED naming the method,
// and every role that may call it gets exactly the admin's answer to the
// same (empty) request. A method added to service.proto without a rule
// aborts the server when it starts (rpc::FactlogMethods), failing this and
// every other test that starts one.
TEST_F(SecurityTest, EveryMethodOfTheServicesAnswersEachRoleAsItsRuleSays) {
  const google::protobuf::FileDescriptor* file =
      v1::GetClaimRequest::descriptor()->file();
  size_t methods = 0;
  for (int s = 0; s < file->service_count(); ++s) {
    methods += file->service(s)->method_count();
  }
  ASSERT_EQ(rpc::FactlogMethods().size(), methods);
  ASSERT_GE(methods, 21u);

  for (int s = 0; s < file->service_count(); ++s) {
    const google::protobuf::ServiceDescriptor* service = file->service(s);
    for (int m = 0; m < service->method_count(); ++m) {
      const google::protobuf::MethodDescriptor* method = service->method(m);
      const std::string path =
          absl::StrCat("/", service->full_name(), "/", method->name());
      const rpc::RpcMethod* rule = rpc::FindMethod(path);
      ASSERT_NE(rule, nullptr) << path;
      // A live stream (Subscribe) runs until the deadline for every role
      // that may open it; a refused call ends at once.
      const absl::Duration deadline =
          method->server_streaming() ? absl::Seconds(2) : absl::Seconds(30);
      const grpc::Status as_admin =
          CallRaw(server_->channel().get(), path, Token("adam"), deadline);
      for (const char* token : {"", "not-a-token"}) {
        SCOPED_TRACE(absl::StrCat(path, " with token \"", token, "\""));
        EXPECT_EQ(CallRaw(server_->channel().get(), path, token, deadline)
                      .error_code(),
                  grpc::StatusCode::UNAUTHENTICATED);
      }
      for (const Principal& p : principals_) {
        SCOPED_TRACE(absl::StrCat(path, " as ", core::RoleName(p.role)));
        const grpc::Status got =
            CallRaw(server_->channel().get(), path, p.token, deadline);
        if (p.role < rule->role) {
          EXPECT_EQ(got.error_code(), grpc::StatusCode::PERMISSION_DENIED)
              << got.error_message();
          EXPECT_THAT(got.error_message(), HasSubstr(method->name()));
        } else {
          EXPECT_EQ(got.error_code(), as_admin.error_code())
              << got.error_message()
              << " / admin: " << as_admin.error_message();
          EXPECT_NE(got.error_code(), grpc::StatusCode::PERMISSION_DENIED);
          EXPECT_NE(got.error_code(), grpc::StatusCode::UNAUTHENTICATED);
        }
      }
    }
  }
}

TEST_F(SecurityTest, EventsAreAttributedToTheTokensPrincipal) {
  v1::CommandResponse r;
  ASSERT_TRUE(Call(Token("paul"), [&](grpc::ClientContext* c) {
                return server_->claims().RecordClaim(c, NewClaim("by-paul"),
                                                     &r);
              }).ok());
  EXPECT_EQ(r.claim().created_by(), "paul");
  std::string actor;
  ASSERT_TRUE(server_->server()
                  .store()
                  .ReadEvents(r.first_position(),
                              [&](const v1::Event& e) {
                                actor = e.actor();
                                return false;
                              })
                  .ok());
  EXPECT_EQ(actor, "paul");
}

TEST_F(SecurityTest, ReloadRevokesARemovedToken) {
  auto get = [&](const std::string& token) {
    return Call(token, [&](grpc::ClientContext* c) {
      v1::ClaimView r;
      v1::GetClaimRequest q;
      q.set_claim_id("seed");
      return server_->claims().GetClaim(c, q, &r);
    });
  };
  ASSERT_TRUE(get(Token("rita")).ok());
  std::vector<Principal> without_rita(principals_.begin() + 1,
                                      principals_.end());
  WriteTokens(dir_.path(), without_rita);
  ASSERT_TRUE(server_->server().ReloadTokens().ok());
  EXPECT_EQ(get(Token("rita")).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(get(Token("paul")).ok());

  // A broken file keeps the tokens in force.
  std::ofstream(dir_.path() + "/tokens.txt") << "paul superuser abc\n";
  absl::Status bad = server_->server().ReloadTokens();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), HasSubstr("tokens.txt:1"));
  EXPECT_TRUE(get(Token("paul")).ok());
}

TEST(TokenStoreTest, MalformedFileNamesTheLine) {
  TempDir dir;
  const std::string path = dir.path() + "/t.txt";
  std::ofstream(path) << "# ok\n\nalice reader " << core::Sha256Hex("x")
                      << "\nbob writer " << core::Sha256Hex("y") << "\n";
  auto store = core::TokenStore::Load(path);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("t.txt:4"));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("writer"));
  EXPECT_FALSE(core::TokenStore::Load(dir.path() + "/missing").ok());
}

TEST(TokenStoreTest, OnlyTheExactTokenAuthenticates) {
  TempDir dir;
  const std::string token = core::NewToken();
  const std::string path = dir.path() + "/t.txt";
  std::ofstream(path) << "alice editor " << core::Sha256Hex(token) << "\n";
  auto store = core::TokenStore::Load(path);
  ASSERT_TRUE(store.ok()) << store.status();
  auto alice = (*store)->Authenticate(token);
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->name, "alice");
  EXPECT_EQ(alice->role, Role::kEditor);
  EXPECT_FALSE((*store)->Authenticate(token.substr(1)).has_value());
  EXPECT_FALSE((*store)->Authenticate("").has_value());
  EXPECT_EQ(core::NewToken().size(), 43u);  // 32 bytes, base64url
  EXPECT_NE(core::NewToken(), core::NewToken());
}

TEST(NetworkSafetyTest, NonLoopbackWithoutTlsAndTokensIsRefusedUnlessInsecure) {
  TempDir dir;
  server::ServerOptions options;
  options.listen = "0.0.0.0:0";
  options.data_dir = dir.path() + "/data";
  auto refused = server::FactlogServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("refusing to serve 0.0.0.0:0"));

  options.insecure = true;
  auto allowed = server::FactlogServer::Start(options);
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  (*allowed)->Shutdown();

  server::ServerOptions half;
  half.listen = "127.0.0.1:0";
  half.data_dir = dir.path() + "/data2";
  half.tls_cert_file = dir.path() + "/missing.pem";
  auto no_key = server::FactlogServer::Start(half);
  ASSERT_FALSE(no_key.ok());
  EXPECT_THAT(std::string(no_key.status().message()), HasSubstr("--tls-key"));
}

}  // namespace
}  // namespace factlog
