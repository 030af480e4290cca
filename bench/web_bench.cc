// factlog-web-bench: the web view's HTTP edge against gRPC on the same real
// factlogd (README, "Web view"; bench/README.md, "Web view"):
//   json-get   GetClaim over the JSON API (a kept-alive connection per
//              client) beside gRPC GetClaim (a channel each), from the
//              same number of closed-loop clients, in alternating slices;
//   sse-fanout N event-stream clients while appends arrive at a fixed
//              rate: every event delivered (gaps, repeats), lag
//              recorded_at -> received (p50, p99);
//   idle-sse   factlogd's RSS before and after N idle event streams.
// gRPC's own fanout is factlog-bench's `fanout` workload, which
// bench/run-web runs right after this with the same N and rate.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/histogram.h"
#include "bench/process.h"
#include "factlog/v1/service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace factlog::bench {
namespace {

struct Options {
  std::string factlogd = "build/server/factlogd";
  std::string dir = "/tmp";
  int clients = 8;
  int claims = 2000;
  double seconds = 5;
  int sse_clients = 1000;
  double rate = 1000;
  double fanout_seconds = 5;  // measured, after the warm-up
  double fanout_warmup = 1;   // as factlog-bench's --warmup
};

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// A client's HTTP/1.1 connection, reused across GETs as a browser's is
// (factlogd keeps connections alive); reconnects when the server closed it.
class KeptAliveClient {
 public:
  explicit KeptAliveClient(int port) : port_(port) {}
  KeptAliveClient(const KeptAliveClient&) = delete;
  KeptAliveClient& operator=(const KeptAliveClient&) = delete;
  ~KeptAliveClient() { Drop(); }

  // One GET; true for a 200 whose whole body arrived. A kept-alive
  // connection the server closed while idle gets the request again on a
  // new one, as a browser does.
  bool Get(const std::string& path) {
    const bool reused = fd_ >= 0;
    const int got = Exchange(path);
    if (got < 0 && reused) return Exchange(path) > 0;
    return got > 0;
  }
  // How many connections it opened so far.
  uint64_t connections() const { return opened_; }

 private:
  // 1 for a 200, 0 for another answer, -1 when the connection ended
  // before any of the response arrived.
  int Exchange(const std::string& path) {
    if (fd_ < 0) {
      if ((fd_ = Connect(port_)) < 0) return 0;
      ++opened_;
    }
    const std::string request =
        absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: b\r\n\r\n");
    if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
      Drop();
      return -1;
    }
    std::string response;
    size_t head_end = std::string::npos, length = 0;
    char buffer[16384];
    while (head_end == std::string::npos ||
           response.size() < head_end + 4 + length) {
      const ssize_t n = read(fd_, buffer, sizeof(buffer));
      if (n <= 0) {
        Drop();
        return response.empty() ? -1 : 0;
      }
      response.append(buffer, static_cast<size_t>(n));
      if (head_end != std::string::npos) continue;
      head_end = response.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      const std::string head =
          absl::AsciiStrToLower(response.substr(0, head_end));
      const size_t at = head.find("\r\ncontent-length: ");
      if (at == std::string::npos ||
          !absl::SimpleAtoi(
              head.substr(at + 18, head.find('\r', at + 2) - at - 18),
              &length)) {
        Drop();
        return 0;
      }
      if (absl::StrContains(head, "\r\nconnection: close")) reuse_ = false;
    }
    if (!reuse_) Drop();
    return response.rfind("HTTP/1.1 200", 0) == 0 ? 1 : 0;
  }

  void Drop() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    reuse_ = true;
  }

  const int port_;
  int fd_ = -1;
  bool reuse_ = true;
  uint64_t opened_ = 0;
};

struct Factlogd {
  std::unique_ptr<ChildProcess> child;
  std::string grpc;
  int http_port = 0;
  std::string dir;  // its data dir's parent, made for it
};

// Stops `f` and removes the directory made for it.
void StopFactlogd(Factlogd& f) {
  f.child.reset();
  std::error_code ignored;
  std::filesystem::remove_all(f.dir, ignored);
}

