// Full-text search (README "Search"): the index alone (tokenizer folds,
// Cyrillic and diacritics), SearchClaims against an in-process server (the
// demo's relevance, every filter, pagination, hostile queries,
// read-your-writes), a rebuilt index against the live one, and the real
// factlogd killed between commit and indexing.
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/thread_stat.h"
#include "core/search_indexer.h"
#include "core/server_metrics.h"
#include "domain/time_util.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "search/fts5_extensions.h"
#include "search/search_index.h"
#include "search/search_query.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// ---- The index alone ---------------------------------------------------

v1::ClaimView View(const std::string& id, const std::string& text) {
  v1::ClaimView view;
  view.set_claim_id(id);
  view.set_text(text);
  view.set_claimant("someone");
  view.set_subject("subject");
  view.set_kind(v1::CLAIM_KIND_FACT);
  view.set_version(1);
  return view;
}

class SearchIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto index = search::SearchIndex::Open(dir_.path() + "/search.sqlite");
    ASSERT_TRUE(index.ok()) << index.status();
    index_ = *std::move(index);
  }
  void Add(const std::vector<v1::ClaimView>& views, uint64_t position) {
    std::vector<search::SearchDocument> docs;
    for (const v1::ClaimView& v : views) docs.push_back(search::DocumentOf(v));
    ASSERT_TRUE(index_->Apply(docs, position).ok());
  }
  // The ids of the plain-words search for `words`, best first.
  std::vector<std::string> Find(const std::string& words) {
    search::IndexQuery query;
    search::WordsQuery w = search::AnyOfWords(words);
    query.expression = w.expression;
    query.min_matched_phrases = search::MinWordsMatched(w.words.size());
    auto hits = index_->Search(query);
    EXPECT_TRUE(hits.ok()) << hits.status();
    std::vector<std::string> ids;
    if (hits.ok()) {
      for (const search::IndexHit& h : *hits) ids.push_back(h.claim_id);
    }
    return ids;
  }

  testing::TempDir dir_;
  std::unique_ptr<search::SearchIndex> index_;
};

TEST(FoldTokenTest, FoldsWhatUnicode61Keeps) {
  EXPECT_EQ(search::FoldToken("\xD1\x91\xD0\xBB\xD0\xBA\xD0\xB0"),  // ёлка
            "\xD0\xB5\xD0\xBB\xD0\xBA\xD0\xB0");                    // елка
  EXPECT_EQ(search::FoldToken("\xC5\x82\xC3\xB3\x64\xC5\xBA"),      // łódź
            "l\xC3\xB3\x64\xC5\xBA");                               // lódź
  EXPECT_EQ(search::FoldToken("troops"), "troops");
}

TEST_F(SearchIndexTest, CyrillicAndDiacriticsAreFoundWithoutThem) {
  Add({View("ru", "Путин приказал отвести войска. Всё ещё ёлка."),
       View("uk", "Київ заявив про відведення військ."),
       View("pl", "Spotkanie w Krakowie i Łodzi: Kraków, Łódź."),
       View("fr", "Le café naïf à Genève.")},
      4);
  EXPECT_THAT(Find("войска"), ElementsAre("ru"));
  EXPECT_THAT(Find("ВОЙСКА"), ElementsAre("ru"));  // case folded
  EXPECT_THAT(Find("елка"), ElementsAre("ru"));    // ё typed as е
  EXPECT_THAT(Find("всё"), ElementsAre("ru"));
  EXPECT_THAT(Find("все"), ElementsAre("ru"));
  EXPECT_THAT(Find("київ"), ElementsAre("uk"));
  EXPECT_THAT(Find("krakow"), ElementsAre("pl"));
  EXPECT_THAT(Find("lodz"), ElementsAre("pl"));
  EXPECT_THAT(Find("Łódź"), ElementsAre("pl"));
  EXPECT_THAT(Find("cafe naif geneve"), ElementsAre("fr"));
  EXPECT_THAT(Find("Genève"), ElementsAre("fr"));
}

TEST_F(SearchIndexTest, EnglishIsStemmed) {
  Add({View("a", "Putin ordered the troops pulled back to their bases."),
       View("b", "The withdrawal has started.")},
      2);
  EXPECT_THAT(Find("troop pulling"), ElementsAre("a"));
  EXPECT_THAT(Find("withdraw"), ElementsAre("b"));
  EXPECT_THAT(Find("withdrawals"), ElementsAre("b"));
}

TEST_F(SearchIndexTest, PositionIsStoredWithTheRowsAndSurvivesReopening) {
  EXPECT_EQ(index_->Position(), 0u);
  Add({View("a", "Troops pulled back.")}, 7);
  EXPECT_EQ(index_->Position(), 7u);
  index_.reset();
  auto reopened = search::SearchIndex::Open(dir_.path() + "/search.sqlite");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  index_ = *std::move(reopened);
  EXPECT_EQ(index_->Position(), 7u);
  EXPECT_THAT(Find("troops"), ElementsAre("a"));
  ASSERT_TRUE(index_->Clear().ok());
  EXPECT_EQ(index_->Position(), 0u);
  EXPECT_THAT(Find("troops"), IsEmpty());
}

// The index shares the disk with the event log, which must be able to
// resume after a full disk: its WAL does not keep the space of a large
// transaction, and gives back the rest when asked (SearchIndex, "Disk
// space").
TEST_F(SearchIndexTest, TheWalGivesItsSpaceBack) {
  std::vector<v1::ClaimView> views;
  for (int i = 0; i < 1500; ++i) {
    views.push_back(View(absl::StrCat("big", i),
                         absl::StrCat("Bulky ", std::string(4000, 'x'), i)));
  }
  Add(views, 1);  // about 6 MB of documents in one transaction
  EXPECT_EQ(index_->WalBytes(), 0u);
  Add({View("small", "A small claim.")}, 2);
  EXPECT_GT(index_->WalBytes(), 0u);
  ASSERT_TRUE(index_->ReleaseSpace(absl::Seconds(5)).ok());
  EXPECT_EQ(index_->WalBytes(), 0u);
  // Nothing was lost on the way.
  index_.reset();
  auto reopened = search::SearchIndex::Open(dir_.path() + "/search.sqlite");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  index_ = *std::move(reopened);
  EXPECT_EQ(index_->Position(), 2u);
  EXPECT_THAT(Find("small"), ElementsAre("small"));
  EXPECT_EQ(Find("bulky").size(), 50u);  // a page of the 1,500
}

TEST_F(SearchIndexTest, AnUnreadableFileIsReplacedByAnEmptyIndex) {
  index_.reset();
  {
    std::ofstream garbage(dir_.path() + "/search.sqlite", std::ios::trunc);
    garbage << std::string(8192, 'x');
  }
  auto reopened = search::SearchIndex::Open(dir_.path() + "/search.sqlite");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->Position(), 0u);
}

