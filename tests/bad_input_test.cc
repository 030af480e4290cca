// Bad-input probes against an in-process factlogd: each row of the table
// sends one malformed or hostile request and states the canonical code the
// server must answer with and the field its message must name. Every probe
// then checks that the log is exactly as before (last position, a
// pre-existing claim, projections that still verify) — a rejected request
// appends nothing, and an accepted one appends only what it asked for.
#include <chrono>
#include <climits>
#include <cstdint>
#include <functional>
#include <iostream>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "domain/limits.h"
#include "domain/time_util.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using testing::NewClaim;
using testing::NewEvidence;
using testing::TestServer;
using Code = grpc::StatusCode;

const domain::Limits kLimits;

// What a probe observed.
struct Outcome {
  grpc::Status status;
  v1::CommandResponse response;   // commands only
  std::vector<v1::Event> events;  // ReadEvents only
};

// One row of the table.
struct Probe {
  std::string name;  // a gtest name: [A-Za-z0-9_]
  std::function<Outcome(TestServer&)> call;
  Code code;
  // The message must contain this: the field (or, for OK, nothing).
  std::string field;
  // OK probes only: events the accepted request appends.
  uint64_t appends = 0;
  // Extra checks on what came back.
  std::function<void(const Outcome&)> check = nullptr;
};

Outcome StatusOnly(grpc::Status status) {
  Outcome o;
  o.status = std::move(status);
  return o;
}

void PrintTo(const Probe& probe, std::ostream* os) { *os << probe.name; }

// ---- Request builders -------------------------------------------------------

std::string Repeat(size_t n, char c = 'a') { return std::string(n, c); }

// An http URL exactly `n` bytes long.
std::string UrlOfSize(size_t n) {
  std::string url = "https://example.org/";
  url += Repeat(n - url.size(), 'p');
  return url;
}

// Malformed UTF-8, one of each kind FindInvalidUtf8 knows.
const char kLoneByte[] = "bad \xff byte";
const char kOverlong[] = "overlong \xc0\xaf slash";
const char kSurrogate[] = "surrogate \xed\xa0\x80 half";
const char kTruncated[] = "truncated \xe2\x82";

Outcome Send(TestServer& s, const v1::Command& c) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  Outcome o;
  v1::ClaimService::Stub& stub = s.claims();
  switch (c.command_case()) {
    case v1::Command::kRecordClaim:
      o.status = stub.RecordClaim(&ctx, c.record_claim(), &o.response);
      break;
    case v1::Command::kAddEvidence:
      o.status = stub.AddEvidence(&ctx, c.add_evidence(), &o.response);
      break;
    case v1::Command::kWithdrawEvidence:
      o.status =
          stub.WithdrawEvidence(&ctx, c.withdraw_evidence(), &o.response);
      break;
    case v1::Command::kIssueVerdict:
      o.status = stub.IssueVerdict(&ctx, c.issue_verdict(), &o.response);
      break;
    case v1::Command::kCorrectClaim:
      o.status = stub.CorrectClaim(&ctx, c.correct_claim(), &o.response);
      break;
    case v1::Command::kRetractClaim:
      o.status = stub.RetractClaim(&ctx, c.retract_claim(), &o.response);
      break;
    case v1::Command::kLinkClaims:
      o.status = stub.LinkClaims(&ctx, c.link_claims(), &o.response);
      break;
    case v1::Command::COMMAND_NOT_SET:
      ADD_FAILURE() << "empty command";
      break;
    default:
      // The source registry's commands go to SourceService, whose bad
      // input sources_test probes.
      ADD_FAILURE() << "no ClaimService RPC for command case "
                    << c.command_case();
      break;
  }
  return o;
}

// The pre-existing state every probe starts from (see BadInputTest::SetUp):
//   1 "existing"  FACT, tag "t1"
//   2 "scratch"   FACT — target of accepted probes
//   3 "promise"   PROMISE, subject "promises"
//   4 "gone"
//   5 "existing"  evidence "ev-known", request_id "rid-used"
//   6 "scratch"   evidence "ev-scratch"
//   7 "gone"      retracted
// Rejected probes aim at "existing" so that a partial apply would show in
// its view; probes that must be accepted aim at "scratch" or a new claim.
constexpr char kExisting[] = "existing";
constexpr char kScratch[] = "scratch";

// The evidence "ev-known" on "existing", applied at position 5 (making
// "existing" version 2) under request_id "rid-used".
v1::AddEvidenceRequest KnownEvidence() {
  v1::AddEvidenceRequest req =
      NewEvidence(kExisting, v1::STANCE_SUPPORTS, "TASS");
  req.set_evidence_id("ev-known");
  req.set_request_id("rid-used");
  return req;
}

template <typename Request>
using Edit = std::function<void(Request&)>;

// RecordClaim of a new claim "fresh", edited.
Probe Record(std::string name, Edit<v1::RecordClaimRequest> edit, Code code,
             std::string field) {
  return {std::move(name),
          [edit](TestServer& s) {
            v1::Command c;
            *c.mutable_record_claim() = NewClaim("fresh");
            edit(*c.mutable_record_claim());
            return Send(s, c);
          },
          code, std::move(field), code == Code::OK ? 1u : 0u};
}

// AddEvidence to "existing" (rejected) or "scratch" (accepted), edited.
Probe Evidence(std::string name, Edit<v1::AddEvidenceRequest> edit, Code code,
               std::string field) {
  const std::string target = code == Code::OK ? kScratch : kExisting;
  return {std::move(name),
          [edit, target](TestServer& s) {
            v1::Command c;
            *c.mutable_add_evidence() =
                NewEvidence(target, v1::STANCE_REFUTES, "NATO");
            edit(*c.mutable_add_evidence());
            return Send(s, c);
          },
          code, std::move(field), code == Code::OK ? 1u : 0u};
}

