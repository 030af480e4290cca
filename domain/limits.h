#ifndef FACTLOG_DOMAIN_LIMITS_H_
#define FACTLOG_DOMAIN_LIMITS_H_

#include <cstddef>

namespace factlog::domain {

// Size limits enforced on every command before anything is written. The
// defaults are the documented ones; the server may tighten them by flag.
struct Limits {
  size_t max_text_bytes = 4096;       // claim text
  size_t max_name_bytes = 256;        // claimant, source name/outlet, reviewer
  size_t max_url_bytes = 2048;        // http(s) only
  size_t max_note_bytes = 16 * 1024;  // evidence note, verdict summary
  size_t max_reason_bytes = 4096;     // withdraw/correct/retract reasons
  size_t max_tags = 32;
  size_t max_tag_bytes = 64;
  size_t max_request_id_bytes = 128;
  size_t max_slug_bytes = 64;  // claim, evidence and subject ids
};

}  // namespace factlog::domain

#endif  // FACTLOG_DOMAIN_LIMITS_H_
