#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/format.h"
#include "client/subcommands.h"
#include "client/verify.h"
#include "domain/signed_head.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace factlog::cli {
namespace {

std::string ReadWholeFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  if (!in || !(buffer << in.rdbuf())) {
    throw CommandError(kExitUsage,
                       absl::StrCat("cannot read ", what, " ", path));
  }
  return buffer.str();
}

// The raw key in the PEM file `path`, or "" for no file.
std::string LoadPublicKey(const std::string& path) {
  if (path.empty()) return "";
  absl::StatusOr<std::string> key =
      merkle::Ed25519PublicKeyFromPem(ReadWholeFile(path, "--public-key"));
  if (!key.ok()) {
    throw CommandError(kExitUsage, absl::StrCat("--public-key ", path, ": ",
                                                key.status().message()));
  }
  return *key;
}

// Writes `head` to `path` through a temporary file, so a crash leaves
// either the old or the new head.
void SaveHead(const std::string& path, const v1::LogHead& head) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << JsonLine(head);
    if (!out.flush()) {
      throw CommandError(kExitRefused, absl::StrCat("cannot write ", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw CommandError(kExitRefused, absl::StrCat("cannot replace ", path));
  }
}

[[noreturn]] int Failed(const absl::Status& status) {
  throw CommandError(kExitVerificationFailed,
                     absl::StrCat("verification FAILED: ", status.message()));
}

}  // namespace

void AddVerifyCommands(CLI::App* app, const GlobalOptions* g, Action* action) {
  CLI::App* verify = AddCommandGroup(
      app, "verify", "Check the tamper-evident log with Merkle proofs",
      "Exit codes: 0 verified, 4 verification FAILED (what failed is "
      "printed), others as for every command.\n\nExamples:\n"
      "  factlog verify claim putin-orders-withdrawal\n"
      "  factlog verify claim putin-orders-withdrawal --public-key "
      "head-signing.pem.pub\n"
      "  factlog verify log --since-head ~/.factlog-head.json\n");
  auto key_file = std::make_shared<std::string>();

  auto claim_id = std::make_shared<std::string>();
  CLI::App* claim = verify->add_subcommand(
      "claim", "Prove every event of a claim is in the current log head");
  AddClaimIdArgument(claim, claim_id.get());
  claim->add_option("--public-key", *key_file,
                    "PEM Ed25519 public key the head must be signed by");
  claim->footer(
      "\nExamples:\n"
      "  factlog verify claim putin-orders-troops-back-2014-05-19\n"
      "  factlog verify claim ID --public-key head-signing.pem.pub -o json\n");
  OnRun(claim, action, [=]() -> int {
    const std::string public_key = LoadPublicKey(*key_file);
    Connection connection(*g);
    absl::StatusOr<ClaimVerification> result =
        VerifyClaim(connection, *claim_id, public_key);
    if (!result.ok()) return Failed(result.status());
    if (g->json()) {
      google::protobuf::Struct out;
      auto& f = *out.mutable_fields();
      f["claimId"].set_string_value(*claim_id);
      f["verifiedEvents"].set_number_value(result->events);
      f["newerEvents"].set_number_value(result->newer_events);
      f["signatureChecked"].set_bool_value(!public_key.empty());
      f["treeSize"].set_number_value(result->head.tree_size());
      f["rootHash"].set_string_value(RootHex(result->head));
      std::cout << JsonLine(out);
    } else {
      std::cout << absl::StrFormat(
          "verified %d event%s of claim %s against %s%s\n", result->events,
          result->events == 1 ? "" : "s", *claim_id, DescribeHead(result->head),
          public_key.empty() ? "" : "; signature checked");
      if (result->newer_events > 0) {
        std::cout << absl::StrFormat(
            "%d newer events were appended after the head; run again to "
            "check them\n",
            result->newer_events);
      }
    }
    return kExitOk;
  });

  auto head_file = std::make_shared<std::string>();
  CLI::App* log = verify->add_subcommand(
      "log",
      "Prove the log extends a head saved earlier, then save the new one");
  log->add_option("--since-head", *head_file,
                  "file holding the last head seen (created when missing)")
      ->required();
  log->add_option("--public-key", *key_file,
                  "PEM Ed25519 public key every head must be signed by");
  log->footer(
      "\nExamples:\n"
      "  factlog verify log --since-head ~/.factlog-head.json\n"
      "  factlog verify log --since-head head.json --public-key "
      "head-signing.pem.pub\n");
  OnRun(log, action, [=]() -> int {
    const std::string public_key = LoadPublicKey(*key_file);
    Connection connection(*g);
    std::ifstream existing(*head_file);
    if (!existing) {
      const v1::LogHead head = connection.Call(
          connection.events(), &v1::EventService::Stub::GetLogHead,
          v1::GetLogHeadRequest());
      if (absl::Status s = CheckHead(head, public_key); !s.ok()) {
        return Failed(s);
      }
      SaveHead(*head_file, head);
      std::cout << absl::StrFormat(
          "saved %s to %s; later runs check the log still extends it\n",
          DescribeHead(head), *head_file);
      return kExitOk;
    }
    v1::LogHead saved;
    const std::string text = ReadWholeFile(*head_file, "--since-head");
    if (!google::protobuf::util::JsonStringToMessage(text, &saved).ok()) {
      throw CommandError(kExitUsage,
                         absl::StrCat("--since-head ", *head_file,
                                      ": not a saved log head (JSON)"));
    }
    absl::StatusOr<v1::LogHead> head =
        VerifyLogExtends(connection, saved, public_key);
    if (!head.ok()) return Failed(head.status());
    SaveHead(*head_file, *head);
    std::cout << absl::StrFormat("consistent: %s extends saved %s\n",
                                 DescribeHead(*head), DescribeHead(saved));
    return kExitOk;
  });
}

}  // namespace factlog::cli
