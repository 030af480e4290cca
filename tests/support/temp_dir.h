#ifndef FACTLOG_TESTS_SUPPORT_TEMP_DIR_H_
#define FACTLOG_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>

namespace factlog::testing {

// A fresh directory under $TMPDIR, removed with everything in it on
// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace factlog::testing

#endif  // FACTLOG_TESTS_SUPPORT_TEMP_DIR_H_