Probe Verdict(std::string name, Edit<v1::IssueVerdictRequest> edit, Code code,
              std::string field) {
  const std::string target = code == Code::OK ? kScratch : kExisting;
  return {std::move(name),
          [edit, target](TestServer& s) {
            v1::Command c;
            v1::IssueVerdictRequest& req = *c.mutable_issue_verdict();
            req.set_claim_id(target);
            req.set_rating(v1::RATING_FALSE);
            req.set_summary("The troops stayed.");
            req.set_reviewer("Desk");
            edit(req);
            return Send(s, c);
          },
          code, std::move(field), code == Code::OK ? 1u : 0u};
}

Probe Withdraw(std::string name, Edit<v1::WithdrawEvidenceRequest> edit,
               Code code, std::string field) {
  const bool ok = code == Code::OK;
  return {std::move(name),
          [edit, ok](TestServer& s) {
            v1::Command c;
            v1::WithdrawEvidenceRequest& req = *c.mutable_withdraw_evidence();
            req.set_claim_id(ok ? kScratch : kExisting);
            req.set_evidence_id(ok ? "ev-scratch" : "ev-known");
            req.set_reason("Source recanted.");
            edit(req);
            return Send(s, c);
          },
          code, std::move(field), ok ? 1u : 0u};
}

Probe Correct(std::string name, Edit<v1::CorrectClaimRequest> edit, Code code,
              std::string field) {
  const std::string target = code == Code::OK ? kScratch : kExisting;
  return {std::move(name),
          [edit, target](TestServer& s) {
            v1::Command c;
            v1::CorrectClaimRequest& req = *c.mutable_correct_claim();
            req.set_claim_id(target);
            req.set_text("Corrected text.");
            req.set_reason("Misquoted.");
            edit(req);
            return Send(s, c);
          },
          code, std::move(field), code == Code::OK ? 1u : 0u};
}

Probe Retract(std::string name, Edit<v1::RetractClaimRequest> edit, Code code,
              std::string field) {
  const std::string target = code == Code::OK ? kScratch : kExisting;
  return {std::move(name),
          [edit, target](TestServer& s) {
            v1::Command c;
            v1::RetractClaimRequest& req = *c.mutable_retract_claim();
            req.set_claim_id(target);
            req.set_reason("Never said.");
            edit(req);
            return Send(s, c);
          },
          code, std::move(field), code == Code::OK ? 1u : 0u};
}

Probe Link(std::string name, Edit<v1::LinkClaimsRequest> edit, Code code,
           std::string field) {
  return {std::move(name),
          [edit](TestServer& s) {
            v1::Command c;
            v1::LinkClaimsRequest& req = *c.mutable_link_claims();
            req.set_claim_id(kExisting);
            req.set_other_claim_id(kScratch);
            req.set_relation(v1::LINK_RELATION_CONTRADICTS);
            edit(req);
            return Send(s, c);
          },
          code, std::move(field), code == Code::OK ? 2u : 0u};
}

Probe ListClaims(std::string name, Edit<v1::ListClaimsRequest> edit, Code code,
                 std::string field) {
  return {std::move(name),
          [edit](TestServer& s) {
            v1::ListClaimsRequest req;
            edit(req);
            grpc::ClientContext ctx;
            v1::ListClaimsResponse resp;
            return StatusOnly(s.claims().ListClaims(&ctx, req, &resp));
          },
          code, std::move(field)};
}

Probe ListSubjects(std::string name, Edit<v1::ListSubjectsRequest> edit,
                   Code code, std::string field) {
  return {std::move(name),
          [edit](TestServer& s) {
            v1::ListSubjectsRequest req;
            edit(req);
            grpc::ClientContext ctx;
            v1::ListSubjectsResponse resp;
            return StatusOnly(s.claims().ListSubjects(&ctx, req, &resp));
          },
          code, std::move(field)};
}

Probe GetClaim(std::string name, Edit<v1::GetClaimRequest> edit, Code code,
               std::string field) {
  return {std::move(name),
          [edit](TestServer& s) {
            v1::GetClaimRequest req;
            req.set_claim_id(kExisting);
            edit(req);
            grpc::ClientContext ctx;
            v1::ClaimView view;
            return StatusOnly(s.claims().GetClaim(&ctx, req, &view));
          },
          code, std::move(field)};
}

Probe History(std::string name, Edit<v1::GetClaimHistoryRequest> edit,
              Code code, std::string field) {
  return {std::move(name),
          [edit](TestServer& s) {
            v1::GetClaimHistoryRequest req;
            req.set_claim_id(kExisting);
            edit(req);
            grpc::ClientContext ctx;
            v1::GetClaimHistoryResponse resp;
            return StatusOnly(s.claims().GetClaimHistory(&ctx, req, &resp));
          },
          code, std::move(field)};
}

Probe Claimant(std::string name, std::string claimant, Code code,
               std::string field) {
  return {std::move(name),
          [claimant](TestServer& s) {
            v1::GetClaimantRequest req;
            req.set_claimant(claimant);
            grpc::ClientContext ctx;
            v1::ClaimantView resp;
            return StatusOnly(s.claims().GetClaimant(&ctx, req, &resp));
          },
          code, std::move(field)};
}

Probe ReadEvents(std::string name, Edit<v1::ReadEventsRequest> edit, Code code,
                 std::string field,
                 std::function<void(const Outcome&)> check = nullptr) {
  return {std::move(name),
          [edit](TestServer& s) {
            v1::ReadEventsRequest req;
            edit(req);
            grpc::ClientContext ctx;
            testing::SetDeadline(&ctx);
            Outcome o;
            auto reader = s.events().ReadEvents(&ctx, req);
            v1::Event e;
            while (reader->Read(&e)) o.events.push_back(e);
            o.status = reader->Finish();
            return o;
          },
          code,
          std::move(field),
          0,
          std::move(check)};
}

