// Rendering of events for people: the rows of `factlog events` and `claim
// history`, and the lines of `factlog watch`. Built on format.h, with its
// conventions: every function returns the text to print, ending in a newline
// unless it says otherwise; none does I/O; all are pure and safe to call from
// any thread.
#ifndef FACTLOG_CLIENT_FORMAT_EVENTS_H_
#define FACTLOG_CLIENT_FORMAT_EVENTS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "client/format.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/service.pb.h"

namespace factlog::cli {

// "CLAIM_RECORDED", "EVIDENCE_ADDED", ... from the event's payload;
// "UNKNOWN" when it has none. No newline.
std::string EventTypeName(const factlog::v1::Event& event);

// A one-line summary of the event's payload ("REFUTES NATO [e2]"). No
// newline.
std::string EventDetail(const factlog::v1::Event& event);

// A claim's history: one row per event (version, position, time, type,
// detail), fit to `screen_width` (format.h's Table).
std::string RenderHistory(const std::vector<factlog::v1::Event>& events,
                          size_t screen_width = kScreenWidth);

// The rows of `factlog events` (position, claim, version, type, detail) as
// they arrive: the first kLayoutRows rows are held back to size the columns
// (format.h's Table), later rows use those widths. Claim ids are never cut;
// with kNoWidthLimit nothing is. A value; not thread-safe.
class EventTable {
 public:
  static constexpr size_t kLayoutRows = 1000;

  explicit EventTable(size_t screen_width);
  // Takes the next event; returns the text to print now ("" while rows are
  // held back).
  std::string Add(const factlog::v1::Event& event);
  // The rows still held back, with the header when they are the first; ""
  // when there were no events at all.
  std::string Finish();

 private:
  size_t screen_width_;
  Table table_;
  std::vector<size_t> widths_;  // set once the layout is settled
};

// What an event did, in words, for WatchLine: "claim recorded: <text>",
// "evidence added e1 REFUTES by NATO", "verdict FALSE by Desk A",
// "linked REPEATS -> other", ... No newline.
std::string WatchDescription(const factlog::v1::Event& event);

// One line of `factlog watch` for an event, e.g.
//   "   31 2014-05-20T09:00:00Z refuted evidence added e1 REFUTES… → RATED
//   FALSE"
// The position and the claim id are never cut; the description is truncated
// to fit `screen_width`, but keeps at least 12 columns (so a very long claim
// id makes the line wider). " → STATUS" is appended when `status_after` is
// known (not UNSPECIFIED), with the rating in force when it is RATED and
// `rating_after` is known: "→ RATED BROKEN", as `claim list` shows it.
std::string WatchLine(const factlog::v1::Event& event,
                      factlog::v1::ClaimStatus status_after,
                      factlog::v1::Rating rating_after,
                      size_t screen_width = kScreenWidth);

// Two lines of `factlog watch` for an overdue notice: the claim, e.g.
//   "OVERDUE late PROMISE by Kremlin, due 2014-06-01T00:00:00Z: Troops w…"
// cut to `screen_width` (never the id), then, indented, since when, the
// position and the cursor to resume after it (never cut):
//   "        since 2026-11-25T15:10:11Z at position 3; resume with
//   --overdue-after 2026-11-25T15:10:11.123456789Z/late" (one line).
std::string OverdueLines(const factlog::v1::ClaimOverdue& notice,
                         size_t screen_width = kScreenWidth);

// `factlog claim timeline`: the claim's status at each change of valid
// time, one row per step (from, status, what happened then), then the
// steps in one sentence ("UNVERIFIED from 2014-03-31; CONTRADICTED from
// 2014-05-19"), and a note when evidence without an observed time was
// placed by its recorded time.
std::string RenderTimeline(const factlog::v1::ClaimTimeline& timeline,
                           size_t screen_width);

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_FORMAT_EVENTS_H_