// SQLite's and FTS5's own checks of the index file: the B-trees, and the
// full-text index against the texts it holds. "ok" when both pass, else
// what they said.
std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(db);
    return "cannot open";
  }
  std::string result;
  if (!search::RegisterFts5Extensions(db).ok()) result = "no FTS5";
  auto first_value = [](void* out, int, char** values, char**) {
    *static_cast<std::string*>(out) = values[0] ? values[0] : "";
    return 0;
  };
  std::string pragma;
  char* error = nullptr;
  if (result.empty() && sqlite3_exec(db, "PRAGMA integrity_check", first_value,
                                     &pragma, &error) != SQLITE_OK) {
    result = absl::StrCat("integrity_check: ", error);
  } else if (result.empty() && pragma != "ok") {
    result = absl::StrCat("integrity_check: ", pragma);
  } else if (result.empty() &&
             sqlite3_exec(db,
                          "INSERT INTO docs(docs) VALUES('integrity-check')",
                          nullptr, nullptr, &error) != SQLITE_OK) {
    result = absl::StrCat("fts5 integrity-check: ", error);
  }
  sqlite3_free(error);
  sqlite3_close(db);
  return result.empty() ? "ok" : result;
}

// A claim's later versions: one that changes no text keeps its entries
// (only its filter fields change), one that changes a text replaces them;
// the full-text index stays consistent with its texts.
TEST_F(SearchIndexTest, LaterVersionsReplaceTheEntriesOfChangedTextsOnly) {
  v1::ClaimView view = View("a", "Troops pulled back to their bases.");
  view.add_tags("border");
  view.add_tags("army");
  Add({view, View("b", "Other troops stayed.")}, 2);
  view.set_version(2);
  view.set_kind(v1::CLAIM_KIND_PROMISE);
  Add({view}, 3);
  search::IndexQuery query;
  query.expression = "troops";
  query.filters.kind = v1::CLAIM_KIND_PROMISE;
  auto hits = index_->Search(query);
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].claim_id, "a");
  EXPECT_THAT((*hits)[0].snippet, HasSubstr("\xC2\xAB"
                                            "Troops"
                                            "\xC2\xBB"));
  view.set_version(3);
  view.set_text("The withdrawal has started.");
  Add({view}, 4);
  EXPECT_THAT(Find("troops"), ElementsAre("b"));
  EXPECT_THAT(Find("withdrawal"), ElementsAre("a"));
  // Tags filter whole tags only: never a string spanning two of them.
  for (const auto& [tag, found] :
       std::vector<std::pair<std::string, bool>>{{"army", true},
                                                 {"border", true},
                                                 {"arm", false},
                                                 {"border\x1f"
                                                  "army",
                                                  false}}) {
    search::IndexQuery tagged;
    tagged.expression = "withdrawal";
    tagged.filters.tag = tag;
    auto tag_hits = index_->Search(tagged);
    ASSERT_TRUE(tag_hits.ok()) << tag_hits.status();
    EXPECT_EQ(tag_hits->size(), found ? 1u : 0u) << tag;
  }
  EXPECT_EQ(IntegrityCheck(dir_.path() + "/search.sqlite"), "ok");
}

// Clear drops and creates the tables again (for a rebuild): the index it
// leaves is empty, and Apply, Search and reopening work on it as on a new
// one, including a claim indexed before the Clear coming back with new
// texts and then a later version of it.
TEST_F(SearchIndexTest, ClearLeavesAnEmptyIndexThatWorksAsANewOne) {
  std::vector<v1::ClaimView> many;
  for (int i = 0; i < 300; ++i) {
    many.push_back(View(absl::StrCat("c", i), "Troops pulled back again."));
  }
  Add(many, 300);
  Add({View("a", "Troops pulled back.")}, 301);
  ASSERT_TRUE(index_->Clear().ok());
  EXPECT_EQ(index_->Position(), 0u);
  EXPECT_THAT(Find("troops"), IsEmpty());
  size_t entries = 0;
  ASSERT_TRUE(index_
                  ->ForEachEntry([&](const search::IndexEntry&) {
                    ++entries;
                    return true;
                  })
                  .ok());
  EXPECT_EQ(entries, 0u);

  Add({View("a", "The withdrawal has started.")}, 5);
  EXPECT_THAT(Find("withdrawal"), ElementsAre("a"));
  EXPECT_THAT(Find("troops"), IsEmpty());
  v1::ClaimView corrected =
      View("a", "The withdrawal has stopped at the river.");
  corrected.set_version(2);
  Add({corrected}, 6);
  EXPECT_THAT(Find("river"), ElementsAre("a"));
  EXPECT_THAT(Find("started"), IsEmpty());

  index_.reset();
  const std::string path = dir_.path() + "/search.sqlite";
  auto reopened = search::SearchIndex::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  index_ = *std::move(reopened);
  EXPECT_EQ(index_->Position(), 6u);  // the layout was kept, not dropped
  EXPECT_THAT(Find("river"), ElementsAre("a"));
  std::vector<uint64_t> versions;
  ASSERT_TRUE(index_
                  ->ForEachEntry([&](const search::IndexEntry& e) {
                    versions.push_back(e.version);
                    return true;
                  })
                  .ok());
  EXPECT_THAT(versions, ElementsAre(2u));
  EXPECT_EQ(IntegrityCheck(path), "ok");
}