absl::StatusOr<Factlogd> StartFactlogd(const Options& o, int http_threads) {
  char dir_template[512];
  std::snprintf(dir_template, sizeof(dir_template), "%s/web-bench-XXXXXX",
                o.dir.c_str());
  if (mkdtemp(dir_template) == nullptr) {
    return absl::InternalError("cannot make a data dir");
  }
  auto child = ChildProcess::Start(
      {o.factlogd, "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
       "--http-threads", std::to_string(http_threads), "--data-dir",
       std::string(dir_template) + "/data", "--log-level", "warn",
       "--max-subscribers-per-connection", "100000", "--max-subscribers",
       "100000"});
  if (!child.ok()) return child.status();
  Factlogd f;
  f.dir = dir_template;
  auto grpc_line = (*child)->WaitForLine("listening on", absl::Seconds(30));
  if (!grpc_line.ok()) return grpc_line.status();
  auto web_line = (*child)->WaitForLine("web view on", absl::Seconds(30));
  if (!web_line.ok()) return web_line.status();
  std::vector<std::string> words = absl::StrSplit(*grpc_line, ' ');
  f.grpc = words.size() > 3 ? words[3] : "";
  const size_t colon = web_line->rfind(':');
  if (!absl::SimpleAtoi(
          web_line->substr(colon + 1, web_line->size() - colon - 2),
          &f.http_port)) {
    return absl::InternalError("cannot read the web port: " + *web_line);
  }
  f.child = *std::move(child);
  return f;
}

v1::RecordClaimRequest Claim(int i) {
  v1::RecordClaimRequest r;
  r.set_claim_id(absl::StrCat("bench-", i));
  r.set_text(absl::StrCat("Claim number ", i, " about the border."));
  r.set_claimant(absl::StrCat("Claimant ", i % 50));
  r.mutable_reported_by()->set_name("Desk");
  r.set_subject(absl::StrCat("subject-", i % 20));
  r.set_kind(v1::CLAIM_KIND_FACT);
  return r;
}

// Evidence `k` on claim `i` (Claim(i)).
v1::AddEvidenceRequest Evidence(int i, uint64_t k) {
  v1::AddEvidenceRequest r;
  r.set_claim_id(absl::StrCat("bench-", i));
  r.set_stance(k % 2 == 0 ? v1::STANCE_SUPPORTS : v1::STANCE_REFUTES);
  r.mutable_source()->set_name(absl::StrCat("Source ", k));
  r.mutable_source()->set_outlet("Reuters");
  r.set_note("Satellite images show no sign of the units leaving.");
  return r;
}

// json-get: alternating slices of gRPC and JSON GetClaim, `clients` threads.
void RunJsonGet(const Options& o, Factlogd& f) {
  auto channel =
      grpc::CreateChannel(f.grpc, grpc::InsecureChannelCredentials());
  auto stub = v1::ClaimService::NewStub(channel);
  {
    std::vector<std::thread> loaders;
    std::atomic<int> next{0};
    for (int t = 0; t < 8; ++t) {
      loaders.emplace_back([&] {
        for (int i; (i = next++) < o.claims;) {
          grpc::ClientContext ctx;
          v1::CommandResponse resp;
          stub->RecordClaim(&ctx, Claim(i), &resp);
        }
      });
    }
    for (auto& t : loaders) t.join();
  }
  constexpr int kSlices = 10;
  const absl::Duration slice = absl::Seconds(o.seconds) / kSlices;
  uint64_t calls[2] = {0, 0}, errors[2] = {0, 0};
  Histogram latency[2];
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < o.clients; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("bench-channel", c);  // a connection each
    channels.push_back(grpc::CreateCustomChannel(
        f.grpc, grpc::InsecureChannelCredentials(), args));
  }
  // A kept-alive connection each, as the channels are.
  std::vector<std::unique_ptr<KeptAliveClient>> web_clients;
  for (int c = 0; c < o.clients; ++c) {
    web_clients.push_back(std::make_unique<KeptAliveClient>(f.http_port));
  }
  for (int s = 0; s < 2 * kSlices; ++s) {
    const int kind = s % 2;  // 0 gRPC, 1 JSON
    const absl::Time end = absl::Now() + slice;
    std::vector<std::thread> threads;
    std::vector<uint64_t> n(o.clients), bad(o.clients);
    std::vector<Histogram> h(o.clients);
    for (int c = 0; c < o.clients; ++c) {
      threads.emplace_back([&, c] {
        std::mt19937 rng(c * 7919 + s);
        auto client = v1::ClaimService::NewStub(channels[c]);
        while (absl::Now() < end) {
          const int i = static_cast<int>(rng() % o.claims);
          const absl::Time start = absl::Now();
          bool ok;
          if (kind == 0) {
            grpc::ClientContext ctx;
            v1::GetClaimRequest req;
            req.set_claim_id(absl::StrCat("bench-", i));
            v1::ClaimView view;
            ok = client->GetClaim(&ctx, req, &view).ok();
          } else {
            ok = web_clients[c]->Get(absl::StrCat("/api/v1/claims/bench-", i));
          }
          h[c].Record(absl::ToInt64Microseconds(absl::Now() - start));
          ++n[c];
          if (!ok) ++bad[c];
        }
      });
    }
    for (auto& t : threads) t.join();
    for (int c = 0; c < o.clients; ++c) {
      calls[kind] += n[c];
      errors[kind] += bad[c];
      latency[kind].Merge(h[c]);
    }
  }
  const double window = o.seconds;
  const double grpc_rate = calls[0] / window, json_rate = calls[1] / window;
  uint64_t connections = 0;
  for (const auto& client : web_clients) connections += client->connections();
  std::printf(
      "json-get  clients=%d  grpc %.0f calls/s (p50 %.2f ms, p99 %.2f ms, "
      "errors %llu)  json %.0f calls/s (p50 %.2f ms, p99 %.2f ms, errors "
      "%llu, %llu connections)  ratio json/grpc %.2f (target >= 0.7)\n",
      o.clients, grpc_rate, latency[0].QuantileMs(0.5),
      latency[0].QuantileMs(0.99), static_cast<unsigned long long>(errors[0]),
      json_rate, latency[1].QuantileMs(0.5), latency[1].QuantileMs(0.99),
      static_cast<unsigned long long>(errors[1]),
      static_cast<unsigned long long>(connections), json_rate / grpc_rate);
}

