#include "search/fts5_extensions.h"

#include <sqlite3.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"

namespace factlog::search {
namespace {

// The folds, as (from, to) UTF-8 pairs. unicode61 has lower-cased already.
constexpr std::pair<absl::string_view, absl::string_view> kFolds[] = {
    {"\xD1\x91", "\xD0\xB5"},  // ё -> е
    {"\xC5\x82", "l"},         // ł
    {"\xC4\x91", "d"},         // đ
    {"\xC3\xB8", "o"},         // ø
};

bool NeedsFold(const char* text, int size) {
  for (int i = 0; i + 1 < size; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0xD1 || c == 0xC5 || c == 0xC4 || c == 0xC3) return true;
  }
  return false;
}

fts5_api* Fts5Api(sqlite3* db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, nullptr) ==
      SQLITE_OK) {
    sqlite3_bind_pointer(stmt, 1, &api, "fts5_api_ptr", nullptr);
    sqlite3_step(stmt);
  }
  sqlite3_finalize(stmt);
  return api;
}

// One instance: the parent tokenizer (unicode61 with its arguments) it
// wraps.
struct FoldTokenizer {
  fts5_tokenizer parent_module;
  Fts5Tokenizer* parent = nullptr;
};

struct TokenContext {
  void* outer_context;
  int (*outer_token)(void*, int, const char*, int, int, int);
  std::string folded;
};

int OnToken(void* context, int flags, const char* token, int size, int start,
            int end) {
  auto* ctx = static_cast<TokenContext*>(context);
  if (!NeedsFold(token, size)) {
    return ctx->outer_token(ctx->outer_context, flags, token, size, start, end);
  }
  ctx->folded = FoldToken(absl::string_view(token, size));
  return ctx->outer_token(ctx->outer_context, flags, ctx->folded.data(),
                          static_cast<int>(ctx->folded.size()), start, end);
}

int Create(void* api_ptr, const char** args, int nargs, Fts5Tokenizer** out) {
  auto* api = static_cast<fts5_api*>(api_ptr);
  // args: the parent tokenizer's name, then its own arguments.
  const char* parent_name = nargs > 0 ? args[0] : "unicode61";
  auto tokenizer = std::make_unique<FoldTokenizer>();
  void* parent_data = nullptr;
  int rc = api->xFindTokenizer(api, parent_name, &parent_data,
                               &tokenizer->parent_module);
  if (rc != SQLITE_OK) return rc;
  rc = tokenizer->parent_module.xCreate(
      parent_data, nargs > 0 ? args + 1 : nullptr, nargs > 0 ? nargs - 1 : 0,
      &tokenizer->parent);
  if (rc != SQLITE_OK) return rc;
  *out = reinterpret_cast<Fts5Tokenizer*>(tokenizer.release());
  return SQLITE_OK;
}

void Delete(Fts5Tokenizer* handle) {
  auto* tokenizer = reinterpret_cast<FoldTokenizer*>(handle);
  if (tokenizer->parent != nullptr) {
    tokenizer->parent_module.xDelete(tokenizer->parent);
  }
  delete tokenizer;
}

int Tokenize(Fts5Tokenizer* handle, void* context, int flags, const char* text,
             int size, int (*token)(void*, int, const char*, int, int, int)) {
  auto* tokenizer = reinterpret_cast<FoldTokenizer*>(handle);
  TokenContext ctx{context, token, {}};
  return tokenizer->parent_module.xTokenize(tokenizer->parent, &ctx, flags,
                                            text, size, OnToken);
}

void MatchedPhrases(const Fts5ExtensionApi* api, Fts5Context* fts,
                    sqlite3_context* result, int, sqlite3_value**) {
  uint64_t mask = 0;
  for (int phrase = 0; phrase < api->xPhraseCount(fts) && phrase < 64;
       ++phrase) {
    Fts5PhraseIter iter;
    int column = -1, offset = -1;
    if (api->xPhraseFirst(fts, phrase, &iter, &column, &offset) == SQLITE_OK &&
        column >= 0) {
      mask |= uint64_t{1} << phrase;
    }
  }
  sqlite3_result_int64(result, static_cast<sqlite3_int64>(mask));
}

void MatchedPhraseCount(const Fts5ExtensionApi* api, Fts5Context* fts,
                        sqlite3_context* result, int, sqlite3_value**) {
  int count = 0;
  for (int phrase = 0; phrase < api->xPhraseCount(fts); ++phrase) {
    Fts5PhraseIter iter;
    int column = -1, offset = -1;
    if (api->xPhraseFirst(fts, phrase, &iter, &column, &offset) == SQLITE_OK &&
        column >= 0) {
      ++count;
    }
  }
  sqlite3_result_int(result, count);
}

}  // namespace

std::string FoldToken(absl::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size();) {
    bool folded = false;
    for (const auto& [from, to] : kFolds) {
      if (token.substr(i, from.size()) == from) {
        out.append(to.data(), to.size());
        i += from.size();
        folded = true;
        break;
      }
    }
    if (!folded) out.push_back(token[i++]);
  }
  return out;
}

absl::Status RegisterFts5Extensions(sqlite3* db) {
  fts5_api* api = Fts5Api(db);
  if (api == nullptr) {
    return absl::InternalError("search: this SQLite has no FTS5");
  }
  fts5_tokenizer module{Create, Delete, Tokenize};
  int rc =
      api->xCreateTokenizer(api, kFoldTokenizerName, api, &module, nullptr);
  if (rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat(
        "search: registering the tokenizer: ", sqlite3_errstr(rc)));
  }
  rc = api->xCreateFunction(api, kMatchedPhrasesFunction, nullptr,
                            MatchedPhrases, nullptr);
  if (rc == SQLITE_OK) {
    rc = api->xCreateFunction(api, kMatchedPhraseCountFunction, nullptr,
                              MatchedPhraseCount, nullptr);
  }
  if (rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat(
        "search: registering the auxiliary functions: ", sqlite3_errstr(rc)));
  }
  return absl::OkStatus();
}

}  // namespace factlog::search
