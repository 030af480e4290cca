// Repeated-claim detection: the similarity measure, and RecordClaim's
// similar_claims against a real server in-process.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "domain/similarity.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(SimilarityTest, ContentWordsDropFunctionWordsAndSuffixes) {
  EXPECT_THAT(domain::ContentWords("The troops were ordered back to their "
                                   "bases, Ukraine's border says Putin."),
              ElementsAre("back", "base", "border", "order", "putin", "troop",
                          "ukraine"));
  EXPECT_THAT(domain::ContentWords("  ... the of and  "), IsEmpty());
}

TEST(SimilarityTest, JaccardOfContentWords) {
  EXPECT_DOUBLE_EQ(
      domain::TextSimilarity("Troops pulled back.", "The troop pulls back!"),
      1.0);
  EXPECT_DOUBLE_EQ(
      domain::TextSimilarity("Troops pulled back.", "Taxes will fall in May."),
      0.0);
  // {troop, pull, back} vs {troop, stay}: 1 common of 4.
  EXPECT_DOUBLE_EQ(
      domain::TextSimilarity("Troops pulled back.", "Troops stay."), 0.25);
  EXPECT_DOUBLE_EQ(domain::TextSimilarity("", ""), 0.0);
  EXPECT_DOUBLE_EQ(domain::TextSimilarity("a b c troops", "troops"),
                   domain::TextSimilarity("troops", "a b c troops"));
}

TEST(SimilarityTest, WordHashesAgreeWithContentWords) {
  const char* texts[] = {"Troops pulled back.",
                         "The troop pulls back!",
                         "Taxes will fall in May.",
                         "Troops stay.",
                         "",
                         "a b c troops",
                         "Troops troops TROOPS"};
  for (const char* a : texts) {
    const std::vector<uint32_t> ha = domain::ContentWordHashes(a);
    EXPECT_TRUE(std::is_sorted(ha.begin(), ha.end())) << a;
    EXPECT_EQ(ha.size(), domain::ContentWords(a).size()) << a;
    for (const char* b : texts) {
      EXPECT_DOUBLE_EQ(
          domain::HashSetSimilarity(ha, domain::ContentWordHashes(b)),
          domain::TextSimilarity(a, b))
          << a << " | " << b;
    }
  }
}

class RepeatsServerTest : public ::testing::Test {
 protected:
  v1::CommandResponse Record(const std::string& id, const std::string& text,
                             const std::string& claimant,
                             const std::string& subject,
                             const std::string& request_id = "") {
    v1::RecordClaimRequest req = testing::NewClaim(id, text);
    req.set_claimant(claimant);
    req.set_subject(subject);
    req.set_request_id(request_id);
    v1::CommandResponse resp;
    EXPECT_TRUE(testing::RecordClaim(server_.claims(), req, &resp).ok());
    return resp;
  }
  static std::vector<std::string> Ids(const v1::CommandResponse& r) {
    std::vector<std::string> ids;
    for (const auto& s : r.similar_claims()) ids.push_back(s.claim_id());
    return ids;
  }
  testing::TestServer server_;
};

TEST_F(RepeatsServerTest,
       OnlySameClaimantAndSubjectAboveThresholdMostAlikeFirst) {
  EXPECT_THAT(
      Ids(Record("a", "Troops pulled back to bases.", "Putin", "border")),
      IsEmpty());
  Record("b", "Troops pulled back.", "Putin", "border");
  Record("other-subject", "Troops pulled back to bases.", "Putin", "economy");
  Record("other-claimant", "Troops pulled back to bases.", "Kremlin", "border");
  Record("unlike", "Taxes fall in May.", "Putin", "border");
  const v1::CommandResponse r = Record(
      "c", "Troops pulled back to their bases.", "Putin", "border", "req-c");
  EXPECT_THAT(Ids(r), ElementsAre("a", "b"));
  EXPECT_DOUBLE_EQ(r.similar_claims(0).similarity(), 1.0);
  EXPECT_EQ(r.similar_claims(0).text(), "Troops pulled back to bases.");
  EXPECT_EQ(r.similar_claims(0).status(), v1::CLAIM_STATUS_UNVERIFIED);
  // A retry of the same request is deduplicated and never names itself.
  const v1::CommandResponse again = Record(
      "c", "Troops pulled back to their bases.", "Putin", "border", "req-c");
  EXPECT_TRUE(again.deduplicated());
  EXPECT_THAT(Ids(again), ElementsAre("a", "b"));
}

TEST_F(RepeatsServerTest, CorrectedTextAndSubjectAreWhatLaterClaimsMatch) {
  Record("a", "Taxes fall in May.", "Putin", "economy");
  v1::CorrectClaimRequest correct;
  correct.set_claim_id("a");
  correct.set_text("Troops pulled back to bases.");
  correct.set_subject("border");
  correct.set_reason("misquoted");
  grpc::ClientContext ctx;
  v1::CommandResponse corrected;
  ASSERT_TRUE(server_.claims().CorrectClaim(&ctx, correct, &corrected).ok());
  const v1::CommandResponse r =
      Record("b", "Troops pulled back.", "Putin", "border");
  EXPECT_THAT(Ids(r), ElementsAre("a"));
  EXPECT_EQ(r.similar_claims(0).text(), "Troops pulled back to bases.");
  EXPECT_THAT(Ids(Record("c", "Taxes fall in May.", "Putin", "economy")),
              IsEmpty());
}

TEST_F(RepeatsServerTest, AtMostTenMostSimilarFirstThenInClaimOrder) {
  // 12 alike claims: 4 the same as the new one, 8 one word short.
  for (int i = 0; i < 12; ++i) {
    Record(absl::StrCat("c", i < 10 ? "0" : "", i),
           i % 3 == 0 ? "Troops pulled back to bases." : "Troops pulled back.",
           "Putin", "border");
  }
  const v1::CommandResponse r =
      Record("new", "Troops pulled back to bases.", "Putin", "border");
  EXPECT_THAT(Ids(r), ElementsAre("c00", "c03", "c06", "c09", "c01", "c02",
                                  "c04", "c05", "c07", "c08"));
  EXPECT_DOUBLE_EQ(r.similar_claims(3).similarity(), 1.0);
  EXPECT_DOUBLE_EQ(r.similar_claims(4).similarity(), 0.75);
}

}  // namespace
}  // namespace factlog
