// main() for the fuzz targets where libFuzzer is not available (GCC, the
// default build), so that ctest exercises them on every build:
//
//   fuzz_NAME [--mutations=N] [--seed=S] PATH...
//
// Runs LLVMFuzzerTestOneInput on every file of each PATH (a directory of
// seeds, in name order, or a single file, e.g. a crash input to reproduce),
// then on N (default 5000) pseudo-random mutations of those inputs: bit
// flips, byte changes, erasures, insertions, duplicated slices, truncations
// and splices of two inputs. The generator is seeded with S (default 1), so a
// run is the same every time. If an input crashes the target, it is written
// to ./replay-crash-NAME first, and the target's own message follows. Prints
// how many inputs it ran; exits 0 when none crashed.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using Bytes = std::string;

// The input being run, for the crash handler.
const char* g_current_data = nullptr;
size_t g_current_size = 0;
char g_crash_path[512] = "replay-crash";

void WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// Async-signal-safe: saves the input, says where, and dies of the signal.
void OnCrash(int signo) {
  const int fd = open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    WriteAll(fd, g_current_data, g_current_size);
    close(fd);
  }
  constexpr char kSaved[] = "replay: the crashing input is in ";
  WriteAll(STDERR_FILENO, kSaved, sizeof(kSaved) - 1);
  WriteAll(STDERR_FILENO, g_crash_path, std::strlen(g_crash_path));
  WriteAll(STDERR_FILENO, "\n", 1);
  signal(signo, SIG_DFL);
  raise(signo);
}

void InstallCrashHandler(const char* argv0) {
  std::snprintf(g_crash_path, sizeof(g_crash_path), "replay-crash-%s",
                std::filesystem::path(argv0).filename().c_str());
  for (int signo : {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP}) {
    signal(signo, OnCrash);
  }
}

void Run(const Bytes& input) {
  g_current_data = input.data();
  g_current_size = input.size();
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                         input.size());
}

Bytes ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  return Bytes(std::istreambuf_iterator<char>(in),
               std::istreambuf_iterator<char>());
}

// splitmix64: small, fast and the same everywhere.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); 0 when n is 0.
  size_t Below(size_t n) { return n == 0 ? 0 : Next() % n; }

 private:
  uint64_t state_;
};

// Bytes that matter to the formats under test: proto varint edges, JSON
// structure, the 0x00 key separator, UTF-8 lead and continuation bytes.
constexpr char kInteresting[] = {
    '\0', '\x01', '\x7f', '\x80', '\xff', '\xc0', '\xe0', '\xf0', '\xbf',
    '{',  '}',    '[',    ']',    '"',    ':',    ',',    '\\',   '\n',
    '#',  '-',    '_',    '=',    '0',    '9',    'a',    ' '};

void MutateOnce(Random& rng, const std::vector<Bytes>& inputs, Bytes& b) {
  switch (rng.Below(8)) {
    case 0:  // flip a bit
      if (!b.empty()) b[rng.Below(b.size())] ^= char(1 << rng.Below(8));
      break;
    case 1:  // a random byte
      if (!b.empty()) b[rng.Below(b.size())] = char(rng.Next());
      break;
    case 2:  // an interesting byte
      if (!b.empty()) {
        b[rng.Below(b.size())] = kInteresting[rng.Below(sizeof(kInteresting))];
      }
      break;
    case 3: {  // erase up to 8 bytes
      const size_t at = rng.Below(b.size());
      b.erase(at, 1 + rng.Below(8));
      break;
    }
    case 4: {  // insert up to 8 bytes
      const size_t at = rng.Below(b.size() + 1);
      const size_t n = 1 + rng.Below(8);
      for (size_t i = 0; i < n; ++i) {
        b.insert(b.begin() + at, kInteresting[rng.Below(sizeof(kInteresting))]);
      }
      break;
    }
    case 5: {  // duplicate a slice somewhere else
      if (b.empty()) break;
      const size_t from = rng.Below(b.size());
      const Bytes slice = b.substr(from, 1 + rng.Below(32));
      b.insert(rng.Below(b.size() + 1), slice);
      break;
    }
    case 6:  // truncate
      b.resize(rng.Below(b.size() + 1));
      break;
    case 7: {  // splice: this input's head, another's tail
      const Bytes& other = inputs[rng.Below(inputs.size())];
      b = b.substr(0, rng.Below(b.size() + 1)) +
          other.substr(rng.Below(other.size() + 1));
      break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  long mutations = 5000;
  uint64_t seed = 1;
  std::vector<std::filesystem::path> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--mutations=", 0) == 0) {
      mutations = std::strtol(arg.c_str() + 12, nullptr, 10);
    } else if (arg.rfind("--seed=", 0) == 0) {
      seed = std::strtoull(arg.c_str() + 7, nullptr, 10);
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr,
                   "usage: %s [--mutations=N] [--seed=S] CORPUS_DIR|FILE...\n",
                   argv[0]);
      return 2;
    } else {
      paths.emplace_back(arg);
    }
  }
  InstallCrashHandler(argv[0]);

  std::vector<Bytes> inputs;
  for (const std::filesystem::path& path : paths) {
    if (!std::filesystem::is_directory(path)) {
      inputs.push_back(ReadFile(path));
      continue;
    }
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(path)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) inputs.push_back(ReadFile(file));
  }

  const auto start = std::chrono::steady_clock::now();
  for (const Bytes& input : inputs) Run(input);
  const size_t from_corpus = inputs.size();
  if (inputs.empty()) inputs.emplace_back();
  Random rng(seed);
  for (long i = 0; i < mutations; ++i) {
    Bytes b = inputs[rng.Below(inputs.size())];
    const size_t rounds = 1 + rng.Below(4);
    for (size_t r = 0; r < rounds; ++r) MutateOnce(rng, inputs, b);
    Run(b);
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  std::printf(
      "replay: ran %zu inputs (%zu from the corpus, %ld mutations) "
      "in %lld ms, no crash\n",
      from_corpus + static_cast<size_t>(std::max(mutations, 0L)), from_corpus,
      mutations, static_cast<long long>(ms));
  return 0;
}