// One event-stream client's reading state.
struct SseClient {
  int fd = -1;
  std::string buffer;
  bool headers_done = false;
  std::atomic<uint64_t> last{0};  // last event position (read by main)
  uint64_t received = 0, gaps = 0, repeats = 0;
  bool sample_lag = false;
};

// Opens `count` streams from the end of the log.
std::vector<SseClient> OpenStreams(int port, int count, uint64_t from) {
  std::vector<SseClient> clients(count);
  const std::string request =
      absl::StrCat("GET /api/v1/events?fromPosition=", from,
                   "&maxEventsPerMessage=64 HTTP/1.1\r\nHost: b\r\n\r\n");
  for (int i = 0; i < count; ++i) {
    clients[i].fd = Connect(port);
    clients[i].last = from;
    clients[i].sample_lag = i % 10 == 0;
    if (clients[i].fd >= 0) {
      send(clients[i].fd, request.data(), request.size(), MSG_NOSIGNAL);
    }
  }
  return clients;
}

// Events recorded from then on count for the lag (unix nanoseconds), as
// factlog-bench's fanout counts those recorded after its warm-up.
std::atomic<int64_t> lag_from{INT64_MAX};

// Consumes complete SSE blocks in `c`'s buffer.
void Consume(SseClient& c, Histogram* lag) {
  if (!c.headers_done) {
    const size_t end = c.buffer.find("\r\n\r\n");
    if (end == std::string::npos) return;
    c.buffer.erase(0, end + 4);
    c.headers_done = true;
  }
  size_t at = 0;
  for (size_t end; (end = c.buffer.find("\n\n", at)) != std::string::npos;
       at = end + 2) {
    absl::string_view block(c.buffer.data() + at, end - at);
    if (!absl::StartsWith(block, "id: ")) continue;
    const size_t nl = block.find('\n');
    uint64_t id = 0;
    if (!absl::SimpleAtoi(block.substr(4, nl - 4), &id)) continue;
    if (block.substr(nl + 1, 13) != "event: event\n") continue;
    if (id <= c.last) {
      ++c.repeats;
    } else {
      if (id != c.last + 1) ++c.gaps;
      c.last = id;
      ++c.received;
    }
    if (c.sample_lag) {
      const size_t r = block.find("\"recordedAt\":\"");
      const size_t q = block.find('"', r + 14);
      absl::Time recorded;
      std::string error;
      if (r != absl::string_view::npos &&
          absl::ParseTime(absl::RFC3339_full, block.substr(r + 14, q - r - 14),
                          &recorded, &error) &&
          absl::ToUnixNanos(recorded) >= lag_from.load()) {
        lag->Record(absl::ToInt64Microseconds(absl::Now() - recorded));
      }
    }
  }
  c.buffer.erase(0, at);
}