// Subscribe until the first message or the end of the stream.
Probe Subscribe(std::string name, Edit<v1::SubscribeRequest> edit, Code code,
                std::string field) {
  return {std::move(name),
          [edit](TestServer& s) {
            v1::SubscribeRequest req;
            edit(req);
            grpc::ClientContext ctx;
            ctx.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(10));
            auto reader = s.events().Subscribe(&ctx, req);
            v1::SubscribeResponse first;
            if (reader->Read(&first)) ctx.TryCancel();
            return StatusOnly(reader->Finish());
          },
          code, std::move(field)};
}

// An Import stream of `commands`.
Probe Import(std::string name, std::function<std::vector<v1::Command>()> make,
             Code code, std::string field) {
  return {std::move(name),
          [make](TestServer& s) {
            grpc::ClientContext ctx;
            v1::ImportResponse resp;
            auto writer = s.claims().Import(&ctx, &resp);
            for (const v1::Command& c : make()) {
              if (!writer->Write(c)) break;
            }
            writer->WritesDone();
            return StatusOnly(writer->Finish());
          },
          code, std::move(field)};
}

// `message` followed by raw bytes of fields no factlog .proto declares:
// a varint (field 900), a 64-bit (field 901) and a length-delimited one
// (field 902) of `payload_bytes`.
std::string UnknownFields(size_t payload_bytes) {
  std::string raw;
  google::protobuf::io::StringOutputStream out(&raw);
  google::protobuf::io::CodedOutputStream coded(&out);
  coded.WriteTag((900 << 3) | 0);
  coded.WriteVarint64(12345);
  coded.WriteTag((901 << 3) | 1);
  coded.WriteLittleEndian64(0xfeedfacecafebeefULL);
  coded.WriteTag((902 << 3) | 2);
  coded.WriteVarint32(static_cast<uint32_t>(payload_bytes));
  coded.WriteString(Repeat(payload_bytes, 'U'));
  coded.Trim();
  return raw;
}

// Parses `bytes` + unknown fields back into `msg`, so that the stub sends
// them on: proto3 keeps unknown fields through parse and serialize.
template <typename Message>
void AddUnknownFields(Message& msg, size_t payload_bytes) {
  std::string bytes = msg.SerializeAsString() + UnknownFields(payload_bytes);
  ASSERT_TRUE(msg.ParseFromString(bytes));
}

// ---- The table --------------------------------------------------------------