// The index is derived from the log: a file of another layout (here the
// first one, with its tags table) is dropped and rebuilt, never misread.
TEST_F(SearchIndexTest, AnIndexOfAnotherLayoutIsDroppedAndStartsEmpty) {
  index_.reset();
  const std::string path = dir_.path() + "/search.sqlite";
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE meta(key TEXT PRIMARY KEY, value "
                         "INTEGER NOT NULL);"
                         "INSERT INTO meta VALUES('layout', 1), "
                         "('position', 42);"
                         "CREATE TABLE claims(id INTEGER PRIMARY KEY, "
                         "claim_id TEXT NOT NULL UNIQUE);"
                         "CREATE TABLE tags(tag TEXT, id INTEGER);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto reopened = search::SearchIndex::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  index_ = *std::move(reopened);
  EXPECT_EQ(index_->Position(), 0u);
  Add({View("a", "Troops pulled back.")}, 1);
  EXPECT_THAT(Find("troops"), ElementsAre("a"));
  EXPECT_EQ(IntegrityCheck(path), "ok");
}

// A process killed (-9) while it writes the index, at whatever point of a
// transaction: the file reopens consistent, at the position of the last
// transaction that committed and with exactly that transaction's rows
// (each records the count of claims written so far).
TEST(SearchIndexCrashTest, KilledWhileWritingReopensAtAConsistentPosition) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/search.sqlite";
  constexpr int kPerTransaction = 200;
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    auto index = search::SearchIndex::Open(path);
    if (!index.ok()) _exit(2);
    for (int round = 0;; ++round) {
      std::vector<search::SearchDocument> docs;
      for (int i = 0; i < kPerTransaction; ++i) {
        const int n = round * kPerTransaction + i;
        v1::ClaimView view =
            View(absl::StrCat("c", n), absl::StrCat("Crash word n", n));
        view.add_tags(absl::StrCat("t", n % 7));
        docs.push_back(search::DocumentOf(view));
      }
      if (!(*index)->Apply(docs, (round + 1) * kPerTransaction).ok()) _exit(3);
      const char committed = 'c';
      if (write(ready[1], &committed, 1) != 1) _exit(4);
    }
  }
  close(ready[1]);
  // Kill it in the middle of its 20th transaction or so: the pipe says
  // when a commit is done, and the next one starts at once.
  char committed;
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(read(ready[0], &committed, 1), 1) << "the writer died";
  }
  kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  close(ready[0]);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;

  EXPECT_EQ(IntegrityCheck(path), "ok");
  auto index = search::SearchIndex::Open(path);
  ASSERT_TRUE(index.ok()) << index.status();
  const uint64_t position = (*index)->Position();
  EXPECT_GE(position, 20u * kPerTransaction);
  EXPECT_EQ(position % kPerTransaction, 0u);
  uint64_t entries = 0;
  ASSERT_TRUE((*index)
                  ->ForEachEntry([&](const search::IndexEntry&) {
                    ++entries;
                    return true;
                  })
                  .ok());
  EXPECT_EQ(entries, position);
  search::IndexQuery last;
  last.expression = absl::StrCat("n", position - 1);
  auto hits = (*index)->Search(last);
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].claim_id, absl::StrCat("c", position - 1));
  last.expression = absl::StrCat("n", position);  // not committed
  hits = (*index)->Search(last);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_THAT(*hits, IsEmpty());
}

// Fuzz-style: random strings over FTS5's operator alphabet are answered
// with hits or INVALID_ARGUMENT naming the query, in FTS5 syntax; plain
// words always with hits.
TEST_F(SearchIndexTest, RandomQueriesAreAnsweredOrRefusedNeverFail) {
  Add({View("a", "Troops pulled back \"to\" bases (NEAR)."),
       View("b", "Всё ещё ёлка; café AND naïf OR NOT.")},
      2);
  const std::vector<std::string> atoms = {
      "troops", "bases",  "\"",  "(",  ")",        "*",           "^", ":",
      "{",      "}",      "AND", "OR", "NOT",      "NEAR(",       ",", "5",
      "text",   "people", "-",   "+",  "\xD1\x91", "caf\xC3\xA9", " ", "  "};
  std::mt19937_64 rng(12);
  int refused = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string q;
    const int n = 1 + rng() % 12;
    for (int j = 0; j < n; ++j) q += atoms[rng() % atoms.size()];
    search::IndexQuery fts;
    fts.expression = q;
    auto hits = index_->Search(fts);
    if (!hits.ok()) {
      ++refused;
      EXPECT_EQ(hits.status().code(), absl::StatusCode::kInvalidArgument)
          << q << ": " << hits.status();
      EXPECT_TRUE(absl::StartsWith(hits.status().message(), "query: "))
          << q << ": " << hits.status();
    }
    search::WordsQuery words = search::AnyOfWords(q);
    if (words.expression.empty()) continue;
    search::IndexQuery plain;
    plain.expression = words.expression;
    plain.min_matched_phrases = search::MinWordsMatched(words.words.size());
    auto plain_hits = index_->Search(plain);
    EXPECT_TRUE(plain_hits.ok()) << q << ": " << plain_hits.status();
  }
  EXPECT_GT(refused, 0);  // the alphabet does make bad queries
}

TEST(SearchQueryTest, PlainWordsNeverHoldOperatorsAndDropStopWords) {
  EXPECT_EQ(search::AnyOfWords("the troops' \"withdrawal\" (NEAR*)").expression,
            "\"troops\" OR \"withdrawal\" OR \"near\"");
  EXPECT_EQ(search::AnyOfWords("the of").expression, "\"the\" OR \"of\"");
  EXPECT_EQ(search::AnyOfWords("... !!! ").expression, "");
  EXPECT_EQ(search::MinWordsMatched(1), 1);
  EXPECT_EQ(search::MinWordsMatched(3), 2);
  EXPECT_EQ(search::MinWordsMatched(4), 2);
}

// ---- SearchClaims against a server -------------------------------------

class SearchServerTest : public ::testing::Test {
 protected:
  // Imports the JSON Lines commands of `path` (comments skipped); returns
  // the last position.
  uint64_t ImportFile(const std::string& path) {
    std::ifstream in(path);
    EXPECT_TRUE(in) << path;
    grpc::ClientContext ctx;
    v1::ImportResponse response;
    auto writer = server_.claims().Import(&ctx, &response);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      v1::Command command;
      EXPECT_TRUE(
          google::protobuf::util::JsonStringToMessage(line, &command).ok())
          << line;
      writer->Write(command);
    }
    writer->WritesDone();
    const grpc::Status s = writer->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.last_position();
  }
  uint64_t Apply(const v1::Command& command) {
    grpc::ClientContext ctx;
    v1::ImportResponse response;
    auto writer = server_.claims().Import(&ctx, &response);
    writer->Write(command);
    writer->WritesDone();
    const grpc::Status s = writer->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.last_position();
  }
  uint64_t Record(v1::RecordClaimRequest req) {
    v1::Command c;
    *c.mutable_record_claim() = std::move(req);
    return last_ = Apply(c);
  }
  grpc::Status Search(v1::SearchClaimsRequest req,
                      v1::SearchClaimsResponse* out) {
    if (req.min_position() == 0) req.set_min_position(last_);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    return server_.claims().SearchClaims(&ctx, req, out);
  }
  // The ids of every hit of `req` (one page of up to 100).
  std::vector<std::string> Ids(v1::SearchClaimsRequest req) {
    req.set_page_size(100);
    v1::SearchClaimsResponse response;
    const grpc::Status s = Search(req, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const v1::SearchHit& hit : response.hits()) {
      ids.push_back(hit.claim_id());
    }
    return ids;
  }
  static v1::SearchClaimsRequest Query(const std::string& q) {
    v1::SearchClaimsRequest req;
    req.set_query(q);
    return req;
  }

  testing::FakeClock clock_{absl::FromUnixSeconds(1800000000)};
  testing::TestServer server_{[this] {
    server::ServerOptions options;
    options.clock = [this] { return clock_.Now(); };
    return options;
  }()};
  uint64_t last_ = 0;
};

