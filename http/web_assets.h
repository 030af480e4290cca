// The web view's pages, styles and scripts (the files under web/), embedded
// in the binary at build time (cmake/EmbedWeb.cmake writes
// web_assets_data.cc): factlogd serves them without reading any file.
#ifndef FACTLOG_HTTP_WEB_ASSETS_H_
#define FACTLOG_HTTP_WEB_ASSETS_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace factlog::http {

struct WebAsset {
  const char* path;  // "/app.js": the URL path it is served at
  const char* content_type;
  const unsigned char* data;
  size_t size;
};

// Every embedded file, ending with {nullptr, ...}.
extern const WebAsset kWebAssets[];

// The asset served at `path`, or null.
const WebAsset* FindWebAsset(absl::string_view path);

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_WEB_ASSETS_H_