std::vector<Probe> AllProbes() {
  const Code kInvalid = Code::INVALID_ARGUMENT;
  const Code kOk = Code::OK;
  std::vector<Probe> p;

  // Valid UTF-8, but request ids are printable ASCII.
  p.push_back(Record(
      "RecordRequestIdNonAscii",
      [](auto& r) { r.set_request_id("r\xc3\xa9q"); }, kInvalid, "request_id"));

  // Every limited field: at the limit accepted, one byte over rejected.
  auto at_and_over = [&](const std::string& name, size_t limit,
                         auto make_probe) {
    p.push_back(make_probe(name + "AtLimit", limit, kOk));
    p.push_back(make_probe(name + "OverLimit", limit + 1, kInvalid));
  };
  at_and_over("RecordClaimId", kLimits.max_slug_bytes,
              [](std::string n, size_t size, Code code) {
                return Record(
                    n, [size](auto& r) { r.set_claim_id(Repeat(size)); }, code,
                    code == Code::OK ? "" : "claim_id");
              });
  at_and_over("RecordText", kLimits.max_text_bytes,
              [](std::string n, size_t size, Code code) {
                return Record(
                    n, [size](auto& r) { r.set_text(Repeat(size)); }, code,
                    code == Code::OK ? "" : "text");
              });
  at_and_over("RecordClaimant", kLimits.max_name_bytes,
              [](std::string n, size_t size, Code code) {
                return Record(
                    n, [size](auto& r) { r.set_claimant(Repeat(size)); }, code,
                    code == Code::OK ? "" : "claimant");
              });
  at_and_over("RecordReportedByName", kLimits.max_name_bytes,
              [](std::string n, size_t size, Code code) {
                return Record(
                    n,
                    [size](auto& r) {
                      r.mutable_reported_by()->set_name(Repeat(size));
                    },
                    code, code == Code::OK ? "" : "reported_by.name");
              });
  at_and_over("RecordReportedByOutlet", kLimits.max_name_bytes,
              [](std::string n, size_t size, Code code) {
                return Record(
                    n,
                    [size](auto& r) {
                      r.mutable_reported_by()->set_outlet(Repeat(size));
                    },
                    code, code == Code::OK ? "" : "reported_by.outlet");
              });
  at_and_over("RecordReportedByUrl", kLimits.max_url_bytes,
              [](std::string n, size_t size, Code code) {
                return Record(
                    n,
                    [size](auto& r) {
                      r.mutable_reported_by()->set_url(UrlOfSize(size));
                    },
                    code, code == Code::OK ? "" : "reported_by.url");
              });
  at_and_over("RecordSubject", kLimits.max_slug_bytes,
              [](std::string n, size_t size, Code code) {
                return Record(
                    n, [size](auto& r) { r.set_subject(Repeat(size)); }, code,
                    code == Code::OK ? "" : "subject");
              });
  at_and_over("RecordTagBytes", kLimits.max_tag_bytes,
              [](std::string n, size_t size, Code code) {
                return Record(
                    n, [size](auto& r) { r.add_tags(Repeat(size)); }, code,
                    code == Code::OK ? "" : "tags[0]");
              });
  at_and_over("RecordTagCount", kLimits.max_tags,
              [](std::string n, size_t count, Code code) {
                return Record(
                    n,
                    [count](auto& r) {
                      for (size_t i = 0; i < count; ++i) {
                        r.add_tags(absl::StrCat("tag-", i));
                      }
                    },
                    code, code == Code::OK ? "" : "tags");
              });
  at_and_over("RecordRequestId", kLimits.max_request_id_bytes,
              [](std::string n, size_t size, Code code) {
                return Record(
                    n, [size](auto& r) { r.set_request_id(Repeat(size, 'r')); },
                    code, code == Code::OK ? "" : "request_id");
              });
  at_and_over("EvidenceId", kLimits.max_slug_bytes,
              [](std::string n, size_t size, Code code) {
                return Evidence(
                    n, [size](auto& r) { r.set_evidence_id(Repeat(size)); },
                    code, code == Code::OK ? "" : "evidence_id");
              });
  at_and_over(
      "EvidenceSourceName", kLimits.max_name_bytes,
      [](std::string n, size_t size, Code code) {
        return Evidence(
            n, [size](auto& r) { r.mutable_source()->set_name(Repeat(size)); },
            code, code == Code::OK ? "" : "source.name");
      });
  at_and_over(
      "EvidenceSourceOutlet", kLimits.max_name_bytes,
      [](std::string n, size_t size, Code code) {
        return Evidence(
            n,
            [size](auto& r) { r.mutable_source()->set_outlet(Repeat(size)); },
            code, code == Code::OK ? "" : "source.outlet");
      });
  at_and_over(
      "EvidenceSourceUrl", kLimits.max_url_bytes,
      [](std::string n, size_t size, Code code) {
        return Evidence(
            n,
            [size](auto& r) { r.mutable_source()->set_url(UrlOfSize(size)); },
            code, code == Code::OK ? "" : "source.url");
      });
  at_and_over("EvidenceNote", kLimits.max_note_bytes,
              [](std::string n, size_t size, Code code) {
                return Evidence(
                    n, [size](auto& r) { r.set_note(Repeat(size)); }, code,
                    code == Code::OK ? "" : "note");
              });
  at_and_over("EvidenceRequestId", kLimits.max_request_id_bytes,
              [](std::string n, size_t size, Code code) {
                return Evidence(
                    n, [size](auto& r) { r.set_request_id(Repeat(size, 'r')); },
                    code, code == Code::OK ? "" : "request_id");
              });
  at_and_over("VerdictSummary", kLimits.max_note_bytes,
              [](std::string n, size_t size, Code code) {
                return Verdict(
                    n, [size](auto& r) { r.set_summary(Repeat(size)); }, code,
                    code == Code::OK ? "" : "summary");
              });
  at_and_over("VerdictReviewer", kLimits.max_name_bytes,
              [](std::string n, size_t size, Code code) {
                return Verdict(
                    n, [size](auto& r) { r.set_reviewer(Repeat(size)); }, code,
                    code == Code::OK ? "" : "reviewer");
              });
  at_and_over("WithdrawReason", kLimits.max_reason_bytes,
              [](std::string n, size_t size, Code code) {
                return Withdraw(
                    n, [size](auto& r) { r.set_reason(Repeat(size)); }, code,
                    code == Code::OK ? "" : "reason");
              });
  at_and_over("CorrectText", kLimits.max_text_bytes,
              [](std::string n, size_t size, Code code) {
                return Correct(
                    n, [size](auto& r) { r.set_text(Repeat(size)); }, code,
                    code == Code::OK ? "" : "text");
              });
  at_and_over("CorrectReason", kLimits.max_reason_bytes,
              [](std::string n, size_t size, Code code) {
                return Correct(
                    n, [size](auto& r) { r.set_reason(Repeat(size)); }, code,
                    code == Code::OK ? "" : "reason");
              });
  at_and_over("CorrectTagCount", kLimits.max_tags,
              [](std::string n, size_t count, Code code) {
                return Correct(
                    n,
                    [count](auto& r) {
                      r.clear_text();
                      for (size_t i = 0; i < count; ++i) {
                        r.mutable_tags()->add_tags(absl::StrCat("tag-", i));
                      }
                    },
                    code, code == Code::OK ? "" : "tags");
              });
  at_and_over("RetractReason", kLimits.max_reason_bytes,
              [](std::string n, size_t size, Code code) {
                return Retract(
                    n, [size](auto& r) { r.set_reason(Repeat(size)); }, code,
                    code == Code::OK ? "" : "reason");
              });
  at_and_over("ListClaimsPageSize", 1000,
              [](std::string n, size_t size, Code code) {
                return ListClaims(
                    n, [size](auto& r) { r.set_page_size(size); }, code,
                    code == Code::OK ? "" : "page_size");
              });
  at_and_over("ListSubjectsPageSize", 1000,
              [](std::string n, size_t size, Code code) {
                return ListSubjects(
                    n, [size](auto& r) { r.set_page_size(size); }, code,
                    code == Code::OK ? "" : "page_size");
              });
  at_and_over("HistoryPageSize", 10000,
              [](std::string n, size_t size, Code code) {
                return History(
                    n, [size](auto& r) { r.set_page_size(size); }, code,
                    code == Code::OK ? "" : "page_size");
              });
  at_and_over(
      "FilterTypeCount", 16, [](std::string n, size_t count, Code code) {
        return ReadEvents(
            n,
            [count](auto& r) {
              for (size_t i = 0; i < count; ++i) {
                r.mutable_filter()->add_types(v1::EVENT_TYPE_CLAIM_RECORDED);
              }
            },
            code, code == Code::OK ? "" : "filter.types");
      });
  at_and_over(
      "FilterClaimant", kLimits.max_name_bytes,
      [](std::string n, size_t size, Code code) {
        return ReadEvents(
            n,
            [size](auto& r) { r.mutable_filter()->set_claimant(Repeat(size)); },
            code, code == Code::OK ? "" : "filter.claimant");
      });

  // Empty and huge repeated fields.
  p.push_back(Record(
      "RecordNoTags", [](auto& r) { r.clear_tags(); }, kOk, ""));
  p.push_back(Record(
      "RecordTenThousandTags",
      [](auto& r) {
        for (int i = 0; i < 10000; ++i) r.add_tags(absl::StrCat("t", i));
      },
      kInvalid, "tags"));
  p.push_back(Record(
      "RecordDuplicateTags",
      [](auto& r) {
        r.add_tags("same");
        r.add_tags("same");
      },
      kInvalid, "tags[1]"));
  p.push_back(Record(
      "RecordEmptyTag", [](auto& r) { r.add_tags(""); }, kInvalid, "tags[0]"));
  // "scratch" has no tags: an empty list changes nothing.
  p.push_back(Correct(
      "CorrectEmptyTagListOnUntaggedClaim",
      [](auto& r) {
        r.set_claim_id(kScratch);
        r.clear_text();
        r.mutable_tags();
      },
      Code::FAILED_PRECONDITION, "nothing to correct"));
  p.push_back(ReadEvents(
      "ReadEventsHugeTypeList",
      [](auto& r) {
        for (int i = 0; i < 100000; ++i) {
          r.mutable_filter()->add_types(v1::EVENT_TYPE_CLAIM_RECORDED);
        }
      },
      kInvalid, "filter.types"));
  p.push_back(ReadEvents(
      "ReadEventsEmptyTypeListReadsAll", [](auto&) {}, kOk, "",
      [](const Outcome& o) { EXPECT_EQ(o.events.size(), 7u); }));

  // Unknown enum values.
  p.push_back(Record(
      "RecordKind99",
      [](auto& r) { r.set_kind(static_cast<v1::ClaimKind>(99)); }, kInvalid,
      "kind"));
  p.push_back(Record(
      "RecordKindNegative",
      [](auto& r) { r.set_kind(static_cast<v1::ClaimKind>(-1)); }, kInvalid,
      "kind"));
  p.push_back(Evidence(
      "EvidenceStance99",
      [](auto& r) { r.set_stance(static_cast<v1::Stance>(99)); }, kInvalid,
      "stance"));
  p.push_back(Verdict(
      "VerdictRating99",
      [](auto& r) { r.set_rating(static_cast<v1::Rating>(99)); }, kInvalid,
      "rating"));
  p.push_back(Verdict(
      "VerdictRatingBetweenScales",
      [](auto& r) { r.set_rating(static_cast<v1::Rating>(9)); }, kInvalid,
      "rating"));
  p.push_back(Verdict(
      "VerdictPromiseRatingOnFact",
      [](auto& r) { r.set_rating(v1::RATING_KEPT); }, kInvalid, "rating"));
  p.push_back(Link(
      "LinkRelation99",
      [](auto& r) { r.set_relation(static_cast<v1::LinkRelation>(99)); },
      kInvalid, "relation"));
  p.push_back(ListClaims(
      "ListClaimsStatus99",
      [](auto& r) { r.set_status(static_cast<v1::ClaimStatus>(99)); }, kInvalid,
      "status"));
  p.push_back(ListClaims(
      "ListClaimsKind99",
      [](auto& r) { r.set_kind(static_cast<v1::ClaimKind>(99)); }, kInvalid,
      "kind"));
  p.push_back(ReadEvents(
      "ReadEventsFilterType99",
      [](auto& r) {
        r.mutable_filter()->add_types(static_cast<v1::EventType>(99));
      },
      kInvalid, "filter.types[0]"));
  p.push_back(Subscribe(
      "SubscribeFilterType99",
      [](auto& r) {
        r.mutable_filter()->add_types(static_cast<v1::EventType>(99));
      },
      kInvalid, "filter.types[0]"));

  // Query bounds.
  p.push_back(GetClaim(
      "GetClaimAsOfPositionZero", [](auto& r) { r.set_as_of_position(0); },
      kInvalid, "as_of_position"));
  p.push_back(GetClaim(
      "GetClaimAsOfTimeFuture",
      [](auto& r) {
        *r.mutable_as_of_time() =
            domain::ToProto(absl::Now() + absl::Hours(24 * 365));
      },
      kInvalid, "as_of_time"));
  p.push_back(GetClaim(
      "GetClaimBadSlug", [](auto& r) { r.set_claim_id("Not A Slug"); },
      kInvalid, "claim_id"));
  p.push_back(GetClaim(
      "GetClaimMissing", [](auto& r) { r.set_claim_id("missing"); },
      Code::NOT_FOUND, "missing"));
  for (const auto& [name, size] : std::vector<std::pair<std::string, int>>{
           {"Negative", -1}, {"Int32Min", INT_MIN}, {"Int32Max", INT_MAX}}) {
    const int n = size;
    p.push_back(ListClaims(
        "ListClaimsPageSize" + name, [n](auto& r) { r.set_page_size(n); },
        kInvalid, "page_size"));
    p.push_back(ListSubjects(
        "ListSubjectsPageSize" + name, [n](auto& r) { r.set_page_size(n); },
        kInvalid, "page_size"));
    p.push_back(History(
        "HistoryPageSize" + name, [n](auto& r) { r.set_page_size(n); },
        kInvalid, "page_size"));
  }
  // ReadEvents documents no error for a start past the end: the snapshot
  // simply holds nothing from there on.
  p.push_back(ReadEvents(
      "ReadEventsFromBeyondEndReadsNothing",
      [](auto& r) { r.set_from_position(1000); }, kOk, "",
      [](const Outcome& o) { EXPECT_TRUE(o.events.empty()); }));
  p.push_back(ReadEvents(
      "ReadEventsFromUint64MaxReadsNothing",
      [](auto& r) { r.set_from_position(UINT64_MAX); }, kOk, "",
      [](const Outcome& o) { EXPECT_TRUE(o.events.empty()); }));
  p.push_back(ReadEvents(
      "ReadEventsHugeMaxCountReadsToTheEnd",
      [](auto& r) {
        r.set_from_position(2);
        r.set_max_count(UINT64_MAX);
      },
      kOk, "",
      [](const Outcome& o) {
        ASSERT_EQ(o.events.size(), 6u);
        EXPECT_EQ(o.events.front().position(), 2u);
        EXPECT_EQ(o.events.back().position(), 7u);
      }));
  // Subscribe documents OUT_OF_RANGE for a start beyond the log.
  p.push_back(Subscribe(
      "SubscribeFromBeyondEndIsOutOfRange",
      [](auto& r) { r.set_from_position(1000); }, Code::OUT_OF_RANGE,
      "from_position"));

  // Domain conflicts.
  p.push_back(Evidence(
      "EvidenceDuplicateId", [](auto& r) { r.set_evidence_id("ev-known"); },
      Code::ALREADY_EXISTS, "evidence_id"));
  p.push_back(Evidence(
      "EvidenceMissingClaim", [](auto& r) { r.set_claim_id("missing"); },
      Code::NOT_FOUND, "claim_id"));
  p.push_back(Evidence(
      "EvidenceOnRetractedClaim", [](auto& r) { r.set_claim_id("gone"); },
      Code::FAILED_PRECONDITION, "retracted"));
  p.push_back(Evidence(
      "EvidenceStaleExpectedVersion",
      [](auto& r) { r.set_expected_version(99); }, Code::ABORTED,
      "expected_version"));
  p.push_back(Record(
      "RecordExistingClaimId", [](auto& r) { r.set_claim_id(kExisting); },
      Code::ALREADY_EXISTS, "claim_id"));
  p.push_back(Record(
      "RecordDueAtOnFact",
      [](auto& r) {
        *r.mutable_due_at() = domain::ToProto(absl::Now() + absl::Hours(48));
      },
      kInvalid, "due_at"));
  p.push_back(Record(
      "RecordAssertedInTheFuture",
      [](auto& r) {
        *r.mutable_asserted_at() =
            domain::ToProto(absl::Now() + absl::Hours(24 * 30));
      },
      kInvalid, "asserted_at"));
  p.push_back(Record(
      "RecordAssertedNegativeNanos",
      [](auto& r) { r.mutable_asserted_at()->set_nanos(-1); }, kInvalid,
      "asserted_at"));
  p.push_back(Link(
      "LinkToMissingClaim", [](auto& r) { r.set_other_claim_id("missing"); },
      Code::NOT_FOUND, "other_claim_id"));
  p.push_back(Link(
      "LinkFromMissingClaim", [](auto& r) { r.set_claim_id("missing"); },
      Code::NOT_FOUND, "claim_id"));
  p.push_back(Link(
      "LinkToItself", [](auto& r) { r.set_other_claim_id(kExisting); },
      kInvalid, "other_claim_id"));

  // request_id reuse: a different command under an applied request_id is
  // refused and must not hand back the original result.
  auto not_the_old_result = [](const Outcome& o) {
    EXPECT_FALSE(o.response.deduplicated());
    EXPECT_EQ(o.response.first_position(), 0u);
    EXPECT_TRUE(o.response.claim_id().empty());
  };
  p.push_back(Evidence(
      "RequestIdReusedWithDifferentEvidence",
      [](auto& r) {
        r.set_note("a different note");
        r.set_request_id("rid-used");
      },
      kInvalid, "request_id"));
  p.back().check = not_the_old_result;
  p.push_back(Record(
      "RequestIdReusedWithDifferentCommandType",
      [](auto& r) { r.set_request_id("rid-used"); }, kInvalid, "request_id"));
  p.back().check = not_the_old_result;
  // The very same command again is a repeat: the original result, nothing
  // appended.
  p.push_back(Evidence(
      "RequestIdRepeatedWithSameCommandIsDeduplicated",
      [](auto& r) { r = KnownEvidence(); }, kOk, ""));
  p.back().appends = 0;
  p.back().check = [](const Outcome& o) {
    EXPECT_TRUE(o.response.deduplicated());
    EXPECT_EQ(o.response.claim_id(), kExisting);
    EXPECT_EQ(o.response.first_position(), 5u);
    EXPECT_EQ(o.response.version(), 2u);
  };

  // Unknown fields on the request itself are ignored (proto3): accepted.
  p.push_back(Evidence(
      "UnknownTopLevelFieldsAreIgnored",
      [](auto& r) { AddUnknownFields(r, 16); }, kOk, ""));
  p.push_back(Record(
      "UnknownFieldsInRecordAreIgnored",
      [](auto& r) { AddUnknownFields(r, 16); }, kOk, ""));

  // Forged and foreign page tokens.
  p.push_back(ListClaims(
      "PageTokenNotBase64", [](auto& r) { r.set_page_token("garbage!!"); },
      kInvalid, "page_token"));
  p.push_back(ListClaims(
      "PageTokenForged",
      [](auto& r) {
        r.set_page_token(
            absl::WebSafeBase64Escape("0123456789abcdef:existing"));
      },
      kInvalid, "page_token"));
  p.push_back(ListClaims(
      "PageTokenTooShort",
      [](auto& r) { r.set_page_token(absl::WebSafeBase64Escape("abc")); },
      kInvalid, "page_token"));
  p.push_back(ListSubjects(
      "SubjectsPageTokenForged",
      [](auto& r) {
        r.set_page_token(absl::WebSafeBase64Escape("ffffffffffffffff:x"));
      },
      kInvalid, "page_token"));
  p.push_back({"PageTokenFromListSubjectsInListClaims",
               [](TestServer& s) {
                 v1::ListSubjectsRequest subjects;
                 subjects.set_page_size(1);
                 v1::ListSubjectsResponse first;
                 grpc::ClientContext c1;
                 EXPECT_TRUE(
                     s.claims().ListSubjects(&c1, subjects, &first).ok());
                 EXPECT_FALSE(first.next_page_token().empty());
                 v1::ListClaimsRequest req;
                 req.set_page_token(first.next_page_token());
                 grpc::ClientContext c2;
                 v1::ListClaimsResponse resp;
                 return StatusOnly(s.claims().ListClaims(&c2, req, &resp));
               },
               kInvalid, "page_token"});
  p.push_back({"PageTokenFromOtherFilters",
               [](TestServer& s) {
                 v1::ListClaimsRequest req;
                 req.set_page_size(1);
                 v1::ListClaimsResponse first;
                 grpc::ClientContext c1;
                 EXPECT_TRUE(s.claims().ListClaims(&c1, req, &first).ok());
                 EXPECT_FALSE(first.next_page_token().empty());
                 req.set_page_token(first.next_page_token());
                 req.set_claimant("Vladimir Putin");
                 grpc::ClientContext c2;
                 v1::ListClaimsResponse resp;
                 return StatusOnly(s.claims().ListClaims(&c2, req, &resp));
               },
               kInvalid, "page_token"});

  // Larger than the server's max receive size (4 MiB by default).
  p.push_back(Record(
      "MessageOverMaxReceiveSize", [](auto& r) { r.set_text(Repeat(5 << 20)); },
      Code::RESOURCE_EXHAUSTED, "larger than max"));
  p.push_back(Import(
      "ImportCommandOverMaxReceiveSize",
      [] {
        v1::Command c;
        *c.mutable_record_claim() = NewClaim("huge", Repeat(5 << 20));
        return std::vector<v1::Command>{c};
      },
      Code::RESOURCE_EXHAUSTED, "larger than max"));

  // Import reports the failing command and its field.
  p.push_back(Import(
      "ImportEmptyCommand", [] { return std::vector<v1::Command>(1); },
      kInvalid, "command 1: command"));
  return p;
}

