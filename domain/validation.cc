#include "domain/validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "domain/time_util.h"

namespace factlog::domain {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// Quotes a user value for an error message, cut to a readable length.
std::string Quote(absl::string_view value) {
  constexpr size_t kMax = 40;
  std::string shown(value.substr(0, kMax));
  if (value.size() > kMax) shown += "...";
  return absl::StrFormat("\"%s\"", absl::CEscape(shown));
}

// Returns the byte offset of the first invalid UTF-8 sequence, or npos.
size_t FindInvalidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                          (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return absl::string_view::npos;
}

bool HasControlChar(absl::string_view s, bool allow_newlines) {
  for (char ch : s) {
    const unsigned char c = ch;
    if (c == 0x7F) return true;
    if (c < 0x20) {
      if (allow_newlines && (c == '\n' || c == '\t' || c == '\r')) continue;
      return true;
    }
  }
  return false;
}

// Shared by text-like fields: UTF-8, byte bounds, no NUL or other control
// characters (newlines allowed only in long text).
absl::Status CheckText(absl::string_view field, absl::string_view value,
                       size_t max_bytes, bool required, bool allow_newlines) {
  if (value.empty()) {
    return required ? Invalid(field, "required") : absl::OkStatus();
  }
  if (value.size() > max_bytes) {
    return Invalid(field, absl::StrFormat("too long: %d bytes, at most %d",
                                          value.size(), max_bytes));
  }
  if (const size_t at = FindInvalidUtf8(value); at != absl::string_view::npos) {
    return Invalid(field, absl::StrFormat("not valid UTF-8 at byte %d", at));
  }
  if (HasControlChar(value, allow_newlines)) {
    return Invalid(field, "contains control characters");
  }
  if (required && absl::StripAsciiWhitespace(value).empty()) {
    return Invalid(field, "must not be blank");
  }
  return absl::OkStatus();
}

absl::Status CheckReason(absl::string_view field, absl::string_view value,
                         const Limits& limits) {
  return CheckText(field, value, limits.max_reason_bytes, /*required=*/true,
                   /*allow_newlines=*/true);
}

absl::Status CheckName(absl::string_view field, absl::string_view value,
                       const Limits& limits, bool required) {
  return CheckText(field, value, limits.max_name_bytes, required,
                   /*allow_newlines=*/false);
}

}  // namespace

absl::Time EarliestTimestamp() {
  return absl::FromCivil(absl::CivilSecond(1800, 1, 1, 0, 0, 0),
                         absl::UTCTimeZone());
}

absl::Time LatestDueTime() {
  return absl::FromCivil(absl::CivilSecond(2200, 1, 1, 0, 0, 0),
                         absl::UTCTimeZone());
}

absl::Status ValidateSlug(absl::string_view field, absl::string_view value,
                          const Limits& limits) {
  if (value.empty()) return Invalid(field, "required");
  bool ok = value.size() <= limits.max_slug_bytes &&
            (absl::ascii_islower(value[0]) || absl::ascii_isdigit(value[0]));
  for (size_t i = 1; ok && i < value.size(); ++i) {
    const char c = value[i];
    ok = absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
  }
  if (!ok) {
    return Invalid(field,
                   absl::StrFormat("must match [a-z0-9][a-z0-9-]{0,%d}, got %s",
                                   limits.max_slug_bytes - 1, Quote(value)));
  }
  return absl::OkStatus();
}

absl::Status ValidateText(absl::string_view field, absl::string_view value,
                          size_t max_bytes, bool required) {
  return CheckText(field, value, max_bytes, required, /*allow_newlines=*/true);
}

