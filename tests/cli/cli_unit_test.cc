// The client's pure parts: value parsing, rendering helpers, JSONL import
// parsing. No server, no network.
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "client/connection.h"
#include "client/format.h"
#include "client/format_claims.h"
#include "client/format_events.h"
#include "client/format_stats.h"
#include "client/import.h"
#include "client/provenance.h"
#include "client/values.h"
#include "client/watch.h"

namespace factlog::cli {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

std::string TimeText(absl::string_view text) {
  auto ts = ParseTime(text);
  return ts.has_value() ? TimeUtil::ToString(*ts) : "invalid";
}

TEST(ParseTime, AcceptsRfc3339WithZuluOffsetOrFraction) {
  EXPECT_EQ(TimeText("2014-05-19T10:00:00Z"), "2014-05-19T10:00:00Z");
  EXPECT_EQ(TimeText("2014-05-19T12:00:00+02:00"), "2014-05-19T10:00:00Z");
  EXPECT_EQ(TimeText("2014-05-19T10:00:00.250Z"), "2014-05-19T10:00:00.250Z");
}

TEST(ParseTime, PlainDateIsMidnightUtc) {
  EXPECT_EQ(TimeText("2014-05-19"), "2014-05-19T00:00:00Z");
}

TEST(ParseTime, RejectsGarbage) {
  EXPECT_EQ(TimeText("yesterday"), "invalid");
  EXPECT_EQ(TimeText("2014-13-45"), "invalid");
  EXPECT_EQ(TimeText("2014-05-19 10:00"), "invalid");
  EXPECT_EQ(TimeText(""), "invalid");
  EXPECT_THROW(ParseTimeFlag("--due-at", "soon"), UsageError);
}

TEST(Enums, FlagSpellingIsLowerCaseWithDashes) {
  EXPECT_EQ(ParseEnum<v1::Rating>("--rating", "mostly-true"),
            v1::RATING_MOSTLY_TRUE);
  EXPECT_EQ(ParseEnum<v1::LinkRelation>("--relation", "same-as"),
            v1::LINK_RELATION_SAME_AS);
  EXPECT_THAT(EnumFlagValues(v1::Stance_descriptor()),
              ::testing::ElementsAre("supports", "refutes", "context"));
}

TEST(Enums, UnknownValueListsAllowedOnes) {
  try {
    ParseEnum<v1::Stance>("--stance", "agrees");
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("--stance"));
    EXPECT_THAT(e.what(), HasSubstr("supports, refutes, context"));
  }
  EXPECT_THROW(ParseEnum<v1::Stance>("--stance", "unspecified"), UsageError);
}

TEST(Enums, ShortNameDropsPrefix) {
  EXPECT_EQ(ShortName(v1::CLAIM_STATUS_CONTRADICTED), "CONTRADICTED");
  EXPECT_EQ(ShortName(v1::STANCE_REFUTES), "REFUTES");
  EXPECT_EQ(ShortName(v1::RATING_PANTS_ON_FIRE), "PANTS_ON_FIRE");
}

