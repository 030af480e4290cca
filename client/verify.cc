#include "client/verify.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/claim_history.h"
#include "domain/merkle.h"
#include "domain/signed_head.h"

namespace factlog::cli {
namespace {

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

}  // namespace

std::string RootHex(const v1::LogHead& head) {
  absl::StatusOr<merkle::Hash> root = merkle::HashFromBytes(head.root_hash());
  return root.ok() ? merkle::Hex(*root) : "(malformed)";
}

// "head 45 (root ab12...)"
std::string DescribeHead(const v1::LogHead& head) {
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

absl::StatusOr<ClaimVerification> VerifyClaim(Connection& connection,
                                              const std::string& claim_id,
                                              const std::string& public_key) {
  ClaimVerification result;
  result.head =
      connection.Call(connection.events(), &v1::EventService::Stub::GetLogHead,
                      v1::GetLogHeadRequest());
  if (absl::Status s = CheckHead(result.head, public_key); !s.ok()) return s;
  const merkle::Hash root = *merkle::HashFromBytes(result.head.root_hash());

  absl::Status walked = ForEachHistoryEvent(
      connection, claim_id, [&](const v1::Event& event) -> absl::Status {
        if (event.claim_id() != claim_id) {
          return absl::DataLossError(absl::StrFormat(
              "the server returned event %d of claim \"%s\" for claim \"%s\"",
              event.position(), event.claim_id(), claim_id));
        }
        if (event.position() > result.head.tree_size()) {
          ++result.newer_events;
          return absl::OkStatus();  // appended after the head: not checked
        }
        v1::GetInclusionProofRequest proof_request;
        proof_request.set_position(event.position());
        proof_request.set_head_position(result.head.tree_size());
        const v1::InclusionProof proof = connection.Call(
            connection.events(), &v1::EventService::Stub::GetInclusionProof,
            proof_request);
        absl::StatusOr<std::vector<merkle::Hash>> path = Hashes(proof.path());
        if (!path.ok()) return path.status();
        const merkle::Hash leaf =
            merkle::LeafHash(merkle::CanonicalEventBytes(event));
        absl::Status s = merkle::VerifyInclusion(
            event.position() - 1, result.head.tree_size(), leaf, *path, root);
        if (!s.ok()) {
          return absl::DataLossError(
              absl::StrFormat("event %d (version %d of claim \"%s\") is not in "
                              "%s as served: %s",
                              event.position(), event.version(), claim_id,
                              DescribeHead(result.head), s.message()));
        }
        ++result.events;
        return absl::OkStatus();
      });
  if (!walked.ok()) return walked;
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
        DescribeHead(saved), status.error_message()));
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
        absl::StrFormat("%s does not extend the saved %s: %s",
                        DescribeHead(head), DescribeHead(saved), s.message()));
  }
  return head;
}

}  // namespace factlog::cli
