#include "core/log_heads.h"

#include "domain/time_util.h"

namespace factlog::core {
namespace {

template <typename Repeated>
void AddHashes(const std::vector<merkle::Hash>& hashes, Repeated* out) {
  for (const merkle::Hash& h : hashes) out->Add(merkle::ToBytes(h));
}

}  // namespace

LogHeads::LogHeads(const storage::EventStore* store,
                   std::unique_ptr<merkle::HeadSigner> signer,
                   std::function<absl::Time()> clock)
    : store_(store), signer_(std::move(signer)), clock_(std::move(clock)) {}

absl::StatusOr<v1::LogHead> LogHeads::Head(uint64_t size) const {
  if (size == 0) size = store_->LastPosition();
  absl::StatusOr<merkle::Hash> root = store_->RootAt(size);
  if (!root.ok()) return root.status();
  v1::LogHead head;
  head.set_tree_size(size);
  head.set_root_hash(merkle::ToBytes(*root));
  *head.mutable_time() = domain::ToProto(clock_());
  if (signer_ != nullptr) signer_->Sign(&head);
  return head;
}

absl::StatusOr<v1::InclusionProof> LogHeads::Inclusion(
    const v1::GetInclusionProofRequest& request) const {
  const uint64_t size = request.head_position() == 0 ? store_->LastPosition()
                                                     : request.head_position();
  absl::StatusOr<std::vector<merkle::Hash>> path =
      store_->InclusionProof(request.position(), size);
  if (!path.ok()) return path.status();
  absl::StatusOr<v1::LogHead> head = Head(size);
  if (!head.ok()) return head.status();
  v1::InclusionProof proof;
  proof.set_position(request.position());
  *proof.mutable_head() = *std::move(head);
  AddHashes(*path, proof.mutable_path());
  return proof;
}

absl::StatusOr<v1::ConsistencyProof> LogHeads::Consistency(
    const v1::GetConsistencyProofRequest& request) const {
  const uint64_t size = request.new_position() == 0 ? store_->LastPosition()
                                                    : request.new_position();
  absl::StatusOr<std::vector<merkle::Hash>> path =
      store_->ConsistencyProof(request.old_position(), size);
  if (!path.ok()) return path.status();
  absl::StatusOr<v1::LogHead> head = Head(size);
  if (!head.ok()) return head.status();
  v1::ConsistencyProof proof;
  proof.set_old_position(request.old_position());
  *proof.mutable_new_head() = *std::move(head);
  AddHashes(*path, proof.mutable_path());
  return proof;
}

}  // namespace factlog::core
