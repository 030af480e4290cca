// get and list over a preloaded store.
#include <random>

#include "absl/strings/str_cat.h"
#include "bench/commands.h"
#include "bench/workloads/workloads.h"
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
  return absl::OkStatus();
}

}  // namespace factlog::bench
