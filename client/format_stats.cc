#include "client/format_stats.h"

#include <iterator>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/format.h"

namespace factlog::cli {

namespace v1 = factlog::v1;

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

std::string RenderStats(const v1::GetStatsResponse& stats,
                        size_t screen_width) {
  constexpr size_t kLabelWidth = 15;  // "Last position" plus two spaces
  auto line = [](absl::string_view label, absl::string_view value) {
    return absl::StrCat(Pad(label, kLabelWidth, false), value, "\n");
  };
  std::string out;
  out += line("Last position", absl::StrCat(stats.last_position()));
  out += line("Search index",
              absl::StrCat("at position ", stats.search_index_position(), ", ",
                           stats.search_index_lag(), " events behind"));
  out += line("Disk", absl::StrCat(HumanBytes(stats.disk_bytes()), " (",
                                   stats.disk_bytes(), " bytes)"));
  out += line("Hub window",
              absl::StrCat(stats.hub_window_events(), " events, ",
                           HumanBytes(stats.hub_bytes()), " accounted"));
  out += line("Subscribers", absl::StrCat(stats.subscribers()));
  // The counters of /metrics, since the server started.
  auto counts = [](const google::protobuf::Map<std::string, uint64_t>& map) {
    const std::map<std::string, uint64_t> sorted(map.begin(), map.end());
    std::vector<std::string> parts;
    for (const auto& [key, n] : sorted)
      parts.push_back(absl::StrCat(key, " ", n));
    return absl::StrJoin(parts, ", ");
  };
  auto ms = [](double seconds) {
    return absl::StrFormat("%.2f ms", seconds * 1000);
  };
  uint64_t refused = 0;
  for (const auto& [code, n] : stats.rejections_by_code()) refused += n;
  if (stats.has_started_at()) {
    out += line("Since", FormatTime(stats.started_at()));
  }
  out += line("Commands", absl::StrCat(stats.commands_applied(), " applied, ",
                                       stats.commands_deduplicated(),
                                       " deduplicated, ", refused, " refused"));
  if (refused > 0) {
    out += LabeledLines("Refused", kLabelWidth,
                        counts(stats.rejections_by_code()));
  }
  out += LabeledLines("Events", kLabelWidth,
                      absl::StrCat(stats.events_appended(), " appended",
                                   stats.events_by_type().empty() ? "" : ": ",
                                   counts(stats.events_by_type())));
  out += line("Commits", absl::StrCat(stats.commits(), "; write+fsync p50 ",
                                      ms(stats.commit_p50_seconds()), ", p99 ",
                                      ms(stats.commit_p99_seconds())));
  std::string writes = "writes flowing";
  if (stats.rocksdb_write_stopped()) {
    writes = "writes STOPPED";
  } else if (stats.rocksdb_delayed_write_rate() > 0) {
    writes = absl::StrCat("writes slowed to ",
                          HumanBytes(stats.rocksdb_delayed_write_rate()), "/s");
  }
  out += LabeledLines(
      "RocksDB", kLabelWidth,
      absl::StrCat(HumanBytes(stats.rocksdb_pending_compaction_bytes()),
                   " pending compaction; ", writes,
                   "; stalls: ", stats.rocksdb_write_stops(), " stops, ",
                   stats.rocksdb_write_slowdowns(), " slowdowns, ",
                   ms(stats.rocksdb_write_stall_micros() / 1e6)));
  out += line("Memory", absl::StrCat(HumanBytes(stats.resident_memory_bytes()),
                                     " resident"));
  if (stats.subscriber().empty()) return out;
  Table table({{"ID", 8, false, true},
               {"PEER", kScreenWidth, true},
               {"POSITION", 12, false, true},
               {"LAG", 12, false, true},
               {"LIVE", 4},
               {"SENT", 12, false, true}});
  for (const v1::SubscriberStats& s : stats.subscriber()) {
    table.AddRow({absl::StrCat(s.id()), s.peer(), absl::StrCat(s.position()),
                  absl::StrCat(s.lag()), s.live() ? "yes" : "no",
                  absl::StrCat(s.events_sent())});
  }
  absl::StrAppend(&out, "\n", table.Render(screen_width));
  return out;
}

}  // namespace factlog::cli