void RunSseFanout(const Options& o, Factlogd& f) {
  auto channel =
      grpc::CreateChannel(f.grpc, grpc::InsecureChannelCredentials());
  auto stub = v1::ClaimService::NewStub(channel);
  // The claims the evidence goes to.
  constexpr int kTargets = 100;
  for (int i = 0; i < kTargets; ++i) {
    grpc::ClientContext ctx;
    v1::CommandResponse response;
    stub->RecordClaim(&ctx, Claim(i), &response);
  }
  grpc::ClientContext head_ctx;
  auto events = v1::EventService::NewStub(channel);
  v1::LogHead head;
  events->GetLogHead(&head_ctx, v1::GetLogHeadRequest(), &head);
  const uint64_t start = head.tree_size();
  const uint64_t rss_before = ProcessRssBytes(f.child->pid());
  std::vector<SseClient> clients =
      OpenStreams(f.http_port, o.sse_clients, start);
  // Reader threads, each with its share of the streams, as factlog-bench's
  // subscribers share a pool of completion-queue threads: one thread
  // parsing every stream's text would be what the lag measures.
  constexpr int kReaders = 4;
  std::vector<int> epfds;
  for (int r = 0; r < kReaders; ++r)
    epfds.push_back(epoll_create1(EPOLL_CLOEXEC));
  int open_streams = 0;
  for (size_t i = 0; i < clients.size(); ++i) {
    if (clients[i].fd < 0) continue;
    ++open_streams;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(epfds[i % kReaders], EPOLL_CTL_ADD, clients[i].fd, &ev);
  }
  // Idle: every stream open and answered, nothing appended yet.
  std::atomic<bool> stop{false};
  std::vector<Histogram> lags(kReaders);
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      epoll_event ready[256];
      std::vector<char> chunk(65536);
      while (!stop.load()) {
        const int n = epoll_wait(epfds[r], ready, 256, 50);
        for (int k = 0; k < n; ++k) {
          SseClient& c = clients[ready[k].data.u64];
          const ssize_t got = read(c.fd, chunk.data(), chunk.size());
          if (got <= 0) {
            epoll_ctl(epfds[r], EPOLL_CTL_DEL, c.fd, nullptr);
            continue;
          }
          c.buffer.append(chunk.data(), static_cast<size_t>(got));
          Consume(c, &lags[r]);
        }
      }
    });
  }
  absl::SleepFor(absl::Seconds(3));  // the streams settle (idle-sse)
  const uint64_t rss_idle = ProcessRssBytes(f.child->pid());
  std::printf(
      "idle-sse  streams=%d  factlogd RSS %.1f MiB -> %.1f MiB: %.1f KiB "
      "per idle stream (target <= 20 KiB)\n",
      open_streams, rss_before / 1048576.0, rss_idle / 1048576.0,
      (static_cast<double>(rss_idle) - rss_before) / 1024.0 /
          std::max(open_streams, 1));
  // Appends at the rate, open loop as factlog-bench's fanout publishes:
  // each call started when due, whatever the earlier ones are doing, so
  // that the server's latency under load does not hold the rate down.
  struct Call {
    grpc::ClientContext ctx;
    v1::CommandResponse response;
    grpc::Status status;
    absl::Time started;
    bool measured = false;  // due after the warm-up
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::CommandResponse>> rpc;
  };
  const uint64_t total =
      static_cast<uint64_t>(o.rate * (o.fanout_warmup + o.fanout_seconds));
  grpc::CompletionQueue cq;
  Histogram append_latency;
  uint64_t append_errors = 0, measured_ok = 0;
  std::thread completer([&] {
    void* tag;
    bool ok;
    while (cq.Next(&tag, &ok)) {
      std::unique_ptr<Call> call(static_cast<Call*>(tag));
      append_latency.Record(
          absl::ToInt64Microseconds(absl::Now() - call->started));
      if (ok && call->status.ok() && call->measured) ++measured_ok;
      if (!ok || !call->status.ok()) {
        if (append_errors++ == 0) {
          std::fprintf(stderr, "sse-fanout: first failed call: %s\n",
                       call->status.error_message().c_str());
        }
      }
    }
  });
  const absl::Time begin = absl::Now();
  const absl::Time measure_from = begin + absl::Seconds(o.fanout_warmup);
  lag_from = absl::ToUnixNanos(measure_from);
  const uint64_t warmup_calls = static_cast<uint64_t>(o.rate * o.fanout_warmup);
  for (uint64_t i = 0; i < total; ++i) {
    const absl::Duration wait = begin + absl::Seconds(i / o.rate) - absl::Now();
    if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
    auto* call = new Call;
    call->started = absl::Now();
    call->measured = i >= warmup_calls;
    // fanout's mix: a new claim, then three pieces of evidence (here on
    // claims recorded before, so that no call waits on another).
    if (i % 4 == 0) {
      call->rpc = stub->AsyncRecordClaim(
          &call->ctx, Claim(1000000 + static_cast<int>(i / 4)), &cq);
    } else {
      call->rpc = stub->AsyncAddEvidence(
          &call->ctx, Evidence(static_cast<int>(i % kTargets), i), &cq);
    }
    call->rpc->Finish(&call->response, &call->status, call);
  }
  const double append_seconds = absl::ToDoubleSeconds(absl::Now() - begin);
  cq.Shutdown();  // then waits for every call's answer
  completer.join();
  const double answered_seconds = absl::ToDoubleSeconds(absl::Now() - begin);
  v1::LogHead end_head;
  {
    grpc::ClientContext ctx;
    events->GetLogHead(&ctx, v1::GetLogHeadRequest(), &end_head);
  }
  // Until every stream has every event, or 10 s.
  const uint64_t want = end_head.tree_size();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  auto all_done = [&] {
    for (const SseClient& c : clients) {
      if (c.fd >= 0 && c.last < want) return false;
    }
    return true;
  };
  while (!all_done() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  stop = true;
  Histogram lag;
  for (int r = 0; r < kReaders; ++r) {
    readers[r].join();
    lag.Merge(lags[r]);
    close(epfds[r]);
  }
  uint64_t received = 0, gaps = 0, repeats = 0;
  for (SseClient& c : clients) {
    received += c.received;
    gaps += c.gaps;
    repeats += c.repeats;
    if (c.fd >= 0) close(c.fd);
  }
  const double expected = static_cast<double>(want - start) * open_streams;
  // append_rate as factlog-bench's fanout reports it: the calls started
  // after the warm-up that succeeded, per second of the window (whenever
  // they were answered); then how long the last answer took.
  std::printf(
      "sse-fanout  streams=%d  calls %llu started at %.0f/s (%.0f s warm-up + "
      "%.0f s), append_rate %.1f/s (ok after the warm-up), last answered "
      "after %.1f s (p99 %.1f ms, %llu failed), %llu events  delivered %llu "
      "of %.0f (%.4f)  gaps %llu  repeats %llu  lag p50 %.1f ms p99 %.1f ms "
      "(%llu samples of events recorded after the warm-up, every 10th "
      "stream)\n",
      open_streams, static_cast<unsigned long long>(total),
      total / append_seconds, o.fanout_warmup, o.fanout_seconds,
      measured_ok / o.fanout_seconds, answered_seconds,
      append_latency.QuantileMs(0.99),
      static_cast<unsigned long long>(append_errors),
      static_cast<unsigned long long>(want - start),
      static_cast<unsigned long long>(received), expected, received / expected,
      static_cast<unsigned long long>(gaps),
      static_cast<unsigned long long>(repeats), lag.QuantileMs(0.5),
      lag.QuantileMs(0.99), static_cast<unsigned long long>(lag.count()));
}

}  // namespace
}  // namespace factlog::bench

