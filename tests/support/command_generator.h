#ifndef FACTLOG_TESTS_SUPPORT_COMMAND_GENERATOR_H_
#define FACTLOG_TESTS_SUPPORT_COMMAND_GENERATOR_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/writer.h"
#include "factlog/v1/service.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace factlog::testing {

// A random but plausible command stream, the same for the same seed:
// mostly valid commands on known claims of every kind, some refused ones
// (unknown claims, stale versions, ratings off the kind's scale, evidence
// ids taken, withdrawals of what is not there) that must change nothing.
// Sources are named in several spellings (case, surrounding spaces) of a
// few names; due dates lie long past or far ahead. Not thread-safe.
class CommandGenerator {
 public:
  explicit CommandGenerator(uint32_t seed) : rng_(seed) {}

  v1::Command Next();

 private:
  int Uniform(int lo, int hi);
  google::protobuf::Timestamp DueAt();

  std::mt19937 rng_;
  std::vector<std::string> claims_;
};

// What SubmitInBursts saw.
struct BurstOutcome {
  int applied = 0;
  int refused = 0;
};

// Submits `bursts` bursts of `burst_size` commands from `generator` to
// `writer` (submitted back to back from this thread, so that group commits
// decide against the state their own batch left), waiting for every answer
// of a burst before the next.
BurstOutcome SubmitInBursts(core::Writer& writer, CommandGenerator& generator,
                            int bursts, int burst_size);

}  // namespace factlog::testing

#endif  // FACTLOG_TESTS_SUPPORT_COMMAND_GENERATOR_H_
