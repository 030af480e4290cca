// The harness every workload runs in: the configuration, the async client
// pool, the baseline server, ceilings measured once per run and cached,
// in-process factlogd instances on throwaway data dirs, and the rows
// reported so far.
#ifndef FACTLOG_BENCH_HARNESS_H_
#define FACTLOG_BENCH_HARNESS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/baseline_service.h"
#include "bench/cq_pool.h"
#include "bench/report.h"
#include "bench/unary_load.h"
#include "grpcpp/channel.h"
#include "server/factlog_server.h"

namespace factlog::bench {

// A peer's result handed in by bench/run-all (PostgreSQL via pgbench).
struct PeerResult {
  int clients = 0;
  double tps = 0;
  double p50_ms = -1, p99_ms = -1, p999_ms = -1;
};

struct Config {
  std::string dir;       // where throwaway data dirs go
  std::string factlogd;  // the real binary, for rebuild and idle-sub
  LoadWindow window;
  uint64_t seed = 42;
  int client_threads = 1;  // completion-queue threads of the client
  std::vector<int> append_clients = {16, 64};
  int get_clients = 32;
  int import_streams = 4;
  uint64_t preload_claims = 100000;   // get, list
  uint64_t rebuild_events = 1000000;  // rebuild, catchup
  int fanout_subscribers = 1000;
  double fanout_rate = 1000;  // appends/s while they listen
  int burst_subscribers = 16;
  uint64_t burst_events = 50000;
  int idle_subscribers = 1000;
  int stall_clients = 16;
  uint64_t search_claims = 1000000;  // search, search-import
  int search_clients = 16;
  std::vector<PeerResult> pg;
};

// A factlogd (server::FactlogServer) in this process on a fresh data dir,
// removed again when this is destroyed.
class InProcessServer {
 public:
  // `data_dir` may already hold a store (e.g. a preload).
  static absl::StatusOr<std::unique_ptr<InProcessServer>> Start(
      const std::string& data_dir);
  // The same with `options` (listen and data_dir are set here).
  static absl::StatusOr<std::unique_ptr<InProcessServer>> Start(
      const std::string& data_dir, server::ServerOptions options);
  ~InProcessServer();
  server::FactlogServer& server() { return *server_; }
  const std::string& data_dir() const { return data_dir_; }
  // Disk bytes (every file in the data dir) per event in the log.
  double DiskBytesPerEvent();

 private:
  InProcessServer() = default;
  std::string data_dir_;
  std::unique_ptr<server::FactlogServer> server_;
};

// `n` channels to `address`, each its own connection, already connected.
std::vector<std::shared_ptr<grpc::Channel>> Connect(const std::string& address,
                                                    int n);

// A stub of `Service` on each of `channels`, in order.
template <typename Service>
std::vector<std::unique_ptr<typename Service::Stub>> NewStubs(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels) {
  std::vector<std::unique_ptr<typename Service::Stub>> stubs;
  for (const auto& c : channels) stubs.push_back(Service::NewStub(c));
  return stubs;
}

// A row of closed-loop results: `workload` at `clients`, counting `unit`,
// with r's operations, errors, rate and latency.
Row UnaryRow(std::string workload, int clients, std::string unit,
             const UnaryLoadResult& r);

class Harness {
 public:
  static absl::StatusOr<std::unique_ptr<Harness>> Create(Config config);

  const Config& config() const { return config_; }
  CqPool& pool() { return *pool_; }
  // A new, not yet existing data dir under config().dir, removed by the
  // destructor if still there.
  std::string NewDataDir(absl::string_view name);

  // The echo ceiling at `clients` closed-loop clients, measured on first
  // use (and reported as a row then).
  const Row& Echo(int clients);
  // The echo ceiling's load over `channels` (to baseline().address()), one
  // client per channel, to measure it beside a workload (RunInterleaved).
  static ClosedLoop EchoLoad(
      const std::vector<std::shared_ptr<grpc::Channel>>& channels);
  // The load keeps a pointer to `channels`.
  static ClosedLoop EchoLoad(
      std::vector<std::shared_ptr<grpc::Channel>>&& channels) = delete;
  // Reports `r`, measured with EchoLoad, as an echo row; `how` says when.
  Row AddEcho(int clients, const UnaryLoadResult& r, absl::string_view how);
  // The durable-append floor at `clients` closed-loop clients: Echo's load
  // through Baseline.DurableEcho. Measured on first use (a row then).
  const Row& DurableEcho(int clients);
  // A fresh log for the floors' durable calls while it lives: opened in a
  // new data dir, then closed and its dir removed, so that nothing of one
  // floor's measurement (flushes, compactions, memtables) is left to the
  // rows after it.
  class FloorLog {
   public:
    FloorLog(const FloorLog&) = delete;
    FloorLog& operator=(const FloorLog&) = delete;
    ~FloorLog();
    // Why the log could not be opened; the durable calls then fail.
    const absl::Status& status() const { return status_; }

   private:
    friend class Harness;
    FloorLog(BaselineServer* server, std::string dir);
    BaselineServer* const server_;
    const std::string dir_;
    absl::Status status_;
  };
  FloorLog OpenFloorLog(absl::string_view name);
  // The server-stream ceiling: `streams` streams of `messages` payloads of
  // `bytes` each; aggregate messages/s. Measured on first use per
  // (streams, bytes).
  const Row& Stream(int streams, uint64_t messages, size_t bytes);
  // The fsync ceiling, measured on first use.
  const Row& Disk();
  // The baseline server (Echo, Stream, Publish / Listen, DurableEcho,
  // DurableIngest).
  const BaselineServer& baseline() const { return *baseline_; }

  void Add(Row row);
  const std::vector<Row>& rows() const { return rows_; }
  ~Harness();

 private:
  explicit Harness(Config config) : config_(std::move(config)) {}
  Config config_;
  std::unique_ptr<CqPool> pool_;
  std::unique_ptr<BaselineServer> baseline_;
  std::map<int, Row> echo_;
  std::map<int, Row> durable_echo_;
  std::map<std::pair<int, size_t>, Row> stream_;
  std::unique_ptr<Row> disk_;
  std::vector<Row> rows_;
  std::vector<std::string> dirs_;
};

}  // namespace factlog::bench

#endif  // FACTLOG_BENCH_HARNESS_H_
