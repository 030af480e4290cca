// What Linux reports of this process's own threads (proc(5),
// /proc/self/task/TID/stat): for benches and tests that look at one named
// thread (its CPU time, its nice value).
#ifndef FACTLOG_COMMON_THREAD_STAT_H_
#define FACTLOG_COMMON_THREAD_STAT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace factlog::common {

// For each of this process's threads named `name` (its comm, as set by
// pthread_setname_np), the fields of its stat line after the ")" that ends
// the name: element 0 is proc(5)'s field 3 (state), element k its field
// k + 3 (so utime, field 14, is element 11; nice, field 19, element 16).
// Empty when no thread has that name or /proc cannot be read.
// Thread-safe.
std::vector<std::vector<std::string>> ThreadStatFields(absl::string_view name);

}  // namespace factlog::common

#endif  // FACTLOG_COMMON_THREAD_STAT_H_
