// search and search-import: full-text search (README "Search") at scale.
//
// The texts: claim n is 14 words drawn (by a hash of n) from a vocabulary
// of 5,000 — 300 news words and generated ones — with a Zipf-like skew, so
// that queries hit few or many claims as real ones do. Queries are two
// such words, in the plain-words mode.
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench/commands.h"
#include "bench/histogram.h"
#include "bench/workloads/workloads.h"
#include "common/thread_stat.h"
#include "factlog/v1/service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "search/search_index.h"
#include "search/search_query.h"

namespace factlog::bench {
namespace {

constexpr int kVocabulary = 5000;
constexpr int kWordsPerText = 14;
constexpr int kImportStreams = 4;

uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

const std::vector<std::string>& Vocabulary() {
  static const auto* const words = [] {
    auto* v = new std::vector<std::string>{
        "troops",   "withdrawal", "border",   "ukraine",   "russia",
        "putin",    "nato",       "bases",    "exercise",  "ministry",
        "minister", "president",  "election", "budget",    "deficit",
        "taxes",    "inflation",  "growth",   "percent",   "million",
        "billion",  "gas",        "prices",   "supply",    "debt",
        "promise",  "plan",       "report",   "official",  "government",
        "army",     "soldiers",   "forces",   "military",  "security",
        "attack",   "killed",     "wounded",  "civilians", "city",
        "region",   "east",       "west",     "capital",   "parliament",
        "vote",     "law",        "court",    "police",    "protest"};
    for (int i = static_cast<int>(v->size()); i < kVocabulary; ++i) {
      v->push_back(absl::StrCat("w", i, "x"));
    }
    return v;
  }();
  return *words;
}

// A word index with a Zipf-like skew: word k drawn about 1/(k+1) as often.
int SkewedWord(uint64_t r) {
  const double u = (r >> 11) * (1.0 / 9007199254740992.0);
  const int k = static_cast<int>(std::exp(u * std::log(kVocabulary + 1.0))) - 1;
  return std::min(std::max(k, 0), kVocabulary - 1);
}

std::string Text(uint64_t n) {
  std::vector<std::string> words;
  for (int i = 0; i < kWordsPerText; ++i) {
    words.push_back(Vocabulary()[SkewedWord(Mix(n * 31 + i))]);
  }
  return absl::StrCat(absl::StrJoin(words, " "), ".");
}

std::string Query(uint64_t q) {
  return absl::StrCat(Vocabulary()[SkewedWord(Mix(q * 7 + 1000003))], " ",
                      Vocabulary()[SkewedWord(Mix(q * 7 + 2000003))]);
}

v1::Command Record(uint64_t n) {
  v1::Command c;
  *c.mutable_record_claim() = ClaimRequest(absl::StrCat("s-", n), n);
  c.mutable_record_claim()->set_text(Text(n));
  return c;
}

struct ImportRun {
  double seconds = 0;              // the import, start to last ack
  double index_seconds = 0;        // start to the index reflecting everything
  double indexer_cpu_seconds = 0;  // the indexer thread's, over the run
  double process_cpu_seconds = 0;  // the whole process's, over the run
  uint64_t events = 0;
};

// CPU seconds (user + system) this process has used so far.
double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// CPU seconds (user + system) of this process's threads named `name`.
double ThreadCpuSeconds(const std::string& name) {
  double ticks = 0;
  for (const std::vector<std::string>& fields :
       common::ThreadStatFields(name)) {
    // utime and stime: proc(5)'s fields 14 and 15.
    if (fields.size() > 12)
      ticks += std::stod(fields[11]) + std::stod(fields[12]);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Imports config.search_claims claims over kImportStreams streams into a
// fresh server; with the indexer, also waits for the index to catch up.
absl::StatusOr<ImportRun> Import(Harness& h, const std::string& dir,
                                 bool indexer,
                                 std::unique_ptr<InProcessServer>* keep) {
  server::ServerOptions options;
  options.search_indexer = indexer;
  auto server = InProcessServer::Start(dir, options);
  if (!server.ok()) return server.status();
  auto channels = Connect((*server)->server().address(), kImportStreams);
  const uint64_t claims = h.config().search_claims;
  std::atomic<int> failed{0};
  std::string first_error;
  std::mutex mu;
  const absl::Time start = absl::Now();
  const double cpu_start = ProcessCpuSeconds();
  std::vector<std::thread> threads;
  for (int s = 0; s < kImportStreams; ++s) {
    threads.emplace_back([&, s] {
      auto stub = v1::ClaimService::NewStub(channels[s]);
      grpc::ClientContext ctx;
      v1::ImportResponse response;
      auto writer = stub->Import(&ctx, &response);
      for (uint64_t n = s; n < claims; n += kImportStreams) {
        if (!writer->Write(Record(n), grpc::WriteOptions().set_buffer_hint())) {
          break;
        }
      }
      writer->WritesDone();
      const grpc::Status status = writer->Finish();
      if (!status.ok() && failed++ == 0) {
        std::lock_guard<std::mutex> lock(mu);
        first_error = status.error_message();
      }
    });
  }
  for (auto& t : threads) t.join();
  ImportRun run;
  run.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (failed > 0) return absl::InternalError("import: " + first_error);
  run.events = (*server)->server().store().LastPosition();
  if (indexer) {
    if (!(*server)->server().search_index().WaitForPosition(
            run.events, absl::Now() + absl::Minutes(30))) {
      return absl::DeadlineExceededError("the index did not catch up");
    }
    run.index_seconds = absl::ToDoubleSeconds(absl::Now() - start);
    run.indexer_cpu_seconds = ThreadCpuSeconds("factlog-index");
  }
  run.process_cpu_seconds = ProcessCpuSeconds() - cpu_start;
  if (keep != nullptr) *keep = *std::move(server);
  return run;
}

// `clients` threads calling `call(client, seq)` until the window ends.
struct Measured {
  uint64_t ops = 0, errors = 0;
  double seconds = 0;
  Histogram latency;
};
Measured ClosedLoopThreads(const LoadWindow& window, int clients,
                           const std::function<bool(int, uint64_t)>& call) {
  const absl::Time start = absl::Now();
  const absl::Time from = start + window.warmup;
  const absl::Time end = from + window.duration;
  std::vector<Measured> per(clients);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (uint64_t seq = c;; seq += clients) {
        const absl::Time t0 = absl::Now();
        if (t0 >= end) return;
        const bool ok = call(c, seq);
        if (t0 < from) continue;
        ++(ok ? per[c].ops : per[c].errors);
        per[c].latency.Record(absl::ToInt64Microseconds(absl::Now() - t0));
      }
    });
  }
  for (auto& t : threads) t.join();
  Measured total;
  total.seconds = absl::ToDoubleSeconds(window.duration);
  for (const Measured& m : per) {
    total.ops += m.ops;
    total.errors += m.errors;
    total.latency.Merge(m.latency);
  }
  return total;
}

// The floor: the same texts in a bare FTS5 table (porter unicode61), the
// same query expressions, one connection per client.
absl::StatusOr<Measured> BareFts5(Harness& h, const std::string& dir,
                                  double* load_seconds) {
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/bare.sqlite";
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    return absl::InternalError("bare FTS5: cannot open");
  }
  const absl::Time start = absl::Now();
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; CREATE VIRTUAL TABLE t USING "
               "fts5(text, tokenize='porter unicode61 remove_diacritics 2');"
               "BEGIN",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t(rowid, text) VALUES(?, ?)", -1, &insert,
                     nullptr);
  for (uint64_t n = 0; n < h.config().search_claims; ++n) {
    const std::string text = Text(n);
    sqlite3_bind_int64(insert, 1, static_cast<int64_t>(n + 1));
    sqlite3_bind_text(insert, 2, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
    sqlite3_step(insert);
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  *load_seconds = absl::ToDoubleSeconds(absl::Now() - start);

  const int clients = h.config().search_clients;
  std::vector<sqlite3*> connections(clients, nullptr);
  std::vector<sqlite3_stmt*> statements(clients, nullptr);
  for (int c = 0; c < clients; ++c) {
    sqlite3_open(path.c_str(), &connections[c]);
    sqlite3_prepare_v2(connections[c],
                       "SELECT rowid, bm25(t), snippet(t, 0, '[', ']', '...', "
                       "24) FROM t WHERE t MATCH ? ORDER BY rank LIMIT 21",
                       -1, &statements[c], nullptr);
  }
  Measured m =
      ClosedLoopThreads(h.config().window, clients, [&](int c, uint64_t seq) {
        const std::string expression =
            search::AnyOfWords(Query(seq)).expression;
        sqlite3_stmt* st = statements[c];
        sqlite3_bind_text(st, 1, expression.data(),
                          static_cast<int>(expression.size()),
                          SQLITE_TRANSIENT);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        }
        sqlite3_reset(st);
        return rc == SQLITE_DONE;
      });
  for (int c = 0; c < clients; ++c) {
    sqlite3_finalize(statements[c]);
    sqlite3_close(connections[c]);
  }
  std::filesystem::remove_all(dir);
  return m;
}

}  // namespace