TEST(RequestIds, UuidV4IsWellFormedAndRandom) {
  const std::string a = NewRequestId(), b = NewRequestId();
  EXPECT_NE(a, b);
  EXPECT_THAT(a, ::testing::MatchesRegex(
                     "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                     "[0-9a-f]{12}"));
}

TEST(RequestIds, Fnv1aMatchesReferenceVectors) {
  EXPECT_EQ(Fnv1a64Hex(""), "cbf29ce484222325");
  EXPECT_EQ(Fnv1a64Hex("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(Fnv1a64Hex("foobar"), "85944171f73967e8");
}

TEST(Format, TruncateAddsEllipsisWithinWidth) {
  EXPECT_EQ(Truncate("short", 10), "short");
  EXPECT_EQ(Truncate("abcdefghij", 5), "abcd\u2026");
  EXPECT_EQ(DisplayWidth(Truncate("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", 4)),
            4u);
}

TEST(Format, WrapBreaksAtSpacesAndSplitsLongWords) {
  EXPECT_THAT(Wrap("the quick brown fox", 10),
              ::testing::ElementsAre("the quick", "brown fox"));
  EXPECT_THAT(Wrap("abcdefghijkl", 5),
              ::testing::ElementsAre("abcde", "fghij", "kl"));
  EXPECT_THAT(Wrap("", 5), ::testing::ElementsAre(""));
}

TEST(Format, TableFitsScreen) {
  Table table({{"ID", 30}, {"TEXT", kScreenWidth, true}});
  table.AddRow({"a", std::string(200, 'x')});
  for (absl::string_view line :
       absl::StrSplit(table.Render(kScreenWidth), '\n')) {
    EXPECT_LE(DisplayWidth(line), kScreenWidth) << line;
  }
}

TEST(Format, TimesAreUtcToTheSecond) {
  google::protobuf::Timestamp ts;
  ASSERT_TRUE(TimeUtil::FromString("2014-05-19T12:00:00.5+02:00", &ts));
  EXPECT_EQ(FormatTime(ts), "2014-05-19T10:00:00Z");
  EXPECT_EQ(FormatTime(google::protobuf::Timestamp()), "-");
}

TEST(Format, TableShrinksOtherColumnsBeforeCuttingAnId) {
  const std::string id(56, 'x');
  Table table({{"ID", 64},
               {"WHO", 14, false, false, /*min_width=*/8},
               {"TEXT", kScreenWidth, true}});
  table.AddRow({id, "Vladimir Putin", std::string(100, 't')});
  const std::vector<std::string> lines =
      absl::StrSplit(table.Render(kScreenWidth), '\n');
  EXPECT_EQ(lines[1], id + "  Vladimir \u2026  ttttttttt\u2026");
  EXPECT_EQ(DisplayWidth(lines[1]), kScreenWidth);
}

v1::Event EvidenceEvent(uint64_t position, const std::string& claim_id) {
  v1::Event event;
  event.set_position(position);
  event.set_claim_id(claim_id);
  TimeUtil::FromString("2014-05-20T09:00:00.5Z", event.mutable_recorded_at());
  auto* e = event.mutable_evidence_added();
  e->set_evidence_id("nato-no-sign");
  e->set_stance(v1::STANCE_REFUTES);
  e->mutable_source()->set_name("NATO");
  return event;
}

TEST(Format, WatchLineShowsWhatHappenedAndTheStatusAfter) {
  EXPECT_EQ(
      WatchLine(EvidenceEvent(31, "refuted"), v1::CLAIM_STATUS_CONTRADICTED,
                v1::RATING_UNSPECIFIED, /*screen_width=*/120),
      "   31 2014-05-20T09:00:00Z refuted evidence added nato-no-sign "
      "REFUTES by NATO \u2192 CONTRADICTED\n");
  EXPECT_EQ(WatchLine(EvidenceEvent(31, "refuted"),
                      v1::CLAIM_STATUS_UNSPECIFIED, v1::RATING_UNSPECIFIED),
            "   31 2014-05-20T09:00:00Z refuted evidence added nato-no-sign "
            "REFUTES by NATO\n");
}

TEST(Format, WatchLineCutsTheDescriptionNeverTheIdOrPosition) {
  const std::string id = "putin-troops-ukraine";
  const std::string line =
      WatchLine(EvidenceEvent(1234567, id), v1::CLAIM_STATUS_CONTRADICTED,
                v1::RATING_UNSPECIFIED);
  EXPECT_THAT(line, ::testing::StartsWith("1234567 2014-05-20T09:00:00Z " + id +
                                          " evidence"));
  EXPECT_THAT(line, HasSubstr("\u2026 \u2192 CONTRADICTED\n"));
  EXPECT_EQ(DisplayWidth(line), kScreenWidth + 1);  // plus the newline

  // Too long an id to fit: the line grows rather than cutting the id.
  const std::string long_id(64, 'a');
  EXPECT_THAT(WatchLine(EvidenceEvent(1, long_id), v1::CLAIM_STATUS_RATED,
                        v1::RATING_FALSE),
              HasSubstr(long_id + " evidence ad"));
}

// As `claim list` shows it: "RATED BROKEN", not a bare "RATED".
TEST(Format, WatchLineShowsTheRatingOfARatedClaim) {
  EXPECT_THAT(WatchLine(EvidenceEvent(31, "p"), v1::CLAIM_STATUS_RATED,
                        v1::RATING_BROKEN, kNoWidthLimit),
              ::testing::EndsWith("by NATO \u2192 RATED BROKEN\n"));
  // The rating belongs to RATED only.
  EXPECT_THAT(WatchLine(EvidenceEvent(31, "p"), v1::CLAIM_STATUS_CONTRADICTED,
                        v1::RATING_BROKEN, kNoWidthLimit),
              ::testing::EndsWith("\u2192 CONTRADICTED\n"));
}

// Piped output (kNoWidthLimit) is never cut; on a terminal the line fits.
TEST(Format, WatchLineIsNotCutWithoutAWidthLimit) {
  v1::Event event = EvidenceEvent(32, "putin-orders-troops-back-2014-05-19");
  const std::string whole = WatchLine(event, v1::CLAIM_STATUS_CONTRADICTED,
                                      v1::RATING_UNSPECIFIED, kNoWidthLimit);
  EXPECT_THAT(whole, HasSubstr("evidence added nato-no-sign REFUTES by NATO "
                               "\u2192 CONTRADICTED"));
  EXPECT_EQ(WatchLine(event, v1::CLAIM_STATUS_CONTRADICTED,
                      v1::RATING_UNSPECIFIED, 200),
            whole);
  EXPECT_EQ(DisplayWidth(WatchLine(event, v1::CLAIM_STATUS_CONTRADICTED,
                                   v1::RATING_UNSPECIFIED, 90)),
            91u);
}

TEST(Format, TableUsesTheWholeWidthAndCutsNothingWithoutALimit) {
  const std::string text(150, 't');
  Table table({{"CLAIM", 64, false, false, 0, /*id=*/true},
               {"WHO", 14, false, false, /*min_width=*/8},
               {"TEXT", kScreenWidth, true}});
  table.AddRow({"short-id", "Vasiliy Nikitin the Third", text});
  // Piped: every cell whole, columns as wide as their cells.
  const std::vector<std::string> piped =
      absl::StrSplit(table.Render(kNoWidthLimit), '\n');
  EXPECT_EQ(piped[1], "short-id  Vasiliy Nikitin the Third  " + text);
  // A 120-column terminal: every line fills it, the text gives way first.
  for (absl::string_view line :
       absl::StrSplit(table.Render(120), '\n', absl::SkipEmpty())) {
    EXPECT_LE(DisplayWidth(line), 120u) << line;
  }
  const std::vector<std::string> wide = absl::StrSplit(table.Render(120), '\n');
  EXPECT_EQ(DisplayWidth(wide[1]), 120u);
  EXPECT_THAT(wide[1], HasSubstr("Vasiliy Nikitin the Third"));
}

TEST(Format, IdColumnsAreNeverCut) {
  const std::string id(70, 'i');  // wider than the column's cap
  Table table({{"CLAIM", 22, false, false, 0, /*id=*/true},
               {"TEXT", kScreenWidth, true}});
  table.AddRow({id, std::string(100, 't')});
  const std::vector<std::string> lines = absl::StrSplit(table.Render(80), '\n');
  EXPECT_THAT(lines[1], ::testing::StartsWith(id + "  ttt"));
  // Rows rendered later with settled widths keep their ids too.
  const std::vector<size_t> widths = table.Widths(80);
  EXPECT_THAT(table.RenderRow({id + "-longer", "x"}, widths, 80),
              ::testing::StartsWith(id + "-longer  x"));
}

v1::Event RecordedEvent(uint64_t position, const std::string& claim_id,
                        const std::string& text) {
  v1::Event event;
  event.set_position(position);
  event.set_version(1);
  event.set_claim_id(claim_id);
  event.mutable_claim_recorded()->set_kind(v1::CLAIM_KIND_FACT);
  event.mutable_claim_recorded()->set_claimant("Vladimir Putin");
  event.mutable_claim_recorded()->set_text(text);
  return event;
}

TEST(Format, EventTableKeepsIdsWholeAndCutsNothingWhenPiped) {
  const std::string id = "russia-withdrawal-started-2014-05-19";
  const std::string text(120, 'w');
  EventTable piped(kNoWidthLimit);
  EXPECT_EQ(piped.Add(RecordedEvent(1, id, text)), "");  // held for layout
  const std::string out = piped.Finish();
  EXPECT_THAT(out, ::testing::StartsWith("POS  CLAIM"));
  EXPECT_THAT(out, HasSubstr("1  " + id +
                             "  1  CLAIM_RECORDED  FACT by "
                             "Vladimir Putin: " +
                             text + "\n"));

  EventTable terminal(80);
  terminal.Add(RecordedEvent(1, id, text));
  const std::string lines = terminal.Finish();
  EXPECT_THAT(lines, HasSubstr(id));
  for (absl::string_view line :
       absl::StrSplit(lines, '\n', absl::SkipEmpty())) {
    EXPECT_LE(DisplayWidth(line), 80u) << line;
  }
}

TEST(Format, EventTableSizesColumnsOnTheFirstRowsThenStreams) {
  EventTable table(kNoWidthLimit);
  for (size_t i = 1; i < EventTable::kLayoutRows; ++i) {
    EXPECT_EQ(table.Add(RecordedEvent(i, "c", "t")), "");
  }
  const std::string first = table.Add(RecordedEvent(1000, "c", "t"));
  EXPECT_EQ(std::count(first.begin(), first.end(), '\n'),
            static_cast<long>(EventTable::kLayoutRows) + 1);  // and a header
  // A later, longer id is not cut: the row is wider instead.
  EXPECT_THAT(table.Add(RecordedEvent(1001, "a-much-longer-claim-id", "t")),
              HasSubstr("a-much-longer-claim-id"));
  EXPECT_EQ(table.Finish(), "");
}

TEST(Format, OutputWidthFollowsColumnsElseCutsNothingWhenNotATerminal) {
  const char* saved = std::getenv("COLUMNS");
  const std::string restore = saved == nullptr ? "" : saved;
  ::unsetenv("COLUMNS");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_EQ(OutputWidth(fds[1]), kNoWidthLimit);
  ::setenv("COLUMNS", "132", 1);
  EXPECT_EQ(OutputWidth(fds[1]), 132u);
  ::setenv("COLUMNS", "nonsense", 1);
  EXPECT_EQ(OutputWidth(fds[1]), kNoWidthLimit);
  ::close(fds[0]);
  ::close(fds[1]);
  if (saved != nullptr) {
    ::setenv("COLUMNS", restore.c_str(), 1);
  } else {
    ::unsetenv("COLUMNS");
  }
}

TEST(Format, JsonListIsOneDocumentOrJsonLines) {
  v1::Event a, b;
  a.set_position(1);
  b.set_position(2);
  JsonList document(/*lines=*/false);
  std::string out = document.Add(a);
  out += document.Add(b);
  out += document.Finish();
  EXPECT_EQ(out, "[\n{\"position\":\"1\"},\n{\"position\":\"2\"}\n]\n");
  EXPECT_EQ(JsonList(false).Finish(), "[]\n");
  JsonList lines(/*lines=*/true);
  out = lines.Add(a);
  out += lines.Add(b);
  out += lines.Finish();
  EXPECT_EQ(out, "{\"position\":\"1\"}\n{\"position\":\"2\"}\n");
}

TEST(Format, ClaimantHintNamesClaimantsContainingTheWord) {
  const std::vector<std::string> claimants = {
      "Vladimir Putin", "CNN", "Vladimir Putin", "Dmitry Peskov"};
  EXPECT_THAT(ClaimantsContaining("putin", claimants),
              ::testing::ElementsAre("Vladimir Putin"));
  EXPECT_THAT(ClaimantsContaining(" vladimir PUTIN ", claimants),
              ::testing::ElementsAre("Vladimir Putin"));
  EXPECT_THAT(ClaimantsContaining("Vladimir Putin", claimants),
              ::testing::IsEmpty());
  EXPECT_EQ(ClaimantHint("Putin", {"Vladimir Putin"}, true),
            "claimant names match exactly (case too); claimants containing "
            "\"Putin\": Vladimir Putin\n");
  EXPECT_EQ(ClaimantHint("Obama", {}, false),
            "claimant names match exactly (case too); no claimant contains "
            "\"Obama\" (among the first claims only)\n");
}

TEST(Format, WatchDescriptionNamesEachKindOfEvent) {
  v1::Event event;
  event.mutable_claim_recorded()->set_text("Troops withdrawn");
  EXPECT_EQ(WatchDescription(event), "claim recorded: Troops withdrawn");
  event.mutable_verdict_issued()->set_rating(v1::RATING_FALSE);
  EXPECT_EQ(WatchDescription(event), "verdict FALSE");
  auto* link = event.mutable_claim_linked();
  link->set_other_claim_id("other");
  link->set_relation(v1::LINK_RELATION_REPEATS);
  link->set_direction(v1::LINK_DIRECTION_OUTGOING);
  EXPECT_EQ(WatchDescription(event), "linked REPEATS -> other");
  event.mutable_claim_retracted()->set_reason("Misattributed");
  EXPECT_EQ(WatchDescription(event), "retracted: Misattributed");
}

TEST(Format, HumanBytes) {
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(3u << 20), "3.0 MiB");
}

TEST(Watch, ResumePointTakesTheHighestPositionCovered) {
  ResumePoint resume(std::nullopt);
  EXPECT_TRUE(resume.Request({}).from_end());
  v1::SubscribeResponse m;
  m.mutable_caught_up()->set_position(30);
  resume.Note(m);
  m.mutable_event()->set_position(31);
  resume.Note(m);
  m.mutable_checkpoint()->set_position(40);
  resume.Note(m);
  m.mutable_checkpoint()->set_position(35);  // never goes back
  resume.Note(m);
  v1::EventFilter filter;
  filter.set_claim_id("x");
  const v1::SubscribeRequest request = resume.Request(filter);
  EXPECT_EQ(request.start_case(), v1::SubscribeRequest::kFromPosition);
  EXPECT_EQ(request.from_position(), 40u);
  EXPECT_EQ(request.filter().claim_id(), "x");

  ResumePoint from_start(0);
  EXPECT_EQ(from_start.Request({}).start_case(),
            v1::SubscribeRequest::kFromPosition);
  EXPECT_EQ(from_start.Request({}).from_position(), 0u);
}

TEST(Watch, ResumePointKeepsTheLastOverdueCursor) {
  v1::OverdueOptions overdue;
  overdue.set_notify(true);
  overdue.set_only(true);
  ResumePoint resume(std::nullopt, overdue);
  v1::SubscribeRequest first = resume.Request({});
  EXPECT_TRUE(first.overdue().notify());
  EXPECT_TRUE(first.overdue().only());
  EXPECT_FALSE(first.overdue().has_after());  // from now on

  v1::SubscribeResponse m;
  m.mutable_checkpoint()->set_position(3);  // no cursor: nothing changes
  resume.Note(m);
  EXPECT_FALSE(resume.Request({}).overdue().has_after());
  m.mutable_overdue()->mutable_cursor()->set_claim_id("late");
  *m.mutable_overdue()->mutable_cursor()->mutable_at() =
      *ParseTime("2026-11-25T15:10:11.5Z");
  resume.Note(m);
  EXPECT_EQ(resume.Request({}).overdue().after().claim_id(), "late");
  m.mutable_checkpoint()->set_position(3);
  *m.mutable_checkpoint()->mutable_overdue_cursor()->mutable_at() =
      *ParseTime("2026-11-25T15:10:12Z");
  resume.Note(m);
  const v1::SubscribeRequest later = resume.Request({});
  EXPECT_EQ(TimeUtil::ToString(later.overdue().after().at()),
            "2026-11-25T15:10:12Z");
  EXPECT_EQ(later.overdue().after().claim_id(), "");
  EXPECT_TRUE(later.overdue().only());
  EXPECT_EQ(later.from_position(), 3u);
}

TEST(OverdueCursorText, RoundTripsEveryDigit) {
  v1::OverdueCursor cursor;
  *cursor.mutable_at() = *ParseTime("2026-11-25T15:10:11.123456789Z");
  cursor.set_claim_id("late-promise");
  const std::string text = FormatOverdueCursor(cursor);
  EXPECT_EQ(text, "2026-11-25T15:10:11.123456789Z/late-promise");
  std::optional<v1::OverdueCursor> parsed = ParseOverdueCursor(text);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->SerializeAsString(), cursor.SerializeAsString());

  cursor.clear_claim_id();
  EXPECT_EQ(FormatOverdueCursor(cursor), "2026-11-25T15:10:11.123456789Z");
  EXPECT_EQ(ParseOverdueCursor("1970-01-01")->at().seconds(), 0);
  EXPECT_EQ(ParseOverdueCursor("1970-01-01")->claim_id(), "");
  for (const char* bad : {"", "yesterday", "2026-11-25/", "2026-11-25/Bad Id",
                          "2026-11-25/-x", "/late"}) {
    EXPECT_FALSE(ParseOverdueCursor(bad).has_value()) << bad;
  }
}

TEST(Format, OverdueLinesNameTheClaimAndTheCursorToResumeFrom) {
  v1::ClaimOverdue notice;
  notice.set_claim_id("late");
  notice.set_kind(v1::CLAIM_KIND_PROMISE);
  notice.set_claimant("Kremlin");
  notice.set_text(std::string(200, 'x'));
  *notice.mutable_due_at() = *ParseTime("2014-06-01");
  *notice.mutable_overdue_at() = *ParseTime("2026-11-25T15:10:11.5Z");
  notice.set_position(42);
  *notice.mutable_cursor()->mutable_at() = notice.overdue_at();
  notice.mutable_cursor()->set_claim_id("late");
  const std::vector<std::string> lines =
      absl::StrSplit(OverdueLines(notice), '\n');
  ASSERT_EQ(lines.size(), 3u);  // two lines, each ending in a newline
  EXPECT_THAT(lines[0],
              ::testing::StartsWith("OVERDUE late PROMISE by Kremlin, due "
                                    "2014-06-01T00:00:00Z: xxx"));
  EXPECT_EQ(DisplayWidth(lines[0]), kScreenWidth);
  EXPECT_EQ(lines[1],
            "        since 2026-11-25T15:10:11Z at position 42; resume with "
            "--overdue-after 2026-11-25T15:10:11.5Z/late");
}

TEST(Watch, BackoffDoublesWithJitterUpToTheCap) {
  Backoff backoff(absl::Milliseconds(100), absl::Seconds(5));
  absl::Duration expected = absl::Milliseconds(100);
  for (int i = 0; i < 10; ++i) {
    const absl::Duration d = backoff.Next();
    EXPECT_GE(d, expected * 0.8) << i;
    EXPECT_LE(d, std::min(expected * 1.2, absl::Seconds(5))) << i;
    expected = std::min(expected * 2, absl::Seconds(5));
  }
  backoff.Reset();
  EXPECT_LE(backoff.Next(), absl::Milliseconds(120));
}

TEST(Import, SkipsCommentsAndBlankLinesKeepingLineNumbers) {
  auto items =
      ParseImportText("f.jsonl",
                      "# header\n"
                      "\n"
                      "{\"recordClaim\": {\"claimId\": \"a\"}}\n"
                      "  \n"
                      "{\"retract_claim\": {\"claim_id\": \"a\", "
                      "\"reason\": \"r\", \"request_id\": \"mine\"}}\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].line, 3);
  EXPECT_EQ(items[1].line, 5);
  EXPECT_EQ(items[1].command.retract_claim().request_id(), "mine");
  EXPECT_THAT(items[0].command.record_claim().request_id(),
              ::testing::MatchesRegex("import:[0-9a-f]{16}"));
}

TEST(Import, DerivedRequestIdsAreStableAndDistinct) {
  const std::string text =
      "{\"addEvidence\": {\"claimId\": \"a\", \"stance\": "
      "\"STANCE_SUPPORTS\"}}\n"
      "{\"addEvidence\": {\"claimId\": \"a\", \"stance\": "
      "\"STANCE_SUPPORTS\"}}\n"
      "{\"addEvidence\": {\"claimId\": \"b\", \"stance\": "
      "\"STANCE_SUPPORTS\"}}\n";
  auto first = ParseImportText("f", text);
  auto again = ParseImportText("f", "# shifted by a comment\n" + text);
  ASSERT_EQ(first.size(), 3u);
  std::set<std::string> ids;
  for (size_t i = 0; i < first.size(); ++i) {
    const std::string id = first[i].command.add_evidence().request_id();
    ids.insert(id);
    EXPECT_EQ(id, again[i].command.add_evidence().request_id());
  }
  EXPECT_EQ(ids.size(), 3u);  // an identical repeated line is its own command
}

TEST(Import, BadLineIsReportedWithItsNumber) {
  try {
    ParseImportText("f.jsonl",
                    "{\"recordClaim\": {\"claimId\": \"a\"}}\n"
                    "# fine\n"
                    "{\"recordClaim\": oops}\n");
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(), ::testing::StartsWith("f.jsonl:3: "));
    EXPECT_THAT(std::string(e.what()), ::testing::Not(HasSubstr("\n")));
  }
  EXPECT_THROW(ParseImportText("f", "{}\n"), UsageError);
  EXPECT_THROW(ParseImportText("f", "{\"noSuchCommand\": {}}\n"), UsageError);
}

TEST(Import, SplitsServerCommandIndex) {
  auto split = SplitCommandIndex("command 3: claim \"x\" not found");
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->first, 3u);
  EXPECT_EQ(split->second, "claim \"x\" not found");
  EXPECT_FALSE(SplitCommandIndex("claim not found").has_value());
  EXPECT_FALSE(SplitCommandIndex("command x: no").has_value());
}

// ---- Connection security helpers ----------------------------------------

TEST(ServerTarget, HttpsMeansTlsAndIsNotPartOfTheAddress) {
  bool https = false;
  EXPECT_EQ(ServerTarget("https://factlog.example:443", &https),
            "factlog.example:443");
  EXPECT_TRUE(https);
  EXPECT_EQ(ServerTarget("https://factlog.example:443/", &https),
            "factlog.example:443");
  EXPECT_TRUE(https);
  EXPECT_EQ(ServerTarget("localhost:50051", &https), "localhost:50051");
  EXPECT_FALSE(https);
}

TEST(ServerTarget, DefaultsThePortAndAcceptsHttp) {
  bool https = true;
  EXPECT_EQ(ServerTarget("localhost", &https), "localhost:50051");
  EXPECT_FALSE(https);
  EXPECT_EQ(ServerTarget("http://localhost:50051", &https), "localhost:50051");
  EXPECT_FALSE(https);
  EXPECT_EQ(ServerTarget("http://localhost/", &https), "localhost:50051");
  EXPECT_EQ(ServerTarget("https://factlog.example", &https),
            "factlog.example:50051");
  EXPECT_TRUE(https);
  EXPECT_EQ(ServerTarget("[::1]:6000", &https), "[::1]:6000");
  EXPECT_EQ(ServerTarget("[::1]", &https), "[::1]:50051");
  EXPECT_EQ(ServerTarget("::1", &https), "[::1]:50051");
  EXPECT_EQ(ServerTarget("127.0.0.1:7", &https), "127.0.0.1:7");
  EXPECT_EQ(ServerTarget("unix:/run/factlogd.sock", &https),
            "unix:/run/factlogd.sock");
}

TEST(ServerTarget, RefusesNonsenseSayingWhy) {
  for (const std::string bad :
       {"", "local host", "ftp://x", "localhost:http", "localhost:0",
        "localhost:70000", "localhost:50051/claims", "[::1", ":50051",
        "http//localhost"}) {
    bool https = false;
    try {
      const std::string target = ServerTarget(bad, &https);
      ADD_FAILURE() << "accepted \"" << bad << "\" as " << target;
    } catch (const CommandError& e) {
      EXPECT_EQ(e.exit_code(), kExitUsage);
      EXPECT_THAT(e.what(), ::testing::StartsWith("--server \"" + bad));
      EXPECT_THAT(e.what(), HasSubstr("expected HOST[:PORT]"));
    }
  }
}

// ---- Enum words and typos --------------------------------------------------

TEST(Values, EnumFlagsTakeAnyCaseWithOrWithoutPrefix) {
  EXPECT_EQ(ParseEnum<v1::ClaimKind>("--kind", "FACT"), v1::CLAIM_KIND_FACT);
  EXPECT_EQ(ParseEnum<v1::ClaimKind>("--kind", "claim_kind_promise"),
            v1::CLAIM_KIND_PROMISE);
  EXPECT_EQ(ParseEnum<v1::Rating>("--rating", "MOSTLY_TRUE"),
            v1::RATING_MOSTLY_TRUE);
  EXPECT_EQ(ParseEnum<v1::ClaimStatus>("--status", "Contradicted"),
            v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_EQ(ParseEnum<v1::EventType>("--type", "EVIDENCE_ADDED"),
            v1::EVENT_TYPE_EVIDENCE_ADDED);
  std::string text = "SAME_AS";
  EXPECT_EQ(EnumValidator<v1::LinkRelation>()(text), "");
  EXPECT_THROW(ParseEnum<v1::ClaimKind>("--kind", "facts"), UsageError);
}

TEST(Values, ClosestWordSuggestsOnlyLikelyTypos) {
  const std::vector<std::string> commands = {"claim",  "evidence", "verdict",
                                             "events", "export",   "admin"};
  EXPECT_EQ(ClosestWord("claims", commands), "claim");
  EXPECT_EQ(ClosestWord("evidense", commands), "evidence");
  EXPECT_EQ(ClosestWord("lst", {"add", "show", "list"}), "list");
  EXPECT_EQ(ClosestWord("ADMIN", commands), "admin");
  EXPECT_EQ(ClosestWord("zzz", commands), "");
  EXPECT_EQ(ClosestWord("x", commands), "");
}

TEST(Import, SummarySaysWhatIsTrue) {
  v1::ImportResponse response;
  response.set_applied(28);
  response.set_last_position(31);
  EXPECT_EQ(ImportSummary(response),
            "imported 28 commands: 28 recorded, 0 already applied; the last "
            "at position 31\n");
  response.set_applied(0);
  response.set_deduplicated(28);
  EXPECT_EQ(ImportSummary(response),
            "nothing new: all 28 commands were already applied (the last at "
            "position 31)\n");
}

TEST(Provenance, IriSegmentsArePercentEncoded) {
  EXPECT_EQ(IriSegment("Valentyn Nalyvaichenko"), "Valentyn%20Nalyvaichenko");
  EXPECT_EQ(IriSegment("a/b#c?d"), "a%2Fb%23c%3Fd");
  EXPECT_EQ(IriSegment("desk-bot_1.x~"), "desk-bot_1.x~");
  EXPECT_EQ(IriSegment("\xc3\xa9"), "%C3%A9");
}

TEST(TokenFromText, StripsSurroundingWhitespace) {
  EXPECT_EQ(TokenFromText("  abc-DEF_123\n\n", "f"), "abc-DEF_123");
  EXPECT_EQ(TokenFromText("abc\r\n", "f"), "abc");
}

TEST(TokenFromText, RejectsEmptyOrSeveralWordsWithoutQuotingThem) {
  for (const std::string text : {"", " \n\t", "two words", "a\nb", "t\x01"}) {
    try {
      TokenFromText(text, "token file /x");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const CommandError& e) {
      EXPECT_EQ(e.exit_code(), kExitUsage);
      EXPECT_THAT(e.what(), ::testing::StartsWith("token file /x "));
      if (text == "two words") {
        EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("words")));
      }
    }
  }
}

}  // namespace
}  // namespace factlog::cli