// Invalid UTF-8 in every free-text field a command stores, and in a query.
std::vector<Probe> InvalidUtf8Probes() {
  const Code kInvalid = Code::INVALID_ARGUMENT;
  std::vector<Probe> p;
  const std::vector<std::pair<std::string, std::string>> bad_utf8 = {
      {"LoneByte", kLoneByte},
      {"Overlong", kOverlong},
      {"Surrogate", kSurrogate},
      {"Truncated", kTruncated}};
  for (const auto& [kind, bad] : bad_utf8) {
    const std::string b = bad;
    p.push_back(Record(
        "RecordTextUtf8" + kind, [b](auto& r) { r.set_text(b); }, kInvalid,
        "text"));
  }
  p.push_back(Record(
      "RecordClaimantUtf8", [](auto& r) { r.set_claimant(kLoneByte); },
      kInvalid, "claimant"));
  p.push_back(Record(
      "RecordReportedByNameUtf8",
      [](auto& r) { r.mutable_reported_by()->set_name(kOverlong); }, kInvalid,
      "reported_by.name"));
  p.push_back(Record(
      "RecordReportedByOutletUtf8",
      [](auto& r) { r.mutable_reported_by()->set_outlet(kSurrogate); },
      kInvalid, "reported_by.outlet"));
  p.push_back(Record(
      "RecordTagUtf8", [](auto& r) { r.add_tags(kTruncated); }, kInvalid,
      "tags[0]"));
  p.push_back(Evidence(
      "EvidenceNoteUtf8", [](auto& r) { r.set_note(kLoneByte); }, kInvalid,
      "note"));
  p.push_back(Evidence(
      "EvidenceSourceNameUtf8",
      [](auto& r) { r.mutable_source()->set_name(kOverlong); }, kInvalid,
      "source.name"));
  p.push_back(Evidence(
      "EvidenceSourceOutletUtf8",
      [](auto& r) { r.mutable_source()->set_outlet(kSurrogate); }, kInvalid,
      "source.outlet"));
  p.push_back(Verdict(
      "VerdictSummaryUtf8", [](auto& r) { r.set_summary(kLoneByte); }, kInvalid,
      "summary"));
  p.push_back(Verdict(
      "VerdictReviewerUtf8", [](auto& r) { r.set_reviewer(kTruncated); },
      kInvalid, "reviewer"));
  p.push_back(Withdraw(
      "WithdrawReasonUtf8", [](auto& r) { r.set_reason(kLoneByte); }, kInvalid,
      "reason"));
  p.push_back(Correct(
      "CorrectTextUtf8", [](auto& r) { r.set_text(kOverlong); }, kInvalid,
      "text"));
  p.push_back(Correct(
      "CorrectReasonUtf8", [](auto& r) { r.set_reason(kSurrogate); }, kInvalid,
      "reason"));
  p.push_back(Retract(
      "RetractReasonUtf8", [](auto& r) { r.set_reason(kTruncated); }, kInvalid,
      "reason"));
  p.push_back(Claimant("GetClaimantUtf8", kLoneByte, kInvalid, "claimant"));

  // On Import it is worse: the stream ends OK with nothing applied — see
  // BadInputImportTest.UndecodableCommandIsNotSilentlyDropped.
  p.push_back(Import(
      "ImportInvalidUtf8",
      [] {
        v1::Command c;
        *c.mutable_record_claim() = NewClaim("fresh", kLoneByte);
        return std::vector<v1::Command>{c};
      },
      kInvalid, "command 1: record_claim.text"));
  return p;
}

