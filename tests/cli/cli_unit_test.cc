// The client's pure parts: value parsing, rendering helpers, JSONL import
// parsing. No server, no network.
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "absl/strings/str_split.h"
#include "client/format.h"
#include "client/import.h"
#include "client/values.h"

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

}  // namespace
}  // namespace factlog::cli
