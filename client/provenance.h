// A claim's history as W3C PROV, in JSON-LD with the PROV-O vocabulary
// (`factlog claim provenance ID --format prov-jsonld`).
//
//   entity    factlog:claim/ID/vN     the claim as of version N (one per
//                                     event), prov:wasDerivedFrom vN-1 for
//                                     every later version (so corrections
//                                     derive from what they corrected)
//   activity  factlog:event/P         the event at position P, with its
//                                     type, time and request id
//   agent     factlog:agent/NAME      the principal who appended it (NAME
//                                     percent-encoded, IriSegment)
//                                     (prov:wasAttributedTo on the entity,
//                                     prov:wasAssociatedWith on the activity)
//   entity    factlog:report/ID       the report the claim was heard
//                                     through (reported_by), which the
//                                     first version prov:wasQuotedFrom;
//                                     attributed to the reporter
//   entity    factlog:evidence/ID/E   an evidence item's source, which the
//                                     activity that added it prov:used
#ifndef FACTLOG_CLIENT_PROVENANCE_H_
#define FACTLOG_CLIENT_PROVENANCE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "factlog/v1/events.pb.h"
#include "nlohmann/json.hpp"

namespace factlog::cli {

// The PROV JSON-LD document for `events`, one claim's history in version
// order (at least one event).
// `text` as one segment of an IRI path: every byte but ASCII letters,
// digits and "-._~" percent-encoded ("Valentyn Nalyvaichenko" ->
// "Valentyn%20Nalyvaichenko"), so names with spaces, slashes or '#' make
// valid, distinct IRIs.
std::string IriSegment(absl::string_view text);

nlohmann::json ProvenanceJsonLd(const std::vector<v1::Event>& events);

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_PROVENANCE_H_
