// factlogd: the factlog server.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "core/access.h"
#include "core/search_indexer.h"
#include "domain/signed_head.h"
#include "search/search_index.h"
#include "server/factlog_server.h"

namespace {

constexpr char kDescription[] =
    "factlogd - event-sourced fact-tracking server.\n"
    "Appends claim and evidence events to a RocksDB log and serves the\n"
    "current status of every claim over gRPC (factlog.v1).";

constexpr char kFooter[] = R"(Examples:
  factlogd                                  serve ./data on localhost:50051
  factlogd --listen 127.0.0.1:0 --data-dir /tmp/f   pick a free port
  factlogd --verify --data-dir ./data       check projections and the Merkle
                                            tree against the log
  factlogd --rebuild --data-dir ./data      recompute projections (and the
                                            search index) from the log
  factlogd token new --principal desk-bot --role reporter
  factlogd key new --out head-signing.pem   a key to sign log heads with
  factlogd --restore-from /backups/2026-11-25 --data-dir ./data-restored
  factlogd --listen 0.0.0.0:50051 --tls-cert server.pem --tls-key server.key \
      --auth-tokens tokens.txt              serve a network safely

Signals: SIGINT/SIGTERM stop accepting RPCs, finish in-flight commands,
flush and exit 0. SIGHUP re-reads --auth-tokens.
Exit codes: 0 ok, 1 cannot start or --verify found mismatches, 2 usage.)";

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "factlogd: %s\n", std::string(status.message()).c_str());
  return 1;
}

absl::StatusOr<std::unique_ptr<factlog::search::SearchIndex>> OpenSearchIndex(
    const std::string& data_dir) {
  return factlog::search::SearchIndex::Open(data_dir + "/" +
                                            factlog::search::kIndexFileName);
}

int RunVerify(const std::string& data_dir) {
  factlog::storage::StoreOptions options;
  options.repair_projections_on_open = false;
  options.claim_cache_bytes = 0;  // one pass over the store, no reads served
  auto store = factlog::storage::EventStore::Open(data_dir, options);
  if (!store.ok()) return Fail(store.status());
  auto report = (*store)->Verify();
  if (!report.ok()) return Fail(report.status());
  // The search index: every claim at its current version, nothing else.
  // Caught up first, as factlogd does when it starts: the index follows the
  // log asynchronously, so it may be behind after a crash.
  auto index = OpenSearchIndex(data_dir);
  if (!index.ok()) return Fail(index.status());
  auto caught_up_from =
      factlog::core::CatchUpSearchIndex(**store, index->get());
  if (!caught_up_from.ok()) return Fail(caught_up_from.status());
  auto search = factlog::core::VerifySearchIndex(**store, **index);
  if (!search.ok()) return Fail(search.status());
  report->mismatches.insert(report->mismatches.end(), search->begin(),
                            search->end());
  for (const std::string& line : report->mismatches) {
    std::printf("MISMATCH %s\n", line.c_str());
  }
  std::printf(
      "verify: search index caught up from position %llu to %llu, %zu "
      "differences\n",
      static_cast<unsigned long long>(*caught_up_from),
      static_cast<unsigned long long>((*index)->Position()), search->size());
  std::printf(
      "verify: %llu events replayed, %llu claims checked, %llu Merkle tree "
      "nodes checked, %zu mismatches\n",
      static_cast<unsigned long long>(report->events_replayed),
      static_cast<unsigned long long>(report->claims_checked),
      static_cast<unsigned long long>(report->merkle_nodes_checked),
      report->mismatches.size());
  return report->ok() ? 0 : 1;
}