absl::Status RunSearch(Harness& h, bool search, bool import_ab) {
  const uint64_t claims = h.config().search_claims;
  if (import_ab) {
    // Alternating, twice each, best of each: drift hits both sides alike.
    double best_off = 0, best_on = 0, best_index = 0;
    double least_cpu_per_event = 0;
    double process_cpu_per_event[2] = {0, 0};  // off, on: the least
    for (int round = 0; round < 4; ++round) {
      const bool on = round % 2 == 1;
      auto run =
          Import(h, h.NewDataDir(on ? "search-on" : "search-off"), on, nullptr);
      if (!run.ok()) return run.status();
      const double rate = run->events / run->seconds;
      double& process_cpu = process_cpu_per_event[on ? 1 : 0];
      const double cpu = run->process_cpu_seconds / run->events;
      if (process_cpu == 0 || cpu < process_cpu) process_cpu = cpu;
      (on ? best_on : best_off) = std::max(on ? best_on : best_off, rate);
      if (on) {
        best_index = std::max(best_index, run->events / run->index_seconds);
        const double cpu_per_event = run->indexer_cpu_seconds / run->events;
        if (least_cpu_per_event == 0 || cpu_per_event < least_cpu_per_event) {
          least_cpu_per_event = cpu_per_event;
        }
      }
    }
    Row row;
    row.workload = "search-import";
    row.clients = kImportStreams;
    row.unit = "events";
    row.ops = claims;
    row.ops_per_sec = best_on;
    row.baseline = "import without the indexer";
    row.baseline_ops_per_sec = best_off;
    row.Extra("indexed_events_per_sec", best_index);
    row.Extra("process_cpu_us_per_event_off", process_cpu_per_event[0] * 1e6);
    row.Extra("process_cpu_us_per_event_on", process_cpu_per_event[1] * 1e6);
    if (least_cpu_per_event > 0) {  // 0: too short for the clock ticks
      row.Extra("indexer_cpu_us_per_event", least_cpu_per_event * 1e6);
      row.Extra("indexer_events_per_cpu_sec", 1 / least_cpu_per_event);
    }
    row.note =
        "import of RecordClaim commands with the search indexer on, beside "
        "the same import with it off (alternating, best of 2 each); "
        "indexed_events_per_sec: events from import start until the index "
        "reflects them all (bounded by the import's own rate); "
        "indexer_events_per_cpu_sec: events per second of the indexer "
        "thread's CPU (/proc), what one core could index; "
        "process_cpu_us_per_event_off/on: the whole process's CPU (server "
        "and the bench's clients) per event without and with the indexer";
    row.targets.push_back(
        {"import with / without indexer", row.ratio(), 0.9, true});
    row.targets.push_back({"indexed events/s", best_index, 20000, true});
    h.Add(row);
  }
  if (!search) return absl::OkStatus();

  std::unique_ptr<InProcessServer> server;
  auto loaded = Import(h, h.NewDataDir("search"), true, &server);
  if (!loaded.ok()) return loaded.status();
  const int clients = h.config().search_clients;
  auto channels = Connect(server->server().address(), clients);
  std::vector<std::unique_ptr<v1::ClaimService::Stub>> stubs;
  for (const auto& c : channels) stubs.push_back(v1::ClaimService::NewStub(c));
  Measured m =
      ClosedLoopThreads(h.config().window, clients, [&](int c, uint64_t seq) {
        v1::SearchClaimsRequest req;
        req.set_query(Query(seq));
        grpc::ClientContext ctx;
        v1::SearchClaimsResponse resp;
        return stubs[c]->SearchClaims(&ctx, req, &resp).ok();
      });
  double floor_load_seconds = 0;
  auto floor = BareFts5(h, h.NewDataDir("search-floor"), &floor_load_seconds);
  if (!floor.ok()) return floor.status();

  Row frow;
  frow.workload = "search-floor";
  frow.clients = clients;
  frow.unit = "queries";
  frow.ops = floor->ops;
  frow.errors = floor->errors;
  frow.ops_per_sec = floor->ops / floor->seconds;
  frow.SetLatency(floor->latency);
  frow.Extra("claims", claims);
  frow.Extra("load_rows_per_sec", claims / floor_load_seconds);
  frow.note =
      "the same texts in a bare FTS5 table, the same query expressions, "
      "top 21 by rank with a snippet, one SQLite connection per client";
  h.Add(frow);

  Row row;
  row.workload = "search";
  row.clients = clients;
  row.unit = "queries";
  row.ops = m.ops;
  row.errors = m.errors;
  row.ops_per_sec = m.ops / m.seconds;
  row.SetLatency(m.latency);
  row.baseline = absl::StrCat("search-floor@", clients);
  row.baseline_ops_per_sec = frow.ops_per_sec;
  row.Extra("claims", claims);
  row.Extra("import_events_per_sec", loaded->events / loaded->seconds);
  row.Extra("indexed_events_per_sec", loaded->events / loaded->index_seconds);
  row.note =
      "SearchClaims, two plain words, first page of 20, over gRPC; ratio = "
      "queries/s of the bare FTS5 floor";
  row.targets.push_back({"queries/s / floor", row.ratio(), 0.7, true});
  h.Add(row);
  return absl::OkStatus();
}

}  // namespace factlog::bench
