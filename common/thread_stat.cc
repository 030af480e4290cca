#include "common/thread_stat.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/str_split.h"

namespace factlog::common {

std::vector<std::vector<std::string>> ThreadStatFields(absl::string_view name) {
  std::vector<std::vector<std::string>> threads;
  std::error_code error;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/self/task", error)) {
    std::ifstream comm(task.path() / "comm");
    std::string thread_name;
    if (!std::getline(comm, thread_name) || thread_name != name) continue;
    std::ifstream stat(task.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const size_t name_end = line.rfind(')');
    if (name_end == std::string::npos || name_end + 2 > line.size()) continue;
    threads.push_back(
        absl::StrSplit(line.substr(name_end + 2), ' ', absl::SkipEmpty()));
  }
  return threads;
}

}  // namespace factlog::common