int main(int argc, char** argv) {
  factlog::bench::Options o;
  std::string workloads = "json-get,sse-fanout";
  CLI::App app("factlog-web-bench: the JSON API and event streams beside gRPC");
  app.add_option("--factlogd", o.factlogd, "the factlogd binary")
      ->capture_default_str();
  app.add_option("--dir", o.dir, "where data dirs go")->capture_default_str();
  app.add_option("--workloads", workloads, "json-get,sse-fanout")
      ->capture_default_str();
  app.add_option("--clients", o.clients, "json-get closed-loop clients")
      ->capture_default_str();
  app.add_option("--claims", o.claims, "json-get claims")
      ->capture_default_str();
  app.add_option("--seconds", o.seconds, "json-get window")
      ->capture_default_str();
  app.add_option("--sse-clients", o.sse_clients, "event-stream clients")
      ->capture_default_str();
  app.add_option("--rate", o.rate, "appends/s during sse-fanout")
      ->capture_default_str();
  app.add_option("--fanout-seconds", o.fanout_seconds,
                 "sse-fanout's measured window, after the warm-up")
      ->capture_default_str();
  app.add_option("--fanout-warmup", o.fanout_warmup,
                 "sse-fanout's seconds before lag is measured")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  using namespace factlog::bench;
  if (workloads.find("json-get") != std::string::npos) {
    auto f = StartFactlogd(o, 8);
    if (!f.ok()) {
      std::fprintf(stderr, "%s\n", std::string(f.status().message()).c_str());
      return 1;
    }
    RunJsonGet(o, *f);
    StopFactlogd(*f);
  }
  if (workloads.find("sse-fanout") != std::string::npos) {
    // Streams hold no worker thread (http/http_server.h).
    auto f = StartFactlogd(o, 8);
    if (!f.ok()) {
      std::fprintf(stderr, "%s\n", std::string(f.status().message()).c_str());
      return 1;
    }
    RunSseFanout(o, *f);
    StopFactlogd(*f);
  }
  return 0;
}