absl::Status ValidateUrl(absl::string_view field, absl::string_view value,
                         const Limits& limits) {
  if (value.empty()) return absl::OkStatus();
  if (value.size() > limits.max_url_bytes) {
    return Invalid(field, absl::StrFormat("too long: %d bytes, at most %d",
                                          value.size(), limits.max_url_bytes));
  }
  const std::string lower = absl::AsciiStrToLower(value.substr(0, 8));
  absl::string_view rest;
  if (absl::StartsWith(lower, "https://")) {
    rest = value.substr(8);
  } else if (absl::StartsWith(lower, "http://")) {
    rest = value.substr(7);
  } else {
    return Invalid(
        field,
        absl::StrCat("must be an http:// or https:// URL, got ", Quote(value)));
  }
  const absl::string_view host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty()) return Invalid(field, "URL has no host");
  for (char c : value) {
    const unsigned char u = c;
    if (u <= 0x20 || u >= 0x7F) {
      return Invalid(field,
                     "URL contains spaces or non-ASCII characters; "
                     "percent-encode them");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSource(absl::string_view field, const v1::Source& source,
                            bool name_required, const Limits& limits) {
  if (auto s = CheckName(absl::StrCat(field, ".name"), source.name(), limits,
                         name_required);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckName(absl::StrCat(field, ".outlet"), source.outlet(),
                         limits, /*required=*/false);
      !s.ok()) {
    return s;
  }
  if (source.name().empty() && source.source_id().empty() &&
      (!source.outlet().empty() || !source.url().empty())) {
    return Invalid(absl::StrCat(field, ".name"),
                   "required when outlet or url is given");
  }
  return ValidateUrl(absl::StrCat(field, ".url"), source.url(), limits);
}

absl::Status ValidateTags(
    absl::string_view field,
    const google::protobuf::RepeatedPtrField<std::string>& tags,
    const Limits& limits) {
  if (static_cast<size_t>(tags.size()) > limits.max_tags) {
    return Invalid(field, absl::StrFormat("too many: %d, at most %d",
                                          tags.size(), limits.max_tags));
  }
  for (int i = 0; i < tags.size(); ++i) {
    const std::string item = absl::StrCat(field, "[", i, "]");
    if (auto s = CheckText(item, tags[i], limits.max_tag_bytes,
                           /*required=*/true, /*allow_newlines=*/false);
        !s.ok()) {
      return s;
    }
    for (int j = 0; j < i; ++j) {
      if (tags[j] == tags[i]) {
        return Invalid(item, absl::StrCat("duplicate of ", field, "[", j, "] ",
                                          Quote(tags[i])));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRequestId(absl::string_view value, const Limits& limits) {
  if (value.size() > limits.max_request_id_bytes) {
    return Invalid("request_id",
                   absl::StrFormat("too long: %d bytes, at most %d",
                                   value.size(), limits.max_request_id_bytes));
  }
  for (char c : value) {
    if (c <= 0x20 || c >= 0x7F) {
      return Invalid("request_id", "must be printable ASCII without spaces");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePastTime(absl::string_view field,
                              const google::protobuf::Timestamp& ts,
                              absl::Time now) {
  if (ts.nanos() < 0 || ts.nanos() > 999999999) {
    return Invalid(field, "nanos out of range");
  }
  const absl::Time t = FromProto(ts);
  if (t < EarliestTimestamp()) {
    return Invalid(field, absl::StrCat("before ", Rfc3339(EarliestTimestamp()),
                                       ": ", Rfc3339(t)));
  }
  if (t > now + kMaxClockSkew) {
    return Invalid(field, absl::StrCat("in the future: ", Rfc3339(t)));
  }
  return absl::OkStatus();
}

// [EarliestTimestamp, LatestDueTime): due dates and valid-time bounds.
static absl::Status ValidateBoundedTime(absl::string_view field,
                                        const google::protobuf::Timestamp& ts) {
  if (ts.nanos() < 0 || ts.nanos() > 999999999) {
    return Invalid(field, "nanos out of range");
  }
  const absl::Time t = FromProto(ts);
  if (t < EarliestTimestamp() || t >= LatestDueTime()) {
    return Invalid(
        field, absl::StrCat("outside ", Rfc3339(EarliestTimestamp()), " .. ",
                            Rfc3339(LatestDueTime()), ": ", Rfc3339(t)));
  }
  return absl::OkStatus();
}

absl::Status ValidateDueTime(absl::string_view field,
                             const google::protobuf::Timestamp& ts) {
  return ValidateBoundedTime(field, ts);
}

absl::Status ValidateKnownAt(absl::string_view field,
                             const google::protobuf::Timestamp& ts) {
  return ValidateBoundedTime(field, ts);
}

absl::Status ValidateRecordClaim(const v1::RecordClaimRequest& req,
                                 absl::Time now, const Limits& limits) {
  absl::Status s;
  if (!req.claim_id().empty()) {
    if (s = ValidateSlug("claim_id", req.claim_id(), limits); !s.ok()) return s;
  }
  if (s = ValidateText("text", req.text(), limits.max_text_bytes, true);
      !s.ok()) {
    return s;
  }
  if (s = CheckName("claimant", req.claimant(), limits, true); !s.ok())
    return s;
  if (s = ValidateSource("reported_by", req.reported_by(), false, limits);
      !s.ok()) {
    return s;
  }
  if (!req.reported_by().source_id().empty()) {
    return Invalid("reported_by.source_id",
                   "not taken here; name who reported the claim");
  }
  if (!req.subject().empty()) {
    if (s = ValidateSlug("subject", req.subject(), limits); !s.ok()) return s;
  }
  if (req.kind() == v1::CLAIM_KIND_UNSPECIFIED ||
      !v1::ClaimKind_IsValid(req.kind())) {
    return Invalid("kind", "required: FACT, PROMISE, PREDICTION or STATISTIC");
  }
  if (req.has_asserted_at()) {
    if (s = ValidatePastTime("asserted_at", req.asserted_at(), now); !s.ok()) {
      return s;
    }
  }
  if (req.has_due_at()) {
    if (req.kind() != v1::CLAIM_KIND_PROMISE &&
        req.kind() != v1::CLAIM_KIND_PREDICTION) {
      return Invalid("due_at", "only PROMISE and PREDICTION claims have one");
    }
    if (s = ValidateDueTime("due_at", req.due_at()); !s.ok()) return s;
  }
  if (s = ValidateTags("tags", req.tags(), limits); !s.ok()) return s;
  return ValidateRequestId(req.request_id(), limits);
}

absl::Status ValidateAddEvidence(const v1::AddEvidenceRequest& req,
                                 absl::Time now, const Limits& limits) {
  absl::Status s;
  if (s = ValidateSlug("claim_id", req.claim_id(), limits); !s.ok()) return s;
  if (!req.evidence_id().empty()) {
    if (s = ValidateSlug("evidence_id", req.evidence_id(), limits); !s.ok()) {
      return s;
    }
  }
  if (req.stance() == v1::STANCE_UNSPECIFIED ||
      !v1::Stance_IsValid(req.stance())) {
    return Invalid("stance", "required: SUPPORTS, REFUTES or CONTEXT");
  }
  // A source named by registry id needs no name.
  if (!req.source().source_id().empty()) {
    if (s = ValidateSlug("source.source_id", req.source().source_id(), limits);
        !s.ok()) {
      return s;
    }
  }
  if (s = ValidateSource("source", req.source(),
                         req.source().source_id().empty(), limits);
      !s.ok()) {
    return s;
  }
  if (req.credibility() > 6) {
    return Invalid("credibility",
                   absl::StrCat("1 (confirmed) to 6 (cannot be judged), or 0 "
                                "for none; got ",
                                req.credibility()));
  }
  if (req.has_observed_at()) {
    if (s = ValidatePastTime("observed_at", req.observed_at(), now); !s.ok()) {
      return s;
    }
  }
  if (s = ValidateText("note", req.note(), limits.max_note_bytes, false);
      !s.ok()) {
    return s;
  }
  return ValidateRequestId(req.request_id(), limits);
}

absl::Status ValidateWithdrawEvidence(const v1::WithdrawEvidenceRequest& req,
                                      const Limits& limits) {
  absl::Status s;
  if (s = ValidateSlug("claim_id", req.claim_id(), limits); !s.ok()) return s;
  if (s = ValidateSlug("evidence_id", req.evidence_id(), limits); !s.ok()) {
    return s;
  }
  if (s = CheckReason("reason", req.reason(), limits); !s.ok()) return s;
  return ValidateRequestId(req.request_id(), limits);
}

absl::Status ValidateIssueVerdict(const v1::IssueVerdictRequest& req,
                                  const Limits& limits) {
  absl::Status s;
  if (s = ValidateSlug("claim_id", req.claim_id(), limits); !s.ok()) return s;
  if (req.rating() == v1::RATING_UNSPECIFIED ||
      !v1::Rating_IsValid(req.rating())) {
    return Invalid("rating", "required");
  }
  if (s = ValidateText("summary", req.summary(), limits.max_note_bytes, true);
      !s.ok()) {
    return s;
  }
  if (s = CheckName("reviewer", req.reviewer(), limits, true); !s.ok()) {
    return s;
  }
  return ValidateRequestId(req.request_id(), limits);
}

absl::Status ValidateCorrectClaim(const v1::CorrectClaimRequest& req,
                                  const Limits& limits) {
  absl::Status s;
  if (s = ValidateSlug("claim_id", req.claim_id(), limits); !s.ok()) return s;
  if (req.has_text()) {
    if (s = ValidateText("text", req.text(), limits.max_text_bytes, true);
        !s.ok()) {
      return s;
    }
  }
  if (req.has_subject() && !req.subject().empty()) {
    if (s = ValidateSlug("subject", req.subject(), limits); !s.ok()) return s;
  }
  if (req.has_tags()) {
    if (s = ValidateTags("tags", req.tags().tags(), limits); !s.ok()) return s;
  }
  if (req.has_due_at() && req.clear_due_at()) {
    return Invalid("clear_due_at", "cannot be combined with due_at");
  }
  if (req.has_due_at()) {
    if (s = ValidateDueTime("due_at", req.due_at()); !s.ok()) return s;
  }
  if (!req.has_text() && !req.has_subject() && !req.has_tags() &&
      !req.has_due_at() && !req.clear_due_at()) {
    return Invalid("text",
                   "nothing to correct: give at least one of text, "
                   "subject, tags, due_at, clear_due_at");
  }
  if (s = CheckReason("reason", req.reason(), limits); !s.ok()) return s;
  return ValidateRequestId(req.request_id(), limits);
}

absl::Status ValidateRetractClaim(const v1::RetractClaimRequest& req,
                                  const Limits& limits) {
  absl::Status s;
  if (s = ValidateSlug("claim_id", req.claim_id(), limits); !s.ok()) return s;
  if (s = CheckReason("reason", req.reason(), limits); !s.ok()) return s;
  return ValidateRequestId(req.request_id(), limits);
}

absl::Status ValidateLinkClaims(const v1::LinkClaimsRequest& req,
                                const Limits& limits) {
  absl::Status s;
  if (s = ValidateSlug("claim_id", req.claim_id(), limits); !s.ok()) return s;
  if (s = ValidateSlug("other_claim_id", req.other_claim_id(), limits);
      !s.ok()) {
    return s;
  }
  if (req.claim_id() == req.other_claim_id()) {
    return Invalid("other_claim_id", "a claim cannot be linked to itself");
  }
  if (req.relation() == v1::LINK_RELATION_UNSPECIFIED ||
      !v1::LinkRelation_IsValid(req.relation())) {
    return Invalid("relation",
                   "required: REPEATS, CONTRADICTS, SUPPORTS or SAME_AS");
  }
  return ValidateRequestId(req.request_id(), limits);
}

namespace {

absl::Status CheckSourceKind(v1::SourceKind kind) {
  if (kind == v1::SOURCE_KIND_UNSPECIFIED || !v1::SourceKind_IsValid(kind)) {
    return Invalid("kind",
                   "required: organisation, person, publication, document or "
                   "dataset");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateRegisterSource(const v1::RegisterSourceRequest& req,
                                    const Limits& limits) {
  absl::Status s;
  if (!req.source_id().empty()) {
    if (s = ValidateSlug("source_id", req.source_id(), limits); !s.ok()) {
      return s;
    }
  }
  if (s = CheckName("name", req.name(), limits, true); !s.ok()) return s;
  if (s = CheckSourceKind(req.kind()); !s.ok()) return s;
  if (s = ValidateUrl("url", req.url(), limits); !s.ok()) return s;
  if (!req.parent_id().empty()) {
    if (s = ValidateSlug("parent_id", req.parent_id(), limits); !s.ok()) {
      return s;
    }
  }
  return ValidateRequestId(req.request_id(), limits);
}

absl::Status ValidateRenameSource(const v1::RenameSourceRequest& req,
                                  const Limits& limits) {
  absl::Status s;
  if (s = ValidateSlug("source_id", req.source_id(), limits); !s.ok()) return s;
  if (s = CheckName("name", req.name(), limits, true); !s.ok()) return s;
  return ValidateRequestId(req.request_id(), limits);
}

absl::Status ValidateAddSourceAlias(const v1::AddSourceAliasRequest& req,
                                    const Limits& limits) {
  absl::Status s;
  if (s = ValidateSlug("source_id", req.source_id(), limits); !s.ok()) return s;
  if (s = CheckName("alias", req.alias(), limits, true); !s.ok()) return s;
  return ValidateRequestId(req.request_id(), limits);
}

absl::Status ValidateAffiliateSource(const v1::AffiliateSourceRequest& req,
                                     const Limits& limits) {
  absl::Status s;
  if (s = ValidateSlug("source_id", req.source_id(), limits); !s.ok()) return s;
  if (!req.parent_id().empty()) {
    if (s = ValidateSlug("parent_id", req.parent_id(), limits); !s.ok()) {
      return s;
    }
  }
  if (req.parent_id() == req.source_id()) {
    return Invalid("parent_id", "a source cannot be affiliated with itself");
  }
  return ValidateRequestId(req.request_id(), limits);
}

absl::Status ValidateGradeSource(const v1::GradeSourceRequest& req,
                                 const Limits& limits) {
  absl::Status s;
  if (s = ValidateSlug("source_id", req.source_id(), limits); !s.ok()) return s;
  if (req.grade() == v1::SOURCE_GRADE_UNSPECIFIED ||
      !v1::SourceGrade_IsValid(req.grade())) {
    return Invalid("grade", "required: a, b, c, d, e or f");
  }
  if (s = CheckReason("reason", req.reason(), limits); !s.ok()) return s;
  return ValidateRequestId(req.request_id(), limits);
}

absl::Status ValidateSetDeskPolicy(const v1::SetDeskPolicyRequest& req,
                                   const Limits& limits) {
  absl::Status s;
  if (req.min_independent_sources() < 1 || req.min_independent_sources() > 10) {
    return Invalid(
        "min_independent_sources",
        absl::StrCat("must be 1 to 10, got ", req.min_independent_sources()));
  }
  if (s = CheckReason("reason", req.reason(), limits); !s.ok()) return s;
  return ValidateRequestId(req.request_id(), limits);
}

absl::Status ValidateReattributeEvidence(
    const v1::ReattributeEvidenceRequest& req, const Limits& limits) {
  absl::Status s;
  if (s = ValidateSlug("claim_id", req.claim_id(), limits); !s.ok()) return s;
  if (s = ValidateText("reason", req.reason(), limits.max_reason_bytes, false);
      !s.ok()) {
    return s;
  }
  return ValidateRequestId(req.request_id(), limits);
}

const std::string& RequestIdOf(const v1::Command& c) {
  switch (c.command_case()) {
    case v1::Command::kRecordClaim:
      return c.record_claim().request_id();
    case v1::Command::kAddEvidence:
      return c.add_evidence().request_id();
    case v1::Command::kWithdrawEvidence:
      return c.withdraw_evidence().request_id();
    case v1::Command::kIssueVerdict:
      return c.issue_verdict().request_id();
    case v1::Command::kCorrectClaim:
      return c.correct_claim().request_id();
    case v1::Command::kRetractClaim:
      return c.retract_claim().request_id();
    case v1::Command::kLinkClaims:
      return c.link_claims().request_id();
    case v1::Command::kRegisterSource:
      return c.register_source().request_id();
    case v1::Command::kRenameSource:
      return c.rename_source().request_id();
    case v1::Command::kAddSourceAlias:
      return c.add_source_alias().request_id();
    case v1::Command::kAffiliateSource:
      return c.affiliate_source().request_id();
    case v1::Command::kGradeSource:
      return c.grade_source().request_id();
    case v1::Command::kSetDeskPolicy:
      return c.set_desk_policy().request_id();
    case v1::Command::kReattributeEvidence:
      return c.reattribute_evidence().request_id();
    case v1::Command::COMMAND_NOT_SET:
      break;
  }
  static const std::string* const kEmpty = new std::string();
  return *kEmpty;
}

}  // namespace factlog::domain