int RunRebuild(const std::string& data_dir) {
  factlog::storage::StoreOptions options;
  options.repair_projections_on_open = false;
  options.claim_cache_bytes = 0;  // one pass over the store, no reads served
  auto store = factlog::storage::EventStore::Open(data_dir, options);
  if (!store.ok() && !absl::IsFailedPrecondition(store.status())) {
    return Fail(store.status());
  }
  if (!store.ok()) {
    // Stale projections are what --rebuild is for: open and repair.
    options.repair_projections_on_open = true;
    store = factlog::storage::EventStore::Open(data_dir, options);
    if (!store.ok()) return Fail(store.status());
  }
  const absl::Time start = absl::Now();
  auto stats = (*store)->RebuildProjections();
  if (!stats.ok()) return Fail(stats.status());
  std::printf("rebuild: %llu events replayed into %llu claims in %s\n",
              static_cast<unsigned long long>(stats->events_replayed),
              static_cast<unsigned long long>(stats->claims_written),
              absl::FormatDuration(absl::Now() - start).c_str());
  std::printf(
      "rebuild: clearing %s, replaying the log %s, writing projection files "
      "%s, ingesting them %s\n",
      absl::FormatDuration(stats->clear).c_str(),
      absl::FormatDuration(stats->replay).c_str(),
      absl::FormatDuration(stats->write).c_str(),
      absl::FormatDuration(stats->ingest).c_str());
  // The search index, from the claims just rebuilt.
  const absl::Time search_start = absl::Now();
  auto index = OpenSearchIndex(data_dir);
  if (!index.ok()) return Fail(index.status());
  auto indexed = factlog::core::BuildSearchIndex(**store, index->get());
  if (!indexed.ok()) return Fail(indexed.status());
  std::printf("rebuild: search index of %llu claims at position %llu in %s\n",
              static_cast<unsigned long long>(stats->claims_written),
              static_cast<unsigned long long>(*indexed),
              absl::FormatDuration(absl::Now() - search_start).c_str());
  // A rebuild holds every claim's view in memory: what it took, so that an
  // operator can size the machine for a larger log.
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    std::printf("rebuild: peak memory %ld MiB\n", usage.ru_maxrss / 1024);
  }
  return 0;
}

int RunRestore(const std::string& backup_dir, const std::string& data_dir) {
  auto report = factlog::storage::EventStore::Restore(backup_dir, data_dir);
  if (!report.ok()) return Fail(report.status());
  std::printf(
      "restore: %llu events from %s into %s; %llu claims verify "
      "clean\n",
      static_cast<unsigned long long>(report->events_replayed),
      backup_dir.c_str(), data_dir.c_str(),
      static_cast<unsigned long long>(report->claims_checked));
  return 0;
}

int RunTokenNew(const std::string& principal, const std::string& role) {
  if (principal.empty() ||
      principal.find_first_of(" \t\n#") != std::string::npos) {
    std::fprintf(stderr,
                 "factlogd: --principal must be non-empty without spaces or "
                 "'#'\n");
    return 2;
  }
  if (auto r = factlog::core::ParseRole(role); !r.ok()) {
    std::fprintf(stderr, "factlogd: %s\n",
                 std::string(r.status().message()).c_str());
    return 2;
  }
  const std::string token = factlog::core::NewToken();
  std::printf(
      "token (shown once; give it to %s, e.g. in a file read with "
      "--token-file):\n  %s\n"
      "line for the --auth-tokens file (then send factlogd SIGHUP):\n"
      "  %s %s %s\n",
      principal.c_str(), token.c_str(), principal.c_str(), role.c_str(),
      factlog::core::Sha256Hex(token).c_str());
  return 0;
}