constexpr char kDemo[] = DEMO_PATH;
constexpr char kDemoVerdicts[] = DEMO_VERDICTS_PATH;

TEST_F(SearchServerTest, TheDemoFindsWithdrawalStatementsAndCheckedClaims) {
  ImportFile(kDemo);
  last_ = ImportFile(kDemoVerdicts);
  // Every withdrawal statement, and nothing else.
  EXPECT_THAT(Ids(Query("withdrawal")),
              UnorderedElementsAre("russia-withdrawal-started-2014-05-19",
                                   "putin-orders-troops-back-2014-05-19",
                                   "putin-troops-pulled-back-2014-05",
                                   "russia-withdrawal-claim-2014-03"));
  // In other words: the statements that say "pulled back" come first.
  const std::vector<std::string> pull = Ids(Query("pull back troops"));
  ASSERT_GE(pull.size(), 2u);
  EXPECT_THAT(std::vector<std::string>(pull.begin(), pull.begin() + 2),
              UnorderedElementsAre("russia-withdrawal-claim-2014-03",
                                   "putin-troops-pulled-back-2014-05"));
  // Claims with verdicts, by words only their evidence or verdict holds.
  EXPECT_THAT(Ids(Query("menacing posture")),
              ::testing::Contains("moscow-buildup-routine-exercise"));
  EXPECT_EQ(Ids(Query("menacing posture")).front(),
            "moscow-buildup-routine-exercise");
  EXPECT_THAT(Ids(Query("Rasmussen")),
              ::testing::Contains("russia-withdrawal-started-2014-05-19"));
  v1::SearchClaimsRequest rated = Query("follow through");
  rated.set_status(v1::CLAIM_STATUS_RATED);
  EXPECT_THAT(Ids(rated), ElementsAre("russia-withdrawal-claim-2014-03"));

  v1::SearchClaimsResponse response;
  ASSERT_TRUE(Search(Query("withdrawal"), &response).ok());
  EXPECT_GE(response.position(), last_);
  const v1::SearchHit& top = response.hits(0);
  EXPECT_GT(top.score(), 0);
  EXPECT_THAT(top.snippet(), HasSubstr("\xC2\xAB"));  // «
  EXPECT_NE(top.status(), v1::CLAIM_STATUS_UNSPECIFIED);
  EXPECT_FALSE(top.claimant().empty());
  for (int i = 1; i < response.hits_size(); ++i) {
    EXPECT_LE(response.hits(i).score(), response.hits(i - 1).score());
  }
}

TEST_F(SearchServerTest, Fts5SyntaxPhrasesColumnsAndPrefixes) {
  ImportFile(kDemo);
  last_ = ImportFile(kDemoVerdicts);
  auto fts = [](const std::string& q) {
    v1::SearchClaimsRequest req = Query(q);
    req.set_syntax(v1::QUERY_SYNTAX_FTS5);
    return req;
  };
  EXPECT_THAT(Ids(fts("\"routine exercise\" NOT evidence:menacing")),
              ElementsAre("putin-amassed-40000-troops"));
  EXPECT_THAT(Ids(fts("text:\"routine exercise\"")),
              UnorderedElementsAre("moscow-buildup-routine-exercise"));
  EXPECT_THAT(Ids(fts("people:nalyvaichenko")),
              ElementsAre("ukraine-24-servicemen-killed"));
  EXPECT_THAT(Ids(fts("firefi*")),
              UnorderedElementsAre("bolotov-detained-freed-in-firefight",
                                   "bolotov-wounded-treated-in-russia"));
  EXPECT_THAT(Ids(fts("text : NEAR(troops bases, 10)")),
              ElementsAre("putin-orders-troops-back-2014-05-19"));
}

TEST_F(SearchServerTest, EveryFilterCombinesWithTheText) {
  auto claim = [&](const std::string& id, const std::string& claimant,
                   const std::string& subject, v1::ClaimKind kind,
                   int64_t asserted_s, std::vector<std::string> tags) {
    v1::RecordClaimRequest req =
        testing::NewClaim(id, absl::StrCat("Troops at the border, ", id));
    req.set_claimant(claimant);
    req.set_subject(subject);
    req.set_kind(kind);
    *req.mutable_asserted_at() =
        domain::ToProto(absl::FromUnixSeconds(asserted_s));
    if (kind == v1::CLAIM_KIND_PROMISE) {
      *req.mutable_due_at() = domain::ToProto(clock_.Now() + absl::Hours(1));
    }
    req.clear_tags();
    for (const auto& t : tags) req.add_tags(t);
    Record(req);
  };
  claim("fact-a", "Putin", "border", v1::CLAIM_KIND_FACT, 1000, {"army"});
  clock_.Advance(absl::Seconds(10));
  const absl::Time between = clock_.Now();
  clock_.Advance(absl::Seconds(10));
  claim("fact-b", "Kremlin", "border", v1::CLAIM_KIND_FACT, 2000, {});
  claim("promise-c", "Putin", "economy", v1::CLAIM_KIND_PROMISE, 3000,
        {"army", "budget"});
  claim("other", "Putin", "border", v1::CLAIM_KIND_FACT, 1000, {});
  {
    v1::Command c;
    *c.mutable_add_evidence() =
        testing::NewEvidence("fact-b", v1::STANCE_SUPPORTS, "NATO");
    last_ = Apply(c);
    v1::Command v;
    v1::IssueVerdictRequest* verdict = v.mutable_issue_verdict();
    verdict->set_claim_id("fact-a");
    verdict->set_rating(v1::RATING_FALSE);
    verdict->set_summary("No troops there.");
    verdict->set_reviewer("desk");
    last_ = Apply(v);
  }
  // A word only fact-a, fact-b and promise-c share with "other" is
  // "troops"; "border" all of them. Each filter narrows "troops".
  auto with = [&](auto set) {
    v1::SearchClaimsRequest req = Query("troops");
    set(&req);
    return Ids(req);
  };
  EXPECT_THAT(with([](auto* r) { r->set_claimant("Putin"); }),
              UnorderedElementsAre("fact-a", "promise-c", "other"));
  EXPECT_THAT(with([](auto* r) { r->set_subject("economy"); }),
              ElementsAre("promise-c"));
  EXPECT_THAT(with([](auto* r) { r->set_tag("army"); }),
              UnorderedElementsAre("fact-a", "promise-c"));
  EXPECT_THAT(with([](auto* r) { r->set_kind(v1::CLAIM_KIND_PROMISE); }),
              ElementsAre("promise-c"));
  EXPECT_THAT(with([](auto* r) { r->set_rating(v1::RATING_FALSE); }),
              ElementsAre("fact-a"));
  EXPECT_THAT(with([](auto* r) { r->set_status(v1::CLAIM_STATUS_SUPPORTED); }),
              ElementsAre("fact-b"));
  EXPECT_THAT(with([](auto* r) { r->set_status(v1::CLAIM_STATUS_UNVERIFIED); }),
              UnorderedElementsAre("promise-c", "other"));
  EXPECT_THAT(with([](auto* r) {
                *r->mutable_asserted_after() =
                    domain::ToProto(absl::FromUnixSeconds(1500));
                *r->mutable_asserted_before() =
                    domain::ToProto(absl::FromUnixSeconds(3000));
              }),
              ElementsAre("fact-b"));
  EXPECT_THAT(with([&](auto* r) {
                *r->mutable_recorded_before() = domain::ToProto(between);
              }),
              ElementsAre("fact-a"));
  EXPECT_THAT(with([&](auto* r) {
                *r->mutable_recorded_after() = domain::ToProto(between);
              }),
              UnorderedElementsAre("fact-b", "promise-c", "other"));
  // OVERDUE is read at the clock: the promise turns OVERDUE after due_at.
  EXPECT_THAT(with([](auto* r) { r->set_status(v1::CLAIM_STATUS_OVERDUE); }),
              IsEmpty());
  clock_.Advance(absl::Hours(2));
  EXPECT_THAT(with([](auto* r) { r->set_status(v1::CLAIM_STATUS_OVERDUE); }),
              ElementsAre("promise-c"));
  EXPECT_THAT(with([](auto* r) { r->set_status(v1::CLAIM_STATUS_UNVERIFIED); }),
              ElementsAre("other"));
  // Filters together.
  EXPECT_THAT(with([](auto* r) {
                r->set_claimant("Putin");
                r->set_subject("border");
                r->set_tag("army");
              }),
              ElementsAre("fact-a"));
}