// ---- The test ---------------------------------------------------------------

class BadInputTest : public ::testing::TestWithParam<Probe> {
 protected:
  // Positions 1..7 as described above kExisting.
  void SetUp() override {
    v1::Command c;
    *c.mutable_record_claim() = NewClaim(kExisting);
    c.mutable_record_claim()->add_tags("t1");
    Apply(c);
    *c.mutable_record_claim() = NewClaim(kScratch);
    Apply(c);
    *c.mutable_record_claim() = NewClaim("promise");
    c.mutable_record_claim()->set_kind(v1::CLAIM_KIND_PROMISE);
    c.mutable_record_claim()->set_subject("promises");
    Apply(c);
    *c.mutable_record_claim() = NewClaim("gone");
    Apply(c);
    *c.mutable_add_evidence() = KnownEvidence();
    Apply(c);
    *c.mutable_add_evidence() =
        NewEvidence(kScratch, v1::STANCE_SUPPORTS, "TASS");
    c.mutable_add_evidence()->set_evidence_id("ev-scratch");
    Apply(c);
    c.mutable_retract_claim()->set_claim_id("gone");
    c.mutable_retract_claim()->set_reason("Withdrawn by the desk.");
    Apply(c);
    ASSERT_EQ(LastPosition(), 7u);
  }

