#include "http/web_assets.h"

namespace factlog::http {

const WebAsset* FindWebAsset(absl::string_view path) {
  for (const WebAsset* asset = kWebAssets; asset->path != nullptr; ++asset) {
    if (path == asset->path) return asset;
  }
  return nullptr;
}

}  // namespace factlog::http
