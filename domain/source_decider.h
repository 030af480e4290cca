#ifndef FACTLOG_DOMAIN_SOURCE_DECIDER_H_
#define FACTLOG_DOMAIN_SOURCE_DECIDER_H_

#include "absl/status/statusor.h"
#include "domain/decider.h"
#include "factlog/v1/service.pb.h"

// The source registry's commands (README "Sources"), for domain::Decide.
namespace factlog::domain {

// True for RegisterSource .. SetDeskPolicy.
bool IsSourceCommand(const v1::Command& command);

// Decides a source command against context.sources (null: empty registry)
// like Decide decides a claim command: validation first, then existence,
// expected_version, clashes. Errors:
//   INVALID_ARGUMENT  a field is malformed, or parent_id would make a cycle
//                     or is not an organisation
//   NOT_FOUND         source_id or parent_id unknown
//   ALREADY_EXISTS    source_id taken, or the name or alias is already a
//                     name or alias of a source
//   ABORTED           expected_version given and not the current one
//   FAILED_PRECONDITION the command changes nothing (same name, parent,
//                     grade and reason)
absl::StatusOr<Decision> DecideSourceCommand(const v1::Command& command,
                                             const DecideContext& context);

}  // namespace factlog::domain

#endif  // FACTLOG_DOMAIN_SOURCE_DECIDER_H_
