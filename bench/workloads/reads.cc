// get and list over a preloaded store.
#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "bench/commands.h"
#include "bench/workloads/workloads.h"
#include "core/claim_queries.h"
#include "domain/time_util.h"
#include "factlog/v1/service.pb.h"

namespace factlog::bench {
namespace {

const std::string kGetClaim = "/factlog.v1.ClaimService/GetClaim";
const std::string kListClaims = "/factlog.v1.ClaimService/ListClaims";
// Turns get and its echo ceiling each take.
constexpr int kSlices = 10;

// ListClaims call `seq`: each filter the index supports in turn, on varied
// values, plus the unfiltered first page.
v1::ListClaimsRequest ListRequest(uint64_t seq, std::mt19937_64& rng) {
  v1::ListClaimsRequest req;
  const uint64_t v = rng();
  switch (seq % 5) {
    case 0:
      req.set_subject(SubjectName(v));
      break;
    case 1:
      req.set_claimant(ClaimantName(v));
      break;
    case 2:
      req.set_tag(TagName(v));
      break;
    case 3:
      req.set_status(v % 2 ? v1::CLAIM_STATUS_CONTRADICTED
                           : v1::CLAIM_STATUS_DISPUTED);
      break;
    case 4:
      break;
  }
  return req;
}

}  // namespace

absl::Status RunReads(Harness& h) {
  const int clients = h.config().get_clients;
  const std::string dir = h.NewDataDir("reads");
  PreloadSpec spec;
  spec.prefix = "g";
  spec.claims = h.config().preload_claims;
  const absl::Time preload_start = absl::Now();
  if (auto s = PreloadStore(dir, spec); !s.ok()) return s.status();
  const double preload_seconds =
      absl::ToDoubleSeconds(absl::Now() - preload_start);
  auto server = InProcessServer::Start(dir);
  if (!server.ok()) return server.status();
  auto channels = Connect((*server)->server().address(), clients);
  const uint64_t events = (*server)->server().store().LastPosition();

  std::vector<std::mt19937_64> rngs;
  for (int i = 0; i < clients; ++i) rngs.emplace_back(h.config().seed + i);
  const uint64_t claims = spec.claims;
  // get and its echo ceiling take turns, so that both see the machine at
  // the same moments.
  ClosedLoop get_load;
  get_load.channels = &channels;
  get_load.clients = clients;
  get_load.make = [&](int client, uint64_t) {
    v1::GetClaimRequest req;
    req.set_claim_id(absl::StrCat("g-", rngs[client]() % claims));
    return UnaryRequest{&kGetClaim, Serialize(req)};
  };
  const auto echo_channels = Connect(h.baseline().address(), clients);
  auto [echo_result, get] =
      RunInterleaved(h.pool(), Harness::EchoLoad(echo_channels), get_load,
                     h.config().window, kSlices);
  const Row echo = h.AddEcho(
      clients, echo_result,
      absl::StrCat("interleaved with get, ", kSlices, " slices each"));
  Row row = UnaryRow("get", clients, "calls", get);
  row.baseline = absl::StrCat("echo@", clients);
  row.baseline_ops_per_sec = echo.ops_per_sec;
  row.disk_bytes_per_event = (*server)->DiskBytesPerEvent();
  row.Extra("claims", claims);
  row.Extra("events", events);
  row.Extra("preload_seconds", preload_seconds);
  if (!get.first_error.ok()) {
    row.note = absl::StrCat("first error: ", get.first_error.error_message());
  }
  row.Extra("echo_p99_ms", echo.p99_ms);
  row.targets.push_back({"ops/s / echo", row.ratio(), 0.85, true});
  row.targets.push_back({"p99 ms", row.p99_ms, 2, false});
  h.Add(row);

  UnaryLoadResult list = RunClosedLoop(
      h.pool(), channels, clients, h.config().window,
      [&](int client, uint64_t seq) {
        return UnaryRequest{&kListClaims,
                            Serialize(ListRequest(seq, rngs[client]))};
      });
  Row lrow = UnaryRow("list", clients, "pages", list);
  lrow.baseline = absl::StrCat("echo@", clients);
  lrow.baseline_ops_per_sec = echo.ops_per_sec;
  lrow.note =
      "pages of up to 50 claims, filtered by subject, claimant, tag, status "
      "or none in turn";
  if (!list.first_error.ok()) {
    lrow.note +=
        absl::StrCat("; first error: ", list.first_error.error_message());
  }
  h.Add(lrow);

  // What was known when (known_at): each claim replayed from its events,
  // against the stored view `get` reads. A known_at in the far future
  // counts every event, so the answer is the current claim and only the
  // cost differs.
  const google::protobuf::Timestamp far_future = domain::ToProto(
      absl::FromCivil(absl::CivilDay(2199, 1, 1), absl::UTCTimeZone()));
  UnaryLoadResult get_known = RunClosedLoop(
      h.pool(), channels, clients, h.config().window,
      [&](int client, uint64_t) {
        v1::GetClaimRequest req;
        req.set_claim_id(absl::StrCat("g-", rngs[client]() % claims));
        *req.mutable_known_at() = far_future;
        return UnaryRequest{&kGetClaim, Serialize(req)};
      });
  Row krow = UnaryRow("get-known-at", clients, "calls", get_known);
  krow.baseline = "get";
  krow.baseline_ops_per_sec = row.ops_per_sec;
  krow.note = "GetClaim with known_at: the claim's events replayed";
  if (!get_known.first_error.ok()) {
    krow.note +=
        absl::StrCat("; first error: ", get_known.first_error.error_message());
  }
  h.Add(krow);

  // ListClaims with known_at scans claims in id order and replays each; a
  // subject no claim has makes every page scan the most a page may.
  const int per_page = static_cast<int>(
      std::min<uint64_t>(claims, core::ClaimQueries::kMaxKnownAtScanPerPage));
  UnaryLoadResult list_known = RunClosedLoop(
      h.pool(), channels, clients, h.config().window, [&](int, uint64_t) {
        v1::ListClaimsRequest req;
        req.set_subject("no-such-subject");
        *req.mutable_known_at() = far_future;
        return UnaryRequest{&kListClaims, Serialize(req)};
      });
  Row lkrow = UnaryRow("list-known-at", clients, "pages", list_known);
  const double claims_per_sec = lkrow.ops_per_sec * per_page;
  lkrow.Extra("claims_scanned_per_page", per_page);
  lkrow.Extra("claims_replayed_per_sec", claims_per_sec);
  lkrow.Extra("us_per_claim_2_cores",
              claims_per_sec > 0 ? 1e6 / claims_per_sec : 0);
  lkrow.note = absl::StrCat(
      "pages that scan ", per_page,
      " claims each (known_at in the far future, a subject no claim has)");
  if (!list_known.first_error.ok()) {
    lkrow.note +=
        absl::StrCat("; first error: ", list_known.first_error.error_message());
  }
  h.Add(lkrow);
  return absl::OkStatus();
}

}  // namespace factlog::bench