TEST_F(SearchServerTest, PagesVisitEveryHitOnceInOrder) {
  for (int i = 0; i < 23; ++i) {
    Record(testing::NewClaim(
        absl::StrCat("c", i),
        absl::StrCat("Troops ", std::string(i % 5 + 1, 'x'), " border ",
                     i % 3 == 0 ? "troops withdrawal" : "")));
  }
  v1::RecordClaimRequest unrelated =
      testing::NewClaim("unrelated", "Taxes fall in May.");
  unrelated.set_subject("economy");
  Record(unrelated);
  const std::vector<std::string> all = Ids(Query("troops"));
  ASSERT_EQ(all.size(), 23u);
  std::vector<std::string> paged;
  v1::SearchClaimsRequest req = Query("troops");
  req.set_page_size(4);
  int pages = 0;
  for (;;) {
    v1::SearchClaimsResponse page;
    ASSERT_TRUE(Search(req, &page).ok());
    ++pages;
    ASSERT_LE(page.hits_size(), 4);
    for (const auto& hit : page.hits()) paged.push_back(hit.claim_id());
    if (page.next_page_token().empty()) break;
    req.set_page_token(page.next_page_token());
    ASSERT_LT(pages, 20);
  }
  EXPECT_EQ(pages, 6);
  EXPECT_EQ(paged, all);
  EXPECT_EQ(std::set<std::string>(paged.begin(), paged.end()).size(), 23u);

  // A token only works for the request that issued it.
  v1::SearchClaimsRequest other = Query("border");
  other.set_page_token(req.page_token());
  v1::SearchClaimsResponse refused;
  const grpc::Status s = Search(other, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("page_token"));
}

TEST_F(SearchServerTest, HostileQueriesGetResultsOrInvalidArgumentOnly) {
  Record(testing::NewClaim("a", "Troops pulled back \"to\" bases (NEAR)."));
  std::vector<std::string> queries = {"\"unbalanced",
                                      "NEAR(",
                                      "NEAR(a b, -1)",
                                      "NEAR(a b, 99999999999)",
                                      "a AND",
                                      "OR",
                                      "(",
                                      ")",
                                      "*",
                                      "^",
                                      ":",
                                      "{",
                                      "}",
                                      "text:",
                                      "nosuchcolumn: x",
                                      "\"\"",
                                      "a OR OR b",
                                      "-",
                                      "+",
                                      "a NOT",
                                      "NOT a",
                                      "{text people}: (troops",
                                      std::string("troops\0bases", 12),
                                      std::string(3000, '('),
                                      std::string(1000, '('),
                                      std::string(64 * 1024, ' '),
                                      "\xE2\x80\x9Ctroops\xE2\x80\x9D"};
  std::string operators;
  while (operators.size() < 64 * 1024) operators += "AND (OR NOT NEAR( \" * ^ ";
  queries.push_back(operators);
  std::string nested;
  for (int i = 0; i < 600; ++i) nested += "(a OR ";
  queries.push_back(nested);
  for (v1::QuerySyntax syntax :
       {v1::QUERY_SYNTAX_FTS5, v1::QUERY_SYNTAX_PLAIN}) {
    for (const std::string& q : queries) {
      v1::SearchClaimsRequest req = Query(q);
      req.set_syntax(syntax);
      v1::SearchClaimsResponse response;
      const grpc::Status s = Search(req, &response);
      const std::string shown = q.substr(0, 40);
      if (syntax == v1::QUERY_SYNTAX_PLAIN && !q.empty() &&
          q.size() <= search::kMaxQueryBytes &&
          q.find('\0') == std::string::npos) {
        EXPECT_TRUE(s.ok()) << shown << ": " << s.error_message();
        continue;
      }
      EXPECT_TRUE(s.ok() || s.error_code() == grpc::INVALID_ARGUMENT)
          << shown << ": " << s.error_code() << " " << s.error_message();
      if (!s.ok()) {
        EXPECT_THAT(s.error_message(), ::testing::StartsWith("query: "))
            << shown;
      }
    }
  }
  // Named reasons.
  v1::SearchClaimsRequest quote = Query("\"unbalanced");
  quote.set_syntax(v1::QUERY_SYNTAX_FTS5);
  v1::SearchClaimsResponse r;
  grpc::Status s = Search(quote, &r);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("unterminated string"));
  s = Search(Query(std::string("a\0b", 3)), &r);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("NUL"));
  // And the server still answers.
  EXPECT_THAT(Ids(Query("troops")), ElementsAre("a"));
}

