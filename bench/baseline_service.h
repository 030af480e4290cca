// The ceilings measured in the same run as the workloads:
//
//   BaselineServer  factlog.bench.Baseline (bench/proto/baseline.proto) on
//                   its own grpc::Server in this process, with the callback
//                   API and the same channel settings as factlogd, so Echo
//                   is the transport ceiling for a unary call, Stream the
//                   ceiling for a server stream, Publish / Listen (an
//                   in-memory broadcaster) the ceiling for live fanout, and
//                   DurableEcho / DurableIngest, over a DurableLog, the
//                   floors of durable appends and imports.
//   DiskCeiling     4 KiB write + fdatasync in a loop, in the data dir's
//                   file system: the fsync ceiling.
#ifndef FACTLOG_BENCH_BASELINE_SERVICE_H_
#define FACTLOG_BENCH_BASELINE_SERVICE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/durable_log.h"
#include "bench/histogram.h"
#include "grpcpp/server.h"

namespace factlog::bench {

class BaselineServer {
 public:
  // Listens on 127.0.0.1, a free port. UNAVAILABLE when it cannot.
  static absl::StatusOr<std::unique_ptr<BaselineServer>> Start();
  ~BaselineServer();  // stops the server
  BaselineServer(const BaselineServer&) = delete;
  BaselineServer& operator=(const BaselineServer&) = delete;
  const std::string& address() const { return address_; }
  // Events Baseline.Publish has stored so far: the position of the last.
  uint64_t BroadcastEvents() const;
  // Opens the log DurableEcho and DurableIngest store into, in `dir`
  // (which must not exist yet); until then, and after CloseDurableLog, they
  // fail with FAILED_PRECONDITION. A fresh log for each measurement leaves
  // nothing behind (flushes, compactions, memtables) for the next.
  absl::Status OpenDurableLog(const std::string& dir);
  // Completes what it holds and closes it. Only with no durable call in
  // flight.
  void CloseDurableLog();
  // Records the open log has stored and synced so far; 0 without one.
  uint64_t DurableRecords() const;

 private:
  BaselineServer() = default;
  class Service;
  std::unique_ptr<DurableLog> log_;  // outlives the calls that use it
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

struct DiskCeilingResult {
  double syncs_per_sec = 0;
  Histogram latency;
};
// Writes and fdatasyncs 4 KiB blocks to a scratch file in `dir` for
// `duration`, then removes it.
DiskCeilingResult DiskCeiling(const std::string& dir, absl::Duration duration);

}  // namespace factlog::bench

#endif  // FACTLOG_BENCH_BASELINE_SERVICE_H_
