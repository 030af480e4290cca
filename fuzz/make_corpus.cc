// Writes the generated seeds of fuzz/corpus/ (the binary ones cannot be
// written by hand):
//
//   fuzz_make_corpus CORPUS_DIR DEMO_JSONL
//
// command/     serialized Commands aimed at the claim fixture, one per outcome
//              worth reaching (accepted, each kind of refusal)
// evolve/      GetClaimHistoryResponses: each fixture claim's history, the
//              whole log, and a sequence no decider would produce
// keys/        keys as storage/keys.h builds them
// page_token/  scope-length byte, scope, token (see fuzz_page_token.cc)
// import/      the demo story, the command seeds as JSON Lines
//
// It only writes its own files: regression seeds added by hand stay.
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/page_token.h"
#include "domain/time_util.h"
#include "fuzz/claim_fixture.h"
#include "google/protobuf/util/json_util.h"
#include "storage/keys.h"

namespace factlog::fuzz {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) {
    std::fprintf(stderr, "make_corpus: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

std::string Json(const google::protobuf::Message& m, bool proto_names) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = proto_names;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(m, &json, options).ok()) {
    std::fprintf(stderr, "make_corpus: cannot render %s\n",
                 m.ShortDebugString().c_str());
    std::exit(1);
  }
  return json;
}