// Writes a new Ed25519 key pair to OUT (private, mode 0600, refusing to
// overwrite) and OUT.pub, and prints the public key.
int RunKeyNew(const std::string& out) {
  std::error_code ec;
  if (std::filesystem::exists(out, ec) ||
      std::filesystem::exists(out + ".pub", ec)) {
    std::fprintf(stderr,
                 "factlogd: %s or %s.pub already exists; not overwriting a "
                 "key\n",
                 out.c_str(), out.c_str());
    return 1;
  }
  absl::StatusOr<factlog::merkle::SigningKeyPem> key =
      factlog::merkle::NewSigningKey();
  if (!key.ok()) return Fail(key.status());
  const int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  bool written =
      fd >= 0 && write(fd, key->private_pem.data(), key->private_pem.size()) ==
                     static_cast<ssize_t>(key->private_pem.size());
  if (fd >= 0) written = (fsync(fd) == 0) && written && close(fd) == 0;
  std::ofstream pub(out + ".pub");
  pub << key->public_pem;
  pub.close();
  if (!written || !pub) {
    std::fprintf(stderr, "factlogd: cannot write %s: %s\n", out.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::printf(
      "signing key written to %s (keep it secret; serve with --signing-key "
      "%s)\npublic key written to %s.pub (give it to readers: factlog "
      "verify ... --public-key %s.pub):\n%s",
      out.c_str(), out.c_str(), out.c_str(), out.c_str(),
      key->public_pem.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian builds abseil with its debug-mode deadlock detector on, which
  // records every Mutex acquisition in a global graph (measured: ~3% of CPU
  // under append load). Tests keep it; the server does not need it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  factlog::server::ServerOptions options;
  bool rebuild = false;
  bool verify = false;

  CLI::App app(kDescription, "factlogd");
  app.footer(kFooter);
  app.get_formatter()->column_width(34);
  app.add_option("--listen", options.listen, "host:port to serve on")
      ->capture_default_str();
  app.add_option("--data-dir", options.data_dir,
                 "directory of the RocksDB database (created if missing)")
      ->capture_default_str();
  size_t claim_cache_mib = options.store.claim_cache_bytes >> 20;
  app.add_option("--claim-cache-mb", claim_cache_mib,
                 "MiB of claim views kept in memory for GetClaim and the "
                 "writer's reads (0: off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--max-batch", options.max_batch,
                 "most commands committed with one fsync")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  double checkpoint_seconds =
      absl::ToDoubleSeconds(options.hub.checkpoint_interval);
  app.add_option("--checkpoint-interval", checkpoint_seconds,
                 "seconds between checkpoints to subscribers whose filter "
                 "matches nothing")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 3600.0));
  double sweep_seconds =
      absl::ToDoubleSeconds(options.hub.overdue_sweep_interval);
  app.add_option("--overdue-sweep-interval", sweep_seconds,
                 "seconds between the overdue sweeps of subscribers that ask "
                 "for overdue notices")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 3600.0));
  app.add_option("--max-subscribers", options.hub.max_subscribers,
                 "most Subscribe streams in total")
      ->capture_default_str();
  app.add_option("--max-subscribers-per-connection",
                 options.hub.max_subscribers_per_peer,
                 "most Subscribe streams on one client connection")
      ->capture_default_str();
  app.add_option("--hub-window-events", options.hub.window_events,
                 "recent events kept in memory for live subscribers")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  app.add_option("--tls-cert", options.tls_cert_file,
                 "PEM certificate chain: serve TLS");
  app.add_option("--tls-key", options.tls_key_file,
                 "PEM private key for --tls-cert");
  app.add_option("--tls-client-ca", options.tls_client_ca_file,
                 "PEM CA bundle: require client certificates signed by it "
                 "(mTLS)");
  app.add_option("--auth-tokens", options.auth_tokens_file,
                 "file of 'PRINCIPAL ROLE SHA256' lines; requires a bearer "
                 "token on every call (reloaded on SIGHUP)");
  app.add_option("--similarity-threshold", options.similarity_threshold,
                 "how alike (0..1: the share of the new text's content words "
                 "it contains) an earlier claim must be to be reported by "
                 "claim add as a possible repeat or as already checked")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--signing-key", options.signing_key_file,
                 "PEM Ed25519 private key that signs log heads (factlogd key "
                 "new); unsigned heads without it");
  app.add_flag("--insecure", options.insecure,
               "allow a non-loopback --listen without TLS and tokens");
  app.add_option("--metrics-listen", options.metrics_listen,
                 "host:port to serve Prometheus metrics on at /metrics over "
                 "plain HTTP (off by default; port 0 picks one)");
  app.add_option("--http-listen", options.http_listen,
                 "host:port to serve the web view and its JSON API on (off "
                 "by default; HTTPS with --tls-cert/--tls-key; tokens with "
                 "--auth-tokens; a non-loopback address needs TLS and "
                 "tokens, or --insecure)");
  app.add_option("--http-threads", options.http_threads,
                 "HTTP worker threads: the most API calls answered at once "
                 "(open pages' live updates hold none)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--http-io-threads", options.http_io_threads,
                 "HTTP event loop threads (all socket reads and writes)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_flag("--metrics-allow-remote", options.metrics_allow_remote,
               "allow a non-loopback --metrics-listen (it has no TLS or "
               "authentication)");
  std::string log_level = "info", log_format = "text";
  app.add_option("--log-level", log_level,
                 "least severe log lines written to stderr: debug (every RPC), "
                 "info (commands, security events), warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_option("--log-format", log_format,
                 "text (one readable line per event) or json (one object per "
                 "line)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--max-message-bytes", options.max_message_bytes,
                 "largest request accepted")
      ->capture_default_str()
      ->check(CLI::Range(1 << 16, 64 << 20));
  app.add_option("--max-concurrent-streams", options.max_concurrent_streams,
                 "most concurrent RPCs on one client connection")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--max-text-bytes", options.limits.max_text_bytes,
                 "longest claim text")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));

  app.add_option("--backup-dir", options.backup_dir,
                 "the only directory `factlog admin backup DIR` writes into "
                 "(DIR is taken relative to it; paths outside it, '..' and "
                 "symlinks out are refused); default: `backups` next to "
                 "--data-dir");
  // Replicated mode (README, "Replicated mode").
  std::string etcd_endpoints;
  app.add_option("--etcd-endpoints", etcd_endpoints,
                 "host:port,... of the etcd cluster that holds the log of a "
                 "replicated factlog cluster; unset: single-node");
  app.add_option("--etcd-ca", options.etcd_ca_file,
                 "PEM CA that signed etcd's certificates (TLS to etcd)");
  app.add_option("--etcd-cert", options.etcd_cert_file,
                 "PEM client certificate for etcd (with --etcd-key)");
  app.add_option("--etcd-key", options.etcd_key_file,
                 "PEM private key of --etcd-cert");
  app.add_option("--etcd-prefix", options.etcd_prefix,
                 "every etcd key of this factlog cluster starts with it")
      ->capture_default_str();
  app.add_option("--node-name", options.node_name,
                 "this node's name in the cluster (with --etcd-endpoints)");
  app.add_option("--advertise-address", options.advertise_address,
                 "host:port where the other nodes reach this one to forward "
                 "commands while it leads (default: the bound --listen "
                 "address unless it is a wildcard)");
  app.add_option("--etcd-retain-records", options.etcd_retain_records,
                 "the leader keeps at least this many of the newest commit "
                 "records in etcd and trims older ones once every live node "
                 "has applied them")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  double lease_seconds = 5;
  app.add_option("--lease-seconds", lease_seconds,
                 "TTL of the node's etcd lease: a dead leader is replaced "
                 "within about this long")
      ->check(CLI::Range(1.0, 60.0));

  std::string restore_from;
  app.add_option("--restore-from", restore_from,
                 "copy a backup (factlog admin backup) into an empty "
                 "--data-dir, verify it, then exit");
  std::string token_principal, token_role = "reader";
  CLI::App* token = app.add_subcommand("token", "manage bearer tokens");
  CLI::App* token_new = token->add_subcommand(
      "new", "print a fresh random token once, and its --auth-tokens line");
  token_new->add_option("--principal", token_principal, "who the token is for")
      ->required();
  token_new
      ->add_option("--role", token_role, "reader, reporter, editor or admin")
      ->capture_default_str();
  token->require_subcommand(1);
  std::string key_out;
  CLI::App* key = app.add_subcommand("key", "manage the log-head signing key");
  CLI::App* key_new = key->add_subcommand(
      "new",
      "write a new Ed25519 signing key (and its .pub) for --signing-key");
  key_new->add_option("--out", key_out, "file to write the private key to")
      ->required();
  key->require_subcommand(1);

  auto* rebuild_flag =
      app.add_flag("--rebuild", rebuild,
                   "recompute all projections from the event log, then exit");
  app.add_flag("--verify", verify,
               "replay the log and compare with the stored projections; "
               "exit 1 on any mismatch")
      ->excludes(rebuild_flag);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  options.store.claim_cache_bytes = claim_cache_mib << 20;
  for (absl::string_view endpoint :
       absl::StrSplit(etcd_endpoints, ',', absl::SkipWhitespace())) {
    options.etcd_endpoints.emplace_back(absl::StripAsciiWhitespace(endpoint));
  }
  options.lease_ttl = absl::Seconds(lease_seconds);
  options.hub.checkpoint_interval = absl::Seconds(checkpoint_seconds);
  options.hub.overdue_sweep_interval = absl::Seconds(sweep_seconds);
  namespace log = factlog::log;
  log::SetLevel(*log::ParseLevel(log_level));
  log::SetFormat(*log::ParseFormat(log_format));
  if (token_new->parsed()) return RunTokenNew(token_principal, token_role);
  if (key_new->parsed()) return RunKeyNew(key_out);
  if (!restore_from.empty()) return RunRestore(restore_from, options.data_dir);
  if (verify) return RunVerify(options.data_dir);
  if (rebuild) return RunRebuild(options.data_dir);

  // Block the stop signals in every thread; main waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A stop signal while a replicated node waits for etcd at start ends the
  // wait (the signals stay pending until sigwait otherwise).
  options.stop_requested = [] {
    sigset_t pending;
    sigpending(&pending);
    return sigismember(&pending, SIGINT) == 1 ||
           sigismember(&pending, SIGTERM) == 1;
  };

  auto server = factlog::server::FactlogServer::Start(options);
  if (!server.ok()) {
    log::Error("factlogd cannot start",
               {{"error", server.status().message()},
                {"code", absl::StatusCodeToString(server.status().code())}});
    return 1;
  }
  // Scripts and tests read this line: keep it first and as it is.
  std::printf(
      "factlogd listening on %s (data dir %s, last position %llu)\n",
      (*server)->address().c_str(), options.data_dir.c_str(),
      static_cast<unsigned long long>((*server)->store().LastPosition()));
  std::string metrics_address;
  if ((*server)->metrics_port() != 0) {
    metrics_address = absl::StrFormat(
        "%s:%d",
        options.metrics_listen.substr(0, options.metrics_listen.rfind(':')),
        (*server)->metrics_port());
    std::printf("factlogd metrics on http://%s/metrics\n",
                metrics_address.c_str());
  }
  std::string web_address;
  if ((*server)->http_port() != 0) {
    web_address = absl::StrFormat(
        "%s://%s:%d/", options.tls_cert_file.empty() ? "http" : "https",
        options.http_listen.substr(0, options.http_listen.rfind(':')),
        (*server)->http_port());
    std::printf("factlogd web view on %s\n", web_address.c_str());
  }
  std::fflush(stdout);
  log::Info("factlogd started",
            {{"listen", (*server)->address()},
             {"data_dir", options.data_dir},
             {"last_position", (*server)->store().LastPosition()},
             {"tls", !options.tls_cert_file.empty()},
             {"mtls", !options.tls_client_ca_file.empty()},
             {"auth_tokens", !options.auth_tokens_file.empty()},
             {"signed_heads", !options.signing_key_file.empty()},
             {"metrics", metrics_address},
             {"web", web_address}});

  int signal_number = 0;
  for (;;) {
    sigwait(&stop_signals, &signal_number);
    if (signal_number != SIGHUP) break;
    absl::Status reloaded = (*server)->ReloadTokens();
    if (reloaded.ok()) {
      log::Info("SIGHUP: reloaded tokens",
                {{"file", options.auth_tokens_file}});
    } else {
      log::Warn(
          "SIGHUP: kept the previous tokens",
          {{"file", options.auth_tokens_file}, {"error", reloaded.message()}});
    }
  }
  log::Info("shutting down",
            {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
  (*server)->Shutdown();
  log::Info("factlogd stopped cleanly");
  return 0;
}
