// FUZZ_CHECK(condition, what): the invariant a fuzz target asserts. On
// violation it prints the condition, `what` and the source line to stderr and
// aborts, which libFuzzer (and fuzz/replay_main.cc) report as a crash with
// the input that caused it. Unlike assert(), it stays on under NDEBUG, so
// Release builds check too.
#ifndef FACTLOG_FUZZ_FUZZ_CHECK_H_
#define FACTLOG_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(condition, what)                                          \
  do {                                                                       \
    if (!(condition)) {                                                      \
      std::fprintf(stderr, "%s:%d: invariant violated: %s (%s)\n", __FILE__, \
                   __LINE__, #condition, std::string(what).c_str());         \
      std::abort();                                                          \
    }                                                                        \
  } while (false)

#endif  // FACTLOG_FUZZ_FUZZ_CHECK_H_
