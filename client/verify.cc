#include "client/verify.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/format.h"
#include "domain/merkle.h"
#include "domain/signed_head.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace factlog::cli {
namespace {

std::string RootHex(const v1::LogHead& head) {
  absl::StatusOr<merkle::Hash> root = merkle::HashFromBytes(head.root_hash());
  return root.ok() ? merkle::Hex(*root) : "(malformed)";
}

// "head 45 (root ab12...)"
std::string Describe(const v1::LogHead& head) {
  return absl::StrFormat("head %d (root %s%s)", head.tree_size(), RootHex(head),
                         head.signature().empty() ? "" : ", signed");
}

// Checks the head's shape and, with a key, its signature.
absl::Status CheckHead(const v1::LogHead& head, const std::string& public_key) {
  if (!merkle::HashFromBytes(head.root_hash()).ok()) {
    return absl::DataLossError(
        absl::StrFormat("head %d has a malformed root hash", head.tree_size()));
  }
  if (public_key.empty()) return absl::OkStatus();
  if (head.public_key() != public_key) {
    return absl::DataLossError(absl::StrFormat(
        "head %d is not signed by the given public key", head.tree_size()));
  }
  absl::Status s = merkle::VerifyHeadSignature(head, public_key);
  if (!s.ok()) {
    return absl::DataLossError(
        absl::StrFormat("head %d: %s", head.tree_size(), s.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<merkle::Hash>> Hashes(
    const google::protobuf::RepeatedPtrField<std::string>& bytes) {
  std::vector<merkle::Hash> out;
  for (const std::string& b : bytes) {
    absl::StatusOr<merkle::Hash> h = merkle::HashFromBytes(b);
    if (!h.ok()) {
      return absl::DataLossError(
          absl::StrCat("malformed proof: ", h.status().message()));
    }
    out.push_back(*h);
  }
  return out;
}

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

absl::StatusOr<ClaimVerification> VerifyClaim(Connection& connection,
                                              const std::string& claim_id,
                                              const std::string& public_key) {
  ClaimVerification result;
  {
    grpc::ClientContext context;
    connection.PrepareUnary(&context);
    connection.Check(connection.events().GetLogHead(
        &context, v1::GetLogHeadRequest(), &result.head));
  }
  if (absl::Status s = CheckHead(result.head, public_key); !s.ok()) return s;
  const merkle::Hash root = *merkle::HashFromBytes(result.head.root_hash());

  v1::GetClaimHistoryRequest request;
  request.set_claim_id(claim_id);
  while (true) {
    grpc::ClientContext context;
    connection.PrepareUnary(&context);
    v1::GetClaimHistoryResponse page;
    connection.Check(
        connection.claims().GetClaimHistory(&context, request, &page));
    for (const v1::Event& event : page.events()) {
      if (event.claim_id() != claim_id) {
        return absl::DataLossError(absl::StrFormat(
            "the server returned event %d of claim \"%s\" for claim \"%s\"",
            event.position(), event.claim_id(), claim_id));
      }
      if (event.position() > result.head.tree_size()) {
        ++result.newer_events;
        continue;
      }
      v1::GetInclusionProofRequest proof_request;
      proof_request.set_position(event.position());
      proof_request.set_head_position(result.head.tree_size());
      v1::InclusionProof proof;
      grpc::ClientContext proof_context;
      connection.PrepareUnary(&proof_context);
      connection.Check(connection.events().GetInclusionProof(
          &proof_context, proof_request, &proof));
      absl::StatusOr<std::vector<merkle::Hash>> path = Hashes(proof.path());
      if (!path.ok()) return path.status();
      const merkle::Hash leaf =
          merkle::LeafHash(merkle::CanonicalEventBytes(event));
      absl::Status s = merkle::VerifyInclusion(
          event.position() - 1, result.head.tree_size(), leaf, *path, root);
      if (!s.ok()) {
        return absl::DataLossError(absl::StrFormat(
            "event %d (version %d of claim \"%s\") is not in %s as served: %s",
            event.position(), event.version(), claim_id, Describe(result.head),
            s.message()));
      }
      ++result.events;
    }
    if (page.next_version() == 0 ||
        page.next_version() <= request.from_version()) {
      break;
    }
    request.set_from_version(page.next_version());
  }
  return result;
}

absl::StatusOr<v1::LogHead> VerifyLogExtends(Connection& connection,
                                             const v1::LogHead& saved,
                                             const std::string& public_key) {
  absl::StatusOr<merkle::Hash> old_root =
      merkle::HashFromBytes(saved.root_hash());
  if (!old_root.ok()) {
    return absl::DataLossError("the saved head has a malformed root hash");
  }
  v1::GetConsistencyProofRequest request;
  request.set_old_position(saved.tree_size());
  v1::ConsistencyProof proof;
  grpc::ClientContext context;
  connection.PrepareUnary(&context);
  const grpc::Status status =
      connection.events().GetConsistencyProof(&context, request, &proof);
  if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
    return absl::DataLossError(absl::StrFormat(
        "the server's log is shorter than the saved %s: history was removed, "
        "or this is another server (%s)",
        Describe(saved), status.error_message()));
  }
  connection.Check(status);
  const v1::LogHead& head = proof.new_head();
  if (absl::Status s = CheckHead(head, public_key); !s.ok()) return s;
  absl::StatusOr<std::vector<merkle::Hash>> path = Hashes(proof.path());
  if (!path.ok()) return path.status();
  absl::Status s = merkle::VerifyConsistency(
      saved.tree_size(), head.tree_size(), *old_root,
      *merkle::HashFromBytes(head.root_hash()), *path);
  if (!s.ok()) {
    return absl::DataLossError(
        absl::StrFormat("%s does not extend the saved %s: %s", Describe(head),
                        Describe(saved), s.message()));
  }
  return head;
}

void AddVerify(CLI::App* app, const GlobalOptions* g,
               std::function<int()>* action) {
  CLI::App* verify = app->add_subcommand(
      "verify", "Check the tamper-evident log with Merkle proofs");
  verify->require_subcommand(1);
  verify->footer(
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
  claim->add_option("CLAIM", *claim_id, "Claim id")->required()->type_name("");
  claim->add_option("--public-key", *key_file,
                    "PEM Ed25519 public key the head must be signed by");
  claim->footer(
      "\nExamples:\n"
      "  factlog verify claim putin-orders-troops-back-2014-05-19\n"
      "  factlog verify claim ID --public-key head-signing.pem.pub -o json\n");
  claim->callback([=] {
    *action = [=]() -> int {
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
            result->events == 1 ? "" : "s", *claim_id, Describe(result->head),
            public_key.empty() ? "" : "; signature checked");
        if (result->newer_events > 0) {
          std::cout << absl::StrFormat(
              "%d newer events were appended after the head; run again to "
              "check them\n",
              result->newer_events);
        }
      }
      return kExitOk;
    };
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
  log->callback([=] {
    *action = [=]() -> int {
      const std::string public_key = LoadPublicKey(*key_file);
      Connection connection(*g);
      std::ifstream existing(*head_file);
      if (!existing) {
        v1::LogHead head;
        grpc::ClientContext context;
        connection.PrepareUnary(&context);
        connection.Check(connection.events().GetLogHead(
            &context, v1::GetLogHeadRequest(), &head));
        if (absl::Status s = CheckHead(head, public_key); !s.ok()) {
          return Failed(s);
        }
        SaveHead(*head_file, head);
        std::cout << absl::StrFormat(
            "saved %s to %s; later runs check the log still extends it\n",
            Describe(head), *head_file);
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
                                   Describe(*head), Describe(saved));
      return kExitOk;
    };
  });
}

}  // namespace factlog::cli