  void Apply(const v1::Command& c) {
    const Outcome o = Send(server_, c);
    ASSERT_TRUE(o.status.ok()) << o.status.error_message();
  }

  uint64_t LastPosition() { return server_.server().store().LastPosition(); }

  v1::ClaimView Existing() {
    grpc::ClientContext ctx;
    v1::GetClaimRequest req;
    req.set_claim_id(kExisting);
    v1::ClaimView view;
    grpc::Status s = server_.claims().GetClaim(&ctx, req, &view);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return view;
  }

  TestServer server_;
};

TEST_P(BadInputTest, AnswersWithCanonicalCodeNamingFieldAndKeepsLog) {
  const Probe& probe = GetParam();
  const uint64_t before = LastPosition();
  const v1::ClaimView existing_before = Existing();

  const Outcome outcome = probe.call(server_);

  EXPECT_EQ(outcome.status.error_code(), probe.code)
      << "message: " << outcome.status.error_message();
  EXPECT_THAT(outcome.status.error_message(), HasSubstr(probe.field));
  if (probe.check) probe.check(outcome);

  EXPECT_EQ(LastPosition(), before + (outcome.status.ok() ? probe.appends : 0))
      << "a rejected request appended, or an accepted one appended "
         "something other than its own events";
  const v1::ClaimView existing_after = Existing();
  EXPECT_TRUE(MessageDifferencer::Equals(existing_before, existing_after))
      << "before: " << existing_before.ShortDebugString()
      << "\nafter: " << existing_after.ShortDebugString();

  EXPECT_TRUE(testing::VerifiesClean(server_.server().store()));
}

