// Rendering of server statistics (`factlog admin stats`) for people. Built on
// format.h, with its conventions: every function returns the text to print,
// ending in a newline unless it says otherwise; none does I/O; all are pure
// and safe to call from any thread.
#ifndef FACTLOG_CLIENT_FORMAT_STATS_H_
#define FACTLOG_CLIENT_FORMAT_STATS_H_

#include <cstdint>
#include <string>

#include "factlog/v1/service.pb.h"

namespace factlog::cli {

// "512 B", "1.5 KiB", "12.0 MiB", ... No newline.
std::string HumanBytes(uint64_t bytes);

// AdminService.GetStats: last position, disk and hub usage, the figures
// /metrics shows since the server started (commands, events, commits,
// RocksDB, memory), then one row per subscriber (id, peer, position, lag,
// live, events sent).
std::string RenderStats(const factlog::v1::GetStatsResponse& stats,
                        size_t screen_width);

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_FORMAT_STATS_H_