TEST_F(SearchServerTest, BadRequestsNameTheField) {
  Record(testing::NewClaim("a", "Troops."));
  auto code_and_message = [&](v1::SearchClaimsRequest req) {
    v1::SearchClaimsResponse r;
    grpc::ClientContext ctx;
    const grpc::Status s = server_.claims().SearchClaims(&ctx, req, &r);
    return std::make_pair(s.error_code(), s.error_message());
  };
  v1::SearchClaimsRequest req = Query("troops");
  req.set_page_size(101);
  EXPECT_EQ(code_and_message(req).first, grpc::INVALID_ARGUMENT);
  EXPECT_THAT(code_and_message(req).second, HasSubstr("page_size"));
  req = Query("");
  EXPECT_THAT(code_and_message(req).second, HasSubstr("query: empty"));
  req = Query("troops");
  req.set_status(static_cast<v1::ClaimStatus>(99));
  EXPECT_THAT(code_and_message(req).second, HasSubstr("status"));
  req = Query("troops");
  req.set_page_token("not-a-token");
  EXPECT_THAT(code_and_message(req).second, HasSubstr("page_token"));
  req = Query("troops");
  *req.mutable_asserted_after() = domain::ToProto(absl::FromUnixSeconds(10));
  *req.mutable_asserted_before() = domain::ToProto(absl::FromUnixSeconds(5));
  EXPECT_THAT(code_and_message(req).second, HasSubstr("asserted_after"));
  req = Query("troops");
  req.set_min_position(last_ + 100);
  EXPECT_EQ(code_and_message(req).first, grpc::OUT_OF_RANGE);
  // Only punctuation: no words, no hits, no error.
  req = Query("?!...");
  v1::SearchClaimsResponse r;
  ASSERT_TRUE(Search(req, &r).ok());
  EXPECT_THAT(r.hits(), IsEmpty());
}

TEST_F(SearchServerTest, MinPositionReadsYourWrites) {
  for (int i = 0; i < 50; ++i) {
    const uint64_t position = Record(testing::NewClaim(
        absl::StrCat("w", i), absl::StrCat("Statement number w", i, ".")));
    v1::SearchClaimsRequest req = Query(absl::StrCat("w", i));
    req.set_min_position(position);
    v1::SearchClaimsResponse r;
    ASSERT_TRUE(Search(req, &r).ok());
    EXPECT_GE(r.position(), position);
    ASSERT_EQ(r.hits_size(), 1) << i;
    EXPECT_EQ(r.hits(0).claim_id(), absl::StrCat("w", i));
  }
}

// The nice value of this process's thread named `name`, if there is one.
std::optional<int> NiceOfThread(const std::string& name) {
  for (const std::vector<std::string>& fields :
       common::ThreadStatFields(name)) {
    int nice = 0;  // proc(5)'s field 19
    if (fields.size() > 16 && absl::SimpleAtoi(fields[16], &nice)) return nice;
  }
  return std::nullopt;
}

// The indexer thread yields the CPU to the writer (core/search_indexer.h,
// "CPU"): its nice value is lowered, only its own, and the index still
// follows an import to its last position.
TEST_F(SearchServerTest, TheIndexerRunsAtALowerPriorityAndCatchesUp) {
  // This thread's nice value is the process's: the indexer's is above it.
  const int process_nice = getpriority(PRIO_PROCESS, 0);
  const int expected =
      std::min(19, process_nice + core::SearchIndexer::kNiceIncrement);
  ASSERT_GT(expected, process_nice) << "the process already runs at nice 19";
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::optional<int> nice;
  while ((nice = NiceOfThread("factlog-index")) != expected &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));  // the thread sets it on start
  }
  ASSERT_TRUE(nice.has_value()) << "no thread named factlog-index";
  EXPECT_EQ(*nice, expected);
  EXPECT_EQ(getpriority(PRIO_PROCESS, 0), process_nice);  // only its own

  grpc::ClientContext ctx;
  v1::ImportResponse response;
  auto writer = server_.claims().Import(&ctx, &response);
  constexpr int kClaims = 2000;
  for (int i = 0; i < kClaims; ++i) {
    v1::Command c;
    *c.mutable_record_claim() = testing::NewClaim(
        absl::StrCat("p", i), absl::StrCat("Imported statement p", i, "."));
    ASSERT_TRUE(writer->Write(c)) << i;
  }
  writer->WritesDone();
  const grpc::Status s = writer->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  const uint64_t last = response.last_position();
  ASSERT_TRUE(server_.server().search_index().WaitForPosition(
      last, absl::Now() + absl::Seconds(60)));
  EXPECT_EQ(server_.server().search_index().Position(),
            server_.server().store().LastPosition());
  last_ = last;
  EXPECT_THAT(Ids(Query("p0")), ElementsAre("p0"));
  EXPECT_THAT(Ids(Query(absl::StrCat("p", kClaims - 1))),
              ElementsAre(absl::StrCat("p", kClaims - 1)));
}

TEST_F(SearchServerTest, CorrectionsAndWithdrawnEvidenceAreReflected) {
  Record(testing::NewClaim("a", "Taxes fall in May."));
  Record(testing::NewClaim("b", "Troops pulled back to bases."));
  v1::Command correct;
  v1::CorrectClaimRequest* c = correct.mutable_correct_claim();
  c->set_claim_id("a");
  c->set_text("Troops pulled back.");
  c->set_reason("misquoted");
  last_ = Apply(correct);
  // The old text still finds it; the current one ranks it with b.
  EXPECT_THAT(Ids(Query("taxes")), ElementsAre("a"));
  EXPECT_THAT(Ids(Query("troops")), UnorderedElementsAre("a", "b"));

  v1::Command evidence;
  *evidence.mutable_add_evidence() =
      testing::NewEvidence("b", v1::STANCE_REFUTES, "Zanzibar Observer");
  evidence.mutable_add_evidence()->set_evidence_id("e1");
  last_ = Apply(evidence);
  EXPECT_THAT(Ids(Query("zanzibar")), ElementsAre("b"));
  v1::Command withdraw;
  v1::WithdrawEvidenceRequest* w = withdraw.mutable_withdraw_evidence();
  w->set_claim_id("b");
  w->set_evidence_id("e1");
  w->set_reason("wrong source");
  last_ = Apply(withdraw);
  EXPECT_THAT(Ids(Query("zanzibar")), IsEmpty());
}

