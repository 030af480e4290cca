// The workloads of issue 7. Each runs against its own factlogd (in this
// process unless it says otherwise) on a fresh data dir, adds its rows to
// the harness, and compares itself with the ceilings of the same run.
// None decides pass or fail: rows carry their targets (bench/report.h).
// A workload that cannot run adds no row and returns why.
#ifndef FACTLOG_BENCH_WORKLOADS_WORKLOADS_H_
#define FACTLOG_BENCH_WORKLOADS_WORKLOADS_H_

#include "absl/status/status.h"
#include "bench/harness.h"

namespace factlog::bench {

// append: durable RecordClaim / AddEvidence (1:3, each with a request id
// as the CLI sends) from N closed-loop clients, for each of
// config.append_clients; beside echo@N and, when run-all passed it, the
// PostgreSQL peer at N clients.
absl::Status RunAppend(Harness& h);

// append-sources: the append mix with 10,000 sources registered (the
// mix's evidence resolving to people under an organisation) against plain
// append, in turns on fresh stores, two rounds, for each of
// config.append_clients; target: at least 0.95 of plain.
absl::Status RunAppendSources(Harness& h);

// import: config.import_streams concurrent Import streams of the same mix;
// durable events/s.
absl::Status RunImport(Harness& h);

// get, list: GetClaim on random ids, and ListClaims with each filter in
// turn, from config.get_clients closed-loop clients over a store preloaded
// with config.preload_claims claims.
absl::Status RunReads(Harness& h);

// stall: append latency from config.stall_clients clients in alternating
// phases without and with a subscriber that never reads.
absl::Status RunStall(Harness& h);

// fanout: config.fanout_subscribers live subscribers while appends arrive
// at config.fanout_rate per second: deliveries, gaps, end-to-end lag; then
// its ceiling, the same through the baseline's trivial broadcaster
// (row `broadcast`).
absl::Status RunFanout(Harness& h);

// fanout-burst: config.burst_subscribers subscribers read
// config.burst_events recent events out of the hub's window as fast as the
// server sends them; beside the server-stream ceiling.
absl::Status RunFanoutBurst(Harness& h);

// idle-sub: the real factlogd; its RSS and hub bytes before and after
// config.idle_subscribers idle subscriptions, per subscription.
absl::Status RunIdleSubscribers(Harness& h);

// rebuild, catchup: a store of at least config.rebuild_events events
// (preloaded through core::Writer without fsync); `factlogd --rebuild`
// on it, then one subscriber reading it all from position 0.
absl::Status RunRebuildAndCatchup(Harness& h, bool rebuild, bool catchup);

// search, search-import (bench/workloads/search.cc): config.search_claims
// claims of varied texts imported, the indexer's throughput, import with
// and without the indexer (A/B, alternating), and SearchClaims from
// config.search_clients clients beside the same queries on a bare FTS5
// table of the same texts.
absl::Status RunSearch(Harness& h, bool search, bool import_ab);

// pg-append: the PostgreSQL peer's rows as run-all measured them.
void AddPeerRows(Harness& h);

}  // namespace factlog::bench

#endif  // FACTLOG_BENCH_WORKLOADS_WORKLOADS_H_
