#include "storage/source_projection.h"

#include <memory>

#include "storage/event_store_state.h"
#include "storage/keys.h"
#include "storage/rocksdb_options.h"

namespace factlog::storage {

std::map<std::string, std::string> SourceEntries(
    const domain::SourceRegistry& registry) {
  std::map<std::string, std::string> entries;
  registry.ForEachAfter("", [&](const v1::SourceView& view) {
    entries[keys::SourceViewKey(view.source_id())] = view.SerializeAsString();
    return true;
  });
  if (registry.policy().version() > 0) {
    entries[keys::kDeskPolicyKey] = registry.policy().SerializeAsString();
  }
  return entries;
}

void PutSourceChanges(const domain::SourceRegistry& after,
                      const absl::flat_hash_set<std::string>& touched,
                      bool policy_touched, rocksdb::WriteBatch* wb,
                      rocksdb::ColumnFamilyHandle* cf) {
  for (const std::string& id : touched) {
    if (const v1::SourceView* view = after.Find(id)) {
      wb->Put(cf, keys::SourceViewKey(id), view->SerializeAsString());
    }
  }
  if (policy_touched) {
    wb->Put(cf, keys::kDeskPolicyKey, after.policy().SerializeAsString());
  }
}

absl::StatusOr<domain::SourceRegistry> ReadSourceRegistry(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
  domain::SourceRegistry registry;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const absl::string_view key = ToView(it->key());
    const absl::string_view value = ToView(it->value());
    if (key == keys::kDeskPolicyKey) {
      v1::DeskPolicyView policy;
      if (auto s = Parse(value, &policy, "desk policy"); !s.ok()) return s;
      registry.SetPolicy(std::move(policy));
    } else if (!key.empty() && key[0] == 's') {
      v1::SourceView view;
      if (auto s = Parse(value, &view, "source view"); !s.ok()) return s;
      registry.Put(std::move(view));
    }
  }
  if (auto s = FromRocks(it->status(), "reading the sources"); !s.ok()) {
    return s;
  }
  return registry;
}

}  // namespace factlog::storage