std::string ProbeName(const ::testing::TestParamInfo<Probe>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Table, BadInputTest, ::testing::ValuesIn(AllProbes()),
                         ProbeName);

// Invalid UTF-8 in the user-text fields. Protobuf's parser refuses these
// before factlog's own validation sees them; the server decodes requests
// itself (rpc/proto_decode.h) to answer INVALID_ARGUMENT naming the field.
INSTANTIATE_TEST_SUITE_P(InvalidUtf8, BadInputTest,
                         ::testing::ValuesIn(InvalidUtf8Probes()), ProbeName);

// Unknown fields nested in a stored message (the evidence source) must not
// reach the immutable log: they would bypass every size limit — the payload
// below is 1 MiB where a source name may hold 256 bytes — and be served back
// to every reader and subscriber forever.
// The writer drops unknown fields from every command it is given.
TEST(BadInputUnknownFieldsTest, NestedUnknownFieldsAreNotStored) {
  TestServer server;
  v1::Command record;
  *record.mutable_record_claim() = NewClaim("c");
  ASSERT_TRUE(Send(server, record).status.ok());

  v1::Command add;
  *add.mutable_add_evidence() = NewEvidence("c", v1::STANCE_REFUTES, "NATO");
  AddUnknownFields(*add.mutable_add_evidence()->mutable_source(), 1 << 20);
  ASSERT_EQ(add.add_evidence()
                .source()
                .GetReflection()
                ->GetUnknownFields(add.add_evidence().source())
                .field_count(),
            3);
  const Outcome added = Send(server, add);
  // Accepting (ignoring the fields) and refusing are both proto3-correct.
  if (!added.status.ok()) {
    EXPECT_EQ(added.status.error_code(), Code::INVALID_ARGUMENT);
    EXPECT_EQ(server.server().store().LastPosition(), 1u);
    return;
  }
  grpc::ClientContext ctx;
  testing::SetDeadline(&ctx);
  v1::ReadEventsRequest req;
  req.set_from_position(2);
  auto reader = server.events().ReadEvents(&ctx, req);
  v1::Event event;
  ASSERT_TRUE(reader->Read(&event));
  v1::Event rest;
  while (reader->Read(&rest)) {
  }
  ASSERT_TRUE(reader->Finish().ok());
  const v1::Source& stored = event.evidence_added().source();
  EXPECT_EQ(stored.GetReflection()->GetUnknownFields(stored).field_count(), 0);
  EXPECT_LT(event.ByteSizeLong(), 4096u)
      << "the stored event carries the client's unknown bytes";
  EXPECT_EQ(stored.name(), "NATO");
}

// An Import stream whose second command cannot be decoded must not end OK:
// the client would believe the whole stream was imported.
TEST(BadInputImportTest, UndecodableCommandIsNotSilentlyDropped) {
  TestServer server;
  grpc::ClientContext ctx;
  v1::ImportResponse resp;
  auto writer = server.claims().Import(&ctx, &resp);
  v1::Command c;
  *c.mutable_record_claim() = NewClaim("first");
  writer->Write(c);
  *c.mutable_record_claim() = NewClaim("second", kLoneByte);
  writer->Write(c);
  *c.mutable_record_claim() = NewClaim("third");
  writer->Write(c);
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  std::cout << "Import finished " << status.error_code() << " \""
            << status.error_message() << "\" applied=" << resp.applied()
            << " last_position=" << resp.last_position() << "\n";

  EXPECT_EQ(status.error_code(), Code::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("command 2"));
  EXPECT_THAT(status.error_message(),
              HasSubstr("command 2: record_claim.text: not valid UTF-8"));
  // Commands before the refused one stay applied; it and later ones do not.
  EXPECT_EQ(server.server().store().LastPosition(), 1u);
}

}  // namespace
}  // namespace factlog