TEST_F(SearchServerTest, ARebuiltIndexEqualsTheLiveOne) {
  ImportFile(kDemo);
  last_ = ImportFile(kDemoVerdicts);
  v1::Command correct;
  v1::CorrectClaimRequest* c = correct.mutable_correct_claim();
  c->set_claim_id("ukraine-24-servicemen-killed");
  c->set_text("Operations in Donetsk and Luhansk killed 24 servicemen.");
  c->set_reason("shortened");
  last_ = Apply(correct);
  const std::vector<std::string> queries = {
      "withdrawal", "pull back troops", "servicemen",
      "Rasmussen",  "routine exercise", "Luhansk"};
  std::vector<v1::SearchClaimsResponse> live;
  for (const std::string& q : queries) {
    v1::SearchClaimsRequest req = Query(q);
    req.set_page_size(100);
    ASSERT_TRUE(Search(req, &live.emplace_back()).ok());
  }
  auto entries = [](const search::SearchIndex& index) {
    std::vector<std::string> out;
    EXPECT_TRUE(index
                    .ForEachEntry([&](const search::IndexEntry& e) {
                      out.push_back(absl::StrCat(e.claim_id, " v", e.version,
                                                 " ", e.stored_status));
                      return true;
                    })
                    .ok());
    return out;
  };
  const std::vector<std::string> live_entries =
      entries(server_.server().search_index());
  ASSERT_EQ(live_entries.size(), 10u);

  // Rebuild, then ask the same questions.
  ASSERT_TRUE(core::BuildSearchIndex(server_.server().store(),
                                     &server_.server().search_index())
                  .ok());
  EXPECT_EQ(entries(server_.server().search_index()), live_entries);
  for (size_t i = 0; i < queries.size(); ++i) {
    v1::SearchClaimsRequest req = Query(queries[i]);
    req.set_page_size(100);
    v1::SearchClaimsResponse rebuilt;
    ASSERT_TRUE(Search(req, &rebuilt).ok());
    ASSERT_EQ(rebuilt.hits_size(), live[i].hits_size()) << queries[i];
    for (int h = 0; h < rebuilt.hits_size(); ++h) {
      EXPECT_EQ(rebuilt.hits(h).claim_id(), live[i].hits(h).claim_id());
      EXPECT_NEAR(rebuilt.hits(h).score(), live[i].hits(h).score(), 1e-9);
      EXPECT_EQ(rebuilt.hits(h).snippet(), live[i].hits(h).snippet());
    }
  }
  auto report = core::VerifySearchIndex(server_.server().store(),
                                        server_.server().search_index());
  ASSERT_TRUE(report.ok());
  EXPECT_THAT(*report, IsEmpty());
}

// ---- The real factlogd, killed between commit and indexing --------------

absl::StatusOr<v1::CommandResponse> RecordOver(v1::ClaimService::Stub& stub,
                                               const std::string& id,
                                               const std::string& text) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::CommandResponse resp;
  grpc::Status s = stub.RecordClaim(&ctx, testing::NewClaim(id, text), &resp);
  if (!s.ok()) return absl::UnavailableError(s.error_message());
  return resp;
}

// The value of the unlabelled metric `name` in a /metrics text; -1 when
// it is not there.
double MetricValue(const std::string& text, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, name + " ")) {
      double value = 0;
      if (absl::SimpleAtod(line, &value)) return value;
    }
  }
  return -1;
}

// Searches waiting for min_position hold no gRPC thread (core/
// position_waiters.h): with the indexer stopped, more of them wait at once
// than gRPC has threads for callbacks, a GetClaim is answered meanwhile,
// and they are all answered once the index catches up. The index's lag
// shows in /metrics and GetStats.
TEST(SearchWaitTest, WaitingSearchesHoldNoThreadAndLagIsReported) {
  server::ServerOptions options;
  options.search_indexer = false;  // the index moves when the test moves it
  testing::TestServer server(options);
  uint64_t last = 0;
  {
    grpc::ClientContext ctx;
    v1::ImportResponse imported;
    auto writer = server.claims().Import(&ctx, &imported);
    for (int i = 0; i < 3; ++i) {
      v1::Command c;
      *c.mutable_record_claim() = testing::NewClaim(
          absl::StrCat("waited-", i), absl::StrCat("Paused indexer word ", i));
      ASSERT_TRUE(writer->Write(c));
    }
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
    last = imported.last_position();
  }
  core::ServerMetrics& metrics = server.server().metrics();
  EXPECT_EQ(MetricValue(metrics.Render(), "factlog_search_index_lag_events"),
            static_cast<double>(last));

  constexpr int kWaiting = 64;  // gRPC runs callbacks on a few threads
  struct Call {
    grpc::ClientContext ctx;
    v1::SearchClaimsRequest req;
    v1::SearchClaimsResponse resp;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<Call>> calls;
  absl::Mutex mu;
  int answered = 0;
  // However the test ends, no call outlives what it refers to.
  struct Drain {
    std::vector<std::unique_ptr<Call>>* calls;
    absl::Mutex* mu;
    int* answered;
    ~Drain() {
      for (auto& call : *calls) call->ctx.TryCancel();
      absl::MutexLock lock(mu);
      auto all = [this]() ABSL_SHARED_LOCKS_REQUIRED(*mu) {
        return *answered == static_cast<int>(calls->size());
      };
      mu->AwaitWithTimeout(absl::Condition(&all), absl::Seconds(60));
    }
  } drain{&calls, &mu, &answered};
  for (int i = 0; i < kWaiting; ++i) {
    Call* call = calls.emplace_back(std::make_unique<Call>()).get();
    call->req.set_query("paused indexer");
    call->req.set_min_position(last);
    call->ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    server.claims().async()->SearchClaims(
        &call->ctx, &call->req, &call->resp,
        [call, &mu, &answered](grpc::Status status) {
          absl::MutexLock lock(&mu);
          call->status = std::move(status);
          ++answered;
        });
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (MetricValue(metrics.Render(), "factlog_search_waiting_calls") <
             kWaiting &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(MetricValue(metrics.Render(), "factlog_search_waiting_calls"),
            kWaiting);
  {
    grpc::ClientContext ctx;
    v1::GetClaimRequest get;
    get.set_claim_id("waited-0");
    v1::ClaimView view;
    const grpc::Status s = server.claims().GetClaim(&ctx, get, &view);
    ASSERT_TRUE(s.ok()) << s.error_message();
    auto admin = v1::AdminService::NewStub(server.channel());
    grpc::ClientContext stats_ctx;
    v1::GetStatsResponse stats;
    ASSERT_TRUE(admin->GetStats(&stats_ctx, {}, &stats).ok());
    EXPECT_EQ(stats.search_index_position() + stats.search_index_lag(),
              stats.last_position());
    EXPECT_EQ(stats.search_index_lag(), last);
  }
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(answered, 0) << "searches finished before the index moved";
  }
  // The indexer's work, done here: every waiting search is answered.
  ASSERT_TRUE(core::CatchUpSearchIndex(server.server().store(),
                                       &server.server().search_index())
                  .ok());
  {
    absl::MutexLock lock(&mu);
    auto all = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu) {
      return answered == kWaiting;
    };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(30)))
        << answered << " of " << kWaiting << " answered";
  }
  for (const auto& call : calls) {
    ASSERT_TRUE(call->status.ok()) << call->status.error_message();
    EXPECT_EQ(call->resp.position(), last);
    EXPECT_EQ(call->resp.hits_size(), 3);
  }
  EXPECT_EQ(MetricValue(metrics.Render(), "factlog_search_index_lag_events"),
            0);
  EXPECT_EQ(MetricValue(metrics.Render(), "factlog_search_waiting_calls"), 0);
}

