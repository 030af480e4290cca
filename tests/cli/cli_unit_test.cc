// The client's pure parts: value parsing, rendering helpers, JSONL import
// parsing. No server, no network.
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "client/connection.h"
#include "client/format.h"
#include "client/format_events.h"
#include "client/format_stats.h"
#include "client/import.h"
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
  for (absl::string_view line : absl::StrSplit(table.Render(), '\n')) {
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
  const std::vector<std::string> lines = absl::StrSplit(table.Render(), '\n');
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
                /*screen_width=*/120),
      "   31 2014-05-20T09:00:00Z refuted evidence added nato-no-sign "
      "REFUTES by NATO \u2192 CONTRADICTED\n");
  EXPECT_EQ(
      WatchLine(EvidenceEvent(31, "refuted"), v1::CLAIM_STATUS_UNSPECIFIED),
      "   31 2014-05-20T09:00:00Z refuted evidence added nato-no-sign "
      "REFUTES by NATO\n");
}

TEST(Format, WatchLineCutsTheDescriptionNeverTheIdOrPosition) {
  const std::string id = "putin-troops-ukraine";
  const std::string line =
      WatchLine(EvidenceEvent(1234567, id), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_THAT(line, ::testing::StartsWith("1234567 2014-05-20T09:00:00Z " + id +
                                          " evidence"));
  EXPECT_THAT(line, HasSubstr("\u2026 \u2192 CONTRADICTED\n"));
  EXPECT_EQ(DisplayWidth(line), kScreenWidth + 1);  // plus the newline

  // Too long an id to fit: the line grows rather than cutting the id.
  const std::string long_id(64, 'a');
  EXPECT_THAT(WatchLine(EvidenceEvent(1, long_id), v1::CLAIM_STATUS_RATED),
              HasSubstr(long_id + " evidence ad"));
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

TEST(StripScheme, HttpsMeansTlsAndIsNotPartOfTheAddress) {
  bool https = false;
  EXPECT_EQ(StripScheme("https://factlog.example:443", &https),
            "factlog.example:443");
  EXPECT_TRUE(https);
  EXPECT_EQ(StripScheme("https://factlog.example:443/", &https),
            "factlog.example:443");
  EXPECT_TRUE(https);
  EXPECT_EQ(StripScheme("localhost:50051", &https), "localhost:50051");
  EXPECT_FALSE(https);
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
