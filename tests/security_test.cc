// Authentication and authorization on a real in-process server: the role x
// method matrix, actors taken from tokens, token reload, tokens-file errors,
// and the refusal to serve a network without TLS and tokens.
#include <fstream>
#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "core/access.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

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