TEST(SearchCrashTest, KilledBetweenCommitAndIndexingCatchesUpOnRestart) {
  testing::TempDir dir;
  const std::string data_dir = dir.path() + "/data";
  // 1. A factlogd indexes some claims and is killed (-9) while a client
  // keeps recording: acknowledged claims may be committed but not indexed.
  uint64_t acknowledged = 0;
  std::vector<std::string> acked_ids;
  {
    auto factlogd = testing::StartFactlogd(FACTLOGD_PATH, data_dir);
    ASSERT_TRUE(factlogd.ok()) << factlogd.status();
    auto stub = v1::ClaimService::NewStub(grpc::CreateChannel(
        factlogd->address, grpc::InsecureChannelCredentials()));
    std::atomic<bool> stop{false};
    std::atomic<size_t> acked{0};
    std::thread load([&] {
      for (int i = 0; !stop; ++i) {
        const std::string id = absl::StrCat("k", i);
        auto r = RecordOver(*stub, id, absl::StrCat("Crash word q", i));
        if (!r.ok()) return;
        acknowledged = r->last_position();
        acked_ids.push_back(id);
        ++acked;
      }
    });
    // Kill it once a few hundred claims are acknowledged (polling a
    // counter with a deadline; nothing here asserts on timing).
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (acked < 300 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    factlogd->process->Signal(SIGKILL);
    factlogd->process->Wait();
    stop = true;
    load.join();
  }
  ASSERT_GE(acked_ids.size(), 300u);
  // 2. Committed but never indexed, for certain: claims appended straight
  // to the store, as a factlogd killed right after their commit leaves it.
  {
    auto store = storage::EventStore::Open(data_dir);
    ASSERT_TRUE(store.ok()) << store.status();
    auto writer = core::Writer::Start(store->get(), {});
    for (int i = 0; i < 20; ++i) {
      v1::Command record;
      *record.mutable_record_claim() = testing::NewClaim(
          absl::StrCat("unindexed", i), absl::StrCat("Crash word u", i));
      auto r = testing::ApplySync(*writer, record);
      ASSERT_TRUE(r.ok()) << r.status();
      acknowledged = r->last_position();
    }
    writer->Stop();
  }
  {
    auto index = search::SearchIndex::Open(data_dir + "/search.sqlite");
    ASSERT_TRUE(index.ok());
    EXPECT_LT((*index)->Position(), acknowledged);
  }
  // 3. Restarted, it catches up: every acknowledged claim is found.
  {
    auto factlogd = testing::StartFactlogd(FACTLOGD_PATH, data_dir);
    ASSERT_TRUE(factlogd.ok()) << factlogd.status();
    auto stub = v1::ClaimService::NewStub(grpc::CreateChannel(
        factlogd->address, grpc::InsecureChannelCredentials()));
    v1::SearchClaimsRequest req;
    req.set_query("crash word");
    req.set_min_position(acknowledged);
    req.set_page_size(100);
    std::set<std::string> found;
    for (;;) {
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      v1::SearchClaimsResponse page;
      const grpc::Status s = stub->SearchClaims(&ctx, req, &page);
      ASSERT_TRUE(s.ok()) << s.error_message();
      for (const auto& hit : page.hits()) found.insert(hit.claim_id());
      if (page.next_page_token().empty()) break;
      req.set_page_token(page.next_page_token());
    }
    for (const std::string& id : acked_ids) EXPECT_TRUE(found.count(id)) << id;
    for (int i = 0; i < 20; ++i) {
      EXPECT_TRUE(found.count(absl::StrCat("unindexed", i))) << i;
    }
    factlogd->process->Signal(SIGTERM);
    EXPECT_EQ(factlogd->process->Wait(), 0);
  }
  // 4. --verify: every claim indexed at its current version, nothing else.
  testing::RunResult verify = testing::RunToCompletion(
      {FACTLOGD_PATH, "--verify", "--data-dir", data_dir});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_THAT(verify.output, HasSubstr(", 0 differences"));
}

TEST(SearchCrashTest, RebuildRecreatesTheIndexAndVerifyFindsTampering) {
  testing::TempDir dir;
  const std::string data_dir = dir.path() + "/data";
  {
    auto store = storage::EventStore::Open(data_dir);
    ASSERT_TRUE(store.ok());
    auto writer = core::Writer::Start(store->get(), {});
    for (const char* id : {"a", "b", "c"}) {
      v1::Command record;
      *record.mutable_record_claim() = testing::NewClaim(id, "Troops.");
      ASSERT_TRUE(testing::ApplySync(*writer, record).ok());
    }
    writer->Stop();
  }
  testing::RunResult rebuild = testing::RunToCompletion(
      {FACTLOGD_PATH, "--rebuild", "--data-dir", data_dir});
  ASSERT_EQ(rebuild.exit_code, 0) << rebuild.output;
  EXPECT_THAT(rebuild.output, HasSubstr("search index of 3 claims"));
  // An index row the log does not back, and one at a stale version.
  {
    auto index = search::SearchIndex::Open(data_dir + "/search.sqlite");
    ASSERT_TRUE(index.ok());
    const uint64_t position = (*index)->Position();
    v1::ClaimView ghost = View("ghost", "Not in the log.");
    v1::ClaimView stale = View("b", "Troops.");
    stale.set_version(7);
    ASSERT_TRUE(
        (*index)
            ->Apply({search::DocumentOf(ghost), search::DocumentOf(stale)},
                    position)
            .ok());
  }
  testing::RunResult verify = testing::RunToCompletion(
      {FACTLOGD_PATH, "--verify", "--data-dir", data_dir});
  EXPECT_EQ(verify.exit_code, 1) << verify.output;
  EXPECT_THAT(verify.output,
              HasSubstr("MISMATCH search: claim ghost is indexed but not"));
  EXPECT_THAT(verify.output,
              HasSubstr("MISMATCH search: claim b is indexed at version 7"));
  rebuild = testing::RunToCompletion(
      {FACTLOGD_PATH, "--rebuild", "--data-dir", data_dir});
  ASSERT_EQ(rebuild.exit_code, 0) << rebuild.output;
  verify = testing::RunToCompletion(
      {FACTLOGD_PATH, "--verify", "--data-dir", data_dir});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

}  // namespace
}  // namespace factlog