// A deque, so that the pointers into earlier seeds stay valid while adding.
std::deque<std::pair<std::string, v1::Command>> CommandSeeds() {
  std::deque<std::pair<std::string, v1::Command>> seeds;
  auto add = [&](const std::string& name) -> v1::Command& {
    return seeds.emplace_back(name, v1::Command()).second;
  };

  v1::RecordClaimRequest* r = add("record-new").mutable_record_claim();
  r->set_claim_id("nato-sees-no-withdrawal");
  r->set_text("NATO has seen no sign of a withdrawal.");
  r->set_claimant("Anders Fogh Rasmussen");
  r->mutable_reported_by()->set_name("NATO");
  r->mutable_reported_by()->set_url("https://www.nato.int/");
  r->set_subject("russia-troops-ukraine-border");
  r->set_kind(v1::CLAIM_KIND_FACT);
  *r->mutable_asserted_at() = domain::ToProto(FixtureNow());
  r->add_tags("nato");
  r->set_request_id("req-1");
  v1::RecordClaimRequest* p = add("record-promise-due").mutable_record_claim();
  *p = *r;
  p->clear_claim_id();
  p->set_kind(v1::CLAIM_KIND_PROMISE);
  *p->mutable_due_at() = domain::ToProto(FixtureNow() + absl::Hours(24 * 30));
  add("record-existing").mutable_record_claim()->set_claim_id(kFactClaim);
  *seeds.back().second.mutable_record_claim() = *r;
  seeds.back().second.mutable_record_claim()->set_claim_id(kFactClaim);

  v1::AddEvidenceRequest* e = add("evidence-with-id").mutable_add_evidence();
  e->set_claim_id(kFactClaim);
  e->set_evidence_id("white-house");
  e->set_stance(v1::STANCE_REFUTES);
  e->mutable_source()->set_name("White House (Jay Carney)");
  e->mutable_source()->set_outlet("CNN");
  e->set_note("We have heard that promise before.");
  v1::AddEvidenceRequest* e2 =
      add("evidence-assigned-id").mutable_add_evidence();
  *e2 = *e;
  e2->clear_evidence_id();
  e2->set_claim_id(kPromiseClaim);
  e2->set_stance(v1::STANCE_SUPPORTS);
  *e2->mutable_observed_at() = domain::ToProto(FixtureNow());
  v1::AddEvidenceRequest* e4 = add("evidence-id-taken").mutable_add_evidence();
  *e4 = *e2;
  e4->set_claim_id(kFactClaim);
  v1::AddEvidenceRequest* e3 = add("evidence-retracted").mutable_add_evidence();
  *e3 = *e;
  e3->set_claim_id(kRetractedClaim);

  v1::WithdrawEvidenceRequest* w = add("withdraw").mutable_withdraw_evidence();
  w->set_claim_id(kFactClaim);
  w->set_evidence_id("nato");
  w->set_reason("Misattributed.");
  v1::WithdrawEvidenceRequest* w2 =
      add("withdraw-withdrawn").mutable_withdraw_evidence();
  *w2 = *w;
  w2->set_evidence_id(kTakenEvidenceId);

  v1::IssueVerdictRequest* v = add("verdict").mutable_issue_verdict();
  v->set_claim_id(kFactClaim);
  v->set_rating(v1::RATING_FALSE);
  v->set_summary("No withdrawal was seen.");
  v->set_reviewer("CNN fact check");
  v->set_expected_version(FixtureClaims().at(kFactClaim).version());
  v1::IssueVerdictRequest* v2 =
      add("verdict-wrong-scale").mutable_issue_verdict();
  *v2 = *v;
  v2->clear_expected_version();
  v2->set_claim_id(kPromiseClaim);
  v1::IssueVerdictRequest* v3 = add("verdict-promise").mutable_issue_verdict();
  *v3 = *v2;
  v3->set_rating(v1::RATING_BROKEN);

  v1::CorrectClaimRequest* c = add("correct-text-tags").mutable_correct_claim();
  c->set_claim_id(kFactClaim);
  c->set_text("The withdrawal has started, and could take some time.");
  c->mutable_tags()->add_tags("russia");
  c->mutable_tags()->add_tags("kremlin");
  c->set_reason("Quote completed.");
  v1::CorrectClaimRequest* c2 = add("correct-due-at").mutable_correct_claim();
  c2->set_claim_id(kPromiseClaim);
  *c2->mutable_due_at() = domain::ToProto(FixtureNow() + absl::Hours(24 * 60));
  c2->set_subject("russia-troops");
  c2->set_reason("The Kremlin gave a date.");
  v1::CorrectClaimRequest* c3 =
      add("correct-clear-due").mutable_correct_claim();
  c3->set_claim_id(kPromiseClaim);
  c3->set_clear_due_at(true);
  c3->set_reason("No date was given.");
  v1::CorrectClaimRequest* c4 = add("correct-nothing").mutable_correct_claim();
  c4->set_claim_id(kFactClaim);
  c4->set_text(FixtureClaims().at(kFactClaim).text());
  *c4->mutable_tags()->mutable_tags() = FixtureClaims().at(kFactClaim).tags();
  c4->set_reason("Same again.");

  v1::RetractClaimRequest* t = add("retract").mutable_retract_claim();
  t->set_claim_id(kRatedClaim);
  t->set_reason("Duplicate.");
  add("retract-retracted")
      .mutable_retract_claim()
      ->set_claim_id(kRetractedClaim);
  seeds.back().second.mutable_retract_claim()->set_reason("Again.");

  v1::LinkClaimsRequest* l = add("link").mutable_link_claims();
  l->set_claim_id(kRatedClaim);
  l->set_other_claim_id(kPromiseClaim);
  l->set_relation(v1::LINK_RELATION_CONTRADICTS);
  v1::LinkClaimsRequest* l2 = add("link-duplicate").mutable_link_claims();
  l2->set_claim_id(kFactClaim);
  l2->set_other_claim_id(kPromiseClaim);
  l2->set_relation(v1::LINK_RELATION_REPEATS);
  v1::LinkClaimsRequest* l3 = add("link-stale-version").mutable_link_claims();
  *l3 = *l;
  l3->set_expected_version(1);
  l3->set_relation(v1::LINK_RELATION_SAME_AS);
  v1::LinkClaimsRequest* l4 = add("link-unreadable").mutable_link_claims();
  *l4 = *l;
  l4->set_other_claim_id(kUnreadableClaim);

  add("empty");
  return seeds;
}

void WriteCommands(const fs::path& dir) {
  for (const auto& [name, command] : CommandSeeds()) {
    Write(dir / (name + ".bin"), command.SerializeAsString());
  }
  // Invalid UTF-8 in a string field: the bytes protobuf refuses to parse.
  v1::Command bad = CommandSeeds().front().second;
  bad.mutable_record_claim()->set_claimant("Vladimir \xff\xfe Putin");
  Write(dir / "invalid-utf8.bin", bad.SerializeAsString());
}

void WriteHistory(const fs::path& path, const std::vector<v1::Event>& events) {
  v1::GetClaimHistoryResponse history;
  for (const v1::Event& e : events) *history.add_events() = e;
  Write(path, history.SerializeAsString());
}

