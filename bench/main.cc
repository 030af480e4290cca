// factlog-bench: issue 7's workloads against factlogd, each beside the
// ceilings (echo, server stream, fsync) measured in the same run. See
// bench/README.md for what each workload means; bench/run-all runs all of
// it plus the PostgreSQL peer and writes bench/results/latest.{md,json}.
#include <cstdio>
#include <filesystem>
#include <set>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "bench/harness.h"
#include "bench/report.h"
#include "bench/workloads/workloads.h"

#ifndef FACTLOGD_PATH
#define FACTLOGD_PATH ""
#endif

namespace {

using factlog::bench::Config;
using factlog::bench::Harness;
using factlog::bench::PeerResult;

const std::vector<std::string> kWorkloads = {
    "disk",    "echo",         "durable-echo",  "append",
    "import",  "get",          "list",          "stall",
    "fanout",  "fanout-burst", "idle-sub",      "rebuild",
    "catchup", "search",       "search-import", "append-sources"};

// "CLIENTS:TPS[:P50:P99[:P999]]" as bench/pg/run-peer prints it.
bool ParsePeer(const std::string& text, PeerResult* out) {
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  if (parts.size() < 2 || !absl::SimpleAtoi(parts[0], &out->clients) ||
      !absl::SimpleAtod(parts[1], &out->tps)) {
    return false;
  }
  double* fields[] = {&out->p50_ms, &out->p99_ms, &out->p999_ms};
  for (size_t i = 2; i < parts.size() && i < 5; ++i) {
    if (!absl::SimpleAtod(parts[i], fields[i - 2])) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian builds abseil with its debug-mode deadlock detector on, which
  // records every Mutex acquisition in a global graph (measured: ~3% of CPU
  // under append load). Tests keep it; the server does not need it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  Config config;
  config.factlogd = FACTLOGD_PATH;
  std::string workloads = "all";
  double seconds = 5, warmup = 1;
  bool json = false;
  std::string json_out, markdown_out;
  std::vector<std::string> pg;

  CLI::App app(
      "factlog-bench: issue-7 workloads against factlogd beside same-run "
      "ceilings (echo, server stream, fsync)",
      "factlog-bench");
  app.add_option("--workloads", workloads,
                 absl::StrCat("comma-separated, or all: ",
                              absl::StrJoin(kWorkloads, ",")))
      ->capture_default_str();
  app.add_option("--seconds", seconds, "measured seconds per workload")
      ->capture_default_str();
  app.add_option("--warmup", warmup, "unmeasured seconds before each")
      ->capture_default_str();
  app.add_option("--seed", config.seed, "seed of every random choice")
      ->capture_default_str();
  app.add_option("--client-threads", config.client_threads,
                 "completion-queue threads of the async client")
      ->capture_default_str();
  app.add_option("--clients", config.append_clients,
                 "closed-loop clients for append (and echo), one run each")
      ->capture_default_str()
      ->delimiter(',');
  app.add_option("--get-clients", config.get_clients,
                 "closed-loop clients for get and list")
      ->capture_default_str();
  app.add_option("--import-streams", config.import_streams,
                 "concurrent Import streams")
      ->capture_default_str();
  app.add_option("--preload-claims", config.preload_claims,
                 "claims in the store get and list read")
      ->capture_default_str();
  app.add_option("--rebuild-events", config.rebuild_events,
                 "events in the store rebuild and catchup read")
      ->capture_default_str();
  app.add_option("--fanout-subscribers", config.fanout_subscribers,
                 "live subscribers in fanout")
      ->capture_default_str();
  app.add_option("--fanout-rate", config.fanout_rate,
                 "appends per second in fanout")
      ->capture_default_str();
  app.add_option("--burst-subscribers", config.burst_subscribers,
                 "subscribers in fanout-burst")
      ->capture_default_str();
  app.add_option("--burst-events", config.burst_events,
                 "events each fanout-burst subscriber reads")
      ->capture_default_str();
  app.add_option("--idle-subscribers", config.idle_subscribers,
                 "subscriptions opened in idle-sub")
      ->capture_default_str();
  app.add_option("--stall-clients", config.stall_clients,
                 "closed-loop append clients in stall")
      ->capture_default_str();
  app.add_option("--search-claims", config.search_claims,
                 "claims imported for search and search-import")
      ->capture_default_str();
  app.add_option("--search-clients", config.search_clients,
                 "concurrent SearchClaims clients")
      ->capture_default_str();
  app.add_option("--pg", pg,
                 "PostgreSQL peer result CLIENTS:TPS[:P50:P99[:P999]] "
                 "(bench/run-all passes these)");
  app.add_option("--factlogd", config.factlogd,
                 "factlogd binary for rebuild and idle-sub")
      ->capture_default_str();
  app.add_option("--dir", config.dir,
                 "where throwaway data dirs go (default: $TMPDIR or /tmp)");
  app.add_flag("--json", json, "print one JSON object per workload row");
  app.add_option("--json-out", json_out, "also write JSON lines to this file");
  app.add_option("--markdown-out", markdown_out,
                 "also write a Markdown table to this file");
  CLI11_PARSE(app, argc, argv);

  config.window.duration = absl::Seconds(seconds);
  config.window.warmup = absl::Seconds(warmup);
  if (config.dir.empty()) {
    config.dir = std::filesystem::temp_directory_path().string();
  }
  for (const std::string& p : pg) {
    PeerResult r;
    if (!ParsePeer(p, &r)) {
      std::fprintf(stderr, "factlog-bench: --pg %s: want CLIENTS:TPS[...]\n",
                   p.c_str());
      return 2;
    }
    config.pg.push_back(r);
  }
  std::set<std::string> selected;
  for (absl::string_view w :
       absl::StrSplit(workloads, ',', absl::SkipEmpty())) {
    if (w == "all") {
      selected.insert(kWorkloads.begin(), kWorkloads.end());
    } else if (std::find(kWorkloads.begin(), kWorkloads.end(), w) ==
               kWorkloads.end()) {
      std::fprintf(stderr, "factlog-bench: unknown workload %s\n",
                   std::string(w).c_str());
      return 2;
    } else {
      selected.insert(std::string(w));
    }
  }

  auto harness = Harness::Create(config);
  if (!harness.ok()) {
    std::fprintf(stderr, "factlog-bench: %s\n",
                 std::string(harness.status().message()).c_str());
    return 1;
  }
  Harness& h = **harness;
  int failures = 0;
  auto run = [&](const char* name, const std::function<absl::Status()>& fn) {
    std::fprintf(stderr, "factlog-bench: %s...\n", name);
    absl::Status s = fn();
    if (!s.ok()) {
      ++failures;
      std::fprintf(stderr, "factlog-bench: %s failed: %s\n", name,
                   std::string(s.message()).c_str());
    }
  };
  auto has = [&](const char* w) { return selected.count(w) > 0; };
  if (has("disk")) run("disk", [&] { return (h.Disk(), absl::OkStatus()); });
  if (has("echo")) {
    run("echo", [&] {
      for (int c : config.append_clients) h.Echo(c);
      return absl::OkStatus();
    });
  }
  if (has("durable-echo")) {
    run("durable-echo", [&] {
      for (int c : config.append_clients) h.DurableEcho(c);
      return absl::OkStatus();
    });
  }
  if (has("append")) run("append", [&] { return RunAppend(h); });
  if (has("append-sources")) {
    run("append-sources", [&] { return RunAppendSources(h); });
  }
  if (has("import")) run("import", [&] { return RunImport(h); });
  if (has("get") || has("list")) run("get/list", [&] { return RunReads(h); });
  if (has("stall")) run("stall", [&] { return RunStall(h); });
  if (has("fanout")) run("fanout", [&] { return RunFanout(h); });
  if (has("fanout-burst")) {
    run("fanout-burst", [&] { return RunFanoutBurst(h); });
  }
  if (has("idle-sub")) run("idle-sub", [&] { return RunIdleSubscribers(h); });
  if (has("search") || has("search-import")) {
    run("search",
        [&] { return RunSearch(h, has("search"), has("search-import")); });
  }
  if (has("rebuild") || has("catchup")) {
    run("rebuild/catchup", [&] {
      return RunRebuildAndCatchup(h, has("rebuild"), has("catchup"));
    });
  }
  AddPeerRows(h);

  if (json) {
    PrintJsonLines(h.rows(), stdout);
  } else {
    PrintTable(h.rows(), stdout);
  }
  if (!json_out.empty()) {
    std::FILE* f = std::fopen(json_out.c_str(), "w");
    if (f == nullptr) return 1;
    PrintJsonLines(h.rows(), f);
    std::fclose(f);
  }
  if (!markdown_out.empty()) {
    std::FILE* f = std::fopen(markdown_out.c_str(), "w");
    if (f == nullptr) return 1;
    PrintMarkdown(h.rows(), f);
    std::fclose(f);
  }
  // Timing never fails the run; a workload that could not run does.
  return failures == 0 ? 0 : 1;
}
