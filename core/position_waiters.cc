#include "core/position_waiters.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

namespace factlog::core {

PositionWaiters::PositionWaiters(std::function<uint64_t()> position)
    : position_(std::move(position)) {
  thread_ = std::thread([this] { Run(); });
  pthread_setname_np(thread_.native_handle(), "factlog-waits");
}

PositionWaiters::~PositionWaiters() { Stop(); }

void PositionWaiters::Wait(uint64_t position, absl::Time deadline, Done done) {
  Outcome outcome;
  {
    absl::MutexLock lock(&mu_);
    // Checked under the lock: a source that moves after this check calls
    // Advanced(), which wakes the thread only once this wait is pending.
    if (stopping_) {
      outcome = Outcome::kStopped;
    } else if (position_() >= position) {
      outcome = Outcome::kReached;
    } else {
      pending_.push_back({position, deadline, std::move(done)});
      woken_ = true;  // the earliest deadline may have changed
      return;
    }
  }
  done(outcome);
}

void PositionWaiters::Advanced() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

size_t PositionWaiters::Waiting() const {
  absl::MutexLock lock(&mu_);
  return pending_.size();
}

void PositionWaiters::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void PositionWaiters::Run() {
  for (;;) {
    std::vector<std::pair<Done, Outcome>> due;
    bool stop = false;
    {
      absl::MutexLock lock(&mu_);
      absl::Time earliest = absl::InfiniteFuture();
      for (const Pending& p : pending_)
        earliest = std::min(earliest, p.deadline);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return woken_ || stopping_;
      };
      mu_.AwaitWithDeadline(absl::Condition(&ready), earliest);
      woken_ = false;
      stop = stopping_;
      const uint64_t position = position_();
      const absl::Time now = absl::Now();
      std::vector<Pending> still;
      for (Pending& p : pending_) {
        if (position >= p.position) {
          due.emplace_back(std::move(p.done), Outcome::kReached);
        } else if (stop) {
          due.emplace_back(std::move(p.done), Outcome::kStopped);
        } else if (p.deadline <= now) {
          due.emplace_back(std::move(p.done), Outcome::kDeadline);
        } else {
          still.push_back(std::move(p));
        }
      }
      pending_ = std::move(still);
    }
    for (auto& [done, outcome] : due) done(outcome);
    if (stop) return;
  }
}

}  // namespace factlog::core