void WriteEvolve(const fs::path& dir) {
  const std::vector<v1::Event> log = FixtureEvents();
  WriteHistory(dir / "whole-log.bin", log);
  for (const auto& [claim_id, view] : FixtureClaims()) {
    std::vector<v1::Event> history;
    for (const v1::Event& e : log) {
      if (e.claim_id() == claim_id) history.push_back(e);
    }
    WriteHistory(dir / ("history-" + claim_id + ".bin"), history);
  }
  // What no decider produces: a retraction followed by evidence, a withdrawal
  // of evidence that never was, a second ClaimRecorded, a version gap.
  std::vector<v1::Event> odd;
  for (const v1::Event& e : log) {
    if (e.claim_id() == kRetractedClaim) odd.push_back(e);
  }
  for (const v1::Event& e : log) {
    if (e.claim_id() == kFactClaim && !e.has_claim_linked()) odd.push_back(e);
  }
  odd.back().mutable_evidence_withdrawn()->set_evidence_id("never-added");
  odd.push_back(log.front());
  odd.back().set_version(99);
  WriteHistory(dir / "odd-sequence.bin", odd);
}

void WriteKeys(const fs::path& dir) {
  namespace keys = storage::keys;
  Write(dir / "u64-zero", keys::EncodeU64(0));
  Write(dir / "u64-one", keys::EncodeU64(1));
  Write(dir / "u64-max", keys::EncodeU64(UINT64_MAX));
  Write(dir / "claim-event-key", keys::ClaimEventKey(kFactClaim, 3));
  Write(dir / "index-key-status",
        keys::IndexKey("CLAIM_STATUS_CONTRADICTED", kFactClaim));
  Write(dir / "index-key-claimant",
        keys::IndexKey("Vladimir Putin", kFactClaim));
  Write(dir / "meta-last-position", keys::kLastPosition);
}

std::string TokenSeed(const std::string& scope, const std::string& token) {
  return absl::StrCat(std::string(1, static_cast<char>(scope.size())), scope,
                      token);
}

void WritePageTokens(const fs::path& dir) {
  // The secret and the scope shapes of fuzz_page_token.cc and queries.cc.
  std::string secret;
  for (int i = 0; i < 32; ++i) secret.push_back(static_cast<char>(0xa5 ^ i));
  const std::string list_scope =
      "claims\x1f"
      "3\x1frussia-troops\x1f\x1f\x1f"
      "0";
  Write(dir / "list-claims-token",
        TokenSeed(list_scope,
                  core::EncodePageToken(secret, list_scope, kFactClaim)));
  Write(dir / "list-subjects-token",
        TokenSeed("subjects",
                  core::EncodePageToken(secret, "subjects",
                                        "russia-troops-ukraine-border")));
  Write(dir / "empty-token", TokenSeed(list_scope, ""));
  Write(dir / "not-base64", TokenSeed("subjects", "garbage!!"));
}

void WriteImport(const fs::path& dir, const fs::path& demo) {
  std::ifstream in(demo, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "make_corpus: cannot read %s\n", demo.c_str());
    std::exit(1);
  }
  Write(dir / "demo-seed.jsonl", std::string(std::istreambuf_iterator<char>(in),
                                             std::istreambuf_iterator<char>()));
  std::string camel = "# every command seed, camelCase\n\n";
  std::string snake = "# every command seed, snake_case, twice\n";
  for (const auto& [name, command] : CommandSeeds()) {
    if (command.command_case() == v1::Command::COMMAND_NOT_SET) continue;
    absl::StrAppend(&camel, Json(command, false), "\n");
    absl::StrAppend(&snake, Json(command, true), "\n", Json(command, true),
                    "\n");
  }
  Write(dir / "commands-camel.jsonl", camel);
  Write(dir / "commands-snake.jsonl", snake);
  Write(dir / "bad-line.jsonl",
        "{\"retractClaim\":{\"claimId\":\"a\",\"reason\":\"r\"}}\n"
        "{\"retractClaim\":{\"claimId\":\"a\",\"reason\":}}\n");
}

}  // namespace
}  // namespace factlog::fuzz

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR DEMO_JSONL\n", argv[0]);
    return 2;
  }
  const std::filesystem::path corpus = argv[1];
  factlog::fuzz::WriteCommands(corpus / "command");
  factlog::fuzz::WriteEvolve(corpus / "evolve");
  factlog::fuzz::WriteKeys(corpus / "keys");
  factlog::fuzz::WritePageTokens(corpus / "page_token");
  factlog::fuzz::WriteImport(corpus / "import", argv[2]);
  return 0;
}
