#include "search/search_document.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "domain/status.h"
#include "domain/time_util.h"

namespace factlog::search {
namespace {

// Appends `part` to `column`, skipping empty parts; parts are separated by
// " · ", which snippets show.
void Add(std::string* column, const std::string& part) {
  if (part.empty()) return;
  if (!column->empty()) column->append(" \xC2\xB7 ");
  column->append(part);
}

int64_t Micros(const google::protobuf::Timestamp& ts) {
  return absl::ToUnixMicros(domain::FromProto(ts));
}

}  // namespace

SearchDocument DocumentOf(const v1::ClaimView& view) {
  SearchDocument doc;
  doc.claim_id = view.claim_id();
  doc.version = view.version();
  auto column = [&](Column c) { return &doc.columns[static_cast<int>(c)]; };
  Add(column(Column::kText), view.text());
  for (const v1::CorrectionView& correction : view.corrections()) {
    if (correction.previous().text() != view.text()) {
      Add(column(Column::kPreviousTexts), correction.previous().text());
    }
  }
  Add(column(Column::kPeople), view.claimant());
  Add(column(Column::kPeople), view.reported_by().name());
  Add(column(Column::kPeople), view.reported_by().outlet());
  Add(column(Column::kTopics), view.subject());
  for (const std::string& tag : view.tags()) Add(column(Column::kTopics), tag);
  for (const v1::EvidenceView& evidence : view.evidence()) {
    if (evidence.withdrawn()) continue;
    Add(column(Column::kEvidence), evidence.source().name());
    Add(column(Column::kEvidence), evidence.source().outlet());
    Add(column(Column::kEvidence), evidence.note());
  }
  if (view.has_verdict()) {
    Add(column(Column::kVerdict), view.verdict().summary());
    Add(column(Column::kVerdict), view.verdict().reviewer());
  }

  doc.stored_status = domain::StoredStatus(view);
  doc.kind = view.kind();
  doc.rating = view.has_verdict() ? view.rating() : v1::RATING_UNSPECIFIED;
  doc.claimant = view.claimant();
  doc.subject = view.subject();
  doc.tags.assign(view.tags().begin(), view.tags().end());
  doc.asserted_at_micros = Micros(view.asserted_at());
  doc.recorded_at_micros = Micros(view.created_at());
  if (domain::OverdueEligible(view)) {
    doc.overdue_from_micros = Micros(view.due_at());
  }
  return doc;
}

bool AlreadyChecked(v1::ClaimStatus status) {
  switch (status) {
    case v1::CLAIM_STATUS_RATED:
    case v1::CLAIM_STATUS_SUPPORTED:
    case v1::CLAIM_STATUS_CONTRADICTED:
    case v1::CLAIM_STATUS_DISPUTED:
      return true;
    default:
      return false;
  }
}

}  // namespace factlog::search
