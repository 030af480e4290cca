#ifndef FACTLOG_DOMAIN_EVOLVE_H_
#define FACTLOG_DOMAIN_EVOLVE_H_

#include "factlog/v1/events.pb.h"
#include "factlog/v1/views.pb.h"

namespace factlog::domain {

// Applies one stored event (envelope filled in: position, version,
// recorded_at, actor) to the claim's view and refreshes its status. For
// ClaimRecorded, `view` must be empty. Events are facts: Evolve never fails;
// an event the view cannot account for (unknown evidence id) is applied as
// far as it makes sense. Same events in the same order, same view.
//
// Evolve also keeps ClaimView.overdue_at: set while OverdueEligible holds,
// to max(due_at, recorded_at of the event that made the claim eligible or
// changed its due_at); kept by events that change neither; cleared when
// the claim stops being eligible. A claim that becomes eligible again (its
// only support withdrawn) starts a new episode with a new overdue_at.
void Evolve(const v1::Event& event, v1::ClaimView* view);

}  // namespace factlog::domain

#endif  // FACTLOG_DOMAIN_EVOLVE_H_
